//! Who is at the other end of a mutual-TLS connection: the SHA-256 of the client
//! certificate it presented, recorded when the connection opens, so a handler can bind a
//! registration to the certificate that made it.

use actix_tls::accept::rustls_0_23::TlsStream;
use actix_web::dev::Extensions;
use sha2::{Digest, Sha256};
use std::any::Any;

/// The hex SHA-256 of the peer's client certificate (its end-entity DER).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerCert(pub String);

/// For `HttpServer::on_connect`: stores the [`PeerCert`] of a TLS connection that
/// presented a client certificate.
pub fn on_connect(conn: &dyn Any, ext: &mut Extensions) {
    let Some(tls) = conn.downcast_ref::<TlsStream<actix_web::rt::net::TcpStream>>() else {
        return;
    };
    let (_, session) = tls.get_ref();
    if let Some(cert) = session.peer_certificates().and_then(|c| c.first()) {
        ext.insert(PeerCert(crate::hex::hex(&Sha256::digest(cert.as_ref()))));
    }
}
