//! A client's start-up: TLS/GSS negotiation, the startup packet, authentication against
//! the role's verifier, and the backend session on the source of truth.

use crate::auth::scram::{ScramServer, MECHANISM};
use crate::auth::{md5, Credential, Verifier};
use crate::client_error::ClientErrorKind;
use crate::pg::io::{read_message_within, read_startup, MAX_AUTH_MESSAGE};
use crate::protocol::{ClientKey, Opening, Protocol, Refusal, StartupError, Violation};
use bytes::BytesMut;
use molt_lms_common::stream::Stream;
use molt_lms_wire::pg::backend as be;
use molt_lms_wire::pg::codec::cstr;
use molt_lms_wire::pg::frontend::{sasl_initial_response, StartupPacket};
use molt_lms_wire::pg::tag::{frontend as fe, ssl_answer};
use molt_lms_wire::pg::ProtocolError;
use rand::Rng;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;

/// Negotiates encryption and reads the startup packet. On a protocol violation the
/// stream comes back with the error so the caller can answer before closing.
pub(crate) async fn open(
    tcp: TcpStream,
    tls: Option<&TlsAcceptor>,
) -> Result<Opening<()>, (Option<Stream>, StartupError)> {
    let mut stream = Stream::Tcp(tcp);
    let mut buf = BytesMut::with_capacity(1024);
    // At most one SSLRequest and one GSSENCRequest precede the startup packet.
    for _ in 0..3 {
        let packet = match read_startup(&mut stream, &mut buf).await {
            Ok(p) => p,
            Err(e) => return Err((Some(stream), e.into())),
        };
        match packet {
            StartupPacket::SslRequest => {
                let Stream::Tcp(mut tcp) = stream else {
                    return Err((
                        Some(stream),
                        StartupError::Protocol(proto(ProtocolError::Unexpected('S', "TLS"))),
                    ));
                };
                let Some(acceptor) = tls else {
                    if let Err(e) = tcp.write_all(&[ssl_answer::REFUSED]).await {
                        return Err((None, e.into()));
                    }
                    stream = Stream::Tcp(tcp);
                    continue;
                };
                // Bytes sent before the handshake would be injected into the encrypted
                // session (CVE-2021-23222); refuse them.
                if !buf.is_empty() {
                    return Err((
                        Some(Stream::Tcp(tcp)),
                        StartupError::Protocol(proto(ProtocolError::Malformed("SSLRequest"))),
                    ));
                }
                if let Err(e) = tcp.write_all(&[ssl_answer::ACCEPTED]).await {
                    return Err((None, e.into()));
                }
                match acceptor.accept(tcp).await {
                    Ok(tls) => stream = Stream::ServerTls(Box::new(tls)),
                    Err(e) => return Err((None, StartupError::Tls(e))),
                }
            }
            StartupPacket::GssEncRequest => {
                if let Err(e) = stream.write_all(&[ssl_answer::REFUSED]).await {
                    return Err((None, e.into()));
                }
            }
            StartupPacket::Cancel { pid, secret } => {
                return Ok(Opening::Cancel(ClientKey { pid, secret }))
            }
            StartupPacket::Startup { params } => {
                return Ok(Opening::Session {
                    stream,
                    buf,
                    params,
                    hello: (),
                })
            }
        }
    }
    Err((
        Some(stream),
        StartupError::Protocol(proto(ProtocolError::Malformed("startup negotiation"))),
    ))
}

/// Authenticates the client against the role's verifier, as PostgreSQL would, and
/// returns the credential to log in to backends with. Never asks for cleartext. A role
/// without a verifier gets a mock SCRAM exchange salted from `mock_secret`.
pub(crate) async fn authenticate(
    stream: &mut Stream,
    buf: &mut BytesMut,
    user: &str,
    verifier: Option<Verifier>,
    mock_secret: &[u8],
) -> Result<Result<Credential, Refusal>, StartupError> {
    let failed = || {
        Refusal::client(
            ClientErrorKind::AuthFailed,
            format!("password authentication failed for user \"{user}\""),
        )
    };
    match verifier {
        Some(Verifier::Md5(hash)) => {
            let salt: [u8; 4] = rand::rng().random();
            let mut out = Vec::new();
            be::authentication(&mut out, be::auth::MD5, &salt);
            stream.write_all(&out).await?;
            let body = expect_password(stream, buf).await?;
            let answer = cstr(&body).map(|(s, _)| s).unwrap_or_default();
            if md5::matches(&hash, &salt, answer) {
                Ok(Ok(Credential::Md5Hash(hash)))
            } else {
                Ok(Err(failed()))
            }
        }
        other => {
            let mut server = match other {
                Some(Verifier::Scram(keys)) => ScramServer::new(keys),
                _ => ScramServer::mock(mock_secret, user),
            };
            let mut out = Vec::new();
            be::authentication_sasl(&mut out, &[MECHANISM]);
            stream.write_all(&out).await?;
            let body = expect_password(stream, buf).await?;
            let (mech, first) =
                sasl_initial_response(&body).map_err(|e| StartupError::Protocol(proto(e)))?;
            if mech != MECHANISM {
                return Ok(Err(Refusal::client(
                    ClientErrorKind::AuthRejected,
                    format!("SASL authentication mechanism {mech} is not supported"),
                )));
            }
            let server_first = match server.server_first(first) {
                Ok(s) => s,
                Err(e) => {
                    return Ok(Err(Refusal::client(
                        ClientErrorKind::ProtocolViolation,
                        format!("SCRAM: {e}"),
                    )))
                }
            };
            out.clear();
            be::authentication(&mut out, be::auth::SASL_CONTINUE, server_first.as_bytes());
            stream.write_all(&out).await?;
            let body = expect_password(stream, buf).await?;
            match server.server_final(&body) {
                Ok((server_final, client_key)) => {
                    out.clear();
                    be::authentication(&mut out, be::auth::SASL_FINAL, server_final.as_bytes());
                    stream.write_all(&out).await?;
                    let Some(Verifier::Scram(keys)) = other_keys(&server) else {
                        return Ok(Err(failed()));
                    };
                    Ok(Ok(Credential::ScramKey { client_key, keys }))
                }
                Err(crate::auth::scram::ScramError::BadProof) => Ok(Err(failed())),
                Err(e) => Ok(Err(Refusal::client(
                    ClientErrorKind::ProtocolViolation,
                    format!("SCRAM: {e}"),
                ))),
            }
        }
    }
}

fn other_keys(server: &ScramServer) -> Option<Verifier> {
    server.keys().cloned().map(Verifier::Scram)
}

async fn expect_password(
    stream: &mut Stream,
    buf: &mut BytesMut,
) -> Result<BytesMut, StartupError> {
    let (tag, body) = read_message_within(stream, buf, MAX_AUTH_MESSAGE).await?;
    if tag != fe::PASSWORD {
        return Err(StartupError::Protocol(proto(ProtocolError::Unexpected(
            tag as char,
            "authentication",
        ))));
    }
    Ok(body)
}

/// Refuses a login the way PostgreSQL does during shutdown or at its connection limit: TLS
/// negotiation as usual (libpq discards an error sent in reply to SSLRequest), then the
/// error after the startup packet.
pub(crate) async fn refuse_unopened(
    socket: TcpStream,
    tls: Option<tokio_rustls::TlsAcceptor>,
    refusal: crate::client_error::ClientError,
) {
    let opened = tokio::time::timeout(Duration::from_secs(10), open(socket, tls.as_ref())).await;
    let mut stream = match opened {
        Ok(Ok(Opening::Session { stream, .. })) => stream,
        Ok(Err((Some(stream), _))) => stream,
        _ => return,
    };
    let refusal = Refusal::Client(refusal);
    let _ = stream
        .write_all(&super::Pg::encode_refusal(&refusal, None))
        .await;
    let _ = stream.shutdown().await;
}

fn proto(e: ProtocolError) -> Violation {
    Violation::new(e)
}
