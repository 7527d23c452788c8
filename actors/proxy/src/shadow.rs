//! Shadowing: mirroring client traffic to the database that is not the source of
//! truth, and comparing its answers. These parts know no wire protocol except
//! `pg_answer`, which turns PostgreSQL messages into protocol-free results; the relay
//! that drives them lives with the connection (`client_conn::shadow_relay`).

pub mod compare;
pub mod fingerprint;
pub mod ledger;
pub mod result;

pub use fingerprint::Fingerprint;
pub use ledger::ShadowLedger;
