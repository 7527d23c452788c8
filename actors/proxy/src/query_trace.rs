//! Client queries as spans, for a sampled share of requests (`--trace-queries`). A span
//! names the statement by its fingerprint (literals replaced, so no value a client sent
//! is exported), the database that answered, the rows and the SQLSTATE of an error. The
//! decision is made once per request, and a request that is not sampled costs one
//! comparison; with traces off, nothing else happens at all.

use crate::shadow::fingerprint::Fingerprint;
use molt_lms_api::SourceOfTruth;
use molt_lms_telemetry::{enabled, tracer, KeyValue, Span, SpanKind, Status, Tracer};
use std::time::{Duration, Instant, SystemTime};

/// One sampled request, from its first message to its answer's end.
#[derive(Debug)]
pub(crate) struct QueryTrace {
    start: SystemTime,
    started: Instant,
    fingerprint: Option<Fingerprint>,
    rows: u64,
    error: Option<String>,
}

impl QueryTrace {
    /// A trace for this request, for `ratio` of requests while traces are exported.
    #[inline]
    pub(crate) fn sample(ratio: f64) -> Option<Self> {
        if ratio <= 0.0 || !enabled() || rand::random::<f64>() >= ratio {
            return None;
        }
        Some(Self {
            start: SystemTime::now(),
            started: Instant::now(),
            fingerprint: None,
            rows: 0,
            error: None,
        })
    }

    /// The request's (first) statement.
    pub(crate) fn statement(&mut self, text: &str) {
        if self.fingerprint.is_none() {
            self.fingerprint = Some(Fingerprint::of(text));
        }
    }

    /// A statement completed with this command tag (`SELECT 3`, `INSERT 0 1`, …).
    pub(crate) fn completed(&mut self, tag: &str) {
        if let Some(n) = tag.rsplit(' ').next().and_then(|n| n.parse::<u64>().ok()) {
            self.rows += n;
        }
    }

    pub(crate) fn failed(&mut self, sqlstate: &str) {
        if self.error.is_none() {
            self.error = Some(sqlstate.to_owned());
        }
    }

    /// Exports the span; `system` is the database's protocol family.
    pub(crate) fn end(self, backend: SourceOfTruth, system: &'static str) {
        let t = tracer();
        let name = self
            .fingerprint
            .as_ref()
            .and_then(|f| {
                f.text
                    .split_whitespace()
                    .next()
                    .map(str::to_ascii_uppercase)
            })
            .unwrap_or_else(|| "query".to_owned());
        let mut attrs = vec![
            KeyValue::new("db.system.name", system),
            KeyValue::new("lms.backend", backend.to_string()),
            KeyValue::new("db.response.returned_rows", self.rows as i64),
        ];
        if let Some(f) = self.fingerprint {
            attrs.push(KeyValue::new("lms.fingerprint", f.id));
            attrs.push(KeyValue::new("db.query.summary", f.text));
        }
        if let Some(code) = &self.error {
            attrs.push(KeyValue::new("db.response.status_code", code.clone()));
            attrs.push(KeyValue::new("error.type", code.clone()));
        }
        let mut span = t
            .span_builder(name)
            .with_kind(SpanKind::Client)
            .with_start_time(self.start)
            .with_attributes(attrs)
            .start(&t);
        if let Some(code) = self.error {
            span.set_status(Status::error(code));
        }
        let end = self.start + self.started.elapsed().max(Duration::from_nanos(1));
        span.end_with_timestamp(end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_add_up_over_command_tags_and_the_first_error_is_kept() {
        let mut q = QueryTrace {
            start: SystemTime::now(),
            started: Instant::now(),
            fingerprint: None,
            rows: 0,
            error: None,
        };
        for tag in ["SELECT 3", "INSERT 0 2", "BEGIN", "UPDATE 5"] {
            q.completed(tag);
        }
        assert_eq!(q.rows, 10);
        // Codes as the tracker passes them on (whatever the protocol's error carries).
        q.failed("first-code");
        q.failed("second-code");
        assert_eq!(q.error.as_deref(), Some("first-code"));
        q.statement("SELECT * FROM t WHERE secret = 'hunter2'");
        q.statement("SELECT 2");
        let f = q.fingerprint.expect("kept");
        assert!(!f.text.contains("hunter2"), "{}", f.text);
        assert!(f.text.starts_with("select"), "{}", f.text);
    }

    #[test]
    fn nothing_is_sampled_while_traces_are_off() {
        assert!(QueryTrace::sample(1.0).is_none());
    }
}
