//! This proxy's part of a cutover trace: its pause, its preparation and its switch (or
//! its resume, after an abort), each a span whose parent is the attempt's `traceparent`
//! from the desired state. Spans are made from the phase changes the cutover state
//! machine already goes through, so the machine itself knows nothing of tracing.

use molt_lms_api::cutover::ProxyPhase;
use molt_lms_telemetry::context::{from_traceparent, traceparent};
use molt_lms_telemetry::{enabled, tracer, Context, KeyValue, Span, TraceContextExt, Tracer};
use std::time::SystemTime;

#[derive(Debug)]
pub(super) struct CutoverSpans {
    /// The attempt's context, from the latest desired state that carried one.
    parent: Option<String>,
    phase: ProxyPhase,
    /// The span under way: its name and start.
    open: Option<(&'static str, SystemTime)>,
    /// The latest span's `traceparent`, for the report.
    last: Option<String>,
}

impl CutoverSpans {
    pub(super) fn new() -> Self {
        Self {
            parent: None,
            phase: ProxyPhase::Serving,
            open: None,
            last: None,
        }
    }

    pub(super) fn set_parent(&mut self, tp: Option<&str>) {
        if let Some(tp) = tp {
            if self.parent.as_deref() != Some(tp) {
                self.parent = Some(tp.to_owned());
                self.last = None;
            }
        }
    }

    /// The latest span of this proxy, for the orchestrator to link to.
    pub(super) fn last(&self) -> Option<String> {
        self.last.clone()
    }

    /// Follows a phase change; `attrs` describe the proxy at this moment.
    pub(super) fn observe(&mut self, phase: ProxyPhase, attrs: impl FnOnce() -> Vec<KeyValue>) {
        let old = std::mem::replace(&mut self.phase, phase);
        if old == phase || !enabled() || self.parent.is_none() {
            return;
        }
        let now = SystemTime::now();
        use ProxyPhase::*;
        match (old, phase) {
            (Serving, Pausing) => self.open = Some(("lms.pause", now)),
            (Serving, Paused) => self.emit("lms.pause", now, now, attrs()),
            (Pausing, Paused) | (Preparing, Paused | Prepared) => self.close(now, attrs()),
            (_, Preparing) => {
                self.close(now, Vec::new());
                self.open = Some(("lms.prepare", now));
            }
            (_, Switching) => {
                self.close(now, Vec::new());
                self.open = Some(("lms.switch", now));
            }
            (Switching, Serving) => self.close(now, attrs()),
            (_, Serving) => {
                self.close(now, Vec::new());
                self.emit("lms.resume", now, now, attrs());
            }
            _ => {}
        }
    }

    fn close(&mut self, now: SystemTime, attrs: Vec<KeyValue>) {
        if let Some((name, start)) = self.open.take() {
            self.emit(name, start, now, attrs);
        }
    }

    fn emit(
        &mut self,
        name: &'static str,
        start: SystemTime,
        end: SystemTime,
        attrs: Vec<KeyValue>,
    ) {
        let t = tracer();
        let parent = from_traceparent(self.parent.as_deref());
        let mut span = t
            .span_builder(name)
            .with_start_time(start)
            .with_attributes(attrs)
            .start_with_context(&t, &parent);
        span.end_with_timestamp(end);
        let cx = Context::new().with_remote_span_context(span.span_context().clone());
        self.last = traceparent(&cx);
    }
}
