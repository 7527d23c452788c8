//! The actor that owns verification runs: starts one at a time, answers progress from
//! the running one's live state and older ones from the store, and on start resumes a
//! run an earlier orchestrator left unfinished. The comparison itself is `verify::run`.

use crate::coordinator::Refused;
use crate::store::{Store, StoreError};
use crate::verify::run::{new_run, Job, Shared};
use crate::verify::{Cursor, Ends};
use actix::prelude::*;
use molt_lms_api::verify::{VerifyRequest, VerifyRun, VerifyStatus};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Runs listed by `GET /api/v1/verify`.
const LIST_LIMIT: i64 = 20;

pub struct Verifier {
    store: Arc<Store>,
    /// None without SOURCE_URL: nothing to compare.
    ends: Option<Arc<Ends>>,
    /// The newest run this process started or resumed.
    current: Option<Shared>,
    /// A start is between its checks and its launch.
    starting: bool,
}

fn refused(code: &'static str, message: impl Into<String>) -> Refused {
    Refused {
        code,
        message: message.into(),
    }
}

fn store_refused(e: StoreError) -> Refused {
    match e {
        StoreError::NotInitialized => refused("not_initialized", e.to_string()),
        other => refused("store_unavailable", other.to_string()),
    }
}

impl Verifier {
    pub fn new(store: Arc<Store>, ends: Option<Arc<Ends>>) -> Self {
        Self {
            store,
            ends,
            current: None,
            starting: false,
        }
    }

    fn current(&self) -> Option<VerifyRun> {
        self.current
            .as_ref()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).clone())
    }

    fn running(&self) -> Option<u64> {
        self.current()
            .filter(|r| r.status == VerifyStatus::Running)
            .map(|r| r.id)
    }

    fn launch(&mut self, run: VerifyRun, cursor: Option<Cursor>, ctx: &mut Context<Self>) {
        let Some(ends) = self.ends.clone() else {
            return;
        };
        let shared: Shared = Arc::new(Mutex::new(run));
        self.current = Some(shared.clone());
        let job = Job {
            ends,
            store: self.store.clone(),
            shared,
        };
        ctx.spawn(job.run(cursor).into_actor(self));
    }

    /// Picks up a run left `running` by an earlier process; retries while the metadata
    /// database does not answer.
    fn resume(&mut self, ctx: &mut Context<Self>) {
        if self.ends.is_none() {
            return;
        }
        let store = self.store.clone();
        ctx.spawn(
            async move { store.load_running_verify().await }
                .into_actor(self)
                .map(|r, act, ctx| match r {
                    Ok(Some((mut run, cursor))) if act.running().is_none() => {
                        run.resumes += 1;
                        tracing::info!(verify = run.id, "resuming an unfinished verification");
                        act.launch(run, cursor, ctx);
                    }
                    Ok(_) | Err(StoreError::NotInitialized) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot look for an unfinished verification; retrying");
                        ctx.run_later(Duration::from_secs(2), |act, ctx| act.resume(ctx));
                    }
                }),
        );
    }
}

impl Actor for Verifier {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.resume(ctx);
    }
}

/// Starts a run; refused while one runs.
#[derive(Message)]
#[rtype(result = "Result<VerifyRun, Refused>")]
pub struct StartVerify(pub VerifyRequest);

impl Handler<StartVerify> for Verifier {
    type Result = ResponseActFuture<Self, Result<VerifyRun, Refused>>;

    fn handle(&mut self, msg: StartVerify, _: &mut Self::Context) -> Self::Result {
        if self.ends.is_none() {
            return Box::pin(fut::ready(Err(refused(
                "no_source_url",
                "verification needs the orchestrator's SOURCE_URL (and TARGET_URL, default CRDB_URL)",
            ))));
        }
        if let Some(id) = self.running() {
            return Box::pin(fut::ready(Err(refused(
                "verify_running",
                format!("verification {id} is still running; follow it with `molt-lms-cli verify status {id}`"),
            ))));
        }
        if self.starting {
            return Box::pin(fut::ready(Err(refused(
                "verify_running",
                "another verification is starting",
            ))));
        }
        self.starting = true;
        let store = self.store.clone();
        Box::pin(
            async move {
                let id = store.next_verify_id().await?;
                let run = new_run(id, msg.0);
                store.save_verify(&run, None).await?;
                Ok::<_, StoreError>(run)
            }
            .into_actor(self)
            .map(|r, act, ctx| {
                act.starting = false;
                let run = r.map_err(store_refused)?;
                act.launch(run.clone(), None, ctx);
                Ok(run)
            }),
        )
    }
}

/// One run: live while it runs here, else as stored.
#[derive(Message)]
#[rtype(result = "Result<VerifyRun, Refused>")]
pub struct GetVerify(pub u64);

impl Handler<GetVerify> for Verifier {
    type Result = ResponseActFuture<Self, Result<VerifyRun, Refused>>;

    fn handle(&mut self, msg: GetVerify, _: &mut Self::Context) -> Self::Result {
        if let Some(run) = self.current().filter(|r| r.id == msg.0) {
            return Box::pin(fut::ready(Ok(run)));
        }
        let store = self.store.clone();
        Box::pin(
            async move { store.load_verify(msg.0).await }
                .into_actor(self)
                .map(move |r, _, _| match r {
                    Ok(Some(run)) => Ok(run),
                    Ok(None) => Err(refused(
                        "not_found",
                        format!("no verification run with id {}", msg.0),
                    )),
                    Err(e) => Err(store_refused(e)),
                }),
        )
    }
}

/// The newest runs, newest first.
#[derive(Message)]
#[rtype(result = "Result<Vec<VerifyRun>, Refused>")]
pub struct ListVerify;

impl Handler<ListVerify> for Verifier {
    type Result = ResponseActFuture<Self, Result<Vec<VerifyRun>, Refused>>;

    fn handle(&mut self, _: ListVerify, _: &mut Self::Context) -> Self::Result {
        let store = self.store.clone();
        Box::pin(
            async move { store.list_verify(LIST_LIMIT).await }
                .into_actor(self)
                .map(|r, act, _| {
                    let mut runs = r.map_err(store_refused)?;
                    if let Some(live) = act.current() {
                        for run in runs.iter_mut().filter(|run| run.id == live.id) {
                            *run = live.clone();
                        }
                    }
                    Ok(runs)
                }),
        )
    }
}
