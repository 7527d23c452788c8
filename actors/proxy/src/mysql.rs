//! The MySQL protocol module (`--source-dialect mysql`): MySQL and MariaDB clients
//! relayed to a MySQL-protocol source of truth, held at transaction boundaries by a
//! cutover's pause exactly as PostgreSQL sessions are. The codecs are in
//! `molt_lms_wire::mysql`.
//!
//! - [`startup`]: the proxy's greeting (the source's version, the proxy's connection id
//!   and scramble), TLS, `mysql_native_password` checked against the stored hash.
//! - [`backend`]: logging in to the source with the key the client's proof revealed;
//!   the service session for account lookups and `KILL QUERY`.
//! - [`tracker`]: frames both directions and follows each command's answer.
//! - [`kill`]: `KILL <id>` mapped from the proxy's connection ids to source threads.
//! - [`statements`]: prepared-statement ids of the proxy's own.
//! - [`errors`]: `ClientError` as an ERR packet.
//! - [`gateway`]: these clients served from the PostgreSQL-protocol target, after a
//!   cutover (prepared statements carried over under the ids the relay maps to).
//!
//! - [`shadow`], [`answer`]: these sessions shadowed to the target, and their answers
//!   read for comparison.
//!
//! What is not here yet: moving a session that holds prepared statements back to a MySQL
//! source (or shadowing one to it), and `caching_sha2_password`.
//!
//! A session's start-up parameters (`Identity::params`) are `user`, `database`,
//! `client_flag` and `mariadb_client_flag` (the capabilities agreed with the client),
//! `character_set`, and the
//! client's connection attributes as `attr.<name>`, which the source login passes on.

pub(crate) mod answer;
pub(crate) mod backend;
pub(crate) mod errors;
pub(crate) mod gateway;
pub(crate) mod io;
pub(crate) mod kill;
pub(crate) mod shadow;
pub(crate) mod startup;
pub(crate) mod statements;
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
use backend::{Login, MySqlSession, MySqlSource};
use bytes::BytesMut;
use molt_lms_api::cutover::PrepareStage;
use molt_lms_api::SourceOfTruth;
use molt_lms_common::stream::Stream;
use molt_lms_wire::mysql::consts::command::COM_QUIT;
use molt_lms_wire::mysql::packet::put_packet;
use molt_lms_wire::mysql::OkPacket;
use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// The MySQL protocol, as the connection layer drives it.
pub(crate) struct MySql;

/// The client's side of start-up, from the greeting to the OK that ends it.
pub(crate) struct Hello {
    scramble: [u8; crate::auth::mysql_native::SCRAMBLE_LEN],
    /// Capabilities agreed with the client.
    caps: u32,
    /// MariaDB extended capabilities agreed with the client.
    mariadb_caps: u32,
    /// Sequence id of the proxy's next start-up packet.
    seq: u8,
    /// The authentication method and answer of the handshake response.
    plugin: String,
    auth_response: Vec<u8>,
    /// The connection id the greeting gave the client.
    client_id: u32,
    /// The source thread of the session opened for it, once greeted.
    thread: Cell<u32>,
}

/// Why a MySQL session with prepared statements cannot go back to a MySQL source.
const MOVE_BACK_NOT_YET: &str =
    "a MySQL session holding prepared statements cannot move back to a MySQL source yet";

/// The server version the proxy greets MySQL clients with (the source's), which the
/// gateway reports as `@@version`.
async fn greeted_version(source: &MySqlSource) -> String {
    source
        .greeting()
        .await
        .map_or_else(|_| "8.0.0".to_owned(), |g| g.version)
}

fn source(shared: &Shared) -> Option<&MySqlSource> {
    shared.mysql.as_deref()
}

/// A start-up parameter's value (`Identity::params`).
pub(crate) fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Sends `e` in place of a greeting (as a server refusing a connection does) and closes.
async fn refuse_unopened(shared: &Shared, mut tcp: TcpStream, e: ClientError) {
    shared.metrics.client_error(e.kind);
    let mut out = Vec::new();
    errors::encode(&e, 0, &mut out);
    let _ = tcp.write_all(&out).await;
    let _ = tcp.shutdown().await;
}

impl Protocol for MySql {
    type Tracker = tracker::MySqlTracker;
    type Session = MySqlSession;
    type Shadow = shadow::MySqlShadow;
    type Hello = Hello;

    async fn open(
        shared: &Shared,
        tcp: TcpStream,
        key: ClientKey,
    ) -> Result<Opening<Hello>, (Option<Stream>, StartupError)> {
        let greeting = match source(shared) {
            Some(s) => s.greeting().await,
            None => Err(BackendError::Auth {
                role: SourceOfTruth::Source,
                what: "no MySQL source configured".into(),
            }),
        };
        let greeting = match greeting {
            Ok(g) => g,
            Err(e) => {
                tracing::warn!(error = %e, "cannot greet a MySQL client: the source is unreachable");
                let why = ClientError::new(ClientErrorKind::BackendUnreachable, e.client_message());
                refuse_unopened(shared, tcp, why).await;
                return Err((None, StartupError::Refused(e.to_string())));
            }
        };
        startup::open(shared, tcp, &greeting, key).await
    }

    async fn verifier(
        shared: &Shared,
        role: SourceOfTruth,
        user: &str,
    ) -> Result<Option<Verifier>, LookupError> {
        // MySQL clients prove their password against the hash the MySQL source stores,
        // whichever database serves them: the target has no MySQL account table.
        let _ = role;
        match source(shared) {
            Some(s) => s.verifier(user).await,
            None => Err(LookupError::Query {
                role: SourceOfTruth::Source.to_string(),
                message: "no MySQL source configured".into(),
            }),
        }
    }

    fn login_request(params: &[(String, String)]) -> Result<(String, String), ClientError> {
        let user = param(params, "user").unwrap_or_default();
        if user.is_empty() {
            return Err(ClientError::new(
                ClientErrorKind::AuthRejected,
                "Access denied: no user name given",
            ));
        }
        let database = param(params, "database").unwrap_or_default();
        Ok((user.to_owned(), database.to_owned()))
    }

    async fn authenticate(
        _shared: &Shared,
        stream: &mut Stream,
        buf: &mut BytesMut,
        hello: &mut Hello,
        user: &str,
        verifier: Option<Verifier>,
    ) -> Result<Result<Credential, Refusal>, StartupError> {
        startup::authenticate(stream, buf, hello, user, verifier).await
    }

    async fn open_session(
        shared: &Shared,
        role: SourceOfTruth,
        identity: &Identity,
    ) -> Result<MySqlSession, BackendError> {
        let Some(source) = source(shared) else {
            return Err(BackendError::Auth {
                role,
                what: "no MySQL source configured".into(),
            });
        };
        if role == SourceOfTruth::Target {
            let start = gateway::Start {
                identity,
                autocommit: true,
                statements: Vec::new(),
                version: greeted_version(source).await,
            };
            return gateway::open(shared, start)
                .await
                .map_err(|e| BackendError::Auth {
                    role,
                    what: e.to_string(),
                });
        }
        let key = match &identity.credential {
            Credential::MysqlNative(k) => k.clone(),
            Credential::Password(p) => {
                Some(crate::auth::mysql_native::key_from_password(p.expose()))
            }
            _ => {
                return Err(BackendError::Auth {
                    role,
                    what: "a PostgreSQL credential for a MySQL login".into(),
                })
            }
        };
        let params = &identity.params;
        let attrs: Vec<(String, String)> = params
            .iter()
            .filter_map(|(n, v)| Some((n.strip_prefix("attr.")?.to_owned(), v.clone())))
            .collect();
        let number = |name: &str| param(params, name).and_then(|v| v.parse::<u32>().ok());
        let login = Login {
            user: &identity.user,
            database: &identity.database,
            caps: number("client_flag").unwrap_or(0),
            mariadb_caps: number("mariadb_client_flag").unwrap_or(0),
            charset: number("character_set").unwrap_or(0) as u8,
            attrs: &attrs,
            key: key.as_ref(),
        };
        source.open(&login).await
    }

    async fn greet(
        client: &mut Stream,
        session: &MySqlSession,
        key: ClientKey,
        _ctl: &SessionCtl,
        hello: &Hello,
    ) -> std::io::Result<TxState> {
        let _ = key; // the greeting carried it as the connection id
        hello.thread.set(session.thread);
        let ok = OkPacket {
            eof_header: false,
            affected_rows: 0,
            last_insert_id: 0,
            status_flags: session.status,
            warnings: 0,
            info: Vec::new(),
            session_state: Vec::new(),
        };
        let mut out = Vec::new();
        put_packet(&mut out, hello.seq, |o| ok.encode(o, hello.caps));
        client.write_all(&out).await?;
        Ok(tracker::tx_state(session.status))
    }

    async fn prepare(
        shared: &Shared,
        to: SourceOfTruth,
        identity: &Identity,
        ctl: &SessionCtl,
    ) -> Result<Prepared<MySqlSession>, PrepareError> {
        let carry = ctl.carry();
        if !carry.blockers.is_empty() {
            return Err(PrepareError::new(
                PrepareStage::SessionState,
                format!("the session cannot be moved: {}", carry.blockers.join("; ")),
            ));
        }
        let statements: Vec<(u32, String)> = ctl
            .prepared_statements()
            .iter()
            .filter_map(|e| tracker::read_replay_entry(e))
            .collect();
        let count = statements.len();
        if to == SourceOfTruth::Source {
            // A MySQL server numbers the statements it prepares itself, so the relay's
            // mapping would not hold; a session without any moves back.
            if count > 0 {
                return Err(PrepareError::new(
                    PrepareStage::PreparedStatement,
                    format!("{MOVE_BACK_NOT_YET} ({count} prepared statements)"),
                ));
            }
            let session = Self::open_session(shared, to, identity)
                .await
                .map_err(|e| PrepareError::new(PrepareStage::Login, e.client_message()))?;
            return Ok(Prepared {
                session,
                changes: Vec::new(),
                statements: 0,
            });
        }
        if let Some((id, _)) = statements.iter().find(|(_, text)| text.is_empty()) {
            return Err(PrepareError::new(
                PrepareStage::PreparedStatement,
                format!("statement {id}: its text was longer than the proxy keeps, so it cannot be prepared again"),
            ));
        }
        let autocommit = ctl
            .reported_params()
            .iter()
            .find(|(n, _)| n == "autocommit")
            .is_none_or(|(_, v)| v == "1");
        let version = match source(shared) {
            Some(s) => greeted_version(s).await,
            None => String::new(),
        };
        let start = gateway::Start {
            identity,
            autocommit,
            statements,
            version,
        };
        let session = gateway::open(shared, start).await?;
        Ok(Prepared {
            session,
            changes: Vec::new(),
            statements: count,
        })
    }

    async fn complete(
        _client: &mut Stream,
        old: &mut Stream,
        _changes: &[(String, String)],
        _ctl: &SessionCtl,
    ) -> std::io::Result<()> {
        // MySQL tells a client nothing when its server changes: the statement ids and the
        // connection id it holds are the proxy's own, and stay valid.
        Self::close(old).await;
        Ok(())
    }

    fn tracker(
        ctl: Rc<SessionCtl>,
        info: Arc<ConnInfo>,
        shared: Arc<Shared>,
        hello: &Hello,
    ) -> tracker::MySqlTracker {
        tracker::MySqlTracker::new(
            ctl,
            info,
            shared,
            (hello.caps, hello.mariadb_caps),
            (hello.client_id, hello.thread.get()),
        )
    }

    fn encode_error(e: &ClientError, hello: Option<&Hello>, out: &mut Vec<u8>) {
        // In session, an error answers the command the client sent (sequence id 0).
        errors::encode(e, hello.map_or(1, |h| h.seq), out);
    }

    fn encode_refusal(r: &Refusal, hello: Option<&Hello>) -> Vec<u8> {
        match r {
            Refusal::Client(e) => {
                let mut out = Vec::new();
                Self::encode_error(e, hello, &mut out);
                out
            }
            Refusal::Backend(raw) => {
                let mut out = raw.clone();
                if let Some(seq) = out.get_mut(3) {
                    *seq = hello.map_or(1, |h| h.seq);
                }
                out
            }
        }
    }

    async fn refuse_unopened(tcp: TcpStream, shared: Arc<Shared>, e: ClientError) {
        refuse_unopened(&shared, tcp, e).await;
    }

    /// The shadow must be the target (a gateway session): a MySQL server numbers the
    /// statements it prepares itself, so one could not take the client's ids.
    fn can_shadow_to(role: SourceOfTruth) -> bool {
        role == SourceOfTruth::Target
    }

    async fn close(stream: &mut Stream) {
        let mut out = Vec::new();
        put_packet(&mut out, 0, |o| o.push(COM_QUIT));
        let _ = stream.write_all(&out).await;
        let _ = stream.shutdown().await;
    }

    async fn cancel(
        shared: &Shared,
        role: SourceOfTruth,
        key: BackendKey,
    ) -> Result<(), BackendError> {
        match (key, source(shared)) {
            (BackendKey::MySql { thread }, Some(s)) if role == SourceOfTruth::Source => {
                s.kill_query(thread).await
            }
            (BackendKey::MySql { thread }, _) => match shared.mysql_gateways.get(thread) {
                Some(e) => shared.backend(role).cancel(e.pid, e.secret).await,
                None => Ok(()),
            },
            _ => Ok(()),
        }
    }
}
