//! The data path's series (bytes relayed, requests answered, their durations), kept in one
//! shard per thread that writes them and summed when scraped.
//!
//! Why not one shared atomic per series: every request on every worker then wrote the same
//! few cache lines, which moved between cores at each write (about seven such writes per
//! request). A shard is written by its own thread only, with a plain load and store, and
//! other threads only read it, at a scrape.

#[cfg(test)]
mod tests;

use molt_lms_api::SourceOfTruth;
use prometheus::core::{Collector, Desc};
use prometheus::proto::{Bucket, Counter, Histogram, LabelPair, Metric, MetricFamily, MetricType};
use std::cell::RefCell;
use std::collections::HashMap;
use std::marker::PhantomData;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Upper bounds, in seconds, of the request duration histogram's buckets.
pub(crate) const BUCKETS: [f64; 17] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 30.0,
];

const BYTES: &str = "lms_bytes_relayed_total";
const QUERIES: &str = "lms_queries_total";
const SECONDS: &str = "lms_query_duration_seconds";

/// Which way relayed bytes went.
#[derive(Clone, Copy, Debug)]
pub enum Direction {
    ClientToBackend = 0,
    BackendToClient = 1,
}

const DIRECTIONS: [(Direction, &str); 2] = [
    (Direction::ClientToBackend, "client_to_backend"),
    (Direction::BackendToClient, "backend_to_client"),
];
const BACKENDS: [&str; 2] = ["source", "target"];

fn backend_index(b: SourceOfTruth) -> usize {
    usize::from(b == SourceOfTruth::Target)
}

/// One thread's counts. Buckets are per bucket here (the last one past every bound) and
/// made cumulative at a scrape.
#[derive(Default)]
struct Shard {
    bytes: [AtomicU64; 2],
    /// Per backend: answered without and with an error.
    requests: [[AtomicU64; 2]; 2],
    buckets: [[AtomicU64; BUCKETS.len() + 1]; 2],
    nanos: [AtomicU64; 2],
}

/// Adds to a counter only its own thread writes: no locked instruction, no cache line
/// taken from another core.
fn bump(a: &AtomicU64, n: u64) {
    a.store(a.load(Relaxed).wrapping_add(n), Relaxed);
}

static NEXT_SERIES: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's shard of each live `HotSeries`, by the series' id.
    static MINE: RefCell<Vec<(usize, Arc<Shard>)>> = const { RefCell::new(Vec::new()) };
}

/// The data path's series of one proxy instance, registered in its Prometheus registry.
pub(super) struct HotSeries {
    id: usize,
    shards: Mutex<Vec<Arc<Shard>>>,
    descs: Vec<Desc>,
}

impl HotSeries {
    pub(super) fn new() -> prometheus::Result<Self> {
        let desc = |name: &str, help: &str, labels: &[&str]| {
            Desc::new(
                name.to_owned(),
                help.to_owned(),
                labels.iter().map(|l| (*l).to_owned()).collect(),
                HashMap::new(),
            )
        };
        Ok(Self {
            id: NEXT_SERIES.fetch_add(1, Relaxed),
            shards: Mutex::new(Vec::new()),
            descs: vec![
                desc(BYTES, "Bytes relayed, by direction.", &["direction"])?,
                desc(
                    QUERIES,
                    "Client requests answered, by outcome and by the database that answered (backend: source or target).",
                    &["outcome", "backend"],
                )?,
                desc(
                    SECONDS,
                    "Time from a client request to the end of its answer (ReadyForQuery; MySQL: the last packet), by the database that answered.",
                    &["backend"],
                )?,
            ],
        })
    }

    /// The calling thread's handle on these series. It cannot leave the thread: its shard
    /// takes writes from this thread only.
    pub(super) fn local(&self) -> LocalSeries {
        let shard = MINE.with(|mine| {
            let mut mine = mine.borrow_mut();
            if let Some((_, s)) = mine.iter().find(|(id, _)| *id == self.id) {
                return s.clone();
            }
            // Shards of series dropped since (only this list still holds them).
            mine.retain(|(_, s)| Arc::strong_count(s) > 1);
            let s = Arc::new(Shard::default());
            self.lock().push(s.clone());
            mine.push((self.id, s.clone()));
            s
        });
        LocalSeries {
            shard,
            _one_thread: PhantomData,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Arc<Shard>>> {
        // A panic while pushing a shard leaves the list whole.
        self.shards.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The sums over all shards.
    fn totals(&self) -> Shard {
        let total = Shard::default();
        for s in self.lock().iter() {
            let add = |to: &AtomicU64, from: &AtomicU64| bump(to, from.load(Relaxed));
            for d in 0..2 {
                add(&total.bytes[d], &s.bytes[d]);
            }
            for b in 0..2 {
                for o in 0..2 {
                    add(&total.requests[b][o], &s.requests[b][o]);
                }
                for (to, from) in total.buckets[b].iter().zip(&s.buckets[b]) {
                    add(to, from);
                }
                add(&total.nanos[b], &s.nanos[b]);
            }
        }
        total
    }
}

/// A thread's writer of the data path's series; see `HotSeries::local`.
pub struct LocalSeries {
    shard: Arc<Shard>,
    /// Not `Send`: the shard's counts are written with plain loads and stores.
    _one_thread: PhantomData<Rc<()>>,
}

impl LocalSeries {
    #[inline]
    pub fn relayed(&self, d: Direction, n: usize) {
        bump(&self.shard.bytes[d as usize], n as u64);
    }

    /// One request answered by `backend`, in `took`.
    pub fn answered(&self, backend: SourceOfTruth, error: bool, took: Duration) {
        let b = backend_index(backend);
        bump(&self.shard.requests[b][usize::from(error)], 1);
        let secs = took.as_secs_f64();
        let i = BUCKETS
            .iter()
            .position(|&le| secs <= le)
            .unwrap_or(BUCKETS.len());
        bump(&self.shard.buckets[b][i], 1);
        bump(
            &self.shard.nanos[b],
            u64::try_from(took.as_nanos()).unwrap_or(u64::MAX),
        );
    }
}

/// Label pairs sorted by name, as the registry's own series have them.
fn labels(pairs: &[(&str, &str)]) -> Vec<LabelPair> {
    let mut pairs = pairs.to_vec();
    pairs.sort_unstable();
    pairs
        .iter()
        .map(|(n, v)| {
            let mut l = LabelPair::default();
            l.set_name((*n).to_owned());
            l.set_value((*v).to_owned());
            l
        })
        .collect()
}

fn counter(pairs: &[(&str, &str)], value: u64) -> Metric {
    let mut c = Counter::default();
    c.set_value(value as f64);
    let mut m = Metric::default();
    m.set_label(labels(pairs));
    m.set_counter(c);
    m
}

fn family(desc: &Desc, kind: MetricType, metrics: Vec<Metric>) -> MetricFamily {
    let mut f = MetricFamily::default();
    f.set_name(desc.fq_name.clone());
    f.set_help(desc.help.clone());
    f.set_field_type(kind);
    f.set_metric(metrics);
    f
}

impl Collector for HotSeries {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let t = self.totals();
        let bytes = DIRECTIONS
            .iter()
            .map(|(d, name)| counter(&[("direction", name)], t.bytes[*d as usize].load(Relaxed)))
            .collect();
        let mut queries = Vec::new();
        let mut seconds = Vec::new();
        for (b, backend) in BACKENDS.iter().enumerate() {
            for (o, outcome) in ["ok", "error"].iter().enumerate() {
                queries.push(counter(
                    &[("outcome", outcome), ("backend", backend)],
                    t.requests[b][o].load(Relaxed),
                ));
            }
            let mut cumulative = 0;
            let mut buckets = Vec::with_capacity(BUCKETS.len());
            for (le, n) in BUCKETS.iter().zip(&t.buckets[b]) {
                cumulative += n.load(Relaxed);
                let mut bucket = Bucket::default();
                bucket.set_upper_bound(*le);
                bucket.set_cumulative_count(cumulative);
                buckets.push(bucket);
            }
            let mut h = Histogram::default();
            h.set_sample_count(cumulative + t.buckets[b][BUCKETS.len()].load(Relaxed));
            h.set_sample_sum(t.nanos[b].load(Relaxed) as f64 / 1e9);
            h.set_bucket(buckets);
            let mut m = Metric::default();
            m.set_label(labels(&[("backend", backend)]));
            m.set_histogram(h);
            seconds.push(m);
        }
        vec![
            family(&self.descs[0], MetricType::COUNTER, bytes),
            family(&self.descs[1], MetricType::COUNTER, queries),
            family(&self.descs[2], MetricType::HISTOGRAM, seconds),
        ]
    }
}
