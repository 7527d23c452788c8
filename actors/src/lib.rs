//! The molt-lms proxy's moving parts: wire codecs, authentication, the data path and
//! the actors that own connections and the proxy instance.
//!
//! # Layout
//! - [`wire`]: sans-I/O protocol codecs (PostgreSQL now; MySQL beside it later).
//! - [`auth`]: SCRAM/md5 on both sides and the verifier lookup.
//! - [`backend`]: opening authenticated sessions on the source or target database.
//! - [`client_conn`]: one client connection: an actor around start-up and the relay.
//!   `client_conn::relay` is the hot loop; `client_conn::session` the state it shares
//!   with the actor (hold/drain control, transaction tracking).
//! - [`proxy_instance`]: the instance actor: listener, connection registry, cancel keys,
//!   source of truth, graceful shutdown.
//! - [`cutover_check`]: before a pause, whether a commit could log every session in to
//!   the new source of truth and prepare its statements there.
//! - [`shadow`]: fingerprints, answer comparison and the shadow report.
//! - [`roles_sync`]: copying the source's login roles' password verifiers to the target.
//! - [`control`]: who may drive the control plane (mutual TLS, a token file) and the
//!   client the components call each other with.
//! - [`shared`], [`settings`], [`metrics`], [`conn_info`]: what those pieces share.
//!
//! The connection layer is not protocol-neutral yet: PostgreSQL tags and SQLSTATEs still
//! appear in the connection actor, the relay, the shadow relay and the switch. A seam
//! between them and the protocol must come before a MySQL front end.

pub mod auth;
pub mod backend;
pub mod backend_url;
pub mod client_conn;
pub mod config_file;
pub mod conn_info;
pub mod control;
pub mod cutover_check;
pub mod hex;
pub mod metrics;
pub mod orch_client;
pub mod orchestrator;
pub mod peers;
pub mod pgio;
pub mod process;
pub mod proxy_instance;
pub mod rest;
pub mod roles_sync;
pub mod secret;
pub mod settings;
pub mod shadow;
pub mod shared;
pub mod stream;
pub mod tls;
/// The sans-I/O codecs, a crate of their own (`molt-lms-wire`) so the compiler keeps them
/// free of I/O; re-exported under the name the rest of the code uses.
pub use molt_lms_wire as wire;
