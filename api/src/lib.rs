//! REST/JSON types shared by the proxy, the orchestrator and the CLI.
//!
//! Only plain serde types live here, so every component agrees on the wire format
//! without depending on each other's code.

pub mod check;
pub mod connection;
pub mod cutover;
pub mod error;
pub mod proxy;
pub mod roles;
pub mod shadow;
pub mod verify;

pub use connection::{ConnectionInfo, ConnectionState};
pub use error::ApiError;
pub use proxy::{Dialect, ProxyStatus, ShadowMode, SourceOfTruth};
