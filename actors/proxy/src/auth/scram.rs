//! SCRAM-SHA-256 (RFC 5802/7677) without channel binding: the server side the proxy
//! runs for clients, and the client side it runs against backends.
//!
//! The server side verifies the client's proof against the stored verifier and, as a
//! by-product, recovers the ClientKey (`proof XOR HMAC(StoredKey, AuthMessage)`). The
//! client side can log in either with a password or with such a recovered key.

use super::credential::{Credential, ScramKeys};
use base64::{engine::general_purpose::STANDARD as B64, Engine};
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::{Digest, Sha256};
use thiserror::Error;

type HmacSha256 = Hmac<Sha256>;

/// The mechanism name offered and accepted.
pub const MECHANISM: &str = "SCRAM-SHA-256";
/// PostgreSQL's default iteration count, used for mock verifiers.
const DEFAULT_ITERATIONS: u32 = 4096;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ScramError {
    #[error("malformed SCRAM message")]
    Malformed,
    #[error("channel binding is not supported")]
    ChannelBinding,
    #[error("nonce mismatch")]
    Nonce,
    #[error("invalid proof")]
    BadProof,
    #[error("server signature did not verify")]
    BadServerSignature,
    #[error("the server's SCRAM salt or iteration count differs from the verifier the proxy holds; copy roles to this database with their verifiers (pg_dumpall --roles-only)")]
    VerifierMismatch,
    #[error("a SCRAM login needs a password or a SCRAM key, not an md5 hash")]
    NoScramCredential,
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    #[allow(clippy::expect_used)] // HMAC accepts keys of any length.
    let mut m = HmacSha256::new_from_slice(key).expect("any key length");
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// `Hi()` of RFC 5802: PBKDF2 with HMAC-SHA-256.
fn salted_password(password: &[u8], salt: &[u8], iterations: u32) -> [u8; 32] {
    let mut u = hmac(password, &[salt, &1u32.to_be_bytes()]);
    let mut out = u;
    for _ in 1..iterations {
        u = hmac(password, &[&u]);
        out.iter_mut().zip(u.iter()).for_each(|(o, x)| *o ^= x);
    }
    out
}

/// Derives the verifier keys of a password for a given salt.
pub fn keys_from_password(password: &str, salt: &[u8], iterations: u32) -> (ScramKeys, [u8; 32]) {
    let salted = salted_password(password.as_bytes(), salt, iterations);
    let client_key = hmac(&salted, &[b"Client Key"]);
    let keys = ScramKeys {
        iterations,
        salt: salt.to_vec(),
        stored_key: sha256(&client_key),
        server_key: hmac(&salted, &[b"Server Key"]),
    };
    (keys, client_key)
}

fn nonce() -> String {
    let bytes: [u8; 18] = rand::rng().random();
    B64.encode(bytes)
}

fn xor(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for i in 0..32 {
        out[i] = a[i] ^ b[i];
    }
    out
}

fn attr(msg: &str, key: char) -> Option<&str> {
    msg.split(',')
        .find_map(|p| p.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
}

/// The server side of one SCRAM exchange with a client.
pub struct ScramServer {
    keys: ScramKeys,
    /// A mock exchange for an unknown role always fails, but only at the proof, so that
    /// a client cannot tell unknown roles from wrong passwords.
    mock: bool,
    nonce: String,
    client_first_bare: String,
    server_first: String,
}

impl ScramServer {
    pub fn new(keys: ScramKeys) -> Self {
        Self {
            keys,
            mock: false,
            nonce: String::new(),
            client_first_bare: String::new(),
            server_first: String::new(),
        }
    }

    /// An exchange for a role without a usable verifier. Its salt is derived from the
    /// role's name and `secret` (the same on every proxy of a deployment, unknown to
    /// clients), so asking twice, or asking another proxy, gives the same salt, as a real
    /// role's would: a random salt per attempt would tell that the role does not exist.
    pub fn mock(secret: &[u8], user: &str) -> Self {
        let digest = sha256(
            &[
                b"molt-lms scram mock salt\0",
                secret,
                b"\0",
                user.as_bytes(),
            ]
            .concat(),
        );
        let mut salt = [0u8; 16];
        salt.copy_from_slice(&digest[..16]);
        let mut s = Self::new(ScramKeys {
            iterations: DEFAULT_ITERATIONS,
            salt: salt.to_vec(),
            stored_key: rand::rng().random(),
            server_key: rand::rng().random(),
        });
        s.mock = true;
        s
    }

    /// The verifier keys, unless this is a mock exchange.
    pub fn keys(&self) -> Option<&ScramKeys> {
        (!self.mock).then_some(&self.keys)
    }

    /// Takes client-first-message, returns server-first-message.
    pub fn server_first(&mut self, client_first: &[u8]) -> Result<String, ScramError> {
        let msg = std::str::from_utf8(client_first).map_err(|_| ScramError::Malformed)?;
        // gs2 header: "n,," (no binding) or "y,," (client could bind, server does not).
        let bare = if let Some(rest) = msg.strip_prefix("n,").or_else(|| msg.strip_prefix("y,")) {
            rest.split_once(',').map(|(_authzid, bare)| bare)
        } else if msg.starts_with("p=") {
            return Err(ScramError::ChannelBinding);
        } else {
            None
        }
        .ok_or(ScramError::Malformed)?;
        let client_nonce = attr(bare, 'r').ok_or(ScramError::Malformed)?;
        self.nonce = format!("{client_nonce}{}", nonce());
        self.client_first_bare = bare.to_owned();
        self.server_first = format!(
            "r={},s={},i={}",
            self.nonce,
            B64.encode(&self.keys.salt),
            self.keys.iterations
        );
        Ok(self.server_first.clone())
    }

    /// Takes client-final-message; on a valid proof returns server-final-message and
    /// the client's key.
    pub fn server_final(&self, client_final: &[u8]) -> Result<(String, [u8; 32]), ScramError> {
        let msg = std::str::from_utf8(client_final).map_err(|_| ScramError::Malformed)?;
        let (without_proof, proof) = msg.rsplit_once(",p=").ok_or(ScramError::Malformed)?;
        let binding = attr(without_proof, 'c').ok_or(ScramError::Malformed)?;
        if binding != "biws" && binding != "eSws" {
            return Err(ScramError::ChannelBinding);
        }
        if attr(without_proof, 'r') != Some(self.nonce.as_str()) {
            return Err(ScramError::Nonce);
        }
        let proof: [u8; 32] = B64
            .decode(proof)
            .ok()
            .and_then(|p| p.try_into().ok())
            .ok_or(ScramError::Malformed)?;
        let auth_message = format!(
            "{},{},{}",
            self.client_first_bare, self.server_first, without_proof
        );
        let signature = hmac(&self.keys.stored_key, &[auth_message.as_bytes()]);
        let client_key = xor(&proof, &signature);
        if self.mock || sha256(&client_key) != self.keys.stored_key {
            return Err(ScramError::BadProof);
        }
        let server_sig = hmac(&self.keys.server_key, &[auth_message.as_bytes()]);
        Ok((format!("v={}", B64.encode(server_sig)), client_key))
    }
}

/// The client side of one SCRAM exchange with a backend.
pub struct ScramClient<'a> {
    credential: &'a Credential,
    nonce: String,
    auth_message: String,
    server_key: [u8; 32],
}

impl<'a> ScramClient<'a> {
    pub fn new(credential: &'a Credential) -> Result<Self, ScramError> {
        if matches!(credential, Credential::Md5Hash(_)) {
            return Err(ScramError::NoScramCredential);
        }
        Ok(Self {
            credential,
            nonce: nonce(),
            auth_message: String::new(),
            server_key: [0; 32],
        })
    }

    /// client-first-message. The user name is empty: PostgreSQL takes it from start-up.
    pub fn client_first(&self) -> String {
        format!("n,,n=,r={}", self.nonce)
    }

    /// Takes server-first-message, returns client-final-message.
    pub fn client_final(&mut self, server_first: &[u8]) -> Result<String, ScramError> {
        let sf = std::str::from_utf8(server_first).map_err(|_| ScramError::Malformed)?;
        let nonce = attr(sf, 'r').ok_or(ScramError::Malformed)?;
        if !nonce.starts_with(&self.nonce) {
            return Err(ScramError::Nonce);
        }
        let salt = attr(sf, 's')
            .and_then(|s| B64.decode(s).ok())
            .ok_or(ScramError::Malformed)?;
        let iterations: u32 = attr(sf, 'i')
            .and_then(|i| i.parse().ok())
            .ok_or(ScramError::Malformed)?;
        let (client_key, server_key) = match self.credential {
            Credential::Password(p) => {
                let (keys, ck) = keys_from_password(p.expose(), &salt, iterations);
                (ck, keys.server_key)
            }
            Credential::ScramKey { client_key, keys } => {
                if keys.salt != salt || keys.iterations != iterations {
                    return Err(ScramError::VerifierMismatch);
                }
                (*client_key, keys.server_key)
            }
            Credential::Md5Hash(_) | Credential::MysqlNative(_) => {
                return Err(ScramError::NoScramCredential)
            }
        };
        let without_proof = format!("c=biws,r={nonce}");
        self.auth_message = format!("n=,r={},{sf},{without_proof}", self.nonce);
        let signature = hmac(&sha256(&client_key), &[self.auth_message.as_bytes()]);
        self.server_key = server_key;
        Ok(format!(
            "{without_proof},p={}",
            B64.encode(xor(&client_key, &signature))
        ))
    }

    /// Checks server-final-message: the backend proves it knows the verifier too.
    pub fn verify_server_final(&self, server_final: &[u8]) -> Result<(), ScramError> {
        let msg = std::str::from_utf8(server_final).map_err(|_| ScramError::Malformed)?;
        let sig = attr(msg, 'v')
            .and_then(|v| B64.decode(v).ok())
            .ok_or(ScramError::Malformed)?;
        if sig != hmac(&self.server_key, &[self.auth_message.as_bytes()]) {
            return Err(ScramError::BadServerSignature);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
