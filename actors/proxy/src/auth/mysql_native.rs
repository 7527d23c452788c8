//! `mysql_native_password`, both sides, without ever holding a password.
//!
//! The server stores `h2 = SHA1(SHA1(password))` (shown as `*` and 40 hex digits in
//! `mysql.user`). A client proves it knows the password by sending
//! `token = SHA1(password) XOR SHA1(scramble || h2)` for the server's 20-byte scramble.
//! Checking that proof the way the server does gives the proxy `h1 = SHA1(password)`:
//! `h1 = token XOR SHA1(scramble || h2)`, accepted when `SHA1(h1) == h2`. And `h1` is all
//! a client needs to answer any other scramble, so the proxy logs in to backends with it.
//! `h1` is a password-equivalent for this method (as SCRAM's client key is for SCRAM), so
//! it is kept as a secret and never logged; a database that stores a different hash
//! (another password, or `caching_sha2_password`) will not accept it.

use molt_lms_common::secret::constant_time_eq;
use sha1::{Digest, Sha1};

/// Length of the scramble and of every hash here.
pub const SCRAMBLE_LEN: usize = 20;

/// `SHA1(password)`: what the proxy holds for a client logged in with this method.
#[derive(Clone, PartialEq, Eq)]
pub struct NativeKey(pub [u8; SCRAMBLE_LEN]);

impl std::fmt::Debug for NativeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NativeKey(<secret>)")
    }
}

fn sha1(parts: &[&[u8]]) -> [u8; SCRAMBLE_LEN] {
    let mut h = Sha1::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

fn xor(a: &[u8; SCRAMBLE_LEN], b: &[u8; SCRAMBLE_LEN]) -> [u8; SCRAMBLE_LEN] {
    std::array::from_fn(|i| a[i] ^ b[i])
}

/// The stored hash `h2` from its `mysql.user` form (`*` and 40 hex digits, any case).
pub fn parse_stored(s: &str) -> Option<[u8; SCRAMBLE_LEN]> {
    let hex = s.strip_prefix('*')?;
    if hex.len() != 2 * SCRAMBLE_LEN || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; SCRAMBLE_LEN];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// The stored hash for `password`, as a server computes it (tests and tools).
pub fn stored_hash(password: &str) -> [u8; SCRAMBLE_LEN] {
    sha1(&[&sha1(&[password.as_bytes()])])
}

/// The key a password gives (the client side, for a login with a password).
pub fn key_from_password(password: &str) -> NativeKey {
    NativeKey(sha1(&[password.as_bytes()]))
}

/// The client's answer to `scramble`. An empty password answers with no bytes.
pub fn client_token(key: &NativeKey, scramble: &[u8]) -> [u8; SCRAMBLE_LEN] {
    let h2 = sha1(&[&key.0]);
    xor(&key.0, &sha1(&[scramble, &h2]))
}

/// Checks a client's `token` for `scramble` against the stored hash, as the server
/// would; on success returns the key the proof reveals.
pub fn verify(stored: &[u8; SCRAMBLE_LEN], scramble: &[u8], token: &[u8]) -> Option<NativeKey> {
    let token: &[u8; SCRAMBLE_LEN] = token.try_into().ok()?;
    let h1 = xor(token, &sha1(&[scramble, stored]));
    constant_time_eq(&sha1(&[&h1]), stored).then_some(NativeKey(h1))
}

#[cfg(test)]
mod tests;
