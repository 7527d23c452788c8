//! Cancel requests across proxies. Behind a Kubernetes Service a client's CancelRequest
//! is a new TCP connection that may land on any proxy. Each proxy therefore puts a tag of
//! its own in the upper half of the process id it hands out (the lower half is random),
//! learns every peer's tag from the orchestrator, and passes a key it does
//! not own on to the peers with that key's tag. The secret still decides: a peer that
//! does not hold the key ignores it, so a tag shared by two proxies costs one extra
//! connection, never a wrong cancel.

use molt_lms_api::cutover::Peer;
use molt_lms_wire::pg::frontend::cancel_request;
use std::sync::RwLock;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// How long passing a cancel request on may take per peer.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(2);

pub struct Peers {
    tag: u16,
    list: RwLock<Vec<Peer>>,
}

impl Default for Peers {
    fn default() -> Self {
        Self::new()
    }
}

impl Peers {
    /// A random 15-bit tag, so the process id stays positive as PostgreSQL's are.
    pub fn new() -> Self {
        Self::with_tag(rand::random::<u16>() & 0x7FFF)
    }

    pub fn with_tag(tag: u16) -> Self {
        Self {
            tag: tag & 0x7FFF,
            list: RwLock::new(Vec::new()),
        }
    }

    pub fn tag(&self) -> u16 {
        self.tag
    }

    /// A process id with this proxy's tag and `low`'s lower 16 bits.
    pub fn key_pid(&self, low: u64) -> i32 {
        (i32::from(self.tag) << 16) | (low & 0xFFFF) as i32
    }

    /// The proxy tag a process id carries.
    pub fn tag_of(pid: i32) -> u16 {
        ((pid >> 16) & 0x7FFF) as u16
    }

    /// The lower 16 bits of a process id (random per connection).
    pub fn slot_of(pid: i32) -> u64 {
        (pid & 0xFFFF) as u64
    }

    pub fn owns(&self, pid: i32) -> bool {
        Self::tag_of(pid) == self.tag
    }

    /// The peers the orchestrator listed (its latest answer replaces the list).
    pub fn set(&self, peers: Vec<Peer>) {
        *self.list.write().unwrap_or_else(|e| e.into_inner()) = peers;
    }

    /// SQL addresses of the peers whose tag `pid` carries, this proxy's own excluded.
    pub fn owners_of(&self, pid: i32, own_address: &str) -> Vec<String> {
        let tag = Self::tag_of(pid);
        self.list
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|p| p.cancel_tag == Some(tag) && p.lms_address != own_address)
            .map(|p| p.lms_address.clone())
            .collect()
    }

    /// Sends the CancelRequest to each peer that may own it (almost always one); returns
    /// how many took it.
    pub async fn forward(&self, pid: i32, secret: i32, own_address: &str) -> usize {
        let mut sent = 0;
        for addr in self.owners_of(pid, own_address) {
            let send = async {
                let mut s = tokio::net::TcpStream::connect(addr.as_str()).await?;
                s.write_all(&cancel_request(pid, secret)).await?;
                s.shutdown().await
            };
            match tokio::time::timeout(FORWARD_TIMEOUT, send).await {
                Ok(Ok(())) => sent += 1,
                Ok(Err(e)) => {
                    tracing::warn!(peer = %addr, error = %e, "cannot pass a cancel request on")
                }
                Err(_) => tracing::warn!(peer = %addr, "passing a cancel request on timed out"),
            }
        }
        sent
    }
}

#[cfg(test)]
mod tests;
