//! A write load through the proxies, with every acknowledged write recorded, and native
//! logical replication of its table from source to target: what a cutover must carry
//! across without a client error or a lost write.

use crate::cutover_env::CutoverEnv;
use crate::pg::PgCluster;
use crate::wait_until;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the writers saw.
#[derive(Default)]
pub struct Ledger {
    /// (writer, seq, acknowledged at)
    pub acked: Vec<(i32, i32, Instant)>,
    pub errors: Vec<String>,
    pub max_latency: Duration,
    /// Sessions a draining proxy closed between transactions (57P01, or refused at
    /// login with 57P03), after which a reconnecting writer logged in again.
    pub reconnects: usize,
}

/// The subscription [`replicate_writes`] made; dropped (with its slot on the source) when
/// this is, so parallel tests never run out of replication workers.
#[must_use = "the subscription is dropped with this guard"]
pub struct Replication {
    target: &'static PgCluster,
    db: String,
}

impl Drop for Replication {
    fn drop(&mut self) {
        let _ = self.target.psql_result(
            &self.db,
            &format!("DROP SUBSCRIPTION IF EXISTS sub_{}", self.db),
        );
    }
}

/// Creates table `writes` on both databases, owned by the env's role, and subscribes the
/// target to the source's changes of it.
pub fn replicate_writes(env: &CutoverEnv) -> Replication {
    let (src, tgt) = (&env.clusters.source, &env.clusters.target);
    let ddl =
        "CREATE TABLE writes (writer int, seq int, server_port int, PRIMARY KEY (writer, seq))";
    for c in [src, tgt] {
        c.psql(&env.db, ddl);
        c.psql(
            &env.db,
            &format!("ALTER TABLE writes OWNER TO \"{}\"", env.user),
        );
    }
    let publication = format!("pub_{}", env.db);
    src.psql(
        &env.db,
        &format!("CREATE PUBLICATION {publication} FOR TABLE writes"),
    );
    tgt.psql(
        &env.db,
        &format!(
            "CREATE SUBSCRIPTION sub_{db} CONNECTION 'host=127.0.0.1 port={port} user=postgres password=postgres dbname={db}' PUBLICATION {publication}",
            db = env.db,
            port = src.port()
        ),
    );
    Replication {
        target: &env.clusters.target,
        db: env.db.clone(),
    }
}

/// Waits (30 s at most) until the target holds every row the source holds now, while
/// traffic is paused; returns that count.
pub fn wait_caught_up(env: &CutoverEnv) -> usize {
    let at_pause = count(&env.clusters.source, &env.db);
    assert!(
        wait_until(Duration::from_secs(30), || count(
            &env.clusters.target,
            &env.db
        ) == at_pause),
        "replication did not catch up: source {at_pause}, target {}",
        count(&env.clusters.target, &env.db)
    );
    at_pause
}

/// Drops the subscription made by [`replicate_writes`].
pub fn stop_replication(env: &CutoverEnv) {
    env.clusters.target.psql(
        &env.db,
        &format!("DROP SUBSCRIPTION IF EXISTS sub_{}", env.db),
    );
}

/// Rows in `writes` on one database.
pub fn count(c: &PgCluster, db: &str) -> usize {
    c.psql(db, "SELECT count(*) FROM writes")
        .parse()
        .expect("count")
}

/// `(writer, seq)` pairs in `writes` on one database.
pub fn pairs(c: &PgCluster, db: &str) -> HashSet<(i32, i32)> {
    c.psql(db, "SELECT writer, seq FROM writes")
        .lines()
        .filter_map(|l| l.split_once('|'))
        .map(|(w, s)| (w.parse().expect("writer"), s.parse().expect("seq")))
        .collect()
}

impl Ledger {
    /// Asserts the promise of a cutover committed at `committed_at`: no client error,
    /// every acknowledged write on the target, none acknowledged after the commit on the
    /// source. Returns how many were acknowledged after the commit.
    pub fn assert_nothing_lost(&self, env: &CutoverEnv, committed_at: Instant) -> usize {
        assert!(
            self.errors.is_empty(),
            "client errors: {:?}",
            &self.errors[..self.errors.len().min(5)]
        );
        let on_target = pairs(&env.clusters.target, &env.db);
        let on_source = pairs(&env.clusters.source, &env.db);
        let mut after_commit = 0;
        for (w, s, at) in &self.acked {
            assert!(
                on_target.contains(&(*w, *s)),
                "acknowledged write ({w}, {s}) missing on the target"
            );
            if *at > committed_at {
                after_commit += 1;
                assert!(
                    !on_source.contains(&(*w, *s)),
                    "write ({w}, {s}) after the commit reached the source"
                );
            }
        }
        after_commit
    }
}

/// Writers spread over the env's proxies, each inserting one row per transaction with a
/// cached prepared statement until stopped.
pub struct Load {
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    pub ledger: Arc<Mutex<Ledger>>,
}

impl Load {
    pub fn start(env: &CutoverEnv, writers: usize) -> Self {
        let all: Vec<usize> = (0..env.proxies.len()).collect();
        Self::spawn(env, &all, writers, 0)
    }

    /// `writers` more writers, on the proxies listed (in turn), numbered from 1000 so
    /// their rows never collide with an earlier load's.
    pub fn start_on(env: &CutoverEnv, proxies: &[usize], writers: usize) -> Self {
        Self::spawn(env, proxies, writers, 1000)
    }

    fn spawn(env: &CutoverEnv, proxies: &[usize], writers: usize, first_id: i32) -> Self {
        Self::run(writers, |i, stop, ledger| {
            writer(
                env.conninfo(proxies[i % proxies.len()]),
                first_id + i as i32,
                stop,
                ledger,
            )
        })
    }

    /// `writers` tasks made by `make(i, stop, ledger)`, sharing one stop flag and ledger.
    fn run<F, Fut>(writers: usize, make: F) -> Self
    where
        F: Fn(usize, Arc<AtomicBool>, Arc<Mutex<Ledger>>) -> Fut,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let stop = Arc::new(AtomicBool::new(false));
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let tasks = (0..writers)
            .map(|i| tokio::spawn(make(i, stop.clone(), ledger.clone())))
            .collect();
        Self {
            stop,
            tasks,
            ledger,
        }
    }

    /// Writers that reach the proxies through `conninfo` (a Service's address) and log
    /// in again whenever a draining proxy closes their session, as a pool does. Numbered
    /// from 2000.
    pub fn start_reconnecting(conninfo: &str, writers: usize) -> Self {
        Self::run(writers, |i, stop, ledger| {
            reconnecting_writer(conninfo.to_owned(), 2000 + i as i32, stop, ledger)
        })
    }

    /// Acknowledged writes so far.
    pub fn acked(&self) -> usize {
        self.ledger.lock().expect("ledger").acked.len()
    }

    /// Waits until `n` more writes were acknowledged; panics after 30 s.
    pub fn wait_for_more(&self, n: usize) {
        let start = self.acked();
        assert!(
            wait_until(Duration::from_secs(30), || self.acked() >= start + n),
            "the load made no progress ({} acknowledged); errors: {:?}",
            self.acked(),
            self.ledger.lock().expect("ledger").errors
        );
    }

    /// Stops every writer and waits for them.
    pub async fn stop(mut self) -> Arc<Mutex<Ledger>> {
        self.stop.store(true, Ordering::Relaxed);
        for t in std::mem::take(&mut self.tasks) {
            t.await.expect("writer task");
        }
        self.ledger.clone()
    }
}

impl Drop for Load {
    /// A test that failed midway stops its writers too.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

async fn writer(conninfo: String, id: i32, stop: Arc<AtomicBool>, ledger: Arc<Mutex<Ledger>>) {
    let (c, conn) = tokio_postgres::connect(&conninfo, tokio_postgres::NoTls)
        .await
        .expect("writer connect");
    tokio::spawn(conn);
    let insert = c
        .prepare(
            "INSERT INTO writes (writer, seq, server_port) VALUES ($1, $2, inet_server_port())",
        )
        .await
        .expect("prepare");
    let mut seq = 0;
    while !stop.load(Ordering::Relaxed) {
        seq += 1;
        let t = Instant::now();
        let r = c.execute(&insert, &[&id, &seq]).await;
        let took = t.elapsed();
        let mut l = ledger.lock().expect("ledger");
        l.max_latency = l.max_latency.max(took);
        match r {
            Ok(1) => l.acked.push((id, seq, Instant::now())),
            Ok(n) => l.errors.push(format!("writer {id} seq {seq}: {n} rows")),
            Err(e) => {
                l.errors.push(format!("writer {id} seq {seq}: {e}"));
                if c.is_closed() {
                    return;
                }
            }
        }
    }
}

/// Whether a failed write is a graceful close by a draining proxy: the session ended
/// between transactions, so the write never ran and a new session may retry.
fn drained(e: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::SqlState;
    e.is_closed()
        || e.code() == Some(&SqlState::ADMIN_SHUTDOWN)
        || e.code() == Some(&SqlState::CANNOT_CONNECT_NOW)
}

async fn reconnecting_writer(
    conninfo: String,
    id: i32,
    stop: Arc<AtomicBool>,
    ledger: Arc<Mutex<Ledger>>,
) {
    let mut seq = 0;
    'session: while !stop.load(Ordering::Relaxed) {
        let c = match tokio_postgres::connect(&conninfo, tokio_postgres::NoTls).await {
            Ok((c, conn)) => {
                tokio::spawn(conn);
                c
            }
            Err(e) => {
                if !drained(&e) && e.as_db_error().is_some() {
                    ledger
                        .lock()
                        .expect("ledger")
                        .errors
                        .push(format!("writer {id} login: {e}"));
                }
                // A proxy going away refuses or closes the connection: try the next one.
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let insert = match c
            .prepare(
                "INSERT INTO writes (writer, seq, server_port) VALUES ($1, $2, inet_server_port())",
            )
            .await
        {
            Ok(s) => s,
            Err(e) if drained(&e) => continue,
            Err(e) => {
                ledger
                    .lock()
                    .expect("ledger")
                    .errors
                    .push(format!("writer {id} prepare: {e}"));
                continue;
            }
        };
        while !stop.load(Ordering::Relaxed) {
            // A new number for every attempt: a write whose fate is unknown is never
            // written again under the same key.
            seq += 1;
            let r = c.execute(&insert, &[&id, &seq]).await;
            let mut l = ledger.lock().expect("ledger");
            match r {
                Ok(1) => l.acked.push((id, seq, Instant::now())),
                Ok(n) => l.errors.push(format!("writer {id} seq {seq}: {n} rows")),
                Err(e) if drained(&e) => {
                    l.reconnects += 1;
                    continue 'session;
                }
                Err(e) => l.errors.push(format!("writer {id} seq {seq}: {e}")),
            }
        }
    }
}
