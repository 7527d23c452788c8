//! The data path of a shadowing connection. Client messages go to the source of truth
//! and, request by request, to the shadow session; the shadow's answers are read by
//! their own loop. The modes differ only in what the client waits for:
//! - `async`: nothing. A request is dropped (and counted) when the shadow has not
//!   finished the previous one, so a slow shadow never holds up or fails the client.
//! - `sync`: each ReadyForQuery waits for the shadow to finish the same request; the two
//!   answers are compared, and the source of truth's goes to the client.
//! - `strict-sync`: as `sync`, but a shadow error replaces the source of truth's answer.
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
//! requests and read every answer. It is used only when shadowing is on.

use super::relay::{
    act_when_quiet, backend_to_client, read_client, released, reserve_read, why_ended, End,
    Finished, MIN_READ,
};
use super::session::SessionCtl;
use super::signal::Signal;
use super::waiting::Waiting;
use crate::conn_info::ConnInfo;
use crate::metrics::ProxyMetrics;
use crate::shadow::compare::{compare, Comparison, Rules};
use crate::shadow::ledger::{FingerprintStats, Record};
use crate::shadow::pg_answer::PgAnswer;
use crate::shadow::result::{StmtEnd, StmtResult};
use crate::shadow::{Fingerprint, ShadowLedger};
use bytes::{Buf, BytesMut};
use molt_lms_api::shadow::ShadowOutcome;
use molt_lms_api::{ShadowMode, SourceOfTruth};
use molt_lms_common::stream::{self, Half, Stream};
use molt_lms_wire::pg::codec::{header, put_cstr, put_message, HEADER_LEN};
use molt_lms_wire::pg::frontend::{bound_statement, parse_statement, query_text};
use molt_lms_wire::pg::{FrameScanner, ProtocolError, ScanControl};
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
/// SQLSTATE of a statement stopped by a cancel request or `statement_timeout`.
const QUERY_CANCELED: &str = "57014";
/// Output collected before it is written to the client mid-answer.
const OUT_CHUNK: usize = 64 * 1024;

/// What the shadow relay needs besides the two main streams.
pub struct Shadowing<'a> {
    pub mode: ShadowMode,
    pub stream: Stream,
    /// The database serving the client (the shadow is the other one).
    pub sot: SourceOfTruth,
    pub ledger: &'a ShadowLedger,
    pub budget: usize,
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
struct Tee<'a> {
    mode: ShadowMode,
    sot: SourceOfTruth,
    ledger: &'a ShadowLedger,
    metrics: &'a ProxyMetrics,
    session: &'a SessionCtl,
    /// Bytes for the shadow, not yet written.
    queue: RefCell<Vec<u8>>,
    /// Sync modes: the requests sent to the source of truth and not yet answered there;
    /// each goes to `queue` at its ReadyForQuery.
    waiting: RefCell<Waiting>,
    /// Bytes in `queue` and `waiting` together.
    backlog: Cell<usize>,
    /// Shadow answers to throw away (to requests the proxy made up, not the client's).
    discard: Cell<u32>,
    /// Requests sent to the source of truth and not yet answered, and its transaction
    /// status at the last answer: a request may go to both at once only from idle.
    sot_in_flight: Cell<u32>,
    sot_status: Cell<u8>,
    queued: Signal,
    /// Requests sent to the shadow and not yet answered.
    outstanding: Cell<u32>,
    dead: Cell<bool>,
    /// Labels of the requests sent to the source of truth (sync modes), in order.
    sot_labels: RefCell<VecDeque<Label>>,
    /// Labels of the requests sent to the shadow (async), in order.
    shadow_labels: RefCell<VecDeque<Rc<Query>>>,
    /// The shadow's answers, in order (sync modes).
    answers: RefCell<VecDeque<Vec<StmtResult>>>,
    answered: Signal,
    /// The client sent Flush: it may wait for output before its Sync.
    flush_requested: Cell<bool>,
}

impl Tee<'_> {
    /// Adds client bytes of the current request (`start`: its first message).
    fn push(&self, raw: &[u8], start: bool) {
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
        self.backlog.set(self.backlog.get() + raw.len());
        if self.backlog.get() > MAX_SHADOW_BACKLOG {
            self.give_up("the shadow fell more than 64 MiB behind");
        }
    }

    /// Sync modes: the source of truth cancelled the oldest waiting request (a client's
    /// cancel, or its `statement_timeout`). Replaying it would make the client wait for
    /// the shadow's copy, so it is not sent. If the cancel left the source of truth's
    /// transaction failed, a statement that fails puts the shadow's there too, so both
    /// sessions agree on what a later COMMIT does.
    fn skip_oldest(&self, tx_failed: bool) {
        if let Some(n) = self.waiting.borrow_mut().pop_front(None) {
            self.backlog.set(self.backlog.get().saturating_sub(n));
        }
        if tx_failed {
            let mut q = self.queue.borrow_mut();
            put_message(&mut q, b'Q', |o| {
                put_cstr(
                    o,
                    "SELECT 'molt-lms: request cancelled on the source of truth'::int",
                )
            });
            self.discard.set(self.discard.get() + 1);
            self.queued.notify();
        }
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
        self.queue.borrow_mut().clear();
        self.waiting.borrow_mut().clear();
        self.metrics.shadow_sessions_lost.inc();
        let shadow = self.sot.other();
        tracing::warn!(%shadow, reason = why, "shadow session abandoned");
        if self.mode == ShadowMode::StrictSync {
            self.session.kill(format!(
                "molt-lms: lost the shadow session on the {shadow} database ({why}), which shadow mode strict-sync requires"
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
    async fn next_answer(&self) -> Option<Vec<StmtResult>> {
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
    fn on_message(&mut self, tee: &Tee<'_>, tag: u8, raw: &[u8]) -> Result<(), ProtocolError> {
        let body = &raw[HEADER_LEN..];
        match tag {
            b'X' => return Ok(()),
            // COPY data belongs to the request that started the COPY.
            b'd' | b'c' | b'f' => {
                if (self.open && self.teed) || (!self.open && self.last_teed) {
                    tee.push(raw, false);
                }
                return Ok(());
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
                && tee.sot_status.get() == b'I'
                && tee.waiting.borrow().is_empty();
        }
        // The statement this message runs. A name never seen here (prepared on another
        // path) is unknown, so it counts as possibly holding locks.
        let this = match tag {
            b'Q' => {
                let text = query_text(body).ok_or(ProtocolError::Malformed("Query"))?;
                let q = self.query(text);
                self.query = Some(q.clone());
                Some(q)
            }
            b'P' => {
                let (name, text) =
                    parse_statement(body).ok_or(ProtocolError::Malformed("Parse"))?;
                let q = self.query(text);
                if name.is_empty() {
                    self.unnamed = Some(q.clone());
                } else {
                    self.named.insert(name.to_owned(), q.clone());
                }
                self.query.get_or_insert(q.clone());
                Some(q)
            }
            b'B' => {
                let name = bound_statement(body);
                if name.is_none() && self.query.is_none() {
                    return Err(ProtocolError::Malformed("Bind"));
                }
                let bound = name.and_then(|n| {
                    if n.is_empty() {
                        self.unnamed.clone()
                    } else {
                        self.named.get(n).cloned()
                    }
                });
                if self.query.is_none() {
                    self.query = bound.clone();
                }
                bound
            }
            _ => None,
        };
        match tag {
            b'Q' | b'P' | b'B' if this.as_ref().is_none_or(|q| q.may_hold_locks) => {
                self.together = false
            }
            b'F' => self.together = false,
            b'H' => tee.flush_requested.set(true),
            _ => {}
        }
        if self.teed {
            tee.push(raw, start);
        }
        if matches!(tag, b'Q' | b'S' | b'F') {
            let query = match self.query.take() {
                Some(q) => q,
                None if tag == b'F' => self.query("(function call)"),
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
        Ok(())
    }
}

/// Relays until either side ends, shadowing as `shadowing.mode` says.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    client: Stream,
    backend: Stream,
    shadowing: Shadowing<'_>,
    session: &SessionCtl,
    info: &ConnInfo,
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
        session,
        queue: RefCell::new(Vec::new()),
        waiting: RefCell::default(),
        backlog: Cell::new(0),
        discard: Cell::new(0),
        sot_in_flight: Cell::new(0),
        sot_status: Cell::new(b'I'),
        queued: Signal::default(),
        outstanding: Cell::new(0),
        dead: Cell::new(false),
        sot_labels: RefCell::new(VecDeque::new()),
        shadow_labels: RefCell::new(VecDeque::new()),
        answers: RefCell::new(VecDeque::new()),
        answered: Signal::default(),
        flush_requested: Cell::new(false),
    };
    let budget = shadowing.budget;
    let mut at_boundary = true;
    let c2b = async {
        let e = client_to_backend(&mut crd, &mut bwr, &tee, info, &mut cbuf).await;
        session.stop_all();
        e
    };
    let b2c = async {
        let e = if tee.mode == ShadowMode::Async {
            let mut bbuf = BytesMut::with_capacity(MIN_READ);
            let mut scan = FrameScanner::default();
            let e = backend_to_client(
                &mut brd, &mut cwr, session, info, metrics, &mut bbuf, &mut scan,
            )
            .await;
            at_boundary = scan.at_boundary() && bbuf.is_empty();
            e
        } else {
            compared_backend_to_client(&mut brd, &mut cwr, &tee, info, budget).await
        };
        session.stop_all();
        e
    };
    let (e1, e2, (), ()) = tokio::join!(
        c2b,
        b2c,
        shadow_writer(&mut swr, &tee),
        shadow_reader(&mut srd, &tee, budget)
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

/// The next whole message in `buf`: `(tag, length)`.
fn next_message(buf: &[u8]) -> Result<Option<(u8, usize)>, ProtocolError> {
    Ok(header(buf)?.filter(|&(_, total)| buf.len() >= total))
}

async fn client_to_backend(
    rd: &mut Half,
    wr: &mut Half,
    tee: &Tee<'_>,
    info: &ConnInfo,
    buf: &mut BytesMut,
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
            let (tag, total) = match next_message(&buf[pos..]) {
                Ok(Some(m)) => m,
                Ok(None) => break,
                Err(e) => return End::ClientProtocol(e),
            };
            let raw = &buf[pos..pos + total];
            match s.on_client_message(info, tag, Some(&raw[HEADER_LEN..])) {
                Ok(ScanControl::HoldBefore) => {
                    held = true;
                    break;
                }
                Ok(ScanControl::Continue) => {}
                Err(e) => return End::ClientProtocol(e),
            }
            if let Err(e) = cutter.on_message(tee, tag, raw) {
                return End::ClientProtocol(e);
            }
            pos += total;
        }
        if pos > 0 {
            if let Err(e) = wr.write_all(&buf[..pos]).await {
                return End::BackendIo(e);
            }
            tee.metrics.bytes_client_to_backend.inc_by(pos as u64);
            buf.advance(pos);
            tee.queued.notify();
        }
        if s.terminate_seen() {
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
            Ok(()) => {}
            Err(None) => continue,
            Err(Some(end)) => return end,
        }
    }
}

/// Source of truth to client in sync and strict-sync: every ReadyForQuery waits for the
/// shadow's answer to the same request, and the two answers are compared.
async fn compared_backend_to_client(
    rd: &mut Half,
    wr: &mut Half,
    tee: &Tee<'_>,
    info: &ConnInfo,
    budget: usize,
) -> End {
    let (s, m) = (tee.session, tee.metrics);
    let strict = tee.mode == ShadowMode::StrictSync;
    let mut buf = BytesMut::with_capacity(MIN_READ);
    let mut out: Vec<u8> = Vec::new();
    // The answer so far, kept back until the shadow's is in.
    let mut kept: Vec<u8> = Vec::new();
    // This answer outgrew the budget or the client needs it early.
    let mut through = false;
    let mut answer = PgAnswer::new(budget, false);
    loop {
        reserve_read(&mut buf);
        tokio::select! {
            biased;
            _ = s.stopped() => return End::Stopped,
            r = rd.read_buf(&mut buf) => match r {
                Ok(0) => return End::BackendClosed,
                Ok(n) => m.bytes_backend_to_client.inc_by(n as u64),
                Err(e) => return End::BackendIo(e),
            },
        }
        loop {
            let (tag, total) = match next_message(&buf) {
                Ok(Some(msg)) => msg,
                Ok(None) => break,
                Err(e) => return End::BackendProtocol(e),
            };
            let msg = buf.split_to(total);
            let body = &msg[HEADER_LEN..];
            if tag != b'Z' {
                if let Err(e) = s.on_backend_message(info, m, tag, Some(body)) {
                    return End::BackendProtocol(e);
                }
                answer.observe(tag, body);
                // CopyIn/CopyBoth responses and Flush need the client to see output now.
                let now = through || tee.flush_requested.get() || matches!(tag, b'G' | b'W');
                if now {
                    out.append(&mut kept);
                    out.extend_from_slice(&msg);
                } else {
                    kept.extend_from_slice(&msg);
                    if kept.len() > budget {
                        through = true;
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
            }
            // ReadyForQuery: the request is complete on the source of truth.
            if !out.is_empty() {
                if let Err(e) = wr.write_all(&out).await {
                    return End::ClientIo(e);
                }
                out.clear();
            }
            let mine = answer.finish();
            let label = tee.sot_labels.borrow_mut().pop_front();
            let mut replace = None;
            let cancelled = mine
                .iter()
                .any(|r| matches!(&r.end, StmtEnd::Error { code, .. } if code == QUERY_CANCELED));
            tee.sot_in_flight
                .set(tee.sot_in_flight.get().saturating_sub(1));
            tee.sot_status.set(body.first().copied().unwrap_or(b'I'));
            let label = label.filter(|l| l.teed);
            if let Some(label) = label.as_ref().filter(|l| cancelled && !l.released) {
                tee.skip_oldest(body.first() == Some(&b'E'));
                tee.record(&label.query, ShadowOutcome::Dropped, None);
            } else if let Some(label) = label {
                if !label.released {
                    tee.release_oldest();
                }
                match tee.next_answer().await {
                    Some(theirs) => {
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
            match replace {
                Some(err) => {
                    kept.clear();
                    out.extend_from_slice(&err);
                }
                None => out.append(&mut kept),
            }
            through = false;
            tee.flush_requested.set(false);
            if let Err(e) = s.on_backend_message(info, m, tag, Some(body)) {
                return End::BackendProtocol(e);
            }
            out.extend_from_slice(&msg);
            if let Err(e) = wr.write_all(&out).await {
                return End::ClientIo(e);
            }
            out.clear();
        }
    }
}

async fn shadow_writer(wr: &mut Half, tee: &Tee<'_>) {
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
        tee.backlog
            .set(tee.backlog.get().saturating_sub(spare.len()));
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

async fn shadow_reader(rd: &mut Half, tee: &Tee<'_>, budget: usize) {
    let s = tee.session;
    let mut buf = BytesMut::with_capacity(MIN_READ);
    let mut answer = PgAnswer::new(budget, tee.mode == ShadowMode::Async);
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
            let (tag, total) = match next_message(&buf) {
                Ok(Some(msg)) => msg,
                Ok(None) => break,
                Err(e) => {
                    tee.give_up(&format!("protocol error: {e}"));
                    return;
                }
            };
            let msg = buf.split_to(total);
            if tag != b'Z' {
                answer.observe(tag, &msg[HEADER_LEN..]);
                continue;
            }
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
                tee.answers.borrow_mut().push_back(results);
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
