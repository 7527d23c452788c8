//! A MySQL client's start-up: the proxy's greeting, TLS on the client's SSLRequest, the
//! handshake response, and `mysql_native_password` checked against the account's stored
//! hash, switching the client to that method when it answered with another.

use super::backend::{Greeting, WIRE_CAPS};
use super::io::{read_packet_exact, read_packet_within, ReadError, MAX_CLIENT_STARTUP_PAYLOAD};
use super::Hello;
use crate::auth::mysql_native::{verify, NativeKey, SCRAMBLE_LEN};
use crate::auth::{Credential, Verifier};
use crate::client_error::{ClientError, ClientErrorKind};
use crate::protocol::{ClientKey, Opening, Refusal, StartupError, Violation};
use crate::shared::Shared;
use bytes::BytesMut;
use molt_lms_common::stream::Stream;
use molt_lms_wire::mysql::consts::auth_plugin::MYSQL_NATIVE_PASSWORD;
use molt_lms_wire::mysql::consts::capability::*;
use molt_lms_wire::mysql::consts::mariadb_capability::MARIADB_CLIENT_CACHE_METADATA;
use molt_lms_wire::mysql::consts::status::SERVER_STATUS_AUTOCOMMIT;
use molt_lms_wire::mysql::packet::put_packet;
use molt_lms_wire::mysql::{AuthSwitchRequest, ClientHandshake, HandshakeV10, MysqlError};
use rand::Rng;
use std::cell::Cell;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// What the proxy offers clients, before it is narrowed to what the source offers. No
/// compression, no query attributes and no MariaDB extensions: the proxy would have to
/// translate them.
const OFFERED: u32 = CLIENT_LONG_PASSWORD
    | CLIENT_FOUND_ROWS
    | CLIENT_LONG_FLAG
    | CLIENT_CONNECT_WITH_DB
    | CLIENT_LOCAL_FILES
    | CLIENT_IGNORE_SPACE
    | CLIENT_PROTOCOL_41
    | CLIENT_INTERACTIVE
    | CLIENT_IGNORE_SIGPIPE
    | CLIENT_TRANSACTIONS
    | CLIENT_SECURE_CONNECTION
    | CLIENT_MULTI_STATEMENTS
    | CLIENT_MULTI_RESULTS
    | CLIENT_PS_MULTI_RESULTS
    | CLIENT_PLUGIN_AUTH
    | CLIENT_CONNECT_ATTRS
    | CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
    | CLIENT_SESSION_TRACK
    | CLIENT_DEPRECATE_EOF;

/// The capabilities the proxy's greeting announces, given the source's. `CLIENT_MYSQL`
/// follows the source too: a MariaDB source clears it, which tells MariaDB clients to read
/// the extended capabilities.
pub(crate) fn offered(source_caps: u32, tls: bool) -> u32 {
    let mut caps = OFFERED & (source_caps | !(WIRE_CAPS | CLIENT_LOCAL_FILES | CLIENT_MYSQL));
    if tls {
        caps |= CLIENT_SSL;
    }
    caps
}

/// MariaDB's extended capabilities the proxy offers, given the source's: metadata caching
/// (column definitions not resent on every execute), which the tracker follows. Progress
/// reports and bulk operations change answers in ways it does not, so they are not offered.
/// Nor is metadata caching while shadowing: comparing an execute's rows needs its column
/// types in the same answer.
pub(crate) fn offered_mariadb(source_mariadb_caps: u32, shadowing: bool) -> u32 {
    if shadowing {
        return 0;
    }
    source_mariadb_caps & MARIADB_CLIENT_CACHE_METADATA
}

/// A scramble as servers make them: printable-range bytes, no NUL (part 2 of the
/// greeting's scramble is NUL-terminated).
fn scramble() -> [u8; SCRAMBLE_LEN] {
    let mut rng = rand::rng();
    std::array::from_fn(|_| rng.random_range(1..=127u8))
}

fn violation(e: MysqlError) -> StartupError {
    StartupError::Protocol(Violation::new(e))
}

fn read_failed(e: ReadError) -> StartupError {
    match e {
        ReadError::Closed => StartupError::Closed,
        ReadError::Io(e) => StartupError::Io(e),
        ReadError::Protocol(e) => violation(e),
    }
}

/// Answers a broken start-up packet with an ERR numbered `seq` (the client's next
/// expected), counts it, and closes.
async fn refuse(
    shared: &Shared,
    mut stream: Stream,
    seq: u8,
    e: MysqlError,
) -> (Option<Stream>, StartupError) {
    let why = ClientError::new(ClientErrorKind::ProtocolViolation, e.to_string());
    shared.metrics.client_error(why.kind);
    let mut out = Vec::new();
    super::errors::encode(&why, seq, &mut out);
    let _ = stream.write_all(&out).await;
    let _ = stream.shutdown().await;
    (None, violation(e))
}

/// Greets the client as the source would (its version and collation) with the proxy's
/// own connection id and scramble, negotiates TLS, and reads the handshake response.
pub(crate) async fn open(
    shared: &Shared,
    tcp: TcpStream,
    source: &Greeting,
    key: ClientKey,
) -> Result<Opening<Hello>, (Option<Stream>, StartupError)> {
    let tls = shared.tls.as_ref();
    let mut stream = Stream::Tcp(tcp);
    let mut buf = BytesMut::with_capacity(1024);
    let offered = offered(source.caps, tls.is_some());
    let shadowing = shared.settings.shadow_mode != molt_lms_api::ShadowMode::None;
    let offered_mariadb = offered_mariadb(source.mariadb_caps, shadowing);
    let scramble = scramble();
    let greeting = HandshakeV10 {
        server_version: source.version.clone(),
        connection_id: key.pid as u32,
        auth_plugin_data: scramble.to_vec(),
        capabilities: offered,
        character_set: source.charset,
        status_flags: SERVER_STATUS_AUTOCOMMIT,
        mariadb_capabilities: offered_mariadb,
        auth_plugin_name: MYSQL_NATIVE_PASSWORD.to_owned(),
    };
    let mut out = Vec::new();
    let mut encoded = Ok(());
    put_packet(&mut out, 0, |o| encoded = greeting.encode(o));
    if let Err(e) = encoded {
        return Err((None, violation(e)));
    }
    if let Err(e) = stream.write_all(&out).await {
        return Err((None, e.into()));
    }
    let mut seq = 1;
    let response = loop {
        // Before TLS, read exactly one packet: a client sends its TLS handshake right
        // behind an SSLRequest, without waiting, and those bytes are the acceptor's.
        let read = match &mut stream {
            Stream::Tcp(tcp) => read_packet_exact(tcp, seq, MAX_CLIENT_STARTUP_PAYLOAD).await,
            other => read_packet_within(other, &mut buf, seq, MAX_CLIENT_STARTUP_PAYLOAD).await,
        };
        let (payload, next) = match read {
            Ok(p) => p,
            Err(ReadError::Protocol(e)) => {
                return Err(refuse(shared, stream, seq.wrapping_add(1), e).await)
            }
            Err(e) => return Err((None, read_failed(e))),
        };
        seq = next;
        match ClientHandshake::decode(&payload) {
            Ok(ClientHandshake::Response(r)) => break r,
            Ok(ClientHandshake::SslRequest(_)) => {
                let (Stream::Tcp(tcp), Some(acceptor)) = (stream, tls) else {
                    return Err((None, violation(MysqlError::Malformed("SSLRequest"))));
                };
                // Nothing past the SSLRequest was read: whatever follows is TLS, and
                // plaintext slipped in before it fails the handshake.
                match acceptor.accept(tcp).await {
                    Ok(tls) => stream = Stream::ServerTls(Box::new(tls)),
                    Err(e) => return Err((None, StartupError::Tls(e))),
                }
            }
            Err(e) => return Err(refuse(shared, stream, seq, e).await),
        }
    };
    let caps = response.capabilities & offered;
    // A client reads (and answers) the extended capabilities only when CLIENT_MYSQL is off.
    let mariadb_caps = if response.capabilities & CLIENT_MYSQL == 0 {
        response.mariadb_capabilities & offered_mariadb
    } else {
        0
    };
    let mut params = vec![
        ("user".to_owned(), response.username),
        ("database".to_owned(), response.database),
        ("client_flag".to_owned(), caps.to_string()),
        ("mariadb_client_flag".to_owned(), mariadb_caps.to_string()),
        (
            "character_set".to_owned(),
            response.character_set.to_string(),
        ),
        // The id the greeting gave the client: a session served from the target is
        // known by it to `KILL QUERY`.
        ("connection_id".to_owned(), (key.pid as u32).to_string()),
    ];
    params.extend(
        response
            .connect_attrs
            .into_iter()
            .map(|(n, v)| (format!("attr.{n}"), v)),
    );
    let hello = Hello {
        scramble,
        caps,
        mariadb_caps,
        seq,
        plugin: response.auth_plugin_name,
        auth_response: response.auth_response,
        client_id: key.pid as u32,
        thread: Cell::new(0),
    };
    Ok(Opening::Session {
        stream,
        buf,
        params,
        hello,
    })
}

/// Checks the client's `mysql_native_password` proof against the account's stored
/// hashes; returns the key it reveals. A client that answered with another method is
/// switched to this one first. An unknown account is refused only after its proof, so
/// a failed login looks the same whether the account exists or not.
pub(crate) async fn authenticate(
    stream: &mut Stream,
    buf: &mut BytesMut,
    hello: &mut Hello,
    user: &str,
    verifier: Option<Verifier>,
) -> Result<Result<Credential, Refusal>, StartupError> {
    let native = hello.plugin.is_empty() || hello.plugin == MYSQL_NATIVE_PASSWORD;
    let token = if native {
        std::mem::take(&mut hello.auth_response)
    } else {
        let mut data = hello.scramble.to_vec();
        data.push(0);
        let switch = AuthSwitchRequest {
            plugin_name: MYSQL_NATIVE_PASSWORD.to_owned(),
            data,
        };
        let mut out = Vec::new();
        let mut encoded = Ok(());
        let next = put_packet(&mut out, hello.seq, |o| encoded = switch.encode(o));
        encoded.map_err(violation)?;
        stream.write_all(&out).await?;
        let (token, after) = read_packet_within(stream, buf, next, MAX_CLIENT_STARTUP_PAYLOAD)
            .await
            .map_err(read_failed)?;
        hello.seq = after;
        token
    };
    let hashes = match verifier {
        Some(Verifier::MysqlNative(h)) => h,
        // The same work as for an account, so timing does not tell them apart.
        _ => vec![Some([0; SCRAMBLE_LEN])],
    };
    match check(&hashes, &hello.scramble, &token) {
        Some(key) => Ok(Ok(Credential::MysqlNative(key))),
        None => Ok(Err(Refusal::client(
            ClientErrorKind::AuthFailed,
            format!(
                "Access denied for user '{user}' (using password: {})",
                if token.is_empty() { "NO" } else { "YES" }
            ),
        ))),
    }
}

/// The key a proof reveals against any of the stored hashes (`Some(None)`: the empty
/// password, proven by an empty answer).
fn check(
    hashes: &[Option<[u8; SCRAMBLE_LEN]>],
    scramble: &[u8],
    token: &[u8],
) -> Option<Option<NativeKey>> {
    for stored in hashes {
        match stored {
            None if token.is_empty() => return Some(None),
            Some(h) if !token.is_empty() => {
                if let Some(key) = verify(h, scramble, token) {
                    return Some(Some(key));
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests;
