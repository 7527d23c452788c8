//! The gateway's command loop: one MySQL session, served from one PostgreSQL session.
//! It reads each command the relay passes it, runs it on the database and writes the
//! answer as a MySQL server would, in the capabilities the client agreed with the proxy.
//! The relay in front of it is the same as for a MySQL source: it holds the session at
//! transaction boundaries, keeps the client's statement ids and counts errors, so the
//! gateway's status flags must be exact. They come from each ReadyForQuery.

use super::local::{self, Local, Vars};
use crate::mysql::io::{read_packet_within, ReadError};
use crate::mysql::kill::kill_target;
use crate::mysql::shadow::COM_STMT_PREPARE_AS;
use crate::mysql::statements::read_id;
use crate::pg::client::{affected_rows, PgClient, PgMsg, TxStatus};
use bytes::BytesMut;
use molt_lms_wire::mysql::codec::{put_lenenc_int, put_lenenc_str, LENENC_NULL};
use molt_lms_wire::mysql::consts::capability::{CLIENT_DEPRECATE_EOF, CLIENT_MULTI_STATEMENTS};
use molt_lms_wire::mysql::consts::command::*;
use molt_lms_wire::mysql::consts::error_code;
use molt_lms_wire::mysql::consts::mariadb_capability::MARIADB_CLIENT_CACHE_METADATA;
use molt_lms_wire::mysql::consts::status::{
    SERVER_MORE_RESULTS_EXISTS, SERVER_STATUS_AUTOCOMMIT, SERVER_STATUS_IN_TRANS,
};
use molt_lms_wire::mysql::packet::put_packet;
use molt_lms_wire::mysql::translate::{
    self, lexical, params, pg_binary, pg_text, sqlstate, types, values,
};
use molt_lms_wire::mysql::{EofPacket, ErrPacket, OkPacket};
use molt_lms_wire::pg::backend::data_row_fields;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::io::AsyncWriteExt;
use tokio::net::UnixStream;

/// Commands above this are refused by the relay before they get here; the gateway's own
/// bound only keeps a broken peer from making it buffer without end.
const MAX_COMMAND: usize = 1 << 30;

/// Answers are written out in pieces of about this size, so a large result set streams.
const FLUSH_AT: usize = 64 * 1024;

/// MySQL's `ER_NO_SUCH_THREAD`.
const ER_NO_SUCH_THREAD: u16 = 1094;
/// MySQL's `ER_KILL_DENIED_ERROR`.
const ER_KILL_DENIED_ERROR: u16 = 1095;
/// MySQL's `ER_PARSE_ERROR`.
const ER_PARSE_ERROR: u16 = 1064;
/// MySQL's `ER_UNKNOWN_STMT_HANDLER`.
const ER_UNKNOWN_STMT_HANDLER: u16 = 1243;

/// `COM_SET_OPTION`'s values.
const MYSQL_OPTION_MULTI_STATEMENTS_ON: u16 = 0;

/// A statement prepared on the database for the client.
pub(crate) struct Statement {
    /// Its name on the database.
    pub name: String,
    pub params: Vec<u32>,
    pub columns: Vec<(String, u32)>,
    /// Parameter types the client bound, kept from one execution to the next.
    bound: Vec<(u8, bool)>,
    /// Parameter values sent ahead with `COM_STMT_SEND_LONG_DATA`.
    long_data: HashMap<usize, Vec<u8>>,
}

impl Statement {
    pub(crate) fn new(name: String, params: Vec<u32>, columns: Vec<(String, u32)>) -> Self {
        Self {
            name,
            params,
            columns,
            bound: Vec::new(),
            long_data: HashMap::new(),
        }
    }
}

/// The database's name for the statement the gateway numbered `id`.
pub(crate) fn statement_name(id: u32) -> String {
    format!("molt_lms_{id}")
}

/// The database session went away or broke its protocol: the gateway ends, and the
/// relay tells the client its server is gone.
#[derive(Debug, thiserror::Error)]
pub(crate) enum GatewayError {
    #[error("database session: {0}")]
    Database(#[from] crate::pg::io::ReadError),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("client side: {0}")]
    Client(#[from] ReadError),
}

/// What the previous statement of a multi-statement answer still has to write: its
/// terminator waits until the gateway knows whether more results follow.
enum Pending {
    Ok(u64),
    RowsEnd,
}

/// What `KILL QUERY` needs: the proxy's gateway sessions, the target to send the cancel
/// request to, and who asks.
pub(crate) struct Killer {
    pub sessions: Arc<super::Sessions>,
    pub backend: Arc<crate::pg::backend::Backend>,
    pub user: String,
}

pub(crate) struct Gateway {
    pub(crate) pg: PgClient,
    /// `None` for the check's trial sessions, which run no client statement.
    pub(crate) killer: Option<Killer>,
    pub(crate) caps: u32,
    /// MariaDB's extended capabilities agreed with the client (metadata caching).
    pub(crate) mariadb_caps: u32,
    pub(crate) vars: Vars,
    pub(crate) tx: TxStatus,
    pub(crate) statements: HashMap<u32, Statement>,
    pub(crate) next_id: u32,
    multi_statements: bool,
    out: Vec<u8>,
    seq: u8,
}

impl Gateway {
    pub(crate) fn new(pg: PgClient, (caps, mariadb_caps): (u32, u32), vars: Vars) -> Self {
        Self {
            pg,
            killer: None,
            caps,
            mariadb_caps,
            vars,
            tx: TxStatus::Idle,
            statements: HashMap::new(),
            next_id: 1,
            multi_statements: caps & CLIENT_MULTI_STATEMENTS != 0,
            out: Vec::with_capacity(FLUSH_AT),
            seq: 1,
        }
    }

    /// The status flags every OK and EOF carries.
    pub(crate) fn status(&self) -> u16 {
        let mut s = 0;
        if self.vars.autocommit {
            s |= SERVER_STATUS_AUTOCOMMIT;
        }
        if self.tx != TxStatus::Idle {
            s |= SERVER_STATUS_IN_TRANS;
        }
        s
    }

    /// Serves commands until the client quits or either side goes away.
    pub(crate) async fn run(mut self, mut client: UnixStream) {
        let mut buf = BytesMut::with_capacity(8192);
        let end = loop {
            let payload = match read_packet_within(&mut client, &mut buf, 0, MAX_COMMAND).await {
                Ok((p, _)) => p,
                Err(ReadError::Closed) => break None,
                Err(e) => break Some(GatewayError::Client(e)),
            };
            self.seq = 1;
            match self.command(&payload, &mut client).await {
                Ok(true) => {}
                Ok(false) => break None,
                Err(e) => break Some(e),
            }
            if let Err(e) = self.write_out(&mut client).await {
                break Some(e.into());
            }
        };
        if let Some(e) = end {
            tracing::info!(error = %e, "MySQL gateway session ended");
        }
        let _ = client.shutdown().await;
        self.pg.terminate().await;
    }

    async fn write_out(&mut self, client: &mut UnixStream) -> std::io::Result<()> {
        if !self.out.is_empty() {
            client.write_all(&self.out).await?;
            self.out.clear();
        }
        Ok(())
    }

    /// One command; `false` when the session ends.
    async fn command(
        &mut self,
        payload: &[u8],
        client: &mut UnixStream,
    ) -> Result<bool, GatewayError> {
        let Some((&cmd, body)) = payload.split_first() else {
            self.err(
                error_code::ER_MALFORMED_PACKET,
                error_code::STATE_GENERAL,
                "empty command",
            );
            return Ok(true);
        };
        match cmd {
            COM_QUIT => return Ok(false),
            COM_PING => self.ok(0),
            COM_INIT_DB => {
                self.vars.database = String::from_utf8_lossy(body).into_owned();
                self.ok(0);
            }
            COM_QUERY => {
                let sql = String::from_utf8_lossy(body);
                self.query(&sql, client).await?;
            }
            COM_STMT_PREPARE => {
                let sql = String::from_utf8_lossy(body);
                self.prepare(self.next_id, &sql).await?;
            }
            // A shadowed session's prepare, under the id the client will know it by.
            COM_STMT_PREPARE_AS if body.len() >= 4 => {
                let id = read_id(body, 0).unwrap_or_default();
                let sql = String::from_utf8_lossy(&body[4..]);
                self.prepare(id, &sql).await?;
            }
            COM_STMT_EXECUTE => self.execute(body, client).await?,
            COM_STMT_SEND_LONG_DATA => {
                // No answer, as MySQL sends none.
                if let Ok((id, param, data)) = params::decode_long_data(body) {
                    if let Some(s) = self.statements.get_mut(&id) {
                        s.long_data
                            .entry(param as usize)
                            .or_default()
                            .extend_from_slice(data);
                    }
                }
            }
            COM_STMT_CLOSE => {
                // No answer either.
                if let Some(id) = read_id(body, 0) {
                    if let Some(s) = self.statements.remove(&id) {
                        self.pg.close_statement(&s.name);
                        self.pg.sync();
                        self.pg.flush().await?;
                        self.drain().await?;
                    }
                }
            }
            COM_STMT_RESET => {
                let id = read_id(body, 0);
                match id.and_then(|id| self.statements.get_mut(&id)) {
                    Some(s) => {
                        s.long_data.clear();
                        self.ok(0);
                    }
                    None => self.unknown_statement(),
                }
            }
            COM_SET_OPTION => {
                let option = body.get(..2).map(|b| u16::from_le_bytes([b[0], b[1]]));
                self.multi_statements = option == Some(MYSQL_OPTION_MULTI_STATEMENTS_ON);
                self.eof(self.status());
            }
            COM_RESET_CONNECTION => {
                self.pg.query("ROLLBACK");
                self.pg.query("DISCARD ALL");
                self.pg.flush().await?;
                self.drain().await?;
                self.drain().await?;
                self.statements.clear();
                self.vars.autocommit = true;
                self.ok(0);
            }
            COM_STATISTICS => {
                // Answered with a bare string, as MySQL does.
                self.put(|o| {
                    o.extend_from_slice(b"Uptime: 0  Threads: 1  Questions: 0")
                });
            }
            COM_CHANGE_USER => self.err(
                error_code::ER_NOT_SUPPORTED_YET,
                error_code::STATE_SYNTAX_OR_ACCESS,
                "molt-lms: COM_CHANGE_USER is not supported once a MySQL session is served from the target database; reconnect as the other user",
            ),
            _ => self.err(
                error_code::ER_UNKNOWN_COM_ERROR,
                error_code::STATE_COMMUNICATION_LINK,
                "Unknown command",
            ),
        }
        Ok(true)
    }

    /// Reads an answer the client is not told about, up to its ReadyForQuery; `Some`
    /// error the database gave.
    async fn drain(&mut self) -> Result<Option<(String, String)>, GatewayError> {
        let mut error = None;
        loop {
            match self.pg.next().await? {
                PgMsg::Ready(tx) => {
                    self.tx = tx;
                    return Ok(error);
                }
                PgMsg::Error { code, message } => error = Some((code, message)),
                _ => {}
            }
        }
    }

    /// With autocommit off, MySQL opens a transaction at the first statement; so does
    /// the gateway, before the statement, in the same round trip.
    fn begin_if_needed(&mut self) -> bool {
        if !self.vars.autocommit && self.tx == TxStatus::Idle {
            self.pg.query("BEGIN");
            return true;
        }
        false
    }

    async fn query(&mut self, sql: &str, client: &mut UnixStream) -> Result<(), GatewayError> {
        if let Some((_, id)) = kill_target(sql.as_bytes()) {
            let query_only = sql.to_ascii_lowercase().contains("query");
            self.kill(id, query_only).await;
            return Ok(());
        }
        match local::classify(sql, &self.vars) {
            Some(Local::Rewrite(sql)) => return self.run_text(&sql, client).await,
            Some(l) => return self.local(l).await,
            None => {}
        }
        if !self.multi_statements && lexical::split_statements(sql).len() > 1 {
            self.err(
                ER_PARSE_ERROR,
                error_code::STATE_SYNTAX_OR_ACCESS,
                "You have an error in your SQL syntax: multiple statements need CLIENT_MULTI_STATEMENTS",
            );
            return Ok(());
        }
        let translated = lexical::translate(sql).text;
        self.run_text(&translated, client).await
    }

    /// `KILL QUERY <id>`: the id is the one the proxy greeted that client with; its
    /// session's statement is cancelled on the target with a cancel request, if the same
    /// MySQL user asks (MySQL's rule without the PROCESS privilege, which the proxy
    /// cannot see).
    async fn kill(&mut self, id: u64, query_only: bool) {
        let entry = u32::try_from(id)
            .ok()
            .and_then(|id| self.killer.as_ref()?.sessions.get(id));
        let Some((entry, killer)) = entry.zip(self.killer.as_ref()) else {
            self.err(
                ER_NO_SUCH_THREAD,
                error_code::STATE_GENERAL,
                &format!("Unknown thread id: {id}"),
            );
            return;
        };
        if entry.user != killer.user {
            self.err(
                ER_KILL_DENIED_ERROR,
                error_code::STATE_GENERAL,
                &format!("You are not owner of thread {id}"),
            );
            return;
        }
        if !query_only {
            self.err(
                error_code::ER_NOT_SUPPORTED_YET,
                error_code::STATE_SYNTAX_OR_ACCESS,
                "molt-lms: KILL CONNECTION is not supported for sessions served from the target database; KILL QUERY cancels the statement",
            );
            return;
        }
        match killer.backend.cancel(entry.pid, entry.secret).await {
            Ok(()) => self.ok(0),
            Err(e) => self.err(
                error_code::ER_UNKNOWN_ERROR,
                error_code::STATE_GENERAL,
                &format!(
                    "molt-lms: the cancel request did not reach the target: {}",
                    e.client_message()
                ),
            ),
        }
    }

    /// Answers a statement from the local table.
    async fn local(&mut self, l: Local) -> Result<(), GatewayError> {
        match l {
            Local::Ok | Local::Rewrite(_) => self.ok(0),
            Local::UseDatabase(db) => {
                self.vars.database = db;
                self.ok(0);
            }
            Local::Autocommit(on) => {
                if on && !self.vars.autocommit && self.tx != TxStatus::Idle {
                    // MySQL commits the open transaction when autocommit is turned on.
                    self.pg.query("COMMIT");
                    self.pg.flush().await?;
                    if let Some((code, message)) = self.drain().await? {
                        self.pg_error(&code, &message);
                        return Ok(());
                    }
                }
                self.vars.autocommit = on;
                self.ok(0);
            }
            Local::Error(code, message) => self.err(code, error_code::STATE_GENERAL, &message),
            Local::Warnings => {
                let names = ["Level", "Code", "Message"];
                let cols: Vec<(String, u32)> = names.iter().map(|n| (n.to_string(), 25)).collect();
                self.columns(&cols);
                self.rows_end(self.status());
            }
            Local::Row(row) => {
                let cols: Vec<(String, u32)> = row.iter().map(|(n, _)| (n.clone(), 25)).collect();
                self.columns(&cols);
                self.put(|o| {
                    for (_, v) in &row {
                        match v {
                            Some(v) => put_lenenc_str(o, v.as_bytes()),
                            None => o.push(LENENC_NULL),
                        }
                    }
                });
                self.rows_end(self.status());
            }
            Local::Variables(rows) => {
                let cols = vec![("Variable_name".to_string(), 25), ("Value".to_string(), 25)];
                self.columns(&cols);
                for (n, v) in rows {
                    self.put(|o| {
                        put_lenenc_str(o, n.as_bytes());
                        put_lenenc_str(o, v.as_bytes());
                    });
                }
                self.rows_end(self.status());
            }
        }
        Ok(())
    }

    /// Runs `sql` with the simple protocol and answers in the text protocol: each
    /// statement's result set or OK, `SERVER_MORE_RESULTS_EXISTS` on all but the last.
    async fn run_text(&mut self, sql: &str, client: &mut UnixStream) -> Result<(), GatewayError> {
        let began = self.begin_if_needed();
        self.pg.query(sql);
        self.pg.flush().await?;
        if began {
            if let Some((code, message)) = self.drain().await? {
                self.drain().await?;
                self.pg_error(&code, &message);
                return Ok(());
            }
        }
        let mut pending: Option<Pending> = None;
        let mut answered = false;
        let mut types: Vec<u32> = Vec::new();
        loop {
            match self.pg.next().await? {
                PgMsg::RowDescription(cols) => {
                    self.finish_pending(pending.take(), true);
                    types = cols.iter().map(|(_, t)| *t).collect();
                    self.columns(&cols);
                    answered = true;
                }
                PgMsg::DataRow(body) => {
                    let fields = data_row_fields(&body).unwrap_or_default();
                    self.put(|o| {
                        for (i, f) in fields.iter().enumerate() {
                            match f {
                                Some(v) => {
                                    let oid = types.get(i).copied().unwrap_or(0);
                                    put_lenenc_str(o, &pg_text::to_mysql(oid, v));
                                }
                                None => o.push(LENENC_NULL),
                            }
                        }
                    });
                }
                PgMsg::CommandComplete(tag) => {
                    pending = Some(if types.is_empty() {
                        Pending::Ok(affected_rows(&tag))
                    } else {
                        Pending::RowsEnd
                    });
                    types.clear();
                }
                PgMsg::EmptyQuery => pending = Some(Pending::Ok(0)),
                PgMsg::Error { code, message } => {
                    self.finish_pending(pending.take(), true);
                    self.pg_error(&code, &message);
                    answered = true;
                }
                PgMsg::CopyIn => {
                    self.pg
                        .copy_fail("COPY FROM STDIN is not available to MySQL clients");
                    self.pg.flush().await?;
                }
                PgMsg::Ready(tx) => {
                    self.tx = tx;
                    match pending.take() {
                        Some(p) => self.finish_pending(Some(p), false),
                        None if !answered => self.ok(0),
                        None => {}
                    }
                    return Ok(());
                }
                _ => {}
            }
            if self.out.len() >= FLUSH_AT {
                self.write_out(client).await?;
            }
        }
    }

    fn finish_pending(&mut self, p: Option<Pending>, more: bool) {
        let status = self.status() | if more { SERVER_MORE_RESULTS_EXISTS } else { 0 };
        match p {
            None => {}
            Some(Pending::Ok(n)) => self.ok_with(n, status),
            Some(Pending::RowsEnd) => self.rows_end(status),
        }
    }

    /// `COM_STMT_PREPARE`: the statement parsed and described on the database, answered
    /// with its parameter and column definitions.
    async fn prepare(&mut self, id: u32, sql: &str) -> Result<(), GatewayError> {
        match self.prepare_as(id, sql).await? {
            Err((code, message)) => self.pg_error(&code, &message),
            Ok(()) => {
                let s = &self.statements[&id];
                let (params, columns) = (s.params.len(), s.columns.clone());
                self.put(|o| {
                    o.push(0);
                    o.extend_from_slice(&id.to_le_bytes());
                    o.extend_from_slice(&(columns.len() as u16).to_le_bytes());
                    o.extend_from_slice(&(params as u16).to_le_bytes());
                    o.push(0);
                    o.extend_from_slice(&0u16.to_le_bytes());
                });
                if params > 0 {
                    let defs: Vec<(String, u32)> = (0..params).map(|_| ("?".into(), 25)).collect();
                    self.definitions(&defs);
                }
                if !columns.is_empty() {
                    self.definitions(&columns);
                }
            }
        }
        Ok(())
    }

    /// Prepares `sql` on the database as the gateway's statement `id`; the database's
    /// error if it refuses. Also how a cutover replays a session's statements under the
    /// ids the client already holds.
    pub(crate) async fn prepare_as(
        &mut self,
        id: u32,
        sql: &str,
    ) -> Result<Result<(), (String, String)>, GatewayError> {
        let name = statement_name(id);
        let translated = lexical::translate(sql).text;
        self.pg.parse_describe(&name, &translated);
        self.pg.sync();
        self.pg.flush().await?;
        let (mut params, mut columns, mut error) = (Vec::new(), Vec::new(), None);
        loop {
            match self.pg.next().await? {
                PgMsg::ParameterDescription(p) => params = p,
                PgMsg::RowDescription(c) => columns = c,
                PgMsg::Error { code, message } => error = Some((code, message)),
                PgMsg::Ready(tx) => {
                    self.tx = tx;
                    break;
                }
                _ => {}
            }
        }
        if let Some(e) = error {
            return Ok(Err(e));
        }
        self.statements
            .insert(id, Statement::new(name, params, columns));
        self.next_id = self.next_id.max(id.wrapping_add(1)).max(1);
        Ok(Ok(()))
    }

    /// `COM_STMT_EXECUTE`: binds the client's parameters (as text, which the database
    /// parses for the type it inferred) and answers in the binary protocol.
    async fn execute(&mut self, body: &[u8], client: &mut UnixStream) -> Result<(), GatewayError> {
        let Some(id) = read_id(body, 0) else {
            self.err(
                error_code::ER_MALFORMED_PACKET,
                error_code::STATE_GENERAL,
                "malformed COM_STMT_EXECUTE",
            );
            return Ok(());
        };
        let Some(stmt) = self.statements.get_mut(&id) else {
            self.unknown_statement();
            return Ok(());
        };
        let mut long_data = std::mem::take(&mut stmt.long_data);
        let decoded = params::decode_execute(body, stmt.params.len(), &mut stmt.bound, &mut |i| {
            long_data.remove(&i)
        });
        let exec = match decoded {
            Ok(e) => e,
            Err(e) => {
                self.translate_error(&e);
                return Ok(());
            }
        };
        let name = stmt.name.clone();
        let columns = stmt.columns.clone();
        let column_types: Vec<types::ColumnType> = columns
            .iter()
            .map(|(_, oid)| {
                types::column_type(*oid)
                    .unwrap_or_else(|| types::column_type(25).expect("text maps"))
            })
            .collect();
        // Binary results for every type the gateway decodes; text for the rest.
        let formats: Vec<i16> = columns
            .iter()
            .map(|(_, oid)| i16::from(types::column_type(*oid).is_some()))
            .collect();
        let began = self.begin_if_needed();
        self.pg.bind_execute(&name, &exec.params, &formats);
        self.pg.sync();
        self.pg.flush().await?;
        if began {
            if let Some((code, message)) = self.drain().await? {
                self.drain().await?;
                self.pg_error(&code, &message);
                return Ok(());
            }
        }
        let mut error = None;
        let mut affected = 0;
        let mut header_sent = false;
        let mut failed_row = None;
        loop {
            match self.pg.next().await? {
                PgMsg::DataRow(body) if error.is_none() && failed_row.is_none() => {
                    if !header_sent {
                        self.columns(&columns);
                        header_sent = true;
                    }
                    let fields = data_row_fields(&body).unwrap_or_default();
                    let mut row = Vec::with_capacity(fields.len());
                    for (i, f) in fields.iter().enumerate() {
                        let oid = columns.get(i).map_or(25, |c| c.1);
                        row.push(match f {
                            None => None,
                            Some(v) if formats.get(i) == Some(&1) => {
                                match pg_binary::decode(oid, v) {
                                    Ok(v) => Some(v),
                                    Err(e) => {
                                        failed_row = Some(e);
                                        break;
                                    }
                                }
                            }
                            Some(v) => Some(pg_binary::PgValue::Text(v)),
                        });
                    }
                    if failed_row.is_none() {
                        let mut result = Ok(());
                        self.put(|o| {
                            result = values::encode_binary_row(o, &column_types, &row);
                        });
                        if let Err(e) = result {
                            failed_row = Some(e);
                        }
                    }
                }
                PgMsg::CommandComplete(tag) => affected = affected_rows(&tag),
                PgMsg::Error { code, message } => error = Some((code, message)),
                PgMsg::Ready(tx) => {
                    self.tx = tx;
                    break;
                }
                _ => {}
            }
            if self.out.len() >= FLUSH_AT {
                self.write_out(client).await?;
            }
        }
        match (error, failed_row) {
            (Some((code, message)), _) => self.pg_error(&code, &message),
            (None, Some(e)) => self.translate_error(&e),
            (None, None) if columns.is_empty() => self.ok(affected),
            (None, None) => {
                if !header_sent {
                    self.columns(&columns);
                }
                self.rows_end(self.status());
            }
        }
        Ok(())
    }

    /// A result set's head: the column count, the definitions, and (without
    /// `CLIENT_DEPRECATE_EOF`) an EOF.
    fn columns(&mut self, cols: &[(String, u32)]) {
        let cache = self.mariadb_caps & MARIADB_CLIENT_CACHE_METADATA != 0;
        self.put(|o| {
            put_lenenc_int(o, cols.len() as u64);
            if cache {
                // "Metadata follows": the gateway always sends the definitions.
                o.push(1);
            }
        });
        self.definitions(cols);
    }

    /// Column definitions, then an EOF unless the client deprecated it.
    fn definitions(&mut self, cols: &[(String, u32)]) {
        let text = types::column_type(25).expect("text maps");
        let schema = self.vars.database.clone();
        for (name, oid) in cols {
            let t = types::column_type(*oid).unwrap_or(text);
            self.put(|o| types::encode_column_definition(o, &schema, "", name, &t));
        }
        if self.caps & CLIENT_DEPRECATE_EOF == 0 {
            self.eof(self.status());
        }
    }

    /// Appends one packet, numbered in the answer's sequence.
    fn put(&mut self, body: impl FnOnce(&mut Vec<u8>)) {
        let seq = self.seq;
        self.seq = put_packet(&mut self.out, seq, body);
    }

    /// The end of a result set's rows.
    fn rows_end(&mut self, status: u16) {
        if self.caps & CLIENT_DEPRECATE_EOF != 0 {
            self.ok_packet(true, 0, status);
        } else {
            self.eof(status);
        }
    }

    fn eof(&mut self, status: u16) {
        let eof = EofPacket {
            warnings: 0,
            status_flags: status,
        };
        let caps = self.caps;
        self.put(|o| eof.encode(o, caps));
    }

    fn ok(&mut self, affected: u64) {
        self.ok_with(affected, self.status());
    }

    fn ok_with(&mut self, affected: u64, status: u16) {
        self.ok_packet(false, affected, status);
    }

    /// An OK packet; `eof_header`: the one that ends rows under `CLIENT_DEPRECATE_EOF`.
    fn ok_packet(&mut self, eof_header: bool, affected: u64, status: u16) {
        let ok = OkPacket {
            eof_header,
            affected_rows: affected,
            last_insert_id: 0,
            status_flags: status,
            warnings: 0,
            info: Vec::new(),
            session_state: Vec::new(),
        };
        let caps = self.caps;
        self.put(|o| ok.encode(o, caps));
    }

    fn err(&mut self, code: u16, state: [u8; 5], message: &str) {
        let e = ErrPacket::new(code, state, message);
        let caps = self.caps;
        self.put(|o| e.encode(o, caps));
    }

    /// The database's error as MySQL's: the errno from the SQLSTATE table, the
    /// SQLSTATE itself kept.
    fn pg_error(&mut self, code: &str, message: &str) {
        let state: [u8; 5] = code
            .as_bytes()
            .try_into()
            .unwrap_or(error_code::STATE_GENERAL);
        self.err(sqlstate::errno(code), state, message);
    }

    fn translate_error(&mut self, e: &translate::TranslateError) {
        self.err(
            error_code::ER_UNKNOWN_ERROR,
            error_code::STATE_GENERAL,
            &e.to_string(),
        );
    }

    fn unknown_statement(&mut self) {
        // ER_UNKNOWN_STMT_HANDLER, as MySQL answers an id it does not know.
        self.err(
            ER_UNKNOWN_STMT_HANDLER,
            error_code::STATE_GENERAL,
            "Unknown prepared statement handler given to mysqld_stmt_execute",
        );
    }
}
