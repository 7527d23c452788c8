//! An orchestrator (with its own metadata database on the target) and N proxies
//! registered with it, in front of the shared clusters, for cutover tests.

use crate::fixture::{http_request, provision, provision_independent};
use crate::orchestrator::OrchestratorProcess;
use crate::pg::{shared, Clusters, PgCluster, PgOptions};
use crate::proxy::{ProxyConfig, ProxyProcess};
use crate::{unique_name, wait_until};
use molt_lms_api::cutover::{
    BeginRequest, CutoverAttempt, CutoverStatus, FinishRequest, OrchestratorStatus,
};
use std::time::Duration;

pub struct CutoverEnv {
    pub clusters: &'static Clusters,
    pub orch: OrchestratorProcess,
    pub proxies: Vec<ProxyProcess>,
    pub user: String,
    pub password: String,
    pub db: String,
    pub meta_db: String,
}

/// How a [`CutoverEnv`] differs from the plain one.
#[derive(Debug, Clone, Copy, Default)]
pub struct EnvSpec {
    /// The role is created on the target on its own, with the same password and so
    /// another SCRAM salt, as users do on CockroachDB, instead of with the same verifier.
    pub independent_target_role: bool,
    /// A source and target of this test's own (which it may stop), instead of the shared
    /// pair; the orchestrator's metadata then lives on the source.
    pub private_clusters: bool,
    /// The orchestrator logs in to its metadata database as a role of its own that owns
    /// it, so a test can revoke its privileges.
    pub own_metadata_role: bool,
    /// The orchestrator gets SOURCE_URL and TARGET_URL: the test database on each
    /// cluster, for the replication gate.
    pub replication_gate: bool,
}

/// A metadata role's name and password, when [`EnvSpec::own_metadata_role`].
pub struct MetaRole {
    pub name: String,
    pub password: String,
}

impl CutoverEnv {
    pub fn start(proxies: usize, orch_args: &[&str]) -> Self {
        Self::start_spec(proxies, orch_args, EnvSpec::default()).0
    }

    /// Like [`CutoverEnv::start`], shaped by `spec`.
    pub fn start_spec(
        proxies: usize,
        orch_args: &[&str],
        spec: EnvSpec,
    ) -> (Self, Option<MetaRole>) {
        Self::start_configured(proxies, orch_args, spec, |_, _, _| {})
    }

    /// Like [`CutoverEnv::start_spec`]; `configure` may change the orchestrator's
    /// config.json (given the clusters and the test database) before it starts.
    pub fn start_configured(
        proxies: usize,
        orch_args: &[&str],
        spec: EnvSpec,
        configure: impl FnOnce(&mut serde_json::Value, &Clusters, &str),
    ) -> (Self, Option<MetaRole>) {
        let clusters: &'static Clusters = if spec.private_clusters {
            // Leaked on purpose: each cluster's guardian stops it when the process exits.
            let name = unique_name("p");
            Box::leak(Box::new(Clusters {
                source: PgCluster::start(
                    &format!("s{name}"),
                    PgOptions {
                        logical: true,
                        ..PgOptions::default()
                    },
                ),
                target: PgCluster::start(&format!("t{name}"), PgOptions::default()),
            }))
        } else {
            shared()
        };
        let (user, password, db) = if spec.independent_target_role {
            provision_independent(clusters)
        } else {
            provision(clusters)
        };
        let meta_db = unique_name("meta");
        let meta_cluster = if spec.private_clusters {
            &clusters.source
        } else {
            &clusters.target
        };
        let (meta_url, meta_role) = if spec.own_metadata_role {
            let role = MetaRole {
                name: unique_name("orch"),
                password: "orch-pw".to_owned(),
            };
            meta_cluster.create_role(&role.name, &role.password, crate::pg::PasswordMethod::Scram);
            meta_cluster.create_database_owned(&meta_db, &role.name);
            let url = meta_cluster.url(&role.name, &role.password, &meta_db);
            (url, Some(role))
        } else {
            meta_cluster.create_database(&meta_db);
            (meta_cluster.superuser_url(&meta_db), None)
        };
        let mut config = serde_json::json!({ "CRDB_URL": meta_url });
        if spec.replication_gate {
            config["SOURCE_URL"] = clusters.source.superuser_url(&db).into();
            config["TARGET_URL"] = clusters.target.superuser_url(&db).into();
        }
        configure(&mut config, clusters, &db);
        let orch = OrchestratorProcess::start_with_config(config, orch_args);
        let (code, body) = http_request(orch.api_addr(), "POST", "/api/v1/initialize", None);
        assert_eq!(code, 200, "initialize: {body}\n{}", orch.log());
        let mut env = Self {
            clusters,
            orch,
            proxies: Vec::new(),
            user,
            password,
            db,
            meta_db,
        };
        for _ in 0..proxies {
            env.add_proxy();
        }
        (env, meta_role)
    }

    /// The cluster that holds the orchestrator's metadata database.
    pub fn meta_cluster(&self) -> &'static PgCluster {
        let c = self.clusters;
        if std::ptr::eq(c, shared()) {
            &c.target
        } else {
            &c.source
        }
    }

    /// Starts one more proxy registered with the orchestrator.
    pub fn add_proxy(&mut self) -> usize {
        self.add_proxy_with(|c| c)
    }

    /// Like [`CutoverEnv::add_proxy`], with a chance to change the proxy's configuration.
    pub fn add_proxy_with(&mut self, configure: impl FnOnce(ProxyConfig) -> ProxyConfig) -> usize {
        let mut cfg = ProxyConfig::new(
            self.clusters.source.superuser_url("postgres"),
            self.clusters.target.superuser_url("postgres"),
        );
        cfg.extra_args = vec!["--orchestrator-url".into(), self.orch.url()];
        // Counted, not compared with `proxies`: drained proxies leave the registry.
        let registered = self.status().proxies.len();
        self.proxies.push(ProxyProcess::start(configure(cfg)));
        assert!(
            wait_until(Duration::from_secs(10), || self.status().proxies.len()
                > registered),
            "proxy did not register"
        );
        self.proxies.len() - 1
    }

    /// Starts one more proxy, MySQL-dialect, in front of `db`, logging in there as a
    /// service user `lms` it creates; registered with the orchestrator like the others.
    pub fn add_mysql_proxy(&mut self, db: &crate::mariadb::MariaDb) -> usize {
        db.create_user("lms", "lms-pw");
        let source = format!("mysql://lms:lms-pw@{}/", db.addr());
        self.add_proxy_with(|c| ProxyConfig {
            source_url: source,
            dialect: "mysql".into(),
            ..c
        })
    }

    pub fn conninfo(&self, proxy: usize) -> String {
        self.conninfo_at(self.proxies[proxy].sql_port())
    }

    /// The env's role and database at `127.0.0.1:port` (a relay in front of the proxies).
    pub fn conninfo_at(&self, port: u16) -> String {
        format!(
            "host=127.0.0.1 port={port} user={} password={} dbname={}",
            self.user, self.password, self.db
        )
    }

    pub async fn client(&self, proxy: usize) -> tokio_postgres::Client {
        let (c, conn) = tokio_postgres::connect(&self.conninfo(proxy), tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "connect via proxy {proxy}: {e}\n{}",
                    self.proxies[proxy].stderr_log()
                )
            });
        tokio::spawn(conn);
        c
    }

    fn post<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &impl serde::Serialize,
    ) -> Result<T, (u16, String)> {
        let json = serde_json::to_string(body).expect("json");
        let (code, text) = http_request(self.orch.api_addr(), "POST", path, Some(&json));
        if code == 200 {
            Ok(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}")))
        } else {
            Err((code, text))
        }
    }

    pub fn status(&self) -> OrchestratorStatus {
        let (code, text) = http_request(self.orch.api_addr(), "GET", "/api/v1/status", None);
        assert_eq!(code, 200, "{text}");
        serde_json::from_str(&text).expect("status json")
    }

    pub fn begin(&self, req: BeginRequest) -> Result<CutoverAttempt, (u16, String)> {
        self.post("/api/v1/cutover/begin", &req)
    }

    pub fn commit(&self) -> Result<CutoverAttempt, (u16, String)> {
        self.post("/api/v1/cutover/commit", &FinishRequest::default())
    }

    pub fn abort(&self) -> Result<CutoverAttempt, (u16, String)> {
        self.post("/api/v1/cutover/abort", &FinishRequest::default())
    }

    pub fn attempt(&self, id: u64) -> Result<CutoverAttempt, (u16, String)> {
        let (code, text) = http_request(
            self.orch.api_addr(),
            "GET",
            &format!("/api/v1/cutover/{id}"),
            None,
        );
        if code == 200 {
            Ok(serde_json::from_str(&text).expect("attempt json"))
        } else {
            Err((code, text))
        }
    }

    /// Polls the attempt until `status`; panics with the orchestrator log otherwise.
    pub fn wait_status(&self, id: u64, status: CutoverStatus, timeout: Duration) -> CutoverAttempt {
        let mut last = None;
        let ok = wait_until(timeout, || {
            last = self.attempt(id).ok();
            last.as_ref().is_some_and(|a| a.status == status)
        });
        assert!(
            ok,
            "attempt {id} never reached {status:?}: {last:#?}\n{}",
            self.orch.log()
        );
        last.expect("polled")
    }

    /// Begins and waits until traffic is paused on every proxy.
    pub fn pause(&self) -> CutoverAttempt {
        let a = self.begin(BeginRequest::default()).expect("begin");
        self.wait_status(a.id, CutoverStatus::TrafficPaused, Duration::from_secs(20))
    }

    /// [`Self::pause`] without the cutover check (`begin --skip-check`), for tests of
    /// what the preparation catches.
    pub fn pause_skipping_check(&self) -> CutoverAttempt {
        let a = self
            .begin(BeginRequest {
                skip_check: true,
                ..BeginRequest::default()
            })
            .expect("begin --skip-check");
        self.wait_status(a.id, CutoverStatus::TrafficPaused, Duration::from_secs(20))
    }
}

/// The names of a [`gated_env`]'s logical replication.
pub struct GateReplication {
    /// On the source: the sentinel table alone, until a test adds its own.
    pub publication: String,
    /// On the target; its slot on the source has the same name.
    pub subscription: String,
}

/// An env with one proxy whose orchestrator has the replication gate (`orch_args` added),
/// and PostgreSQL logical replication of the gate's sentinel table from the source to the
/// target (as users set it up beside their own tables).
pub fn gated_env(orch_args: &[&str]) -> (CutoverEnv, GateReplication) {
    let (env, _) = CutoverEnv::start_spec(
        1,
        orch_args,
        EnvSpec {
            replication_gate: true,
            ..EnvSpec::default()
        },
    );
    // initialize created molt_lms.replication_sentinel on both databases.
    let (src, tgt) = (&env.clusters.source, &env.clusters.target);
    let publication = format!("gate_{}", env.db);
    src.psql(
        &env.db,
        &format!("CREATE PUBLICATION {publication} FOR TABLE molt_lms.replication_sentinel"),
    );
    let subscription = format!("gate_sub_{}", env.db);
    tgt.psql(
        &env.db,
        &format!(
            "CREATE SUBSCRIPTION {subscription} CONNECTION 'host=127.0.0.1 port={port} user=postgres password=postgres dbname={db}' PUBLICATION {publication}",
            port = src.port(),
            db = env.db
        ),
    );
    (
        env,
        GateReplication {
            publication,
            subscription,
        },
    )
}
