//! Where a server's answer to a command ends. MySQL answers carry no type tag: a column
//! count, a row and an OK packet may begin with the same byte, so only a tracker that
//! knows which command was sent, and how far through its answer the server is, can tell
//! the last packet of an answer. The proxy needs that to know when a session sits
//! between commands (where a cutover may hold it), and the final OK or EOF packet's
//! status flags to know whether a transaction is open.
//!
//! Commands are answered in order, so several may be outstanding (MariaDB's Connector/J
//! sends COM_STMT_PREPARE and COM_STMT_EXECUTE without waiting). Some commands get no
//! answer at all (COM_STMT_CLOSE, COM_STMT_SEND_LONG_DATA, COM_QUIT).

use super::codec::read_lenenc_int;
use super::consts::capability::CLIENT_DEPRECATE_EOF;
use super::consts::command::*;
use super::consts::header;
use super::consts::mariadb_capability::MARIADB_CLIENT_CACHE_METADATA;
use super::consts::status::{
    SERVER_MORE_RESULTS_EXISTS, SERVER_STATUS_CURSOR_EXISTS, SERVER_STATUS_IN_TRANS,
};
use super::error::MysqlError;
use super::response::{ends_rows, status_flags};
use std::collections::VecDeque;

/// What a client packet was to the exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientStep {
    /// A command the server will answer.
    Command(u8),
    /// A command that gets no answer.
    Unanswered(u8),
    /// Data within an exchange (LOCAL INFILE contents, an authentication answer).
    Data,
}

/// What a server packet was to the answer under way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerStep {
    /// More packets of this answer follow.
    More,
    /// The server now waits for the client's data (LOCAL INFILE, an auth switch).
    AwaitClient,
    /// The answer is complete; the server status it ended with, if it had one.
    Done(Option<u16>),
}

/// Where one answer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// An OK, ERR, LOCAL INFILE request or result set (COM_QUERY, COM_STMT_EXECUTE).
    Result {
        binary: bool,
    },
    Columns {
        left: u64,
        binary: bool,
    },
    ColumnsEof {
        binary: bool,
    },
    /// Binary result set under `CLIENT_DEPRECATE_EOF`, right after its columns: an OK
    /// with the cursor flag may end it here.
    AfterColumns,
    Rows {
        binary: bool,
    },
    /// LOCAL INFILE: the client sends data until an empty packet, then OK or ERR.
    InfileData,
    InfileOutcome,
    /// COM_STMT_PREPARE: its OK (or ERR), then parameter and column definitions.
    Prepare,
    /// Packets left of a prepare's answer: the definitions, each list followed by an
    /// EOF when it is not empty and `CLIENT_DEPRECATE_EOF` is off. None is looked into.
    Definitions {
        left: u32,
    },
    /// COM_FIELD_LIST: column definitions up to an EOF, or an ERR.
    FieldList,
    /// COM_CHANGE_USER: an authentication exchange, ended by OK or ERR.
    Auth,
    /// One packet ends it, whatever it is (OK, ERR, EOF or a string).
    Single,
}

/// Tracks one connection's commands and their answers.
#[derive(Debug)]
pub struct Exchange {
    caps: u32,
    /// MariaDB's extended capabilities as negotiated (0 with MySQL).
    mariadb_caps: u32,
    pending: VecDeque<Answer>,
    status: u16,
}

fn answer_for(command: u8) -> Result<Option<Answer>, MysqlError> {
    Ok(Some(match command {
        COM_QUERY | COM_PROCESS_INFO => Answer::Result { binary: false },
        COM_STMT_EXECUTE | COM_STMT_BULK_EXECUTE => Answer::Result { binary: true },
        COM_STMT_FETCH => Answer::Rows { binary: true },
        COM_STMT_PREPARE => Answer::Prepare,
        COM_FIELD_LIST => Answer::FieldList,
        COM_CHANGE_USER => Answer::Auth,
        COM_STMT_CLOSE | COM_STMT_SEND_LONG_DATA | COM_QUIT => return Ok(None),
        COM_INIT_DB | COM_PING | COM_STATISTICS | COM_STMT_RESET | COM_SET_OPTION
        | COM_RESET_CONNECTION | COM_PROCESS_KILL | COM_REFRESH | COM_DEBUG | COM_CREATE_DB
        | COM_DROP_DB | COM_SHUTDOWN | COM_SLEEP | COM_TIME | COM_DELAYED_INSERT
        | COM_CONNECT_OUT | COM_DAEMON => Answer::Single,
        // Replication streams never end; the proxy does not carry them.
        _ => return Err(MysqlError::Malformed("command the proxy does not carry")),
    }))
}

impl Exchange {
    /// A tracker for a session that negotiated `caps` and has logged in, idle, with
    /// `status` from its last OK packet.
    pub fn new(caps: u32, status: u16) -> Self {
        Self {
            caps,
            mariadb_caps: 0,
            pending: VecDeque::new(),
            status,
        }
    }

    /// The same, for a session that also negotiated MariaDB's extended capabilities
    /// (`MARIADB_CLIENT_CACHE_METADATA` changes the result-set header).
    pub fn with_mariadb_caps(mut self, mariadb_caps: u32) -> Self {
        self.mariadb_caps = mariadb_caps;
        self
    }

    /// No command awaits an answer.
    pub fn idle(&self) -> bool {
        self.pending.is_empty()
    }

    /// A transaction is open, as the last status the server sent says.
    pub fn in_transaction(&self) -> bool {
        self.status & SERVER_STATUS_IN_TRANS != 0
    }

    /// The next server packet is the first of a `COM_STMT_PREPARE` answer (its OK
    /// carries the statement id, which a proxy may map).
    pub fn awaiting_prepare(&self) -> bool {
        self.pending.front() == Some(&Answer::Prepare)
    }

    /// The server status of the last answer that carried one.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Accounts for one packet from the client.
    pub fn from_client(&mut self, payload: &[u8]) -> Result<ClientStep, MysqlError> {
        match self.pending.front_mut() {
            Some(Answer::InfileData) => {
                if payload.is_empty() {
                    self.pending[0] = Answer::InfileOutcome;
                }
                return Ok(ClientStep::Data);
            }
            Some(Answer::Auth) => return Ok(ClientStep::Data),
            _ => {}
        }
        let command = *payload
            .first()
            .ok_or(MysqlError::Malformed("empty command packet"))?;
        match answer_for(command)? {
            Some(answer) => {
                self.pending.push_back(answer);
                Ok(ClientStep::Command(command))
            }
            None => Ok(ClientStep::Unanswered(command)),
        }
    }

    /// Accounts for one packet from the server.
    pub fn from_server(&mut self, payload: &[u8]) -> Result<ServerStep, MysqlError> {
        let caps = self.caps;
        let deprecate_eof = caps & CLIENT_DEPRECATE_EOF != 0;
        let first = *payload.first().unwrap_or(&header::OK);
        let answer = *self.pending.front().ok_or(MysqlError::Malformed(
            "a server packet with no command to answer",
        ))?;
        let next = match answer {
            Answer::Result { binary } => match first {
                header::OK => return Ok(self.result_end(payload, binary)),
                header::ERR => return Ok(self.done(None)),
                header::LOCAL_INFILE if !binary => {
                    self.pending[0] = Answer::InfileData;
                    return Ok(ServerStep::AwaitClient);
                }
                _ => match read_lenenc_int(payload)? {
                    (Some(0) | None, _) => {
                        return Err(MysqlError::Malformed("result set without columns"))
                    }
                    // MariaDB's metadata cache: a 0 after the count means the column
                    // definitions are left out (the client has them), so the answer
                    // goes on as after the last one.
                    (Some(_), len)
                        if self.mariadb_caps & MARIADB_CLIENT_CACHE_METADATA != 0
                            && payload.get(len) == Some(&0) =>
                    {
                        match (deprecate_eof, binary) {
                            (false, _) => Answer::ColumnsEof { binary },
                            (true, true) => Answer::AfterColumns,
                            (true, false) => Answer::Rows { binary },
                        }
                    }
                    (Some(left), _) => Answer::Columns { left, binary },
                },
            },
            Answer::Columns { left, binary } => match (left.saturating_sub(1), deprecate_eof) {
                (0, false) => Answer::ColumnsEof { binary },
                (0, true) if binary => Answer::AfterColumns,
                (0, true) => Answer::Rows { binary },
                (left, _) => Answer::Columns { left, binary },
            },
            Answer::ColumnsEof { binary } => {
                let status = status_flags(payload, caps);
                if binary && status.is_some_and(|s| s & SERVER_STATUS_CURSOR_EXISTS != 0) {
                    return Ok(self.done(status));
                }
                Answer::Rows { binary }
            }
            Answer::AfterColumns => {
                if ends_rows(payload, caps) {
                    let status = status_flags(payload, caps);
                    if status.is_some_and(|s| s & SERVER_STATUS_CURSOR_EXISTS != 0) {
                        return Ok(self.done(status));
                    }
                    return Ok(self.result_end(payload, true));
                }
                return Ok(self.rows(payload, true));
            }
            Answer::Rows { binary } => return Ok(self.rows(payload, binary)),
            Answer::InfileData => {
                return Err(MysqlError::Malformed(
                    "a server packet while the client sends LOCAL INFILE data",
                ))
            }
            Answer::InfileOutcome => return Ok(self.result_end(payload, false)),
            Answer::Prepare => {
                if first == header::ERR {
                    return Ok(self.done(None));
                }
                // OK_prepare: 0x00, statement id (4), columns (2), parameters (2), …
                let u16_at = |i: usize| {
                    payload
                        .get(i..i + 2)
                        .map(|b| u16::from_le_bytes([b[0], b[1]]))
                        .ok_or(MysqlError::Truncated("COM_STMT_PREPARE answer"))
                };
                let (columns, params) = (u16_at(5)?, u16_at(7)?);
                let list = |n: u16| u32::from(n) + u32::from(n > 0 && !deprecate_eof);
                match list(params) + list(columns) {
                    0 => return Ok(self.done(None)),
                    left => Answer::Definitions { left },
                }
            }
            Answer::Definitions { left: 1 } => return Ok(self.done(None)),
            Answer::Definitions { left } => Answer::Definitions { left: left - 1 },
            Answer::FieldList => {
                if first == header::ERR || ends_rows(payload, caps) {
                    return Ok(self.done(status_flags(payload, caps)));
                }
                Answer::FieldList
            }
            Answer::Auth => {
                return Ok(match first {
                    header::OK => self.done(status_flags(payload, caps)),
                    header::ERR => self.done(None),
                    // An auth switch or more authentication data: the client answers.
                    _ => ServerStep::AwaitClient,
                });
            }
            Answer::Single => {
                let status = match first {
                    header::OK | header::EOF => status_flags(payload, caps),
                    _ => None,
                };
                return Ok(self.done(status));
            }
        };
        self.pending[0] = next;
        Ok(ServerStep::More)
    }

    /// Accounts for a server packet too large to read whole (see `scanner`): only a row
    /// can be that long, so it must come where rows do.
    pub fn from_server_large(&mut self) -> Result<ServerStep, MysqlError> {
        match self.pending.front() {
            Some(Answer::Rows { .. } | Answer::AfterColumns) => Ok(ServerStep::More),
            _ => Err(MysqlError::Malformed(
                "oversized packet outside a result set's rows",
            )),
        }
    }

    fn rows(&mut self, payload: &[u8], binary: bool) -> ServerStep {
        if ends_rows(payload, self.caps) {
            return self.result_end(payload, binary);
        }
        // A text row's first value cannot start with 0xFF; a binary row starts with 0x00.
        if payload.first() == Some(&header::ERR) {
            return self.done(None);
        }
        ServerStep::More
    }

    /// An OK or EOF that ends one result: the answer goes on when more results follow.
    fn result_end(&mut self, payload: &[u8], binary: bool) -> ServerStep {
        let status = status_flags(payload, self.caps);
        if let Some(s) = status.filter(|s| s & SERVER_MORE_RESULTS_EXISTS != 0) {
            self.status = s;
            self.pending[0] = Answer::Result { binary };
            return ServerStep::More;
        }
        self.done(status)
    }

    fn done(&mut self, status: Option<u16>) -> ServerStep {
        self.pending.pop_front();
        if let Some(s) = status {
            self.status = s;
        }
        ServerStep::Done(status)
    }
}

#[cfg(test)]
mod tests;
