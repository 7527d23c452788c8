//! W3C trace context (`traceparent`) in and out of the REST calls: the CLI's request to the
//! orchestrator, the orchestrator's pushes to the proxies, the proxies' reports back. The
//! same text travels in a body field where a state is delivered by a response (a desired
//! state in a heartbeat's answer, a report in a push's answer).

use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::TraceContextExt;
use opentelemetry::{global, Context};
use std::collections::HashMap;

/// The header name.
pub const TRACEPARENT: &str = "traceparent";

struct One<'a>(Option<&'a str>);

impl Extractor for One<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        if key == TRACEPARENT {
            self.0
        } else {
            None
        }
    }
    fn keys(&self) -> Vec<&str> {
        vec![TRACEPARENT]
    }
}

/// The context a `traceparent` value names (the current one when there is none or it does
/// not parse).
pub fn from_traceparent(value: Option<&str>) -> Context {
    global::get_text_map_propagator(|p| p.extract(&One(value)))
}

/// The `traceparent` of a context's span, if it has a valid one.
pub fn traceparent(cx: &Context) -> Option<String> {
    if !cx.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = HashMap::new();
    global::get_text_map_propagator(|p| p.inject_context(cx, &mut Carrier(&mut carrier)));
    carrier.remove(TRACEPARENT)
}

struct Carrier<'a>(&'a mut HashMap<String, String>);

impl Injector for Carrier<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};

    #[test]
    fn a_traceparent_round_trips_and_garbage_gives_no_parent() {
        global::set_text_map_propagator(
            opentelemetry_sdk::propagation::TraceContextPropagator::new(),
        );
        let sc = SpanContext::new(
            TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").expect("hex"),
            SpanId::from_hex("00f067aa0ba902b7").expect("hex"),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        );
        let cx = Context::new().with_remote_span_context(sc);
        let text = traceparent(&cx).expect("valid");
        assert_eq!(
            text,
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        );
        let back = from_traceparent(Some(&text));
        assert_eq!(
            back.span().span_context().trace_id(),
            cx.span().span_context().trace_id()
        );
        for bad in [
            "",
            "00-xyz",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        ] {
            assert!(
                !from_traceparent(Some(bad)).span().span_context().is_valid(),
                "{bad}"
            );
        }
        assert_eq!(traceparent(&Context::new()), None);
    }
}
