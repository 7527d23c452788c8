//! The data path: two directions in one task, each reading into its own reused buffer,
//! letting the protocol's tracker frame the bytes in place, and writing whole chunks on.
//! No mailbox hop and no allocation per message; both directions run concurrently so
//! neither side's backlog can stall the other, and a wake-up polls only the direction it
//! is for (`join_woken`). Generic over the tracker, so each protocol gets its own
//! monomorphic loop.

use super::session::{Ctl, Event, Release, SessionCtl};
use crate::buffer_budget::{BufferBudget, Charge};
use crate::client_error::ClientError;
use crate::metrics::{Direction, LocalSeries, ProxyMetrics};
use crate::protocol::{Tracker, Violation};
use bytes::{Buf, BytesMut};
use molt_lms_common::stream::{self, Half, Stream};
use std::io;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Most bytes reserved before a read.
pub(super) const READ_CHUNK: usize = 16 * 1024;
/// Fewest bytes reserved before a read, and the size buffers start at.
pub(super) const MIN_READ: usize = 2 * 1024;

/// Reserves room for the next read. Buffers start small and grow (up to `READ_CHUNK`)
/// only once reads fill them: an idle session then holds a few KiB, not 32, which is
/// what decides the proxy's memory with thousands of connections, while a busy one
/// still reads in large pieces.
pub(super) fn reserve_read(buf: &mut BytesMut) {
    buf.reserve(buf.capacity().clamp(MIN_READ, READ_CHUNK));
}

/// Why a relay ended.
#[derive(Debug)]
pub(crate) enum End {
    ClientClosed,
    /// The client sent Terminate (already forwarded).
    ClientTerminated,
    ClientIo(io::Error),
    ClientProtocol(Violation),
    BackendClosed,
    BackendIo(io::Error),
    BackendProtocol(Violation),
    /// Drained for shutdown at a quiet point.
    Drained,
    /// Stopped from outside (shutdown timeout, cutover terminate); the reason.
    Killed(ClientError),
    /// Held at a quiet point and asked to move to another database.
    Switch(molt_lms_api::SourceOfTruth),
    /// Stopped because the other direction ended.
    Stopped,
    /// Holding the client's incomplete message would pass the process-wide budget.
    OutOfBuffers,
}

/// The relay's outcome and the streams, for a closing message.
pub(crate) struct Finished {
    pub end: End,
    pub client: Stream,
    pub backend: Stream,
    /// The client stream sits between two messages, so an ErrorResponse can follow.
    pub client_at_boundary: bool,
    /// Client bytes read but not yet forwarded (a held request).
    pub client_buf: BytesMut,
    /// The shadow session, when the connection shadows and it is still open.
    pub shadow: Option<Stream>,
}

/// Relays until either side ends. `cbuf` holds client bytes already read.
pub(crate) async fn run<T: Tracker>(
    client: Stream,
    backend: Stream,
    tracker: &T,
    session: &SessionCtl,
    metrics: &ProxyMetrics,
    buffers: &BufferBudget,
    mut cbuf: BytesMut,
) -> Finished {
    let (mut crd, mut cwr) = stream::split(client);
    let (mut brd, mut bwr) = stream::split(backend);
    let mut bbuf = BytesMut::with_capacity(MIN_READ);
    let mut cframe = T::Framing::default();
    let mut bframe = T::Framing::default();
    let series = metrics.local();
    let c2b = async {
        let e = client_to_backend(
            &mut crd,
            &mut bwr,
            tracker,
            session,
            &series,
            buffers,
            &mut cbuf,
            &mut cframe,
        )
        .await;
        session.stop_all();
        e
    };
    let b2c = async {
        let e = backend_to_client(
            &mut brd,
            &mut cwr,
            tracker,
            session,
            &series,
            &mut bbuf,
            &mut bframe,
        )
        .await;
        session.stop_all();
        e
    };
    let (e1, e2) = super::join_woken::join_woken(c2b, b2c).await;
    Finished {
        end: why_ended(e1, e2, session),
        client: crd.unsplit(cwr),
        backend: brd.unsplit(bwr),
        client_at_boundary: T::at_boundary(&bframe) && bbuf.is_empty(),
        client_buf: cbuf,
        shadow: None,
    }
}

/// The relay's end from its two directions' ends: a kill explains itself; otherwise the
/// direction that ended first, not the one it stopped.
pub(super) fn why_ended(c2b: End, b2c: End, s: &SessionCtl) -> End {
    match (c2b, b2c, s.kill_reason()) {
        (_, _, Some(reason)) => End::Killed(reason),
        (End::Stopped, e, None) => e,
        (e, _, None) => e,
    }
}

/// After a message that made `buf` grow past the free part has gone on: a small buffer
/// again, and the charge given back, so a burst does not pin memory for the session.
pub(super) fn shrink_after_burst(buf: &mut BytesMut, charge: &mut Charge<'_>) {
    if charge.is_charged() && buf.is_empty() {
        *buf = BytesMut::with_capacity(MIN_READ);
        charge.reset();
    }
}

#[allow(clippy::too_many_arguments)] // One call site; the relay's parts, passed as borrowed.
async fn client_to_backend<T: Tracker>(
    rd: &mut Half,
    wr: &mut Half,
    tracker: &T,
    s: &SessionCtl,
    m: &LocalSeries,
    buffers: &BufferBudget,
    buf: &mut BytesMut,
    framing: &mut T::Framing,
) -> End {
    let mut charge = Charge::new(buffers);
    loop {
        if s.is_stopped() {
            return End::Stopped;
        }
        if !buf.is_empty() {
            let sc = match tracker.scan_client(framing, &mut buf[..]) {
                Ok(sc) => sc,
                Err(e) => return End::ClientProtocol(e),
            };
            if sc.forward > 0 {
                if let Err(e) = wr.write_all(&buf[..sc.forward]).await {
                    return End::BackendIo(e);
                }
                m.relayed(Direction::ClientToBackend, sc.forward);
                buf.advance(sc.forward);
                shrink_after_burst(buf, &mut charge);
            }
            if s.client_quit() {
                return End::ClientTerminated;
            }
            if sc.held {
                match released(s).await {
                    Ok(()) => continue,
                    Err(end) => return end,
                }
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

/// Waits while the session is held: `Ok` to go on, or how the relay ends.
pub(super) async fn released(s: &SessionCtl) -> Result<(), End> {
    match s.wait_release().await {
        Release::Go => Ok(()),
        Release::Drain => Err(End::Drained),
        Release::Switch(to) => Err(End::Switch(to)),
        Release::Stopped => Err(End::Stopped),
    }
}

/// A quiet session being drained or switched acts now rather than waiting for the
/// client's next request.
pub(super) fn act_when_quiet(s: &SessionCtl, nothing_buffered: bool) -> Option<End> {
    if !(s.quiescent() && nothing_buffered) {
        return None;
    }
    match s.ctl() {
        Ctl::Drain => Some(End::Drained),
        Ctl::Switch(to) => Some(End::Switch(to)),
        Ctl::Run | Ctl::Hold => None,
    }
}

/// Reads more client bytes. `Err(None)`: woken by a control change before any arrived.
pub(super) async fn read_client(
    s: &SessionCtl,
    rd: &mut Half,
    buf: &mut BytesMut,
) -> Result<(), Option<End>> {
    reserve_read(buf);
    tokio::select! {
        biased;
        e = s.stopped_or_changed() => match e {
            Event::Stopped => Err(Some(End::Stopped)),
            Event::Changed => Err(None),
        },
        r = rd.read_buf(buf) => match r {
            Ok(0) => Err(Some(End::ClientClosed)),
            Ok(_) => Ok(()),
            Err(e) => Err(Some(End::ClientIo(e))),
        },
    }
}

pub(super) async fn backend_to_client<T: Tracker>(
    rd: &mut Half,
    wr: &mut Half,
    tracker: &T,
    s: &SessionCtl,
    m: &LocalSeries,
    buf: &mut BytesMut,
    framing: &mut T::Framing,
) -> End {
    loop {
        reserve_read(buf);
        tokio::select! {
            biased;
            _ = s.stopped() => return End::Stopped,
            r = rd.read_buf(buf) => match r {
                Ok(0) => return End::BackendClosed,
                Ok(n) => m.relayed(Direction::BackendToClient, n),
                Err(e) => return End::BackendIo(e),
            },
        }
        let sc = match tracker.scan_backend(framing, &mut buf[..]) {
            Ok(sc) => sc,
            Err(e) => return End::BackendProtocol(e),
        };
        if sc.forward > 0 {
            if let Err(e) = wr.write_all(&buf[..sc.forward]).await {
                return End::ClientIo(e);
            }
            buf.advance(sc.forward);
        }
    }
}
