#!/usr/bin/env bash
# `make api-fuzz`: property-based tests of the orchestrator's REST API against its own OpenAPI
# document (schemathesis). See `scripts/api-fuzz.sh --help`.
# shellcheck disable=SC2317 # cleanup only runs from the EXIT trap
set -euo pipefail
umask 022 # the data directory's parent must stay readable by the server user

usage() {
  cat <<'EOF'
Usage: scripts/api-fuzz.sh [--help] [ST_RUN_OPTION...]

Fuzzes molt-lms-orchestrator's REST API with schemathesis, driven by the OpenAPI document
the orchestrator serves at /api/v1/openapi.json:
  1. installs schemathesis (pinned) into a virtualenv of its own if it is not there;
  2. enters a network namespace of its own (unshare --net, loopback only), so that nothing
     the orchestrator is made to call (fuzzed proxy admin URLs) leaves the machine; this
     needs root (without it: API_FUZZ_HOST_NETWORK=1, at your own risk);
  3. starts a throwaway PostgreSQL (initdb into a temporary directory, a random free port;
     as user postgres when run as root) for the orchestrator's metadata;
  4. starts the orchestrator with a random control-plane token, polls /healthz, initializes;
  5. runs `st run` with the token against every operation, with the checks: no 5xx
     (not_a_server_error), responses match their documented schema and content type, and
     every 4xx is a JSON ApiError body (json_error_body, scripts/api-fuzz-checks.py).
Exits non-zero if any check fails. Everything is removed on exit. Options given to the script
are passed on to `st run`, e.g. --include-path /api/v1/cutover/begin, --report har.

Environment:
  ORCH_BIN=target/debug/molt-lms-orchestrator   the binary to test (build it first; the
                               default follows CARGO_TARGET_DIR)
  API_FUZZ_MAX_EXAMPLES=100    test cases per operation and phase (schemathesis -n)
  API_FUZZ_TIMEOUT=170         seconds before schemathesis is stopped (and the run fails)
  API_FUZZ_SEED=               fixed seed to reproduce a run (random otherwise)
  API_FUZZ_VENV=~/.cache/molt-lms/api-fuzz-venv   where schemathesis is installed
  API_FUZZ_HOST_NETWORK=1      not root: run without the network namespace
  API_FUZZ_KEEP=1              keep the temporary directory (orchestrator and server logs)
EOF
}
case "${1:-}" in -h | --help) usage && exit 0 ;; esac

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ST_VERSION=4.32.5 # `st run` flags differ between 3.x and 4.x: these are 4.x's
VENV=${API_FUZZ_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/molt-lms/api-fuzz-venv}
ORCH_BIN=${ORCH_BIN:-${CARGO_TARGET_DIR:-$REPO/target}/debug/molt-lms-orchestrator}
[[ $ORCH_BIN == /* ]] || ORCH_BIN=$REPO/$ORCH_BIN

say() { printf '==> %s\n' "$*"; }
die() { printf 'api-fuzz.sh: error: %s\n' "$*" >&2; exit 1; }

# ---- outside the namespace: what needs the package registry -----------------------------
install_schemathesis() {
  if [[ $("$VENV/bin/st" --version 2>/dev/null) == "st, version $ST_VERSION" ]]; then
    return 0
  fi
  command -v python3 >/dev/null || die "python3 not found"
  say "installing schemathesis $ST_VERSION into $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV" || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$ST_VERSION"
}

if [[ -z ${API_FUZZ_STAGE:-} ]]; then
  [[ -x $ORCH_BIN ]] || die "$ORCH_BIN not found (build it: cargo build -p molt-lms-orchestrator, or set ORCH_BIN)"
  install_schemathesis
  export ORCH_BIN VENV
  if ((EUID == 0)); then
    command -v ip >/dev/null || die "ip not found (apt-get install iproute2)"
    unshare --net true 2>/dev/null || die "cannot create a network namespace (unshare --net)"
    export API_FUZZ_STAGE=netns
    exec unshare --net -- "$BASH" "${BASH_SOURCE[0]}" "$@"
  fi
  # Without root there is no namespace in which PostgreSQL runs (it refuses uid 0, which a
  # user namespace would need for `ip link set lo up`).
  [[ ${API_FUZZ_HOST_NETWORK:-0} == 1 ]] ||
    die "run as root (for a network namespace of its own), or set API_FUZZ_HOST_NETWORK=1 to fuzz in this machine's network"
  say "API_FUZZ_HOST_NETWORK=1: no network namespace; fuzzed proxy URLs are called from this machine's network"
  API_FUZZ_STAGE=host
fi

# ---- in the namespace (loopback only) or, as asked, in the machine's network -------------
[[ $API_FUZZ_STAGE != netns ]] || ip link set lo up

WORK='' PGBIN='' PGDATA='' ORCH_PID=''
# PostgreSQL refuses to run as root; run its tools as `postgres` then (from /, which it can read).
as_pg() { if ((EUID == 0)); then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }
alive() { [[ -r /proc/$1/status ]] && ! grep -qs '^State:.*zombie' "/proc/$1/status"; }

cleanup() {
  local rc=$?
  trap '' INT TERM
  if [[ -n $ORCH_PID ]] && alive "$ORCH_PID"; then
    kill -TERM "$ORCH_PID" 2>/dev/null || true
    for _ in {1..50}; do alive "$ORCH_PID" || break; sleep 0.1; done
    kill -KILL "$ORCH_PID" 2>/dev/null || true
    wait "$ORCH_PID" 2>/dev/null || true
  fi
  if [[ -n $PGDATA && -f $PGDATA/postmaster.pid ]]; then
    as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  if [[ -n $WORK ]]; then
    if ((rc != 0)) && [[ -f $WORK/orchestrator.log ]]; then
      echo "---- last lines of the orchestrator's log ----" >&2
      tail -n 30 "$WORK/orchestrator.log" >&2 || true
    fi
    if [[ ${API_FUZZ_KEEP:-0} == 1 ]]; then say "kept $WORK"; else rm -rf "$WORK"; fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT && trap 'exit 143' TERM

# Debian keeps server binaries in /usr/lib/postgresql/<ver>/bin; take the highest version.
PGBIN=$(for d in /usr/lib/postgresql/*/bin; do [[ -x $d/initdb ]] && echo "$d"; done | sort -V | tail -n1)
[[ -n $PGBIN ]] || PGBIN=$(dirname "$(command -v initdb || echo /nonexistent/initdb)")
[[ -x $PGBIN/initdb ]] || die "no initdb found (apt-get install postgresql)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/api-fuzz.XXXXXX")
chmod 755 "$WORK"
PGDATA=$WORK/pg
mkdir -m 700 "$PGDATA"
((EUID == 0)) && chown postgres: "$PGDATA"

# A port nothing listens on: the kernel's pick for a socket bound to port 0.
free_port() { "$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

say "starting PostgreSQL ($("$PGBIN/postgres" --version | awk '{print $3}')) in $PGDATA"
as_pg "$PGBIN/initdb" -D "$PGDATA" -A trust -U postgres --no-sync -E UTF8 --locale=C >"$WORK/initdb.log" 2>&1 ||
  { cat "$WORK/initdb.log" >&2; die "initdb failed"; }
PG_PORT=$(free_port)
as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -c port=$PG_PORT -c unix_socket_directories='$PGDATA' -c fsync=off" start >/dev/null ||
  { tail -n 20 "$PGDATA/server.log" >&2; die "PostgreSQL did not start"; }

# ---- the orchestrator -------------------------------------------------------------------
(umask 077 && od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$WORK/control-token")
TOKEN=$(cat "$WORK/control-token")
API_PORT=$(free_port)
METRICS_PORT=$(free_port)
while [[ $METRICS_PORT == "$API_PORT" ]]; do METRICS_PORT=$(free_port); done
say "starting $ORCH_BIN on 127.0.0.1:$API_PORT"
# The proxies the fuzzer registers never answer (nothing listens in this namespace): they
# are lost after 2 s, which settles the attempts they are in, so that a commit or abort
# waiting for them (its timeout_ms is fuzzed too) answers within seconds.
env -u ORCH_CONFIG -u ORCH_INSECURE_CONTROL_PLANE -u ORCH_TLS_CERT -u ORCH_TLS_KEY -u ORCH_CA_TLS_CERT \
  CRDB_URL="postgresql://postgres@127.0.0.1:$PG_PORT/postgres?sslmode=disable" LMS_URL='' \
  "$ORCH_BIN" --listen "127.0.0.1:$API_PORT" --metrics-listen "127.0.0.1:$METRICS_PORT" \
  --control-token-file "$WORK/control-token" --finish-timeout 3s --prepare-timeout 3s \
  --proxy-lost-after 2s --proxy-lease 2s \
  >"$WORK/orchestrator.log" 2>&1 &
ORCH_PID=$!

BASE=http://127.0.0.1:$API_PORT
# http METHOD PATH [JSON]: prints the status code; authenticated with the token.
http() {
  local body='{}'
  (($# < 3)) || body=$3
  "$VENV/bin/python" - "$1" "$BASE$2" "$TOKEN" "$body" <<'PY'
import sys, urllib.error, urllib.request
method, url, token, body = sys.argv[1:]
data = body.encode() if method == "POST" else None
req = urllib.request.Request(url, data=data, method=method,
                             headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
try:
    print(urllib.request.urlopen(req, timeout=5).status)
except urllib.error.HTTPError as e:
    print(e.code)
except OSError:
    print(0)
PY
}

deadline=$((SECONDS + 30))
until [[ $(http GET /healthz) == 200 ]]; do
  alive "$ORCH_PID" || die "the orchestrator exited (log above)"
  ((SECONDS < deadline)) || die "the orchestrator's /healthz did not answer 200 within 30 s"
  sleep 0.2
done
[[ $(http POST /api/v1/initialize) == 200 ]] || die "POST /api/v1/initialize failed"
say "orchestrator ready; metadata initialized"

# ---- schemathesis -----------------------------------------------------------------------
seed=()
[[ -n ${API_FUZZ_SEED:-} ]] && seed=(--seed "$API_FUZZ_SEED")
say "schemathesis $("$VENV/bin/st" --version | awk '{print $NF}') against $BASE/api/v1/openapi.json"
started=$SECONDS
set +e
# --max-examples bounds the run (--max-time would instead repeat fuzzing until it is spent);
# `timeout` is the backstop. One worker: with two, hypothesis' lambda-source parsing from
# two threads at once hits Python 3.11's "AST constructor recursion depth mismatch".
(cd "$WORK" && SCHEMATHESIS_HOOKS=$REPO/scripts/api-fuzz-checks.py timeout -k 10 "${API_FUZZ_TIMEOUT:-170}" "$VENV/bin/st" --config-file "$REPO/scripts/api-fuzz.toml" run "$BASE/api/v1/openapi.json" \
  --url "$BASE" \
  --header "Authorization: Bearer $TOKEN" \
  --checks not_a_server_error,response_schema_conformance,content_type_conformance,ignored_auth,json_error_body \
  --phases examples,coverage,fuzzing,stateful \
  --max-examples "${API_FUZZ_MAX_EXAMPLES:-100}" \
  "${seed[@]}" \
  --workers 1 \
  --request-timeout 15 \
  --generation-database none \
  --suppress-health-check too_slow,filter_too_much \
  --no-color \
  "$@")
rc=$?
set -e
((rc == 124)) && echo "schemathesis did not finish within ${API_FUZZ_TIMEOUT:-170} s" >&2
say "schemathesis finished in $((SECONDS - started)) s with status $rc"
alive "$ORCH_PID" || { echo "the orchestrator died during the run" >&2; rc=1; }
exit "$rc"
