//! The PostgreSQL protocol module: everything the proxy does that only makes sense in
//! PostgreSQL's protocol. The connection layer (`client_conn`) reaches it through the
//! seam in `protocol`; the codecs it builds on are in the `molt-lms-wire` crate.
//!
//! - [`startup`]: TLS negotiation, the startup packet, SCRAM/md5 authentication of the
//!   client against its role's verifier.
//! - [`backend`]: opening and authenticating a session on a backend with the credential
//!   the proxy holds, and cancel requests to it.
//! - [`tracker`]: frames both directions of a relayed session and keeps its place
//!   (requests in flight, transaction status, named statements, reported parameters).
//! - [`switch`]: a cutover's replay of the session on the new source of truth.
//! - [`session_state`]: role, authorization, `LISTEN`, advisory locks and temporary
//!   tables, read from statement texts: what a switch replays or refuses to drop.
//! - [`shadow`], [`answer`]: framing, request cutting and answer reading for the shadow
//!   relay; one request's answer as protocol-free results, for comparison.
//! - [`errors`]: `ClientError` as an ErrorResponse with PostgreSQL's SQLSTATE.
//! - [`io`]: reading whole messages outside the relay (start-up, service sessions).

pub(crate) mod answer;
pub(crate) mod backend;
pub(crate) mod client;
pub(crate) mod errors;
pub(crate) mod io;
pub(crate) mod parses;
pub(crate) mod session_state;
pub(crate) mod shadow;
pub(crate) mod startup;
pub(crate) mod switch;
pub(crate) mod tracker;

use crate::auth::lookup::LookupError;
use crate::auth::{Credential, Verifier};
use crate::client_conn::handoff::Identity;
use crate::client_conn::session::SessionCtl;
use crate::client_error::{ClientError, ClientErrorKind};
use crate::conn_info::ConnInfo;
use crate::protocol::{
    BackendError, BackendKey, ClientKey, Opening, PrepareError, Prepared, Protocol, Refusal,
    StartupError, TxState,
};
use crate::shared::Shared;
use bytes::BytesMut;
use molt_lms_api::SourceOfTruth;
use molt_lms_common::stream::Stream;
use molt_lms_wire::pg::backend as be;
use std::rc::Rc;
use std::sync::Arc;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// The PostgreSQL protocol, as the connection layer drives it.
pub(crate) struct Pg;

impl Protocol for Pg {
    type Tracker = tracker::PgTracker;
    type Session = backend::BackendSession;
    type Shadow = shadow::PgShadow;
    type Hello = ();

    async fn open(
        shared: &Shared,
        tcp: TcpStream,
        _key: ClientKey,
    ) -> Result<Opening<()>, (Option<Stream>, StartupError)> {
        startup::open(tcp, shared.tls.as_ref()).await
    }

    async fn verifier(
        shared: &Shared,
        role: SourceOfTruth,
        user: &str,
    ) -> Result<Option<Verifier>, LookupError> {
        shared.lookup(role).verifier(user).await
    }

    fn login_request(params: &[(String, String)]) -> Result<(String, String), ClientError> {
        let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let Some(user) = get("user") else {
            return Err(ClientError::new(
                ClientErrorKind::AuthRejected,
                "no PostgreSQL user name specified in startup packet",
            ));
        };
        if get("replication").is_some_and(|v| v != "false" && v != "0" && v != "off") {
            return Err(ClientError::new(
                ClientErrorKind::Unsupported,
                "replication connections are not supported through molt-lms",
            ));
        }
        let database = get("database").unwrap_or_else(|| user.clone());
        Ok((user, database))
    }

    async fn authenticate(
        shared: &Shared,
        stream: &mut Stream,
        buf: &mut BytesMut,
        _hello: &mut (),
        user: &str,
        verifier: Option<Verifier>,
    ) -> Result<Result<Credential, Refusal>, StartupError> {
        startup::authenticate(stream, buf, user, verifier, &shared.mock_secret).await
    }

    async fn open_session(
        shared: &Shared,
        role: SourceOfTruth,
        identity: &Identity,
    ) -> Result<Self::Session, BackendError> {
        shared
            .backend(role)
            .open_session(&identity.params, &identity.credential)
            .await
    }

    async fn greet(
        client: &mut Stream,
        session: &Self::Session,
        key: ClientKey,
        ctl: &SessionCtl,
        _hello: &(),
    ) -> std::io::Result<TxState> {
        for (name, value) in &session.params {
            ctl.note_param(name, value);
        }
        let mut out = Vec::with_capacity(session.greeting.len() + 64);
        be::authentication(&mut out, be::auth::OK, &[]);
        out.extend_from_slice(&session.greeting);
        be::backend_key_data(&mut out, key.pid, key.secret);
        be::ready_for_query(&mut out, session.status);
        client.write_all(&out).await?;
        Ok(tracker::tx_state(session.status))
    }

    async fn prepare(
        shared: &Shared,
        to: SourceOfTruth,
        identity: &Identity,
        ctl: &SessionCtl,
    ) -> Result<Prepared<Self::Session>, PrepareError> {
        switch::prepare(shared.backend(to), identity, ctl).await
    }

    async fn complete(
        client: &mut Stream,
        old: &mut Stream,
        changes: &[(String, String)],
        ctl: &SessionCtl,
    ) -> std::io::Result<()> {
        switch::complete(client, old, changes, ctl).await
    }

    fn tracker(
        ctl: Rc<SessionCtl>,
        info: Arc<ConnInfo>,
        shared: Arc<Shared>,
        _hello: &(),
    ) -> Self::Tracker {
        tracker::PgTracker::new(ctl, info, shared)
    }

    fn encode_error(e: &ClientError, _hello: Option<&()>, out: &mut Vec<u8>) {
        errors::encode_fatal(e, out);
    }

    async fn refuse_unopened(tcp: TcpStream, shared: Arc<Shared>, e: ClientError) {
        startup::refuse_unopened(tcp, shared.tls.clone(), e).await;
    }

    async fn close(stream: &mut Stream) {
        backend::close(stream).await;
    }

    async fn cancel(
        shared: &Shared,
        role: SourceOfTruth,
        key: BackendKey,
    ) -> Result<(), BackendError> {
        match key {
            BackendKey::Pg { pid, secret } => shared.backend(role).cancel(pid, secret).await,
            // A PostgreSQL session never carries a MySQL key.
            BackendKey::MySql { .. } => Ok(()),
        }
    }
}
