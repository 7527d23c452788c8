//! One registered proxy, as the orchestrator sees it: its registration, when it was last
//! heard from, its last report, and the pushes of the desired state to its admin API.

use super::coordinator::{Coordinator, ProxyLost, ReportFrom};
use actix::prelude::*;
use molt_lms_api::cutover::{DesiredState, Liveness, ProxyEntry, ProxyReport, Registration};
use molt_lms_common::control::client::ControlClient;
use std::time::{Duration, Instant};

pub(crate) struct ProxyAgent {
    registration: Registration,
    last_seen: Instant,
    report: Option<ProxyReport>,
    lost: bool,
    lost_after: Duration,
    coordinator: Addr<Coordinator>,
    http: ControlClient,
}

impl ProxyAgent {
    pub(crate) fn new(
        registration: Registration,
        lost_after: Duration,
        coordinator: Addr<Coordinator>,
        http: ControlClient,
    ) -> Self {
        Self {
            registration,
            last_seen: Instant::now(),
            report: None,
            lost: false,
            lost_after,
            coordinator,
            http,
        }
    }
}

impl Actor for ProxyAgent {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let tick = (self.lost_after / 4).max(Duration::from_millis(50));
        ctx.run_interval(tick, |act, _| {
            if !act.lost && act.last_seen.elapsed() > act.lost_after {
                act.lost = true;
                tracing::warn!(proxy = %act.registration.lms_address, "proxy lost: no heartbeat");
                act.coordinator.do_send(ProxyLost {
                    lms_address: act.registration.lms_address.clone(),
                });
            }
        });
    }
}

/// The proxy was heard from.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Seen(pub ProxyReport);

impl Handler<Seen> for ProxyAgent {
    type Result = ();
    fn handle(&mut self, msg: Seen, _: &mut Self::Context) {
        if self.lost {
            tracing::info!(proxy = %self.registration.lms_address, "proxy back");
        }
        self.last_seen = Instant::now();
        self.lost = false;
        self.report = Some(msg.0);
    }
}

/// Send the desired state to the proxy now; its answer is a report.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Push(pub DesiredState);

impl Handler<Push> for ProxyAgent {
    type Result = ();
    fn handle(&mut self, msg: Push, ctx: &mut Self::Context) {
        let url = format!("{}/api/v1/desired", self.registration.admin_url);
        let (http, addr) = (self.http.clone(), self.registration.lms_address.clone());
        let me = ctx.address();
        let coordinator = self.coordinator.clone();
        actix_rt::spawn(async move {
            let mut req = http.post(&url).json(&msg.0);
            if let Some(tp) = &msg.0.traceparent {
                req = req.header("traceparent", tp);
            }
            let resp = req.send().await;
            match resp {
                Ok(r) if r.status().is_success() => {
                    if let Ok(report) = r.json::<ProxyReport>().await {
                        me.do_send(Seen(report.clone()));
                        coordinator.do_send(ReportFrom {
                            lms_address: addr,
                            report,
                        });
                    }
                }
                Ok(r) => tracing::warn!(proxy = %addr, status = %r.status(), "push refused"),
                // The heartbeat carries the same state; losing a push only costs time.
                Err(e) => tracing::warn!(proxy = %addr, error = %e.without_url(), "push failed"),
            }
        });
    }
}

#[derive(Message)]
#[rtype(result = "ProxyEntry")]
pub(crate) struct GetEntry;

impl Handler<GetEntry> for ProxyAgent {
    type Result = MessageResult<GetEntry>;
    fn handle(&mut self, _: GetEntry, _: &mut Self::Context) -> Self::Result {
        MessageResult(ProxyEntry {
            registration: self.registration.clone(),
            liveness: if self.lost {
                Liveness::Lost
            } else {
                Liveness::Live
            },
            last_seen_secs: self.last_seen.elapsed().as_secs_f64(),
            report: self.report.clone(),
        })
    }
}

/// Replaced by a new registration from the same address.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Retire;

impl Handler<Retire> for ProxyAgent {
    type Result = ();
    fn handle(&mut self, _: Retire, ctx: &mut Self::Context) {
        ctx.stop();
    }
}
