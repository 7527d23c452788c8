//! The molt-lms proxy's moving parts (crate `molt-lms-proxy-actors`): authentication,
//! the data path and the actors that own connections and the proxy instance. The codecs
//! are in `molt-lms-wire`, what the orchestrator shares in `molt-lms-common`; the
//! orchestrator's actors are a crate of their own that the proxy does not link.
//!
//! # Layout
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
//! - [`shared`], [`settings`], [`metrics`], [`conn_info`]: what those pieces share.
//!
//! The connection layer is not protocol-neutral yet: PostgreSQL tags and SQLSTATEs still
//! appear in the connection actor, the relay, the shadow relay and the switch. A seam
//! between them and the protocol must come before a MySQL front end.

pub mod auth;
pub mod backend;
pub mod client_conn;
pub mod conn_info;
pub mod cutover_check;
pub mod metrics;
pub mod orch_client;
pub mod peers;
pub mod pgio;
pub mod proxy_instance;
pub mod roles_sync;
pub mod settings;
pub mod shadow;
pub mod shared;
