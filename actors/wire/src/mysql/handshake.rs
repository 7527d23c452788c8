//! The connection phase: the server greeting, the client's SSLRequest and handshake
//! response, and the auth switch and more-data packets of plugin authentication.
//!
//! Spec: <https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_connection_phase_packets.html>;
//! MariaDB's extensions: <https://mariadb.com/docs/server/reference/clientserver-protocol/1-connecting/connection>

use std::fmt;

use super::codec::{check_no_nul, put_lenenc_str, put_nul_str, Reader};
use super::consts::capability::*;
use super::consts::header;
use super::error::MysqlError;

/// The only greeting version since MySQL 3.21.
pub const PROTOCOL_VERSION: u8 = 10;
/// An SSLRequest is a handshake response cut after its fixed-size prefix.
pub const SSL_REQUEST_LEN: usize = 32;
/// The greeting's first scramble part.
const AUTH_DATA_1_LEN: usize = 8;
/// The greeting's second scramble part is at least this long, its NUL included.
const AUTH_DATA_2_MIN_LEN: usize = 13;
/// Zero bytes before MariaDB's 4 capability bytes in the greeting's 10 reserved bytes.
const GREETING_RESERVED_LEN: usize = 6;
/// Zero bytes before MariaDB's 4 capability bytes in the response's 23-byte filler.
const RESPONSE_FILLER_LEN: usize = 19;
/// Without `CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA` the auth response has a 1-byte length.
const MAX_SHORT_AUTH_RESPONSE: usize = u8::MAX as usize;

const GREETING: &str = "HandshakeV10 packet";
const RESPONSE: &str = "HandshakeResponse41 packet";
const SSL_REQUEST: &str = "SSLRequest packet";
const AUTH_SWITCH: &str = "AuthSwitchRequest packet";
const AUTH_MORE_DATA: &str = "AuthMoreData packet";

/// The server's greeting, `Protocol::HandshakeV10`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HandshakeV10 {
    pub server_version: String,
    pub connection_id: u32,
    /// The scramble, both parts joined without the NUL that ends part 2: 20 bytes from
    /// MySQL and MariaDB. At least 8 bytes to encode; under 20, it decodes back padded
    /// with NULs to 20, as the wire has no room to say otherwise.
    pub auth_plugin_data: Vec<u8>,
    pub capabilities: u32,
    pub character_set: u8,
    pub status_flags: u16,
    /// MariaDB's extended capabilities (the last 4 reserved bytes); 0 from MySQL.
    pub mariadb_capabilities: u32,
    /// Sent only with `CLIENT_PLUGIN_AUTH`; empty otherwise.
    pub auth_plugin_name: String,
}

impl HandshakeV10 {
    /// Decodes a greeting payload. A server that refuses the connection sends an ERR
    /// packet instead (first byte 0xFF, no SQLSTATE): check for it first.
    pub fn decode(payload: &[u8]) -> Result<Self, MysqlError> {
        let mut r = Reader::new(payload, GREETING);
        let version = r.u8()?;
        if version != PROTOCOL_VERSION {
            return Err(MysqlError::UnsupportedProtocolVersion(version));
        }
        let server_version = r.nul_string()?;
        let connection_id = r.u32()?;
        let mut auth_plugin_data = r.bytes(AUTH_DATA_1_LEN)?.to_vec();
        let _filler = r.u8()?;
        let caps_lower = r.u16()?;
        let character_set = r.u8()?;
        let status_flags = r.u16()?;
        let caps_upper = r.u16()?;
        let capabilities = u32::from(caps_lower) | u32::from(caps_upper) << 16;
        let auth_data_len = usize::from(r.u8()?);
        r.bytes(GREETING_RESERVED_LEN)?;
        let mariadb_capabilities = r.u32()?;
        if capabilities & CLIENT_SECURE_CONNECTION != 0 {
            let len = AUTH_DATA_2_MIN_LEN.max(auth_data_len.saturating_sub(AUTH_DATA_1_LEN));
            let part2 = r.bytes(len)?;
            auth_plugin_data.extend_from_slice(part2.strip_suffix(&[0]).unwrap_or(part2));
        }
        let auth_plugin_name = if capabilities & CLIENT_PLUGIN_AUTH != 0 {
            r.nul_string()?
        } else {
            String::new()
        };
        Ok(Self {
            server_version,
            connection_id,
            auth_plugin_data,
            capabilities,
            character_set,
            status_flags,
            mariadb_capabilities,
            auth_plugin_name,
        })
    }

    /// Appends the greeting payload.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), MysqlError> {
        check_no_nul(
            self.server_version.as_bytes(),
            "server version with a NUL byte",
        )?;
        check_no_nul(
            self.auth_plugin_name.as_bytes(),
            "plugin name with a NUL byte",
        )?;
        let too_short = MysqlError::Unencodable("auth plugin data shorter than 8 bytes");
        let part1 = self
            .auth_plugin_data
            .get(..AUTH_DATA_1_LEN)
            .ok_or(too_short)?;
        let part2 = self
            .auth_plugin_data
            .get(AUTH_DATA_1_LEN..)
            .unwrap_or_default();
        let secure = self.capabilities & CLIENT_SECURE_CONNECTION != 0;
        let plugin_auth = self.capabilities & CLIENT_PLUGIN_AUTH != 0;
        // The length byte counts part 2's NUL. Without CLIENT_PLUGIN_AUTH it is 0 and
        // part 2 is 13 bytes, NUL included.
        let auth_data_len = if plugin_auth {
            u8::try_from(self.auth_plugin_data.len() + 1)
                .map_err(|_| MysqlError::Unencodable("auth plugin data over 254 bytes"))?
        } else {
            0
        };
        if (!secure && !part2.is_empty()) || (!plugin_auth && part2.len() >= AUTH_DATA_2_MIN_LEN) {
            return Err(MysqlError::Unencodable(
                "auth plugin data longer than the capabilities allow",
            ));
        }
        out.push(PROTOCOL_VERSION);
        put_nul_str(out, self.server_version.as_bytes());
        out.extend_from_slice(&self.connection_id.to_le_bytes());
        out.extend_from_slice(part1);
        out.push(0);
        let (caps_lower, caps_upper) = (self.capabilities as u16, (self.capabilities >> 16) as u16);
        out.extend_from_slice(&caps_lower.to_le_bytes());
        out.push(self.character_set);
        out.extend_from_slice(&self.status_flags.to_le_bytes());
        out.extend_from_slice(&caps_upper.to_le_bytes());
        out.push(auth_data_len);
        out.extend_from_slice(&[0; GREETING_RESERVED_LEN]);
        out.extend_from_slice(&self.mariadb_capabilities.to_le_bytes());
        if secure {
            out.extend_from_slice(part2);
            let padding = AUTH_DATA_2_MIN_LEN.saturating_sub(part2.len()).max(1);
            out.resize(out.len() + padding, 0);
        }
        if plugin_auth {
            put_nul_str(out, self.auth_plugin_name.as_bytes());
        }
        Ok(())
    }
}

/// The fixed 32-byte start of every client handshake packet.
fn read_prefix(r: &mut Reader<'_>) -> Result<(u32, u32, u8, u32), MysqlError> {
    let capabilities = r.u32()?;
    if capabilities & CLIENT_PROTOCOL_41 == 0 {
        return Err(MysqlError::Protocol41Required);
    }
    let max_packet_size = r.u32()?;
    let character_set = r.u8()?;
    r.bytes(RESPONSE_FILLER_LEN)?;
    let mariadb_capabilities = r.u32()?;
    Ok((
        capabilities,
        max_packet_size,
        character_set,
        mariadb_capabilities,
    ))
}

fn put_prefix(out: &mut Vec<u8>, caps: u32, max_packet: u32, charset: u8, mariadb_caps: u32) {
    out.extend_from_slice(&caps.to_le_bytes());
    out.extend_from_slice(&max_packet.to_le_bytes());
    out.push(charset);
    out.extend_from_slice(&[0; RESPONSE_FILLER_LEN]);
    out.extend_from_slice(&mariadb_caps.to_le_bytes());
}

/// `Protocol::SSLRequest`: the client asks for TLS, then sends its full handshake
/// response over it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SslRequest {
    pub capabilities: u32,
    pub max_packet_size: u32,
    pub character_set: u8,
    pub mariadb_capabilities: u32,
}

impl SslRequest {
    /// Decodes a payload of exactly [`SSL_REQUEST_LEN`] bytes with `CLIENT_SSL` set.
    pub fn decode(payload: &[u8]) -> Result<Self, MysqlError> {
        let mut r = Reader::new(payload, SSL_REQUEST);
        let (capabilities, max_packet_size, character_set, mariadb_capabilities) =
            read_prefix(&mut r)?;
        if !r.is_empty() || capabilities & CLIENT_SSL == 0 {
            return Err(r.malformed());
        }
        Ok(Self {
            capabilities,
            max_packet_size,
            character_set,
            mariadb_capabilities,
        })
    }

    /// Appends the 32-byte payload, with `CLIENT_SSL` set whatever `capabilities` says.
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_prefix(
            out,
            self.capabilities | CLIENT_SSL,
            self.max_packet_size,
            self.character_set,
            self.mariadb_capabilities,
        );
    }
}

/// `Protocol::HandshakeResponse41`. Which optional fields are on the wire follows
/// `capabilities`; a field whose flag is clear decodes empty and is not encoded.
/// `Debug` leaves out the auth response: with `mysql_clear_password` it is the password.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct HandshakeResponse41 {
    pub capabilities: u32,
    pub max_packet_size: u32,
    pub character_set: u8,
    /// MariaDB's extended capabilities (the last 4 filler bytes).
    pub mariadb_capabilities: u32,
    pub username: String,
    pub auth_response: Vec<u8>,
    /// With `CLIENT_CONNECT_WITH_DB`.
    pub database: String,
    /// With `CLIENT_PLUGIN_AUTH`.
    pub auth_plugin_name: String,
    /// With `CLIENT_CONNECT_ATTRS`, in the client's order.
    pub connect_attrs: Vec<(String, String)>,
    /// With `CLIENT_ZSTD_COMPRESSION_ALGORITHM` (MySQL 8).
    pub zstd_compression_level: u8,
}

impl HandshakeResponse41 {
    /// Decodes a full handshake response. Every field its capabilities announce must be
    /// there (MySQL tolerates a missing plugin name or attribute block; we do not).
    pub fn decode(payload: &[u8]) -> Result<Self, MysqlError> {
        let mut r = Reader::new(payload, RESPONSE);
        let (capabilities, max_packet_size, character_set, mariadb_capabilities) =
            read_prefix(&mut r)?;
        let has = |flag: u32| capabilities & flag != 0;
        let username = r.nul_string()?;
        let auth_response = if has(CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA) {
            r.lenenc_bytes()?
        } else if has(CLIENT_SECURE_CONNECTION) {
            let len = r.u8()?;
            r.bytes(usize::from(len))?
        } else {
            r.nul_bytes()?
        }
        .to_vec();
        let database = if has(CLIENT_CONNECT_WITH_DB) {
            r.nul_string()?
        } else {
            String::new()
        };
        let auth_plugin_name = if has(CLIENT_PLUGIN_AUTH) {
            r.nul_string()?
        } else {
            String::new()
        };
        let connect_attrs = if has(CLIENT_CONNECT_ATTRS) {
            let mut attrs = Reader::new(r.lenenc_bytes()?, RESPONSE);
            let mut pairs = Vec::new();
            while !attrs.is_empty() {
                pairs.push((attrs.lenenc_string()?, attrs.lenenc_string()?));
            }
            pairs
        } else {
            Vec::new()
        };
        let zstd_compression_level = if has(CLIENT_ZSTD_COMPRESSION_ALGORITHM) {
            r.u8()?
        } else {
            0
        };
        Ok(Self {
            capabilities,
            max_packet_size,
            character_set,
            mariadb_capabilities,
            username,
            auth_response,
            database,
            auth_plugin_name,
            connect_attrs,
            zstd_compression_level,
        })
    }

    /// Appends the payload, choosing the auth response encoding from the capabilities.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), MysqlError> {
        let has = |flag: u32| self.capabilities & flag != 0;
        check_no_nul(self.username.as_bytes(), "user name with a NUL byte")?;
        check_no_nul(self.database.as_bytes(), "database name with a NUL byte")?;
        check_no_nul(
            self.auth_plugin_name.as_bytes(),
            "plugin name with a NUL byte",
        )?;
        let lenenc_auth = has(CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA);
        if !lenenc_auth && has(CLIENT_SECURE_CONNECTION) {
            if self.auth_response.len() > MAX_SHORT_AUTH_RESPONSE {
                return Err(MysqlError::Unencodable("auth response over 255 bytes"));
            }
        } else if !lenenc_auth {
            check_no_nul(&self.auth_response, "auth response with a NUL byte")?;
        }
        put_prefix(
            out,
            self.capabilities,
            self.max_packet_size,
            self.character_set,
            self.mariadb_capabilities,
        );
        put_nul_str(out, self.username.as_bytes());
        if lenenc_auth {
            put_lenenc_str(out, &self.auth_response);
        } else if has(CLIENT_SECURE_CONNECTION) {
            out.push(self.auth_response.len() as u8);
            out.extend_from_slice(&self.auth_response);
        } else {
            put_nul_str(out, &self.auth_response);
        }
        if has(CLIENT_CONNECT_WITH_DB) {
            put_nul_str(out, self.database.as_bytes());
        }
        if has(CLIENT_PLUGIN_AUTH) {
            put_nul_str(out, self.auth_plugin_name.as_bytes());
        }
        if has(CLIENT_CONNECT_ATTRS) {
            let mut attrs = Vec::new();
            for (k, v) in &self.connect_attrs {
                put_lenenc_str(&mut attrs, k.as_bytes());
                put_lenenc_str(&mut attrs, v.as_bytes());
            }
            put_lenenc_str(out, &attrs);
        }
        if has(CLIENT_ZSTD_COMPRESSION_ALGORITHM) {
            out.push(self.zstd_compression_level);
        }
        Ok(())
    }
}

impl fmt::Debug for HandshakeResponse41 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandshakeResponse41")
            .field("capabilities", &format_args!("{:#010x}", self.capabilities))
            .field("max_packet_size", &self.max_packet_size)
            .field("character_set", &self.character_set)
            .field("mariadb_capabilities", &self.mariadb_capabilities)
            .field("username", &self.username)
            .field(
                "auth_response",
                &format_args!("<{} bytes>", self.auth_response.len()),
            )
            .field("database", &self.database)
            .field("auth_plugin_name", &self.auth_plugin_name)
            .field("connect_attrs", &self.connect_attrs)
            .field("zstd_compression_level", &self.zstd_compression_level)
            .finish()
    }
}

/// The client's first packet after the greeting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientHandshake {
    /// Start TLS; the full response follows over it.
    SslRequest(SslRequest),
    Response(HandshakeResponse41),
}

impl ClientHandshake {
    /// Tells the two apart by length: an SSLRequest is exactly [`SSL_REQUEST_LEN`] bytes,
    /// a full response is longer (it has at least the user name's NUL). A full response
    /// sent over TLS also carries `CLIENT_SSL`, so the flag cannot decide.
    pub fn decode(payload: &[u8]) -> Result<Self, MysqlError> {
        if payload.len() == SSL_REQUEST_LEN {
            SslRequest::decode(payload).map(Self::SslRequest)
        } else {
            HandshakeResponse41::decode(payload).map(Self::Response)
        }
    }
}

/// `Protocol::AuthSwitchRequest`: the server asks the client to authenticate again with
/// another plugin.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthSwitchRequest {
    pub plugin_name: String,
    /// The plugin's challenge as sent: for `mysql_native_password` the 20-byte scramble
    /// and a NUL.
    pub data: Vec<u8>,
}

impl AuthSwitchRequest {
    /// Decodes a 0xFE-led payload seen during authentication. The pre-4.1 one-byte form
    /// (switch to the old password scheme) has no plugin name and is an error here.
    pub fn decode(payload: &[u8]) -> Result<Self, MysqlError> {
        let mut r = Reader::new(payload, AUTH_SWITCH);
        if r.u8()? != header::AUTH_SWITCH {
            return Err(r.malformed());
        }
        let plugin_name = r.nul_string()?;
        Ok(Self {
            plugin_name,
            data: r.rest().to_vec(),
        })
    }

    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), MysqlError> {
        check_no_nul(self.plugin_name.as_bytes(), "plugin name with a NUL byte")?;
        out.push(header::AUTH_SWITCH);
        put_nul_str(out, self.plugin_name.as_bytes());
        out.extend_from_slice(&self.data);
        Ok(())
    }
}

/// `Protocol::AuthMoreData`: plugin-specific data from the server during authentication
/// (for `caching_sha2_password`, a status byte or the server's public key).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthMoreData {
    pub data: Vec<u8>,
}

impl AuthMoreData {
    pub fn decode(payload: &[u8]) -> Result<Self, MysqlError> {
        let mut r = Reader::new(payload, AUTH_MORE_DATA);
        if r.u8()? != header::AUTH_MORE_DATA {
            return Err(r.malformed());
        }
        Ok(Self {
            data: r.rest().to_vec(),
        })
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(header::AUTH_MORE_DATA);
        out.extend_from_slice(&self.data);
    }
}

#[cfg(test)]
mod tests;
