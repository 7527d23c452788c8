//! What the proxy and the orchestrator both need, and nothing either needs alone.
//!
//! - [`secret`], [`hex`]: secrets that never print, constant-time comparison, hex.
//! - [`backend_url`], [`tls`], [`stream`], [`pg_dial`]: where a database is, TLS to it
//!   (and for our own listeners), one stream type for TCP and TLS, and dialling a
//!   PostgreSQL-protocol database with TLS as `sslmode` asks.
//! - [`control`]: who may drive the control plane (bearer token, mutual TLS, reloads)
//!   and the client the components call each other with.
//! - [`rest`], [`config_file`], [`process`]: JSON errors, config files, start-up and
//!   logging of a binary.

pub mod backend_url;
pub mod config_file;
pub mod control;
pub mod hex;
pub mod pg_dial;
pub mod process;
pub mod rest;
pub mod secret;
pub mod stream;
pub mod tls;
