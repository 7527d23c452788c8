//! The replication gate's progress on stderr while a commit waits for it.

use crate::client::Client;
use crate::output::gate_waiting;
use std::convert::Infallible;
use std::time::Duration;

/// How often the attempt is read, and a line printed while the gate waits.
const INTERVAL: Duration = Duration::from_secs(1);

/// Prints a line every second while the commit of attempt `id` (default: the attempt in
/// progress) waits for replication, from the attempt the orchestrator serves. Never
/// returns: the commit's answer ends it. Cancel safe.
pub async fn show_progress(client: &Client, mut id: Option<u64>) -> Infallible {
    loop {
        tokio::time::sleep(INTERVAL).await;
        if id.is_none() {
            id = client.status().await.ok().and_then(|s| s.active_attempt);
        }
        let Some(attempt) = id else { continue };
        if let Some(gate) = client
            .attempt(attempt)
            .await
            .ok()
            .and_then(|a| a.replication_gate)
        {
            eprintln!("{}", gate_waiting(&gate));
        }
    }
}
