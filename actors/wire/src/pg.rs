//! The PostgreSQL v3 frontend/backend protocol: framing, startup packets and the few
//! messages the proxy builds or inspects. Everything else is relayed as opaque bytes.
//!
//! Spec: <https://www.postgresql.org/docs/current/protocol-message-formats.html>

pub mod backend;
pub mod codec;
pub mod error;
pub mod frontend;
pub mod tag;

pub use codec::{FrameScanner, Scan, ScanControl, Want};
pub use error::ProtocolError;
