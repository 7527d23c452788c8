//! The orchestrator's actors (crate `molt-lms-orchestrator-actors`; the proxy binary does
//! not link it): one `ProxyAgent` per registered proxy (liveness, pushes),
//! and the supervised `Coordinator` that owns the desired state and the cutover attempt,
//! persisted through `store` so a restart loses nothing.

pub mod attempt;
pub mod coordinator;
pub mod proxy_agent;
pub mod store;
pub mod view;
