//! The seam between the connection layer and a wire protocol.
//!
//! The connection layer (`client_conn`) owns what is the same for every protocol: the
//! actor and its control (hold, drain, prepare/switch, kill), the relay loop and its
//! buffer policy, and the shadow's scheduling. A protocol module (`pg`; MySQL's later)
//! owns what is not: accepting and authenticating a client, framing both directions and
//! knowing where a request ends and whether a transaction is open (the [`Tracker`]),
//! replaying a session on another database for a switch, cutting requests and reading
//! answers for the shadow, cancel keys, and how an error reads to the client.
//!
//! The relay is generic over the tracker, so the hot loop is monomorphic: no virtual
//! call per message, and nothing on the actor's mailbox.

pub(crate) mod shadow;
mod types;

pub(crate) use types::{
    BackendError, BackendKey, BackendSession, ClientKey, Opening, PrepareError, Prepared, Refusal,
    StartupError,
};

use crate::auth::lookup::LookupError;
use crate::auth::{Credential, Verifier};
use crate::client_conn::handoff::Identity;
use crate::client_conn::session::SessionCtl;
use crate::client_error::ClientError;
use crate::conn_info::ConnInfo;
use crate::shared::Shared;
use bytes::BytesMut;
use molt_lms_api::SourceOfTruth;
use molt_lms_common::stream::Stream;
use std::error::Error;
use std::fmt;
use std::io;
use std::rc::Rc;
use std::sync::Arc;
use tokio::net::TcpStream;

/// A session's transaction state, as its protocol reports it (PostgreSQL's
/// ReadyForQuery status; MySQL's status flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TxState {
    Idle,
    InTransaction,
    /// In a transaction that failed: only a rollback is accepted.
    Failed,
}

/// What a tracker found in the bytes read so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Scan {
    /// Leading bytes that may be passed on now.
    pub forward: usize,
    /// The bytes after `forward` start a request that must wait for the hold to end.
    pub held: bool,
}

/// A peer broke its protocol. Carries the protocol's own error, for the log and, on the
/// client side, the client's error message.
#[derive(Debug)]
pub(crate) struct Violation {
    error: Box<dyn Error + Send + Sync>,
    /// The peer sent a message larger than the proxy holds (`--max-buffered-message`):
    /// a limit, not garbage, and the client is told so.
    too_large: bool,
}

impl Violation {
    pub(crate) fn new(e: impl Error + Send + Sync + 'static) -> Self {
        Self {
            error: Box::new(e),
            too_large: false,
        }
    }

    pub(crate) fn too_large(e: impl Error + Send + Sync + 'static) -> Self {
        Self {
            error: Box::new(e),
            too_large: true,
        }
    }

    pub(crate) fn is_too_large(&self) -> bool {
        self.too_large
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl Error for Violation {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&*self.error)
    }
}

/// The protocol's view of one relayed session: frames both directions and keeps the
/// session's place. It tells the session's control (`SessionCtl`) when the session is
/// quiescent (nothing in flight, no transaction open), asks it whether the next request
/// must be held, and records what a switch must carry over.
///
/// One tracker serves both directions, which run in one task; each direction keeps its
/// own `Framing` (where the message being read ends).
pub(crate) trait Tracker {
    /// Per-direction framing state.
    type Framing: Default;

    /// Scans client bytes: how many may go to the backend now, and whether to hold
    /// before the rest. The tracker may rewrite bytes it has scanned in place, keeping
    /// their length (MySQL maps statement and connection ids).
    fn scan_client(&self, framing: &mut Self::Framing, buf: &mut [u8]) -> Result<Scan, Violation>;

    /// Scans backend bytes: how many may go to the client now; rewrites likewise.
    fn scan_backend(&self, framing: &mut Self::Framing, buf: &mut [u8]) -> Result<Scan, Violation>;

    /// The stream is between two messages (so an error message can follow).
    fn at_boundary(framing: &Self::Framing) -> bool;

    /// Accounts for one whole client message, for a relay that frames messages itself
    /// (the shadow relay), rewriting it in place for the source of truth as the scan
    /// does; what the shadow is sent instead, if it differs.
    fn client_message(&self, msg: &mut [u8]) -> Result<ClientVerdict, Violation>;

    /// Accounts for one whole backend message, rewriting it in place likewise.
    fn backend_message(&self, msg: &mut [u8]) -> Result<(), Violation>;

    /// What the session agreed with its client that changes the shape of answers
    /// (MySQL's capability flags), for the shadow relay's framers.
    fn wire_options(&self) -> (u32, u32) {
        (0, 0)
    }
}

/// What a tracker made of one whole client message (see [`Tracker::client_message`]).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct ClientVerdict {
    /// Hold before it; it was not accounted for and will be offered again.
    pub hold: bool,
    /// Data the request under way asked the client for (MySQL's `LOCAL INFILE` file),
    /// not a request of its own.
    pub data: bool,
    /// The message as the shadow must get it, when it differs from what the source of
    /// truth gets (MySQL: the statement ids the client knows, which the shadow's server
    /// uses, instead of the source's).
    pub shadow: Option<Vec<u8>>,
}

/// A wire protocol as the connection layer drives it: the steps of a session's life
/// that only the protocol knows how to take. Implemented by a unit type per protocol
/// (`pg::Pg`); the connection actor and its serving task are generic over it, so every
/// call is static.
// Sessions run on one worker thread (spawned locally): no `Send` bound is wanted on
// these futures, which is what the lint asks to consider.
#[allow(async_fn_in_trait)]
pub(crate) trait Protocol: Sized + 'static {
    type Tracker: Tracker;
    type Session: BackendSession;
    /// Cutting requests and reading answers for the shadow relay.
    type Shadow: shadow::ShadowCodec;
    /// What the client's side of start-up keeps from `open` to `greet`: MySQL's
    /// scramble, negotiated capabilities and packet sequence; nothing for PostgreSQL,
    /// where the client speaks first and every message stands alone.
    type Hello;

    /// Negotiates TLS and reads the client's first request. `key` is the cancel key the
    /// proxy issues this connection (MySQL's greeting carries its connection id).
    async fn open(
        shared: &Shared,
        tcp: TcpStream,
        key: ClientKey,
    ) -> Result<Opening<Self::Hello>, (Option<Stream>, StartupError)>;

    /// The stored verifier of `user` on the database playing `role`, `None` when the
    /// role does not exist or has no password the proxy can check.
    async fn verifier(
        shared: &Shared,
        role: SourceOfTruth,
        user: &str,
    ) -> Result<Option<Verifier>, LookupError>;

    /// Who the client asks to be, `(user, database)`, or why that cannot be served.
    fn login_request(params: &[(String, String)]) -> Result<(String, String), ClientError>;

    /// Challenges the client against its role's verifier: the credential to log in to
    /// backends with, or a refusal.
    async fn authenticate(
        shared: &Shared,
        stream: &mut Stream,
        buf: &mut BytesMut,
        hello: &mut Self::Hello,
        user: &str,
        verifier: Option<Verifier>,
    ) -> Result<Result<Credential, Refusal>, StartupError>;

    /// Opens a session for `identity` on the database playing `role`.
    async fn open_session(
        shared: &Shared,
        role: SourceOfTruth,
        identity: &Identity,
    ) -> Result<Self::Session, BackendError>;

    /// Tells the client its session is ready, with the cancel key the proxy issued;
    /// records the session parameters it was told. Returns the transaction state.
    async fn greet(
        client: &mut Stream,
        session: &Self::Session,
        key: ClientKey,
        ctl: &SessionCtl,
        hello: &Self::Hello,
    ) -> io::Result<TxState>;

    /// A switch's first phase: a session on `to` with the client's session state
    /// (parameters, named statements) replayed. Sends nothing to the client.
    async fn prepare(
        shared: &Shared,
        to: SourceOfTruth,
        identity: &Identity,
        ctl: &SessionCtl,
    ) -> Result<Prepared<Self::Session>, PrepareError>;

    /// A switch's second phase, past the point of no return: closes the old session and
    /// tells the client which session parameters changed.
    async fn complete(
        client: &mut Stream,
        old: &mut Stream,
        changes: &[(String, String)],
        ctl: &SessionCtl,
    ) -> io::Result<()>;

    /// The tracker for a logged-in session.
    fn tracker(
        ctl: Rc<SessionCtl>,
        info: Arc<ConnInfo>,
        shared: Arc<Shared>,
        hello: &Self::Hello,
    ) -> Self::Tracker;

    /// Appends what tells the client about `e`, the last thing its session receives.
    /// `hello` is there while start-up is under way (before `greet`), `None` after.
    fn encode_error(e: &ClientError, hello: Option<&Self::Hello>, out: &mut Vec<u8>);

    /// The bytes of a refusal: the proxy's own error, or the backend's as it sent it.
    fn encode_refusal(r: &Refusal, hello: Option<&Self::Hello>) -> Vec<u8> {
        match r {
            Refusal::Client(e) => {
                let mut out = Vec::new();
                Self::encode_error(e, hello, &mut out);
                out
            }
            Refusal::Backend(raw) => raw.clone(),
        }
    }

    /// Answers a connection the proxy will not serve (it shuts down, or holds its maximum
    /// of connections) with `e`, then closes: whatever the protocol needs first (TLS
    /// negotiation, a greeting) so the client reads the error.
    async fn refuse_unopened(tcp: TcpStream, shared: Arc<Shared>, e: ClientError);

    /// Whether a session of this protocol can be shadowed to the database playing `role`.
    fn can_shadow_to(role: SourceOfTruth) -> bool {
        let _ = role;
        true
    }

    /// Ends a backend session politely.
    async fn close(stream: &mut Stream);

    /// Passes a client's cancel request on to the backend session it stands for.
    async fn cancel(
        shared: &Shared,
        role: SourceOfTruth,
        key: BackendKey,
    ) -> Result<(), BackendError>;
}
