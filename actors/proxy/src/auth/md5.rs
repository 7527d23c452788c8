//! md5 password authentication (protocol AuthenticationMD5Password).

use md5::{Digest, Md5};

fn hex_md5(parts: &[&[u8]]) -> String {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    molt_lms_common::hex::hex(&h.finalize())
}

/// The stored verifier for a password: `md5` + hex(md5(password || user)).
pub fn verifier(user: &str, password: &str) -> String {
    format!("md5{}", hex_md5(&[password.as_bytes(), user.as_bytes()]))
}

/// The client's answer to a salt, computed from the stored verifier.
pub fn response(verifier: &str, salt: &[u8; 4]) -> String {
    let inner = verifier.strip_prefix("md5").unwrap_or(verifier);
    format!("md5{}", hex_md5(&[inner.as_bytes(), salt]))
}

/// Constant-time comparison of a client's answer with the expected one.
pub fn matches(verifier: &str, salt: &[u8; 4], answer: &str) -> bool {
    molt_lms_common::secret::constant_time_eq(
        response(verifier, salt).as_bytes(),
        answer.as_bytes(),
    )
}

#[cfg(test)]
mod tests;
