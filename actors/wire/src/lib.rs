//! Wire protocols, sans I/O: pure functions over byte slices, no sockets, no actix.
//!
//! # Layout
//! - `pg`: the PostgreSQL v3 protocol: message framing and a relay scanner (`codec`),
//!   startup and client messages (`frontend`), server messages (`backend`), tag bytes
//!   (`tag`).
//! - `mysql`: the MySQL/MariaDB client/server protocol: packet framing, reassembly and a
//!   relay scanner (`packet`), data types (`codec`), flags, command bytes and plugin
//!   names (`consts`), the connection-phase handshake (`handshake`), OK/ERR/EOF
//!   (`response`), and serving MySQL clients from PostgreSQL (`translate`: types,
//!   values, parameters, error numbers, placeholders).
//!
//! Each has one error enum whose messages a client may be shown; decoders never panic
//! on any input, and a partial frame is "need more bytes", not an error.

pub mod mysql;
pub mod pg;
