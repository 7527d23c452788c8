//! The molt-lms proxy's moving parts (crate `molt-lms-proxy-actors`): authentication,
//! the data path and the actors that own connections and the proxy instance. The codecs
//! are in `molt-lms-wire`, what the orchestrator shares in `molt-lms-common`; the
//! orchestrator's actors are a crate of their own that the proxy does not link.
//!
//! # Layout
//! - [`client_conn`]: one client connection, generic over its protocol: the actor and its
//!   control messages; `serve` (start-up, the cutover gate, relay rounds, switches);
//!   `session` (hold/drain/switch control and quiescence, shared with the relay);
//!   `relay` (the hot loop); `shadow_relay` (the shadow scheduler).
//! - [`protocol`]: the seam: `Protocol`, `Tracker`, `ShadowCodec` and the neutral types.
//! - [`pg`]: the PostgreSQL protocol module (start-up, backend sessions, tracker, switch
//!   replay, shadow codec, SQLSTATEs).
//! - [`mysql`]: the MySQL protocol module (greeting, `mysql_native_password`, source
//!   sessions, tracker, `KILL` mapping, ERR packets).
//! - [`client_error`]: the one error type clients are told about.
//! - [`auth`]: SCRAM/md5 state machines, verifiers and the verifier lookup.
//! - [`proxy_instance`]: the instance actor: listener, connection registry, cancel keys,
//!   source of truth, graceful shutdown; its cutover phase machine in `cutover`.
//! - [`cutover_check`]: before a pause, whether a commit could log every session in to
//!   the new source of truth and prepare its statements there.
//! - [`shadow`]: fingerprints, answer comparison and the shadow report.
//! - [`roles_sync`]: copying the source's login roles' password verifiers to the target.
//! - [`peers`], [`orch_client`]: cancel keys across proxies; registration and lease.
//! - [`shared`], [`settings`], [`metrics`], [`conn_info`]: what those pieces share.

#![warn(unreachable_pub)]

pub mod auth;
pub(crate) mod buffer_budget;
pub(crate) mod cancel_limit;
pub(crate) mod client_conn;
pub(crate) mod client_error;
pub(crate) mod conn_info;
pub(crate) mod cutover_check;
pub mod metrics;
pub(crate) mod mysql;
pub mod orch_client;
pub mod peers;
pub(crate) mod pg;
pub(crate) mod protocol;
pub mod proxy_instance;
pub(crate) mod query_trace;
pub mod roles_sync;
pub mod settings;
pub mod shadow;
pub mod shared;

pub use mysql::gateway::logins::{LoginsError, TargetLogins};
