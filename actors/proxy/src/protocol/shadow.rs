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
            ClientMsg::Query(_) | ClientMsg::FunctionCall | ClientMsg::End
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
    /// Accounts for one whole message that is part of the answer.
    fn observe(&mut self, msg: &[u8]);
    /// The results at the end of the answer; the reader starts over.
    fn finish(&mut self) -> Vec<StmtResult>;
}

pub(crate) trait ShadowCodec {
    type Answer: AnswerReader;

    /// A reader keeping at most `budget` bytes of rows per answer; `errors_only` keeps
    /// nothing but errors (async mode does not compare).
    fn answer(budget: usize, errors_only: bool) -> Self::Answer;

    /// The length of the whole message at the start of `buf`, once all of it is there.
    fn next_message(buf: &[u8]) -> Result<Option<usize>, Violation>;

    fn classify(msg: &[u8]) -> Result<ClientMsg<'_>, Violation>;

    fn answer_step(msg: &[u8]) -> Result<AnswerStep, Violation>;

    /// The statement was stopped by a cancel request or a statement timeout.
    fn cancelled(result: &StmtResult) -> bool;

    /// A request that fails on the shadow, so that its transaction fails as the source
    /// of truth's did; `why` is what its error says.
    fn failing_request(why: &str) -> Vec<u8>;
}
