//! The orchestrator's actors (crate `molt-lms-orchestrator-actors`; the proxy binary does
//! not link it).
//!
//! - [`coordinator`]: the supervised actor that owns the desired state and the cutover
//!   attempt, persisted through [`store`] so a restart loses nothing.
//! - [`attempt`]: the attempt's state machine (pause, prepare, switch) and the rules for
//!   begin, commit and abort as plain functions, unit-tested without actix.
//! - [`proxy_agent`]: one actor per registered proxy: liveness and pushes.
//! - [`store`]: the metadata schema and its compare-and-set writes.
//! - [`view`]: an attempt as the REST API shows it.
//! - [`gate`]: the replication catch-up gate a commit can wait for.
//! - [`ends`]: the source and target databases the gate and verification read.
//! - [`trace`]: a cutover attempt as one OpenTelemetry trace.
//! - [`verify`]: comparing source and target table by table; [`verifier`] runs it.

#![warn(unreachable_pub)]

pub mod attempt;
pub mod coordinator;
pub mod ends;
pub mod gate;
pub(crate) mod proxy_agent;
pub mod store;
pub(crate) mod trace;
pub mod verifier;
pub mod verify;
pub(crate) mod view;
