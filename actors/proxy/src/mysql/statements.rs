//! Prepared-statement ids of the proxy's own. A server numbers a session's statements
//! itself; the client is given the proxy's numbers instead, mapped to the server's in
//! both directions as packets pass, so that when a session moves to another server
//! (which numbers the statements it prepares again its own way) the ids the client holds
//! stay valid. Rewrites happen in place: both ids are 4 bytes.

use std::collections::{HashMap, VecDeque};

/// MariaDB's "the statement this pipeline just prepared" (`COM_STMT_EXECUTE` sent right
/// behind its `COM_STMT_PREPARE`): passed as it is.
pub(crate) const LAST_PREPARED: u32 = u32::MAX;

/// One session's statement ids.
#[derive(Debug, Default)]
pub(crate) struct Statements {
    /// Client id → server id.
    ids: HashMap<u32, u32>,
    last: u32,
    /// Ids given to `COM_STMT_PREPARE`s awaiting their answer, in order: a shadowing
    /// session tells the shadow the id before the source of truth has answered.
    reserved: VecDeque<u32>,
}

impl Statements {
    fn allocate(&mut self) -> u32 {
        loop {
            self.last = self.last.wrapping_add(1);
            let id = self.last;
            if id != 0
                && id != LAST_PREPARED
                && !self.ids.contains_key(&id)
                && !self.reserved.contains(&id)
            {
                return id;
            }
        }
    }

    /// A `COM_STMT_PREPARE` was sent: the id its statement will have if the server
    /// prepares it.
    pub(crate) fn reserve(&mut self) -> u32 {
        let id = self.allocate();
        self.reserved.push_back(id);
        id
    }

    /// The oldest `COM_STMT_PREPARE` awaiting an answer failed: its id is free again.
    pub(crate) fn refused(&mut self) {
        self.reserved.pop_front();
    }

    /// A statement the server prepared as `server`: the id the client gets for it (the
    /// one reserved for the oldest prepare awaiting its answer).
    pub(crate) fn prepared(&mut self, server: u32) -> u32 {
        let id = match self.reserved.pop_front() {
            Some(id) => id,
            None => self.allocate(),
        };
        self.ids.insert(id, server);
        id
    }

    /// The server's id for the client's `client` id. An id the proxy never gave becomes
    /// 0, which no server uses, so the server answers "unknown statement" instead of
    /// running another statement of the session.
    pub(crate) fn server_id(&self, client: u32) -> u32 {
        if client == LAST_PREPARED {
            return client;
        }
        self.ids.get(&client).copied().unwrap_or(0)
    }

    pub(crate) fn closed(&mut self, client: u32) {
        self.ids.remove(&client);
    }

    /// The server dropped every statement (`COM_RESET_CONNECTION`, `COM_CHANGE_USER`).
    pub(crate) fn clear(&mut self) {
        self.ids.clear();
        self.reserved.clear();
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }
}

/// The statement id at `at` in a payload, if it is long enough.
pub(crate) fn read_id(payload: &[u8], at: usize) -> Option<u32> {
    let b = payload.get(at..at + 4)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Writes `id` at `at` (the caller has read an id there).
pub(crate) fn write_id(payload: &mut [u8], at: usize, id: u32) {
    if let Some(b) = payload.get_mut(at..at + 4) {
        b.copy_from_slice(&id.to_le_bytes());
    }
}

#[cfg(test)]
mod tests;
