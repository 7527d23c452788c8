//! The data path of a shadowing connection. Client messages go to the source of truth
//! and, request by request, to the shadow session; the shadow's answers are read by
//! their own loop. The modes differ only in what the client waits for:
//! - `async`: nothing. A request is dropped (and counted) when the shadow has not
//!   finished the previous one, so a slow shadow never holds up or fails the client.
//! - `sync`: each ReadyForQuery waits for the shadow to finish the same request; the two
//!   answers are compared, and the source of truth's goes to the client.
//! - `strict-sync`: as `sync`, but a shadow error replaces the source of truth's answer.
//!
//! In both sync modes a request that leaves the source of truth's transaction failed
//! leaves the shadow's failed too (a request made to fail is sent after it), so a later
//! COMMIT commits on neither database.
//!
//! Both sync modes keep the source of truth's answer back until the shadow's is in and
//! then write it in one piece: strict-sync needs that to replace it, and for sync it saves
//! the client a wake-up and the proxy a write per request.
//!
//! In the sync modes a request that may run while the session holds locks goes to the
//! shadow only once the source of truth has answered it. Sent to both at once, two
//! clients that update the same row inside transactions can each get the lock on a
//! different database and wait for each other across them forever, which neither
//! database can see. Following the source of truth's completion order, the shadow only
//! ever waits for work that will finish. A request that starts outside a transaction, with
//! nothing else in flight, and opens neither a transaction nor an advisory lock cannot
//! hold a lock while it waits: it goes to both at once.
//!
//! Unlike the plain relay this loop handles whole messages: it must cut the stream into
//! requests and read every answer. It is used only when shadowing is on. It is generic
//! over the protocol's shadow codec, which frames messages, says what each client message
//! is to a request and where an answer ends; the scheduling here is the same for all.

use super::relay::{
    act_when_quiet, backend_to_client, read_client, released, reserve_read, shrink_after_burst,
    why_ended, End, Finished, MIN_READ,
};
use super::session::SessionCtl;
use super::signal::Signal;
use super::waiting::Waiting;
use crate::buffer_budget::{BufferBudget, Charge};
use crate::client_error::{ClientError, ClientErrorKind};
use crate::metrics::{Direction, LocalSeries, ProxyMetrics};
use crate::protocol::shadow::{AnswerReader, AnswerStep, ClientMsg, Framer, ShadowCodec};
use crate::protocol::{Tracker, TxState, Violation};
use crate::shadow::compare::{compare, Comparison, Rules};
use crate::shadow::ledger::{FingerprintStats, Record};
use crate::shadow::result::{StmtEnd, StmtResult};
use crate::shadow::{Fingerprint, ShadowLedger};
use bytes::{Buf, BytesMut};
use molt_lms_api::shadow::ShadowOutcome;
use molt_lms_api::{ShadowMode, SourceOfTruth};
use molt_lms_common::stream::{self, Half, Stream};
use std::cell::{Cell, OnceCell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Client bytes that may wait for the shadow before it counts as fallen behind and is
/// abandoned for this connection.
const MAX_SHADOW_BACKLOG: usize = 64 << 20;
/// Distinct query texts whose fingerprints a connection caches.
const LABEL_CACHE: usize = 256;
/// Output collected before it is written to the client mid-answer.
const OUT_CHUNK: usize = 64 * 1024;

/// What the shadow relay needs besides the two main streams.
pub(crate) struct Shadowing<'a> {
    pub mode: ShadowMode,
    pub stream: Stream,
    /// The database serving the client (the shadow is the other one).
    pub sot: SourceOfTruth,
    pub ledger: &'a ShadowLedger,
    pub budget: usize,
    /// Bytes client connections hold for large messages, process-wide.
    pub buffers: &'a BufferBudget,
    /// Bytes shadow sessions hold waiting for their shadow, process-wide.
    pub shadow_buffers: &'a BufferBudget,
    /// Largest message held whole (`--max-buffered-message`): every message is, here.
    pub max_message: usize,
}

/// A client message past `--max-buffered-message` while shadowing, which holds each
/// message whole to cut requests and tee them.
#[derive(Debug, thiserror::Error)]
#[error("a message of more than {max} bytes while shadowing (each is held whole)")]
struct HeldTooLarge {
    max: usize,
}

/// A statement text with what the report and comparison need of it.
struct Query {
    text: String,
    fingerprint: Fingerprint,
    rules: Rules,
    /// It may leave locks held after it answers (BEGIN, advisory locks).
    may_hold_locks: bool,
    /// The ledger's counters for the fingerprint, looked up on first use.
    stats: OnceCell<Arc<FingerprintStats>>,
}

/// One request (up to Query, Sync or FunctionCall) as sent.
struct Label {
    query: Rc<Query>,
    teed: bool,
    /// Sent to the shadow together with the source of truth, not after its answer.
    released: bool,
}

/// Whether a statement text may leave the session holding locks once it has answered.
fn may_hold_locks(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    ["begin", "start transaction", "advisory"]
        .iter()
        .any(|k| t.contains(k))
}

/// State shared by the four loops of one shadowing connection (one task, one thread).
struct Tee<'a, T, F> {
    mode: ShadowMode,
    sot: SourceOfTruth,
    ledger: &'a ShadowLedger,
    metrics: &'a ProxyMetrics,
    /// This thread's writer of the relayed-bytes series.
    series: LocalSeries,
    session: &'a SessionCtl,
    tracker: &'a T,
    /// Bytes for the shadow, not yet written.
    queue: RefCell<Vec<u8>>,
    /// Sync modes: the requests sent to the source of truth and not yet answered there;
    /// each goes to `queue` at its ReadyForQuery.
    waiting: RefCell<Waiting>,
    /// Bytes in `queue` and `waiting` together.
    backlog: Cell<usize>,
    /// This session's share of the process-wide shadow budget, following `backlog`.
    charge: RefCell<Charge<'a>>,
    /// Shadow answers to throw away (to requests the proxy made up, not the client's).
    discard: Cell<u32>,
    /// Requests sent to the source of truth and not yet answered, and its transaction
    /// status at the last answer: a request may go to both at once only from idle.
    sot_in_flight: Cell<u32>,
    sot_status: Cell<TxState>,
    queued: Signal,
    /// Requests sent to the shadow and not yet answered.
    outstanding: Cell<u32>,
    dead: Cell<bool>,
    /// Labels of the requests sent to the source of truth (sync modes), in order.
    sot_labels: RefCell<VecDeque<Label>>,
    /// Labels of the requests sent to the shadow (async), in order.
    shadow_labels: RefCell<VecDeque<Rc<Query>>>,
    /// The shadow's answers, in order, with its transaction status after each (sync
    /// modes).
    answers: RefCell<VecDeque<(Vec<StmtResult>, TxState)>>,
    answered: Signal,
    /// The client sent Flush: it may wait for output before its Sync.
    flush_requested: Cell<bool>,
    /// Where the source of truth's answers end (sync modes), told each request sent.
    sot_framer: RefCell<F>,
    /// Where the shadow's answers end, told each request as it is written.
    shadow_framer: RefCell<F>,
}

impl<T, F> Tee<'_, T, F> {
    /// Adds client bytes of the current request (`start`: its first message). Nothing is
    /// kept once the shadow is abandoned: a COPY that outlives it must not queue its data
    /// for a writer that has stopped.
    fn push(&self, raw: &[u8], start: bool) {
        if self.dead.get() {
            return;
        }
        if self.mode == ShadowMode::Async {
            self.queue.borrow_mut().extend_from_slice(raw);
        } else {
            let mut waiting = self.waiting.borrow_mut();
            if start {
                waiting.start(raw);
            } else if !waiting.extend(raw) {
                // COPY data after its request was answered: the request is gone, so
                // the data must not start a request of its own.
                self.queue.borrow_mut().extend_from_slice(raw);
            }
        }
        self.set_backlog(self.backlog.get() + raw.len());
        if self.backlog.get() > MAX_SHADOW_BACKLOG {
            self.give_up("the shadow fell more than 64 MiB behind");
        }
    }

    /// Sets the backlog and this session's share of the shadow budget; a share that does
    /// not fit abandons this session's shadow (its client goes on, except in strict-sync).
    fn set_backlog(&self, n: usize) {
        self.backlog.set(n);
        if !self.charge.borrow_mut().resize(n) {
            self.give_up("the proxy's shadow budget (--shadow-budget) is in use");
        }
    }

    /// Sync modes: the source of truth cancelled the oldest waiting request (a client's
    /// cancel, or its `statement_timeout`). Replaying it would make the client wait for
    /// the shadow's copy, so it is not sent. If the cancel left the source of truth's
    /// transaction failed, a statement that fails puts the shadow's there too, so both
    /// sessions agree on what a later COMMIT does.
    fn skip_oldest(&self, tx_failed: bool, failing_request: fn(&str) -> Vec<u8>) {
        let popped = self.waiting.borrow_mut().pop_front(None);
        if let Some(n) = popped {
            self.set_backlog(self.backlog.get().saturating_sub(n));
        }
        if tx_failed {
            self.fail_shadow_tx(
                failing_request,
                "molt-lms: request cancelled on the source of truth",
            );
        }
    }

    /// Sync modes: puts the shadow's transaction in the failed state the source of
    /// truth's is in, with a request that fails there; its answer is thrown away. Without
    /// it a statement that failed only on the source of truth would leave the shadow's
    /// transaction able to commit what the source of truth rolls back.
    fn fail_shadow_tx(&self, failing_request: fn(&str) -> Vec<u8>, why: &str) {
        if self.dead.get() {
            return;
        }
        self.queue
            .borrow_mut()
            .extend_from_slice(&failing_request(why));
        self.discard.set(self.discard.get() + 1);
        self.queued.notify();
    }

    /// Sync modes: the source of truth answered the oldest waiting request; send it on.
    fn release_oldest(&self) {
        let mut queue = self.queue.borrow_mut();
        if self
            .waiting
            .borrow_mut()
            .pop_front(Some(&mut queue))
            .is_some()
        {
            self.queued.notify();
        }
    }

    /// Stops shadowing this connection. In strict-sync the client session ends too: it
    /// asked for every request to succeed on both databases.
    fn give_up(&self, why: &str) {
        if self.dead.replace(true) {
            return;
        }
        // Freed, not just emptied: the backlog may have grown to its limit.
        drop(std::mem::take(&mut *self.queue.borrow_mut()));
        drop(std::mem::take(&mut *self.waiting.borrow_mut()));
        self.backlog.set(0);
        self.charge.borrow_mut().reset();
        self.metrics.shadow_sessions_lost.inc();
        let shadow = self.sot.other();
        tracing::warn!(%shadow, reason = why, "shadow session abandoned");
        if self.mode == ShadowMode::StrictSync {
            self.session.kill(ClientError::new(
                ClientErrorKind::Terminated,
                format!(
                "molt-lms: lost the shadow session on the {shadow} database ({why}), which shadow mode strict-sync requires"
            ),
            ));
        }
        self.queued.notify();
        self.answered.notify();
    }

    fn record(&self, q: &Query, outcome: ShadowOutcome, comparison: Option<&Comparison>) {
        let stats = q.stats.get_or_init(|| self.ledger.stats(&q.fingerprint));
        self.ledger.record(
            stats,
            Record {
                query: &q.text,
                source_of_truth: self.sot,
                outcome,
                comparison,
            },
        );
    }

    /// The shadow's answer to the next request; `None` once shadowing stopped.
    async fn next_answer(&self) -> Option<(Vec<StmtResult>, TxState)> {
        loop {
            if let Some(a) = self.answers.borrow_mut().pop_front() {
                return Some(a);
            }
            if self.dead.get() || self.session.is_stopped() {
                return None;
            }
            tokio::select! {
                _ = self.answered.notified() => {}
                _ = self.session.stopped() => return None,
            }
        }
    }
}

/// Where the client's current request stands, for cutting the stream into requests.
#[derive(Default)]
struct Cutter {
    open: bool,
    teed: bool,
    /// Sync modes: the current request may go to both databases at once.
    together: bool,
    last_teed: bool,
    query: Option<Rc<Query>>,
    /// Fingerprints of recent texts, and of named and unnamed prepared statements.
    texts: HashMap<String, Rc<Query>>,
    named: HashMap<String, Rc<Query>>,
    unnamed: Option<Rc<Query>>,
    /// Statements the client knows by number (MySQL).
    ids: HashMap<u32, Rc<Query>>,
}

impl Cutter {
    fn query(&mut self, text: &str) -> Rc<Query> {
        if let Some(q) = self.texts.get(text) {
            return q.clone();
        }
        if self.texts.len() >= LABEL_CACHE {
            self.texts.clear();
        }
        let q = Rc::new(Query {
            text: text.to_owned(),
            fingerprint: Fingerprint::of(text),
            rules: Rules::for_query(text),
            may_hold_locks: may_hold_locks(text),
            stats: OnceCell::new(),
        });
        self.texts.insert(text.to_owned(), q.clone());
        q
    }

    /// Accounts for one client message and sends it to the shadow if its request goes.
    fn on_message<T, F>(&mut self, tee: &Tee<'_, T, F>, msg: ClientMsg<'_>, raw: &[u8]) {
        match msg {
            ClientMsg::Quit => return,
            // COPY data belongs to the request that started the COPY.
            ClientMsg::CopyData => {
                if (self.open && self.teed) || (!self.open && self.last_teed) {
                    tee.push(raw, false);
                }
                return;
            }
            _ => {}
        }
        let start = !self.open;
        if start {
            self.open = true;
            self.query = None;
            let busy = tee.mode == ShadowMode::Async && tee.outstanding.get() > 0;
            self.teed = !tee.dead.get() && !busy;
            self.together = tee.mode != ShadowMode::Async
                && tee.sot_in_flight.get() == 0
                && tee.sot_status.get() == TxState::Idle
                && tee.waiting.borrow().is_empty();
        }
        // The statement this message runs. A name never seen here (prepared on another
        // path) is unknown, so it counts as possibly holding locks.
        let this = match msg {
            ClientMsg::Query(text) => {
                let q = self.query(text);
                self.query = Some(q.clone());
                Some(q)
            }
            ClientMsg::Prepare { name, text } => {
                let q = self.query(text);
                if name.is_empty() {
                    self.unnamed = Some(q.clone());
                } else {
                    self.named.insert(name.to_owned(), q.clone());
                }
                self.query.get_or_insert(q.clone());
                Some(q)
            }
            ClientMsg::Execute { name } => {
                let bound = if name.is_empty() {
                    self.unnamed.clone()
                } else {
                    self.named.get(name).cloned()
                };
                if self.query.is_none() {
                    self.query = bound.clone();
                }
                bound
            }
            ClientMsg::PrepareId { id, text } => {
                let q = self.query(text);
                if self.ids.len() >= LABEL_CACHE {
                    self.ids.clear();
                }
                self.ids.insert(id, q.clone());
                self.query.get_or_insert(q.clone());
                Some(q)
            }
            ClientMsg::ExecuteId { id } => {
                let bound = self.ids.get(&id).cloned();
                if self.query.is_none() {
                    self.query = bound.clone();
                }
                bound
            }
            _ => None,
        };
        match msg {
            ClientMsg::Query(_)
            | ClientMsg::Prepare { .. }
            | ClientMsg::Execute { .. }
            | ClientMsg::PrepareId { .. }
            | ClientMsg::ExecuteId { .. }
                if this.as_ref().is_none_or(|q| q.may_hold_locks) =>
            {
                self.together = false
            }
            ClientMsg::FunctionCall => self.together = false,
            ClientMsg::Flush => tee.flush_requested.set(true),
            _ => {}
        }
        if self.teed {
            tee.push(raw, start);
        }
        if msg.ends_request() {
            let query = match self.query.take() {
                Some(q) => q,
                None if msg == ClientMsg::FunctionCall => self.query("(function call)"),
                None => self.query("(protocol request without a statement)"),
            };
            if tee.mode != ShadowMode::Async {
                let released = self.teed && self.together;
                if released {
                    tee.release_oldest();
                }
                tee.sot_in_flight.set(tee.sot_in_flight.get() + 1);
                tee.sot_labels.borrow_mut().push_back(Label {
                    query: query.clone(),
                    teed: self.teed,
                    released,
                });
            }
            if self.teed {
                tee.outstanding.set(tee.outstanding.get() + 1);
                if tee.mode == ShadowMode::Async {
                    tee.shadow_labels.borrow_mut().push_back(query);
                }
            } else if !tee.dead.get() {
                tee.record(&query, ShadowOutcome::Dropped, None);
            }
            self.open = false;
            self.last_teed = self.teed;
        }
    }
}

/// Relays until either side ends, shadowing as `shadowing.mode` says.
pub(crate) async fn run<S: ShadowCodec, T: Tracker>(
    client: Stream,
    backend: Stream,
    shadowing: Shadowing<'_>,
    tracker: &T,
    session: &SessionCtl,
    metrics: &ProxyMetrics,
    mut cbuf: BytesMut,
) -> Finished {
    let (mut crd, mut cwr) = stream::split(client);
    let (mut brd, mut bwr) = stream::split(backend);
    let (mut srd, mut swr) = stream::split(shadowing.stream);
    let tee = Tee {
        mode: shadowing.mode,
        sot: shadowing.sot,
        ledger: shadowing.ledger,
        metrics,
        series: metrics.local(),
        session,
        tracker,
        queue: RefCell::new(Vec::new()),
        waiting: RefCell::default(),
        backlog: Cell::new(0),
        charge: RefCell::new(Charge::new(shadowing.shadow_buffers)),
        discard: Cell::new(0),
        sot_in_flight: Cell::new(0),
        sot_status: Cell::new(TxState::Idle),
        queued: Signal::default(),
        outstanding: Cell::new(0),
        dead: Cell::new(false),
        sot_labels: RefCell::new(VecDeque::new()),
        shadow_labels: RefCell::new(VecDeque::new()),
        answers: RefCell::new(VecDeque::new()),
        answered: Signal::default(),
        flush_requested: Cell::new(false),
        sot_framer: RefCell::new(S::framer(tracker.wire_options())),
        shadow_framer: RefCell::new(S::framer(tracker.wire_options())),
    };
    let budget = shadowing.budget;
    let (buffers, max_message) = (shadowing.buffers, shadowing.max_message);
    let mut at_boundary = true;
    let c2b = async {
        let e = client_to_backend::<S, T>(
            &mut crd,
            &mut bwr,
            &tee,
            &mut cbuf,
            Charge::new(buffers),
            max_message,
        )
        .await;
        session.stop_all();
        e
    };
    let b2c = async {
        let e = if tee.mode == ShadowMode::Async {
            let mut bbuf = BytesMut::with_capacity(MIN_READ);
            let mut framing = T::Framing::default();
            let e = backend_to_client(
                &mut brd,
                &mut cwr,
                tracker,
                session,
                &tee.series,
                &mut bbuf,
                &mut framing,
            )
            .await;
            at_boundary = T::at_boundary(&framing) && bbuf.is_empty();
            e
        } else {
            compared_backend_to_client::<S, T>(&mut brd, &mut cwr, &tee, budget).await
        };
        session.stop_all();
        e
    };
    let (e1, e2, (), ()) = tokio::join!(
        c2b,
        b2c,
        shadow_writer::<S, T>(&mut swr, &tee),
        shadow_reader::<S, T>(&mut srd, &tee, budget)
    );
    Finished {
        end: why_ended(e1, e2, session),
        client: crd.unsplit(cwr),
        backend: brd.unsplit(bwr),
        client_at_boundary: at_boundary,
        client_buf: cbuf,
        shadow: (!tee.dead.get()).then(|| srd.unsplit(swr)),
    }
}

async fn client_to_backend<S: ShadowCodec, T: Tracker>(
    rd: &mut Half,
    wr: &mut Half,
    tee: &Tee<'_, T, S::Framer>,
    buf: &mut BytesMut,
    mut charge: Charge<'_>,
    max_message: usize,
) -> End {
    let s = tee.session;
    let mut cutter = Cutter::default();
    loop {
        if s.is_stopped() {
            return End::Stopped;
        }
        let mut pos = 0;
        let mut held = false;
        loop {
            let total = match S::next_message(&buf[pos..]) {
                Ok(Some(total)) => total,
                Ok(None) if buf.len() - pos > max_message => {
                    return End::ClientProtocol(Violation::too_large(HeldTooLarge {
                        max: max_message,
                    }))
                }
                Ok(None) => break,
                Err(e) => return End::ClientProtocol(e),
            };
            let verdict = match tee.tracker.client_message(&mut buf[pos..pos + total]) {
                Ok(v) if v.hold => {
                    held = true;
                    break;
                }
                Ok(v) => v,
                Err(e) => return End::ClientProtocol(e),
            };
            let raw = &buf[pos..pos + total];
            if <S::Framer as Framer>::STATEFUL && tee.mode != ShadowMode::Async {
                if let Err(e) = tee.sot_framer.borrow_mut().request(raw) {
                    return End::ClientProtocol(e);
                }
            }
            let for_shadow = verdict.shadow.as_deref().unwrap_or(raw);
            let msg = if verdict.data {
                Ok(ClientMsg::CopyData)
            } else {
                S::classify(for_shadow)
            };
            match msg {
                Ok(msg) => cutter.on_message(tee, msg, for_shadow),
                Err(e) => return End::ClientProtocol(e),
            }
            pos += total;
        }
        if pos > 0 {
            if let Err(e) = wr.write_all(&buf[..pos]).await {
                return End::BackendIo(e);
            }
            tee.series.relayed(Direction::ClientToBackend, pos);
            buf.advance(pos);
            shrink_after_burst(buf, &mut charge);
            tee.queued.notify();
        }
        if s.client_quit() {
            return End::ClientTerminated;
        }
        if held {
            match released(s).await {
                Ok(()) => continue,
                Err(end) => return end,
            }
        }
        if let Some(end) = act_when_quiet(s, buf.is_empty()) {
            return end;
        }
        match read_client(s, rd, buf).await {
            Ok(()) if !charge.fit(buf.len()) => return End::OutOfBuffers,
            Ok(()) => {}
            Err(None) => continue,
            Err(Some(end)) => return end,
        }
    }
}

/// Source of truth to client in sync and strict-sync: every ReadyForQuery waits for the
/// shadow's answer to the same request, and the two answers are compared.
async fn compared_backend_to_client<S: ShadowCodec, T: Tracker>(
    rd: &mut Half,
    wr: &mut Half,
    tee: &Tee<'_, T, S::Framer>,
    budget: usize,
) -> End {
    let (s, m) = (tee.session, &tee.series);
    let strict = tee.mode == ShadowMode::StrictSync;
    let mut buf = BytesMut::with_capacity(MIN_READ);
    let mut out: Vec<u8> = Vec::new();
    // The answer so far, kept back until the shadow's is in.
    let mut kept: Vec<u8> = Vec::new();
    // This answer outgrew the budget or the client needs it early.
    let mut through = false;
    // Some of this answer has gone to the client: it can no longer be replaced whole.
    let mut passed = false;
    let mut answer = S::answer(budget, false, tee.tracker.wire_options());
    loop {
        reserve_read(&mut buf);
        tokio::select! {
            biased;
            _ = s.stopped() => return End::Stopped,
            r = rd.read_buf(&mut buf) => match r {
                Ok(0) => return End::BackendClosed,
                Ok(n) => m.relayed(Direction::BackendToClient, n),
                Err(e) => return End::BackendIo(e),
            },
        }
        loop {
            let total = match S::next_message(&buf) {
                Ok(Some(total)) => total,
                Ok(None) => break,
                Err(e) => return End::BackendProtocol(e),
            };
            let mut msg = buf.split_to(total);
            let step = match tee.sot_framer.borrow_mut().step(&msg) {
                Ok(step) => step,
                Err(e) => return End::BackendProtocol(e),
            };
            let AnswerStep::End(tx) = step else {
                if let Err(e) = tee.tracker.backend_message(&mut msg) {
                    return End::BackendProtocol(e);
                }
                answer.observe(&msg);
                // The client must answer with data (COPY FROM STDIN), or sent Flush.
                let now = through
                    || tee.flush_requested.get()
                    || step == (AnswerStep::Part { client_now: true });
                if now {
                    out.append(&mut kept);
                    out.extend_from_slice(&msg);
                    passed = true;
                } else {
                    kept.extend_from_slice(&msg);
                    if kept.len() > budget {
                        through = true;
                        passed = true;
                        out.append(&mut kept);
                    }
                }
                if out.len() >= OUT_CHUNK {
                    if let Err(e) = wr.write_all(&out).await {
                        return End::ClientIo(e);
                    }
                    out.clear();
                }
                continue;
            };
            // The request is complete on the source of truth.
            if !out.is_empty() {
                if let Err(e) = wr.write_all(&out).await {
                    return End::ClientIo(e);
                }
                out.clear();
            }
            answer.observe(&msg);
            let mine = answer.finish();
            let label = tee.sot_labels.borrow_mut().pop_front();
            let mut replace = None;
            let cancelled = mine.iter().any(S::cancelled);
            tee.sot_in_flight
                .set(tee.sot_in_flight.get().saturating_sub(1));
            tee.sot_status.set(tx);
            let label = label.filter(|l| l.teed);
            if let Some(label) = label.as_ref().filter(|l| cancelled && !l.released) {
                tee.skip_oldest(tx == TxState::Failed, S::failing_request);
                tee.record(&label.query, ShadowOutcome::Dropped, None);
            } else if let Some(label) = label {
                if !label.released {
                    tee.release_oldest();
                }
                match tee.next_answer().await {
                    Some((theirs, their_tx)) => {
                        if tx == TxState::Failed && their_tx != TxState::Failed {
                            tee.fail_shadow_tx(
                                S::failing_request,
                                "molt-lms: the request failed on the source of truth",
                            );
                        }
                        let c = compare(&mine, &theirs, label.query.rules);
                        tee.record(&label.query, c.outcome, Some(&c));
                        if strict && c.outcome == ShadowOutcome::ShadowError {
                            replace = theirs.into_iter().find_map(|r| match r.end {
                                StmtEnd::Error { raw, .. } => Some(raw),
                                _ => None,
                            });
                        }
                    }
                    None if s.is_stopped() => return End::Stopped,
                    None => {}
                }
            }
            // Where the shadow's error replaces the answer's end too, it can only
            // replace an answer none of which has gone out.
            let replace = replace.filter(|_| !(S::error_replaces_end() && passed));
            let replaced = replace.is_some();
            match replace {
                Some(err) => {
                    kept.clear();
                    out.extend_from_slice(&err);
                }
                None => out.append(&mut kept),
            }
            through = false;
            passed = false;
            tee.flush_requested.set(false);
            if let Err(e) = tee.tracker.backend_message(&mut msg) {
                return End::BackendProtocol(e);
            }
            if !(replaced && S::error_replaces_end()) {
                out.extend_from_slice(&msg);
            }
            if let Err(e) = wr.write_all(&out).await {
                return End::ClientIo(e);
            }
            out.clear();
        }
    }
}

async fn shadow_writer<S: ShadowCodec, T>(wr: &mut Half, tee: &Tee<'_, T, S::Framer>) {
    let s = tee.session;
    let mut spare = Vec::new();
    loop {
        loop {
            if s.is_stopped() || tee.dead.get() {
                return;
            }
            if !tee.queue.borrow().is_empty() {
                break;
            }
            tokio::select! {
                _ = tee.queued.notified() => {}
                _ = s.stopped() => return,
            }
        }
        std::mem::swap(&mut *tee.queue.borrow_mut(), &mut spare);
        tee.set_backlog(tee.backlog.get().saturating_sub(spare.len()));
        if <S::Framer as Framer>::STATEFUL {
            let mut framer = tee.shadow_framer.borrow_mut();
            let mut at = 0;
            while let Ok(Some(n)) = S::next_message(&spare[at..]) {
                if let Err(e) = framer.request(&spare[at..at + n]) {
                    drop(framer);
                    tee.give_up(&format!("protocol error: {e}"));
                    return;
                }
                at += n;
            }
        }
        tokio::select! {
            r = wr.write_all(&spare) => if let Err(e) = r {
                tee.give_up(&format!("write failed: {e}"));
                return;
            },
            _ = s.stopped() => return,
        }
        spare.clear();
    }
}

async fn shadow_reader<S: ShadowCodec, T: Tracker>(
    rd: &mut Half,
    tee: &Tee<'_, T, S::Framer>,
    budget: usize,
) {
    let s = tee.session;
    let mut buf = BytesMut::with_capacity(MIN_READ);
    let mut answer = S::answer(
        budget,
        tee.mode == ShadowMode::Async,
        tee.tracker.wire_options(),
    );
    loop {
        if tee.dead.get() {
            return;
        }
        reserve_read(&mut buf);
        tokio::select! {
            _ = s.stopped() => return,
            r = rd.read_buf(&mut buf) => match r {
                Ok(0) => { tee.give_up("the shadow database closed the session"); return; }
                Ok(_) => {}
                Err(e) => { tee.give_up(&format!("read failed: {e}")); return; }
            },
        }
        loop {
            let total = match S::next_message(&buf) {
                Ok(Some(total)) => total,
                Ok(None) => break,
                Err(e) => {
                    tee.give_up(&format!("protocol error: {e}"));
                    return;
                }
            };
            let msg = buf.split_to(total);
            let step = tee.shadow_framer.borrow_mut().step(&msg);
            let tx = match step {
                Ok(AnswerStep::End(tx)) => {
                    answer.observe(&msg);
                    tx
                }
                Ok(AnswerStep::Part { .. }) => {
                    answer.observe(&msg);
                    continue;
                }
                Err(e) => {
                    tee.give_up(&format!("protocol error: {e}"));
                    return;
                }
            };
            tee.outstanding.set(tee.outstanding.get().saturating_sub(1));
            let results = answer.finish();
            if tee.mode == ShadowMode::Async {
                let Some(query) = tee.shadow_labels.borrow_mut().pop_front() else {
                    continue;
                };
                match results.iter().find(|r| r.end.is_error()) {
                    Some(failed) => {
                        let c = async_error(failed);
                        tee.record(&query, ShadowOutcome::ShadowError, Some(&c));
                    }
                    None => tee.record(&query, ShadowOutcome::Unchecked, None),
                }
            } else if tee.discard.get() > 0 {
                tee.discard.set(tee.discard.get() - 1);
            } else {
                tee.answers.borrow_mut().push_back((results, tx));
                tee.answered.notify();
            }
        }
    }
}

fn async_error(failed: &StmtResult) -> Comparison {
    let value = match &failed.end {
        StmtEnd::Error { code, message, .. } => Some(format!("{code}: {message}")),
        _ => None,
    };
    Comparison {
        outcome: ShadowOutcome::ShadowError,
        differed: "error",
        detail: "the shadow database returned an error (async mode does not compare answers)"
            .into(),
        sot_value: None,
        shadow_value: value,
        benign_reason: None,
    }
}
