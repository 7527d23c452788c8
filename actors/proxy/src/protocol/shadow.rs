//! The protocol's half of shadowing. The shadow relay (`client_conn::shadow_relay`)
//! schedules requests to the shadow and compares answers without knowing the protocol;
//! it asks the codec where a message ends, what each client message is to a request,
//! and where each database's answer ends.

use super::{TxState, Violation};
use crate::shadow::result::StmtResult;

/// What one whole client message is to the request it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientMsg<'a> {
    /// The client ends its session; not sent to the shadow.
    Quit,
    /// Data for a COPY under way: it goes wherever the request that started it went.
    CopyData,
    /// Runs `text` and ends the request (PostgreSQL's Query).
    Query(&'a str),
    /// Prepares `text` as the statement `name` (`""`: the unnamed one).
    Prepare { name: &'a str, text: &'a str },
    /// Runs the statement prepared as `name`.
    Execute { name: &'a str },
    /// Prepares `text` as the statement the client knows by `id`, and ends the request
    /// (MySQL's `COM_STMT_PREPARE`, numbered by the proxy).
    PrepareId { id: u32, text: &'a str },
    /// Runs the statement `id` and ends the request (MySQL's `COM_STMT_EXECUTE`).
    ExecuteId { id: u32 },
    /// Calls a function with no statement text, and ends the request.
    FunctionCall,
    /// Asks for the output so far: the client may wait for it before ending the request.
    Flush,
    /// Ends a request made of several messages (PostgreSQL's Sync).
    End,
    /// Any other part of a request.
    Other,
}

impl ClientMsg<'_> {
    /// The message ends a request, which one answer then completes.
    pub(crate) fn ends_request(self) -> bool {
        matches!(
            self,
            ClientMsg::Query(_)
                | ClientMsg::FunctionCall
                | ClientMsg::End
                | ClientMsg::PrepareId { .. }
                | ClientMsg::ExecuteId { .. }
        )
    }
}

/// What one whole message from the source of truth is to the answer under way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AnswerStep {
    /// Part of the answer; `client_now`: the client needs it at once (it must answer
    /// with data, as in COPY FROM STDIN).
    Part { client_now: bool },
    /// The answer is complete; the session's transaction state after it.
    End(TxState),
}

/// One request's answer being read, as protocol-free statement results.
pub(crate) trait AnswerReader {
    /// Accounts for one whole message of the answer, its last included.
    fn observe(&mut self, msg: &[u8]);
    /// The results at the end of the answer; the reader starts over.
    fn finish(&mut self) -> Vec<StmtResult>;
}

/// Where each answer of one session's direction ends. PostgreSQL needs no state (an
/// answer ends at ReadyForQuery); MySQL does (an answer's shape depends on the command
/// it answers, so the framer is told each request as it goes out).
pub(crate) trait Framer {
    /// Whether [`Framer::request`] needs calling at all (the shadow writer then frames
    /// what it writes).
    const STATEFUL: bool;

    /// A whole message going to the database whose answers this framer reads.
    fn request(&mut self, msg: &[u8]) -> Result<(), Violation>;

    /// One whole message of an answer.
    fn step(&mut self, msg: &[u8]) -> Result<AnswerStep, Violation>;
}

pub(crate) trait ShadowCodec {
    type Answer: AnswerReader;
    type Framer: Framer;

    /// A framer for a session that agreed `options` with its client (the tracker's
    /// [`Tracker::wire_options`](super::Tracker::wire_options)).
    fn framer(options: (u32, u32)) -> Self::Framer;

    /// A reader keeping at most `budget` bytes of rows per answer; `errors_only` keeps
    /// nothing but errors (async mode does not compare). `options` as for
    /// [`ShadowCodec::framer`].
    fn answer(budget: usize, errors_only: bool, options: (u32, u32)) -> Self::Answer;

    /// The length of the whole message at the start of `buf`, once all of it is there.
    fn next_message(buf: &[u8]) -> Result<Option<usize>, Violation>;

    fn classify(msg: &[u8]) -> Result<ClientMsg<'_>, Violation>;

    /// The statement was stopped by a cancel request or a statement timeout.
    fn cancelled(result: &StmtResult) -> bool;

    /// A request that fails on the shadow, so that its transaction fails as the source
    /// of truth's did; `why` is what its error says.
    fn failing_request(why: &str) -> Vec<u8>;

    /// In strict-sync, the shadow's error takes the place of the source of truth's last
    /// message too (MySQL: the OK or EOF that ends the answer), instead of coming before
    /// it (PostgreSQL: ReadyForQuery follows the error).
    fn error_replaces_end() -> bool {
        false
    }
}
