//! Wire protocols, sans I/O: pure functions over byte slices, no sockets, no actix.
//!
//! A MySQL codec will sit beside `pg` with the same shape.

pub mod pg;
