use super::*;
use std::future::Future;
use std::thread::ThreadId;
use std::time::{Duration, Instant};

struct Where;

impl Actor for Where {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "ThreadId")]
struct Ask;

impl Handler<Ask> for Where {
    type Result = MessageResult<Ask>;
    fn handle(&mut self, _: Ask, _: &mut Context<Self>) -> MessageResult<Ask> {
        MessageResult(std::thread::current().id())
    }
}

fn in_system<F: Future>(f: F) -> F::Output {
    actix_rt::System::new().block_on(f)
}

#[test]
fn an_actor_started_on_a_worker_runs_on_its_thread() {
    in_system(async {
        let w = Worker::start("test-worker".into()).expect("worker");
        let addr = w.start_actor(|_| Where);
        let there = addr.send(Ask).await.expect("answered");
        assert_ne!(there, std::thread::current().id());
        assert_eq!(addr.send(Ask).await.expect("answered"), there);
    });
}

#[test]
fn timers_and_local_tasks_work_on_a_worker() {
    in_system(async {
        let w = Worker::start("test-worker".into()).expect("worker");
        let (tx, rx) = tokio::sync::oneshot::channel();
        w.run(move || {
            actix_rt::spawn(async move {
                tokio::time::sleep(Duration::from_millis(1)).await;
                let _ = tx.send(std::thread::current().name().map(str::to_owned));
            });
        });
        let name = rx.await.expect("the task ran");
        assert_eq!(name.as_deref(), Some("test-worker"));
    });
}

#[test]
fn dropping_the_worker_stops_its_actors() {
    in_system(async {
        let w = Worker::start("test-worker".into()).expect("worker");
        let addr = w.start_actor(|_| Where);
        addr.send(Ask).await.expect("running");
        drop(w);
        let deadline = Instant::now() + Duration::from_secs(10);
        while addr.connected() {
            assert!(Instant::now() < deadline, "the actor outlived its worker");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(addr.send(Ask).await.is_err());
    });
}
