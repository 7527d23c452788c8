//! `COM_CHANGE_USER` as a proxy reads it: who the client becomes, and where the packet
//! names its authentication method.
//!
//! The client's proof in this packet answers the scramble of the greeting it got, which
//! for a proxied session is the proxy's, never sent by the server behind it. MariaDB asks
//! again for every `COM_CHANGE_USER` (an auth switch carrying its own scramble); a MySQL
//! server checks the proof as sent when the packet names the account's own method. A
//! method name no server knows makes it ask again too, and the client then answers
//! directly, so the server checks the password itself. [`ChangeUser::mask_method`]
//! writes such a name in place.
//!
//! Spec: <https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_com_change_user.html>

use super::codec::Reader;
use super::consts::capability::{CLIENT_PLUGIN_AUTH, CLIENT_SECURE_CONNECTION};
use super::consts::command::COM_CHANGE_USER;
use super::MysqlError;
use std::ops::Range;

const WHAT: &str = "COM_CHANGE_USER";

/// The name written over the client's method name, cut to its length.
const MASK: &[u8] = b"molt_lms_asks_the_server_to_switch_authentication_method";

/// A decoded `COM_CHANGE_USER` payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeUser {
    pub user: String,
    pub database: String,
    /// Where the method's name lies in the payload (empty when the client named none).
    method: Range<usize>,
}

impl ChangeUser {
    /// Reads `payload` (command byte included) as a client with capabilities `caps`
    /// sends it.
    pub fn decode(payload: &[u8], caps: u32) -> Result<Self, MysqlError> {
        let mut r = Reader::new(payload, WHAT);
        if r.u8()? != COM_CHANGE_USER {
            return Err(r.malformed());
        }
        let user = String::from_utf8_lossy(r.nul_bytes()?).into_owned();
        if caps & CLIENT_SECURE_CONNECTION != 0 {
            let len = r.u8()?;
            r.bytes(usize::from(len))?;
        } else {
            r.nul_bytes()?;
        }
        let database = if r.is_empty() {
            String::new()
        } else {
            String::from_utf8_lossy(r.nul_bytes()?).into_owned()
        };
        let mut method = 0..0;
        if !r.is_empty() {
            r.u16()?; // character set
            if caps & CLIENT_PLUGIN_AUTH != 0 && !r.is_empty() {
                let start = payload.len() - r.remaining().len();
                let name = r.nul_bytes()?;
                method = start..start + name.len();
            }
        }
        Ok(Self {
            user,
            database,
            method,
        })
    }

    /// Overwrites the method's name in `payload` (the one decoded) with a name no server
    /// has, of the same length, so the packet keeps its size. False when the client named
    /// no method: the server then checks the proof as sent.
    pub fn mask_method(&self, payload: &mut [u8]) -> bool {
        let Some(name) = payload.get_mut(self.method.clone()) else {
            return false;
        };
        if name.is_empty() {
            return false;
        }
        for (i, b) in name.iter_mut().enumerate() {
            *b = MASK.get(i).copied().unwrap_or(b'_');
        }
        true
    }
}

#[cfg(test)]
mod tests;
