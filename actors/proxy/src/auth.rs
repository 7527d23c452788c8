//! Authentication. The proxy authenticates clients itself with the role's password
//! verifier (fetched from the source of truth by `lookup`), and logs in to backends with
//! the key the client's SCRAM proof reveals, so no cleartext password is ever needed.
//! `mysql_native` does the same for MySQL's `mysql_native_password`.

pub mod credential;
pub mod lookup;
pub mod md5;
pub mod mysql_native;
pub mod scram;

pub use credential::{Credential, Verifier};
