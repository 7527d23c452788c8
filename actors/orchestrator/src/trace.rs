//! A cutover attempt as one OpenTelemetry trace. Its root span starts at `begin`, as a
//! child of the caller's `traceparent` (the CLI's span), and its `traceparent` travels to
//! the proxies in the desired state, so their pause, prepare and switch spans join it.
//! The orchestrator's own phase spans are built when the attempt ends, from the times the
//! attempt records anyway (begin, each pause-ack, the preparation, the end), so the state
//! machine carries no span objects and a disabled exporter costs nothing.

use super::attempt::{Attempt, Finish};
use molt_lms_api::cutover::{CutoverStatus, ProxyPhase, ProxyReport};
use molt_lms_telemetry::context::{from_traceparent, traceparent};
use molt_lms_telemetry::{
    enabled, tracer, Context, KeyValue, Span, SpanKind, Status, TraceContextExt, Tracer,
};
use opentelemetry::trace::{Link, SpanContext};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

/// The trace of the attempt in progress.
pub(crate) struct AttemptTrace {
    pub(crate) id: u64,
    root: Context,
    /// When the commit or abort was asked for, and the caller's span to link to.
    finish: Option<(Finish, SystemTime, Option<SpanContext>)>,
    /// The replication gate's wait: when it ended, and how long it took.
    gate: Option<(SystemTime, Duration)>,
    /// Each proxy's pause span, from the report that carried its pause-ack.
    pause_spans: BTreeMap<String, SpanContext>,
}

fn remote(parent: Option<&str>) -> Option<SpanContext> {
    let cx = from_traceparent(parent);
    let sc = cx.span().span_context().clone();
    sc.is_valid().then_some(sc)
}

fn link(sc: Option<SpanContext>) -> Vec<Link> {
    sc.map(|sc| vec![Link::with_context(sc)])
        .unwrap_or_default()
}

impl AttemptTrace {
    /// Starts the attempt's root span; `None` while traces are off.
    pub(crate) fn start(a: &Attempt, parent: Option<&str>) -> Option<Self> {
        if !enabled() {
            return None;
        }
        let t = tracer();
        let span = t
            .span_builder(format!("cutover attempt {}", a.id))
            .with_kind(SpanKind::Internal)
            .with_start_time(a.trigger)
            .with_attributes([
                KeyValue::new("cutover.attempt", a.id as i64),
                KeyValue::new("cutover.from", a.from.to_string()),
                KeyValue::new("cutover.to", a.to.to_string()),
                KeyValue::new("cutover.proxies", a.rows.len() as i64),
            ])
            .start_with_context(&t, &from_traceparent(parent));
        Some(Self {
            id: a.id,
            root: Context::current_with_span(span),
            finish: None,
            gate: None,
            pause_spans: BTreeMap::new(),
        })
    }

    /// What the proxies' spans hang from.
    pub(crate) fn traceparent(&self) -> Option<String> {
        traceparent(&self.root)
    }

    pub(crate) fn finish_requested(&mut self, finish: Finish, caller: Option<&str>) {
        if self.finish.is_none() {
            self.finish = Some((finish, SystemTime::now(), remote(caller)));
        }
    }

    /// Keeps the span a proxy's first paused report names: its pause.
    pub(crate) fn on_report(&mut self, addr: &str, report: &ProxyReport) {
        if report.attempt_id == Some(self.id)
            && report.phase == ProxyPhase::Paused
            && !self.pause_spans.contains_key(addr)
        {
            if let Some(sc) = remote(report.traceparent.as_deref()) {
                self.pause_spans.insert(addr.to_owned(), sc);
            }
        }
    }

    pub(crate) fn gate_passed(&mut self, lag: Duration) {
        self.gate = Some((SystemTime::now(), lag));
    }

    /// A child of the root over `[start, end]`.
    fn child(
        &self,
        name: &str,
        start: SystemTime,
        end: SystemTime,
        attrs: Vec<KeyValue>,
        links: Vec<Link>,
        parent: &Context,
    ) -> Context {
        let t = tracer();
        let mut span = t
            .span_builder(name.to_owned())
            .with_start_time(start)
            .with_attributes(attrs)
            .with_links(links)
            .start_with_context(&t, parent);
        span.end_with_timestamp(end.max(start));
        Context::new().with_remote_span_context(span.span_context().clone())
    }

    /// Builds the phase spans from the ended attempt and ends the root.
    pub(crate) fn end(self, a: &Attempt) {
        let end = a.end.unwrap_or_else(SystemTime::now);
        let pause_end = a.paused.unwrap_or(end);
        let pause = self.child(
            "cutover.pause",
            a.trigger,
            pause_end,
            vec![KeyValue::new("cutover.paused", a.paused.is_some())],
            Vec::new(),
            &self.root,
        );
        for (addr, row) in &a.rows {
            if let Some(at) = row.paused {
                let proxy_span = self.pause_spans.get(addr).cloned();
                self.child(
                    "cutover.pause_ack",
                    a.trigger,
                    at,
                    vec![KeyValue::new("lms.proxy", addr.clone())],
                    link(proxy_span),
                    &pause,
                );
            }
        }
        if let Some((at, lag)) = self.gate {
            self.child(
                "cutover.replication_gate",
                at.checked_sub(lag).unwrap_or(at),
                at,
                vec![KeyValue::new(
                    "cutover.replication_lag_ms",
                    lag.as_millis() as i64,
                )],
                Vec::new(),
                &self.root,
            );
        }
        if let Some((order, started)) = &a.prepare {
            let last = a
                .rows
                .values()
                .filter_map(|r| r.prepared)
                .max()
                .unwrap_or(end);
            let prepare = self.child(
                "cutover.prepare",
                *started,
                last,
                vec![KeyValue::new("cutover.prepare_order", order.order as i64)],
                Vec::new(),
                &self.root,
            );
            for (addr, row) in &a.rows {
                if let Some(at) = row.prepared {
                    self.child(
                        "cutover.prepared",
                        *started,
                        at,
                        vec![KeyValue::new("lms.proxy", addr.clone())],
                        Vec::new(),
                        &prepare,
                    );
                }
            }
        }
        let (finish, asked, caller) = match self.finish.clone() {
            Some((f, at, caller)) => (Some(f), at, caller),
            None => (a.finish, pause_end, None),
        };
        let name = match finish {
            Some(Finish::Commit) => "cutover.commit",
            _ => "cutover.abort",
        };
        self.child(
            name,
            asked,
            end,
            vec![KeyValue::new("cutover.status", a.status.as_str())],
            link(caller),
            &self.root,
        );
        let span = self.root.span();
        span.set_attribute(KeyValue::new("cutover.status", a.status.as_str()));
        if a.status == CutoverStatus::Error {
            span.set_status(Status::error(a.error.clone()));
        }
        span.end_with_timestamp(end);
    }
}
