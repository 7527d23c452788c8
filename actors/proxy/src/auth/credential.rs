//! What the proxy knows about a role: the stored verifier, and what it can log in with.

use base64::{engine::general_purpose::STANDARD as B64, Engine};
use molt_lms_common::secret::Secret;
use std::fmt;

/// A role's stored password verifier, as `pg_authid.rolpassword` holds it.
#[derive(Clone, PartialEq, Eq)]
pub enum Verifier {
    /// `SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>`
    Scram(ScramKeys),
    /// `md5<hex of md5(password || user)>`
    Md5(String),
    /// MySQL `mysql_native_password`: the `SHA1(SHA1(password))` of each account row of
    /// the user (one per host pattern; `None`: an empty password). A proof that matches
    /// any of them is accepted here; the source, which knows which row applies to the
    /// proxy's address, decides when the proxy logs in with the key it reveals.
    MysqlNative(Vec<Option<[u8; 20]>>),
}

/// The SCRAM-SHA-256 verifier's parts.
#[derive(Clone, PartialEq, Eq)]
pub struct ScramKeys {
    pub iterations: u32,
    pub salt: Vec<u8>,
    pub stored_key: [u8; 32],
    pub server_key: [u8; 32],
}

impl Verifier {
    /// Parses a stored verifier; `None` for anything else (no password, plain text).
    pub fn parse(s: &str) -> Option<Self> {
        if let Some(rest) = s.strip_prefix("SCRAM-SHA-256$") {
            let (iter_salt, keys) = rest.split_once('$')?;
            let (iter, salt) = iter_salt.split_once(':')?;
            let (stored, server) = keys.split_once(':')?;
            return Some(Verifier::Scram(ScramKeys {
                iterations: iter.parse().ok()?,
                salt: B64.decode(salt).ok()?,
                stored_key: B64.decode(stored).ok()?.try_into().ok()?,
                server_key: B64.decode(server).ok()?.try_into().ok()?,
            }));
        }
        if s.len() == 35 && s.starts_with("md5") && s[3..].bytes().all(|b| b.is_ascii_hexdigit()) {
            return Some(Verifier::Md5(s.to_owned()));
        }
        None
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verifier::Scram(_) => f.write_str("Verifier::Scram(***)"),
            Verifier::Md5(_) => f.write_str("Verifier::Md5(***)"),
            Verifier::MysqlNative(_) => f.write_str("Verifier::MysqlNative(***)"),
        }
    }
}

/// What the proxy presents to a backend on a client's behalf.
#[derive(Clone)]
pub enum Credential {
    /// Recovered from the client's SCRAM proof. It logs in to any server that stores the
    /// same verifier (same salt and iteration count), which is what copying roles with
    /// `pg_dumpall --roles-only` gives the target.
    ScramKey {
        client_key: [u8; 32],
        keys: ScramKeys,
    },
    /// An md5 verifier: md5 authentication only needs the hash.
    Md5Hash(String),
    /// A password from a connection URL (the proxy's own service logins).
    Password(Secret),
    /// `SHA1(password)`, recovered from a MySQL client's `mysql_native_password` proof
    /// (`None`: the empty password). Logs in to any MySQL server storing the same hash.
    MysqlNative(Option<crate::auth::mysql_native::NativeKey>),
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self {
            Credential::ScramKey { .. } => "ScramKey",
            Credential::Md5Hash(_) => "Md5Hash",
            Credential::Password(_) => "Password",
            Credential::MysqlNative(_) => "MysqlNative",
        };
        write!(f, "Credential::{kind}(***)")
    }
}

#[cfg(test)]
mod tests;
