//! MySQL clients served from the PostgreSQL-protocol target. After a cutover from a
//! MySQL source, the application still speaks MySQL; the proxy gives each of its
//! sessions a session on the target and translates between them.
//!
//! The translation runs as an in-process MySQL server, one task per session, at the far
//! end of a socket pair: the relay in front of it is the very one that serves a MySQL
//! source (`Stream::Local` is just another backend stream). So holding a session at a
//! transaction boundary, the proxy's own statement and connection ids, errors and
//! metrics work the same on both sides of the cutover, and a switch is the usual
//! prepare-then-commit.
//!
//! - [`server`]: the command loop (text and binary protocols, prepared statements).
//! - [`local`]: the session statements drivers send, answered by the gateway.
//! - [`logins`]: which PostgreSQL role a MySQL user logs in as.
//! - Values (binary and text), types, errors and the `?`/backtick rewriting are
//!   sans-I/O, in `molt_lms_wire::mysql::translate`.

pub(crate) mod local;
pub(crate) mod logins;
pub(crate) mod server;

use crate::auth::Credential;
use crate::client_conn::handoff::Identity;
use crate::pg::client::{PgClient, PgMsg};
use crate::protocol::{BackendError, PrepareError};
use crate::shared::Shared;
use local::Vars;
use molt_lms_api::cutover::PrepareStage;
use molt_lms_api::SourceOfTruth;
use molt_lms_common::stream::Stream;
use molt_lms_wire::mysql::consts::status::{SERVER_STATUS_AUTOCOMMIT, SERVER_STATUS_IN_TRANS};
use server::Gateway;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// One gateway session as `KILL QUERY` finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// Its session's cancel key on the target.
    pub pid: i32,
    pub secret: i32,
    /// The MySQL user it serves: only the same user may kill its statement.
    pub user: String,
}

/// This proxy's gateway sessions, by the connection id their clients were greeted with
/// (the proxy's own): what `KILL QUERY <id>` from any client of the proxy reaches.
#[derive(Default)]
pub(crate) struct Sessions {
    entries: Mutex<HashMap<u32, Entry>>,
}

impl Sessions {
    fn insert(&self, id: u32, entry: Entry) {
        if let Ok(mut e) = self.entries.lock() {
            e.insert(id, entry);
        }
    }

    /// Forgets `id` if it still names the session with cancel key `pid` (a session that
    /// replaced it, prepared again for the same client, stays).
    fn remove(&self, id: u32, pid: i32) {
        if let Ok(mut e) = self.entries.lock() {
            if e.get(&id).is_some_and(|x| x.pid == pid) {
                e.remove(&id);
            }
        }
    }

    pub(crate) fn get(&self, id: u32) -> Option<Entry> {
        self.entries.lock().ok()?.get(&id).cloned()
    }
}

/// What a new gateway session starts from.
pub(crate) struct Start<'a> {
    pub identity: &'a Identity,
    /// `SET autocommit` as the client left it.
    pub autocommit: bool,
    /// Statements to prepare again, under the ids the relay already maps the client's
    /// to: `(id, text)`.
    pub statements: Vec<(u32, String)>,
    /// The version the client was greeted with.
    pub version: String,
}

/// The PostgreSQL login for a MySQL user: from `--mysql-target-logins`, else the target
/// URL's own user.
fn login_for(shared: &Shared, user: &str) -> Result<(String, Credential), PrepareError> {
    match &shared.settings.mysql_target_logins {
        Some(logins) => match logins.get(user) {
            Some(l) => Ok((l.user.clone(), Credential::Password(l.password.clone()))),
            None => Err(PrepareError::new(
                PrepareStage::Login,
                format!("the MySQL user {user:?} has no entry in --mysql-target-logins, so it cannot be served from the target database"),
            )),
        },
        None => {
            let url = &shared.backend(SourceOfTruth::Target).url;
            let password = url.password.clone().unwrap_or_default();
            Ok((url.user.clone(), Credential::Password(password)))
        }
    }
}

/// A set-up session on the target for the MySQL user `user`, as the gateway logs in:
/// the client, its cancel key (pid, secret) and the isolation level it reports.
async fn connect(
    shared: &Shared,
    user: &str,
    application_name: &str,
) -> Result<(PgClient, (i32, i32), String), PrepareError> {
    let (role, credential) = login_for(shared, user)?;
    let backend = shared.backend(SourceOfTruth::Target);
    let params = vec![
        ("user".to_owned(), role),
        ("database".to_owned(), backend.url.database.clone()),
        ("application_name".to_owned(), application_name.to_owned()),
    ];
    let session = backend
        .open_session(&params, &credential)
        .await
        .map_err(|e: BackendError| PrepareError::new(PrepareStage::Login, e.client_message()))?;
    let key = (session.pid, session.secret);
    let mut pg = PgClient::new(session.stream);
    let isolation = setup(&mut pg).await?;
    Ok((pg, key, isolation))
}

/// Opens a gateway session on the target for a MySQL client: logs in, sets the session
/// up, prepares `start.statements` again, and starts serving the far end of the socket
/// pair it returns. Sends nothing to the client.
pub(crate) async fn open(
    shared: &Shared,
    start: Start<'_>,
) -> Result<super::backend::MySqlSession, PrepareError> {
    let (pg, (pid, secret), isolation) =
        connect(shared, &start.identity.user, "molt-lms mysql").await?;
    let backend = shared.backend(SourceOfTruth::Target);
    let number = |name: &str| {
        super::param(&start.identity.params, name)
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    };
    let vars = Vars {
        autocommit: start.autocommit,
        database: start.identity.database.clone(),
        isolation,
        version: start.version,
        connection_id: 0,
    };
    let connection_id = number("connection_id");
    let mut gateway = Gateway::new(
        pg,
        (number("client_flag"), number("mariadb_client_flag")),
        vars,
    );
    gateway.killer = Some(server::Killer {
        sessions: shared.mysql_gateways.clone(),
        backend: Arc::clone(backend),
        user: start.identity.user.clone(),
    });
    let count = start.statements.len();
    for (id, text) in &start.statements {
        let refused = gateway.prepare_as(*id, text).await.map_err(|e| {
            PrepareError::new(
                PrepareStage::PreparedStatement,
                format!("target session: {e}"),
            )
        })?;
        if let Err((code, message)) = refused {
            gateway.pg.terminate().await;
            return Err(PrepareError {
                stage: PrepareStage::PreparedStatement,
                statement: Some(format!(
                    "{id} {}",
                    crate::shadow::fingerprint::normalize(text)
                )),
                message: format!("{code} {message}"),
            });
        }
    }
    let status = gateway.status();
    let (near, far) = tokio::net::UnixStream::pair().map_err(|e| {
        PrepareError::new(
            PrepareStage::Login,
            format!("cannot make a socket pair: {e}"),
        )
    })?;
    let registry = shared.mysql_gateways.clone();
    registry.insert(
        connection_id,
        Entry {
            pid,
            secret,
            user: start.identity.user.clone(),
        },
    );
    gateway.vars.connection_id = connection_id;
    tokio::task::spawn_local(async move {
        gateway.run(far).await;
        registry.remove(connection_id, pid);
    });
    tracing::debug!(statements = count, "MySQL session opened on the target");
    Ok(super::backend::MySqlSession {
        stream: Stream::Local(near),
        thread: connection_id,
        status: status & (SERVER_STATUS_AUTOCOMMIT | SERVER_STATUS_IN_TRANS),
    })
}

/// Where a MySQL user's target login comes from, for `cutover check`.
pub(crate) fn login_source(shared: &Shared, user: &str) -> Result<String, String> {
    match login_for(shared, user) {
        Ok((role, _)) if shared.settings.mysql_target_logins.is_some() => Ok(format!(
            "logs in to the target as {role} (--mysql-target-logins)"
        )),
        Ok((role, _)) => Ok(format!(
            "logs in to the target as {role}, the target URL's user (no --mysql-target-logins)"
        )),
        Err(e) => Err(e.message),
    }
}

/// `cutover check`'s trial for a MySQL user: logs in as the gateway would and prepares
/// each statement (executing nothing); per statement the database's error, if any.
pub(crate) async fn trial(
    shared: &Shared,
    identity: &Identity,
    statements: &[String],
) -> Result<Vec<Option<String>>, String> {
    let (pg, _, isolation) = connect(shared, &identity.user, "molt-lms check")
        .await
        .map_err(|e| e.message)?;
    let vars = Vars {
        autocommit: true,
        database: identity.database.clone(),
        isolation,
        version: String::new(),
        connection_id: 0,
    };
    let mut gateway = Gateway::new(pg, (0, 0), vars);
    let mut out = Vec::with_capacity(statements.len());
    for (i, text) in statements.iter().enumerate() {
        let id = u32::try_from(i).unwrap_or(u32::MAX - 1) + 1;
        match gateway.prepare_as(id, text).await {
            Ok(Ok(())) => out.push(None),
            Ok(Err((code, message))) => out.push(Some(format!("{code}: {message}"))),
            Err(e) => return Err(e.to_string()),
        }
    }
    gateway.pg.terminate().await;
    Ok(out)
}

/// The session set-up every gateway session runs: UTC, so `TIMESTAMP` values read as
/// MySQL shows them, and the isolation level `@@transaction_isolation` reports.
async fn setup(pg: &mut PgClient) -> Result<String, PrepareError> {
    pg.query("SET TIME ZONE 'UTC'; SHOW transaction_isolation");
    let failed = |m: String| PrepareError::new(PrepareStage::Login, m);
    pg.flush()
        .await
        .map_err(|e| failed(format!("target session: {e}")))?;
    let mut isolation = String::from("READ-COMMITTED");
    let mut error = None;
    loop {
        match pg
            .next()
            .await
            .map_err(|e| failed(format!("target session: {e}")))?
        {
            PgMsg::DataRow(body) => {
                if let Some(Some(Some(v))) =
                    molt_lms_wire::pg::backend::data_row_fields(&body).map(|f| f.first().copied())
                {
                    isolation = String::from_utf8_lossy(v).to_uppercase().replace(' ', "-");
                }
            }
            PgMsg::Error { code, message } => error = Some(format!("{code} {message}")),
            PgMsg::Ready(_) => break,
            _ => {}
        }
    }
    match error {
        Some(e) => Err(failed(format!("setting up the target session: {e}"))),
        None => Ok(isolation),
    }
}
