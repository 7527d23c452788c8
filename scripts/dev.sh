#!/usr/bin/env bash
# `make run`: one-command local molt-lms deployment (source and target PostgreSQL clusters of
# its own, the orchestrator, and the proxy in front). See `scripts/dev.sh --help`.
# shellcheck disable=SC2317 # cleanup and stop_pid only run from the EXIT trap
set -euo pipefail
umask 022 # files written as root (configs, password file) must be readable by the server user

usage() {
  cat <<'EOF'
Usage: scripts/dev.sh [--help]

Starts a local molt-lms deployment and keeps it running until Ctrl-C or SIGTERM:
  1. installs what is missing via apt-get (postgresql, postgresql-client, postgresql-contrib)
     and builds the proxy, orchestrator and CLI with cargo;
  2. starts two PostgreSQL clusters of its own (highest installed version): source
     (wal_level=logical) and target, which stands in for CockroachDB (--target-dialect
     cockroach). A server already running on the machine (e.g. on 5432) is never touched;
  3. creates role `app` (password `app`) and database `app` on both; the target gets the
     source's SCRAM verifier as is, so proxy logins keep working after a cutover;
  4. writes a random control-plane token to .local/dev/control-token (mode 0600, kept
     between runs), starts molt-lms-orchestrator on 127.0.0.1:4200 (metadata in the
     target's postgres database) requiring that token, and initializes its metadata tables
     and the replication sentinel (SOURCE_URL/TARGET_URL: database app on each cluster);
  5. the first time: pgbench's tables in app on both (rows on the source) and logical
     replication of them and molt_lms.replication_sentinel, source -> target (molt_demo);
  6. writes .local/dev/config.json (INIT_SOURCE/INIT_TARGET as superuser postgres/postgres,
     the proxy's service user) and starts molt-lms, registered with the orchestrator, then
     prints how to connect and how to run a cutover with molt-lms-cli.
On exit the proxy gets SIGTERM, then both clusters get `pg_ctl stop -m fast`.
State lives in .local/dev/ and is reused between runs (initdb only the first time). As root
the servers run as user postgres; if it cannot reach the repository (e.g. under /root), the
clusters live in /var/tmp/molt-lms-dev/ instead. Logs: <data>/run/*.log, <.local/dev>/*.log.

Environment:
  SOURCE_PORT=15432  TARGET_PORT=15433    ports of the two clusters (127.0.0.1 only)
  LMS_PORT=9043      LMS_METRICS_PORT=9044 proxy SQL port and metrics/health port
  LMS_CONTROL_PORT=9045                    proxy control API port (needs the token)
  PROFILE=debug      cargo profile to build and run (e.g. PROFILE=release)
  DEV_SKIP_BUILD=1   run the existing target/<profile>/molt-lms without cargo build
  DEV_EXIT_AFTER_READY=1  stop everything and exit right after the banner (CI smoke test)
  DEV_DEMO=1              run the banner's migration (verify --live once the first copy is
                          done, then pgbench, check, begin, commit --wait-for-replication)
                          on throwaway clusters, check it, then stop (CI)
  LMS_READY_TIMEOUT=60    seconds to wait for the proxy's "molt-lms ready" line
  Other LMS_* variables (e.g. LMS_SHADOW_MODE=async) pass through to molt-lms; INIT_SOURCE
  and INIT_TARGET are cleared so that the proxy always uses the local clusters.
EOF
}
case "$*" in -h | --help) usage && exit 0 ;; '') ;; *) usage >&2 && exit 2 ;; esac

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEV=$REPO/.local/dev # config.json and the proxy log; cluster data too unless relocated
SOURCE_PORT=${SOURCE_PORT:-15432} TARGET_PORT=${TARGET_PORT:-15433}
LMS_PORT=${LMS_PORT:-9043} LMS_METRICS_PORT=${LMS_METRICS_PORT:-9044} LMS_CONTROL_PORT=${LMS_CONTROL_PORT:-9045}
TOKEN_FILE=$DEV/control-token
PROFILE=${PROFILE:-debug}
BIN_DIR=${CARGO_TARGET_DIR:-$REPO/target}/$PROFILE
PROXY_PID='' TAIL_PID='' ORCH_PID='' STARTED=() PROXY_ARGS=() DEMO_ROOT=

say() { printf '==> %s\n' "$*"; }
die() { printf 'dev.sh: error: %s\n' "$*" >&2; exit 1; }
# A TCP connect to 127.0.0.1 succeeds iff something listens there (also on 0.0.0.0).
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# Unreaped children are zombies: /proc still lists them, so look at the state too.
alive() { [[ -r /proc/$1/status ]] && ! grep -qs '^State:.*zombie' "/proc/$1/status"; }
# PostgreSQL refuses to run as root; run server tools as `postgres` then (from /, which it can read).
as_pg() { if ((EUID == 0)); then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }

install_packages() {
  command -v dpkg-query >/dev/null || return 0 # not Debian: expect PostgreSQL to be installed
  local pkg missing=() sudo=()
  for pkg in postgresql postgresql-client postgresql-contrib; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  ((EUID == 0)) || sudo=(sudo)
  say "installing ${missing[*]}"
  "${sudo[@]}" apt-get update
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
}

build_proxy() {
  [[ ${DEV_SKIP_BUILD:-0} == 1 ]] && return 0
  command -v cargo >/dev/null || die "cargo not found: install Rust >= 1.85 with rustup (Debian's rustc is too old)"
  local flags=()
  [[ $PROFILE == debug ]] || flags=(--profile "$PROFILE")
  say "cargo build -p molt-lms -p molt-lms-orchestrator -p molt-lms-cli ${flags[*]}"
  (cd "$REPO" && cargo build -p molt-lms -p molt-lms-orchestrator -p molt-lms-cli "${flags[@]}")
}

# Debian keeps server binaries in /usr/lib/postgresql/<ver>/bin; take the highest version.
find_pgbin() { # (the loop variable lives in the subshell only)
  PGBIN=$(for d in /usr/lib/postgresql/*/bin; do [[ -x $d/initdb ]] && echo "$d"; done | sort -V | tail -n1)
  [[ -n $PGBIN ]] || PGBIN=$(dirname "$(command -v initdb || echo /nonexistent/initdb)")
  [[ -x $PGBIN/initdb ]] || die "no initdb found (install postgresql)"
  PGVER=$("$PGBIN/initdb" --version | grep -o '[0-9]\+' | head -n1)
}

# Where cluster data goes. As root the servers run as `postgres`, which must traverse every
# parent directory: we open up the ones inside the repo, but not e.g. /root above it.
choose_data_root() {
  mkdir -p "$DEV"
  # The demo needs fresh clusters (the source as the source of truth): throwaway ones.
  if [[ ${DEV_DEMO:-0} == 1 ]]; then
    PGROOT=$(mktemp -d /var/tmp/molt-lms-demo.XXXXXX) && chmod 755 "$PGROOT" && DEMO_ROOT=$PGROOT
    return 0
  fi
  PGROOT=$DEV
  ((EUID == 0)) || return 0
  if runuser -u postgres -- test -x "$(dirname "$REPO")"; then
    chmod o+x "$REPO" "$REPO/.local" "$DEV"
  else
    PGROOT=/var/tmp/molt-lms-dev && mkdir -p "$PGROOT"
    say "user postgres cannot reach $REPO; keeping the cluster data in $PGROOT instead"
  fi
}

# start_cluster NAME PORT EXTRA_SETTINGS: initdb on first use, (re)write dev.conf, start.
start_cluster() {
  local name=$1 port=$2 extra=$3 dir=$PGROOT/$1 run=$PGROOT/run
  mkdir -p "$run" "$dir"
  ((EUID == 0)) && chown postgres: "$run" "$dir"
  if [[ ! -f $dir/PG_VERSION ]]; then
    say "initdb $name cluster in $dir"
    printf 'postgres\n' >"$run/pwfile" && chmod 644 "$run/pwfile"
    as_pg "$PGBIN/initdb" -D "$dir" -A trust --auth-host=scram-sha-256 -U postgres \
      --pwfile="$run/pwfile" --encoding=UTF8 --locale=C.UTF-8 >"$run/initdb-$name.log" ||
      { cat "$run/initdb-$name.log" >&2; die "initdb of $name failed"; }
    rm -f "$run/pwfile"
    echo "include_if_exists = 'dev.conf'" >>"$dir/postgresql.conf"
  fi
  [[ $(cat "$dir/PG_VERSION") == "$PGVER" ]] ||
    die "$dir was created by PostgreSQL $(cat "$dir/PG_VERSION"), but $PGBIN is $PGVER; remove it to start afresh"
  # Rewritten every run so that port changes (SOURCE_PORT/TARGET_PORT) take effect.
  printf "port = %s\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\n%s" \
    "$port" "$run" "$extra" >"$dir/dev.conf"
  if as_pg "$PGBIN/pg_ctl" -D "$dir" status >/dev/null; then
    say "$name cluster already running (left over from an earlier run); reusing it"
  else
    port_busy "$port" && die "port $port for the $name cluster is taken; set ${name^^}_PORT to a free port"
    as_pg "$PGBIN/pg_ctl" -D "$dir" -l "$run/$name.log" -w -t 60 start >/dev/null ||
      { tail -n 20 "$run/$name.log" >&2; die "$name cluster did not start (log: $run/$name.log)"; }
  fi
  STARTED+=("$dir")
  say "$name cluster: PostgreSQL $PGVER on 127.0.0.1:$port ($dir)"
}

# Administrative SQL goes over the unix socket, where initdb -A trust lets postgres in.
sql() { local port=$1; shift; "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PGROOT/run" -p "$port" -U postgres -d postgres "$@"; }

# Role and database `app` on both sides; the target gets the source's SCRAM verifier verbatim
# (PostgreSQL stores a pre-hashed verifier as is), as a real migration would copy it.
setup_roles() {
  sql "$SOURCE_PORT" <<'SQL'
SET password_encryption = 'scram-sha-256';
SELECT 'CREATE ROLE app LOGIN PASSWORD ''app''' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'app')\gexec
SELECT 'CREATE DATABASE app OWNER app' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'app')\gexec
SQL
  local verifier
  verifier=$(sql "$SOURCE_PORT" -tA -c "SELECT rolpassword FROM pg_authid WHERE rolname = 'app'")
  [[ $verifier == SCRAM-SHA-256\$* ]] || die "role app on the source has no SCRAM verifier"
  sql "$TARGET_PORT" -v verifier="$verifier" <<'SQL'
SELECT format('CREATE ROLE app LOGIN PASSWORD %L', :'verifier') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'app')\gexec
SELECT format('ALTER ROLE app LOGIN PASSWORD %L', :'verifier')\gexec
SELECT 'CREATE DATABASE app OWNER app' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'app')\gexec
SQL
}

# ---- control-plane token --------------------------------------------------------------------
# Every component and the CLI present it; generated once, readable by the owner only.
make_token() {
  [[ -s $TOKEN_FILE ]] && return 0
  (umask 077 && od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$TOKEN_FILE")
}

# ---- orchestrator --------------------------------------------------------------------------
# Started before the proxy, which registers with it and learns the source of truth from it.
start_orchestrator() {
  local bin=$BIN_DIR/molt-lms-orchestrator
  [[ -x $bin ]] || return 0
  port_busy 4200 && die "port 4200 for the orchestrator is taken"
  cat >"$DEV/orchestrator.json" <<EOF
{"LMS_URL": "postgresql://app:app@127.0.0.1:$LMS_PORT/app",
 "CRDB_URL": "postgresql://postgres:postgres@127.0.0.1:$TARGET_PORT/postgres?sslmode=disable",
 "SOURCE_URL": "postgresql://postgres:postgres@127.0.0.1:$SOURCE_PORT/app?sslmode=disable",
 "TARGET_URL": "postgresql://postgres:postgres@127.0.0.1:$TARGET_PORT/app?sslmode=disable"}
EOF
  "$bin" --config "$DEV/orchestrator.json" --listen 127.0.0.1:4200 --metrics-listen 127.0.0.1:4201 \
    --control-token-file "$TOKEN_FILE" >"$DEV/orchestrator.log" 2>&1 & ORCH_PID=$!
  for _ in {1..50}; do port_busy 4200 && break; sleep 0.2; done # listening before the proxy registers
  "$BIN_DIR/molt-lms-cli" --orchestrator-url http://127.0.0.1:4200 --control-token-file "$TOKEN_FILE" initialize >/dev/null ||
    die "molt-lms-cli initialize failed (log: $DEV/orchestrator.log)"
  PROXY_ARGS+=(--orchestrator-url http://127.0.0.1:4200)
}
# --------------------------------------------------------------------------------------------

# ---- replication demo -----------------------------------------------------------------------
# pgbench's tables in `app` on both sides (rows on the source only) and PostgreSQL logical
# replication of them, with the orchestrator's replication sentinel, from the source to the
# target: a cutover then lands on a target that has the data, and `commit
# --wait-for-replication` can check it. Set up once (after `initialize` made the sentinel);
# kept between runs.
app_sql() { local port=$1; shift; "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PGROOT/run" -p "$port" -U postgres -d app "$@"; }
setup_replication() {
  [[ -n $ORCH_PID ]] || return 0
  [[ $(app_sql "$TARGET_PORT" -tA -c "SELECT count(*) FROM pg_subscription WHERE subname = 'molt_demo'") == 1 ]] && return 0
  say "demo schema (pgbench -i -s 1) and logical replication of app: source -> target"
  local pgbench=("$PGBIN/pgbench" -h 127.0.0.1 -U app app)
  PGPASSWORD=app "${pgbench[@]}" -p "$SOURCE_PORT" -q -i -s 1 >"$DEV/pgbench-init.log" 2>&1 ||
    { cat "$DEV/pgbench-init.log" >&2; die "pgbench -i on the source failed"; }
  PGPASSWORD=app "${pgbench[@]}" -p "$TARGET_PORT" -q -i -I dtp >>"$DEV/pgbench-init.log" 2>&1 ||
    { cat "$DEV/pgbench-init.log" >&2; die "creating pgbench's tables on the target failed"; }
  app_sql "$SOURCE_PORT" -c "CREATE PUBLICATION molt_demo FOR TABLE pgbench_accounts, pgbench_branches, pgbench_tellers, pgbench_history, molt_lms.replication_sentinel"
  app_sql "$TARGET_PORT" -c "CREATE SUBSCRIPTION molt_demo CONNECTION 'host=127.0.0.1 port=$SOURCE_PORT user=postgres password=postgres dbname=app' PUBLICATION molt_demo"
}

start_proxy() {
  local bin=$BIN_DIR/molt-lms log=$DEV/molt-lms.log deadline p
  [[ -x $bin ]] || die "$bin not found (build it: cargo build -p molt-lms; or unset DEV_SKIP_BUILD)"
  for p in "$LMS_PORT" "$LMS_METRICS_PORT" "$LMS_CONTROL_PORT"; do port_busy "$p" && die "port $p is taken; set LMS_PORT/LMS_METRICS_PORT/LMS_CONTROL_PORT"; done
  cat >"$DEV/config.json" <<EOF
{"INIT_SOURCE": "postgresql://postgres:postgres@127.0.0.1:$SOURCE_PORT/postgres?sslmode=disable",
 "INIT_TARGET": "postgresql://postgres:postgres@127.0.0.1:$TARGET_PORT/postgres?sslmode=disable"}
EOF
  env -u INIT_SOURCE -u INIT_TARGET "$bin" --config "$DEV/config.json" \
    --listen "127.0.0.1:$LMS_PORT" --metrics-listen "127.0.0.1:$LMS_METRICS_PORT" \
    --control-listen "127.0.0.1:$LMS_CONTROL_PORT" --control-token-file "$TOKEN_FILE" \
    --target-dialect cockroach "${PROXY_ARGS[@]}" >"$log" 2>&1 & PROXY_PID=$!
  deadline=$((SECONDS + ${LMS_READY_TIMEOUT:-60}))
  until grep -q '^molt-lms ready ' "$log"; do
    { alive "$PROXY_PID" && ((SECONDS < deadline)); } ||
      { cat "$log" >&2; die "molt-lms did not become ready (log above: $log)"; }
    sleep 0.2
  done
}

banner() {
  local app="postgresql://app:app@127.0.0.1:$LMS_PORT/app" su="postgresql://postgres:postgres@127.0.0.1"
  cat <<EOF
molt-lms is up: $(grep -m1 '^molt-lms ready ' "$DEV/molt-lms.log")
  through the proxy:  psql "$app"
  load:               pgbench -T 10 "$app"                         (pgbench's tables are replicated)
  metrics:            curl -s localhost:$LMS_METRICS_PORT/metrics
  control API:        curl -s -H "Authorization: Bearer \$(cat $TOKEN_FILE)" localhost:$LMS_CONTROL_PORT/api/v1/status
  source directly:    psql "$su:$SOURCE_PORT/app"
  target directly:    psql "$su:$TARGET_PORT/app"
  proxy log:          $DEV/molt-lms.log
EOF
  [[ -z $ORCH_PID ]] || cat <<EOF
  orchestrator:       http://127.0.0.1:4200 (log: $DEV/orchestrator.log)
  dashboard:          http://127.0.0.1:4200/ in a browser; paste the token from $TOKEN_FILE
  cutover:            export CLI_ORCHESTRATOR_URL=http://127.0.0.1:4200 CLI_CONTROL_TOKEN_FILE=$TOKEN_FILE
                      $BIN_DIR/molt-lms-cli status
                      $BIN_DIR/molt-lms-cli roles sync --dry-run        (what would be copied)
                      $BIN_DIR/molt-lms-cli roles sync                  (copy verifiers to the target)
                      $BIN_DIR/molt-lms-cli verify --live               (does the target hold the source's rows?)
                      $BIN_DIR/molt-lms-cli cutover check               (would a commit succeed?)
                      $BIN_DIR/molt-lms-cli cutover consistent begin    (then: commit, or abort)
  replication:        app on the source -> app on the target (logical; publication molt_demo:
                      pgbench's tables and molt_lms.replication_sentinel)
  a migration:        $BIN_DIR/molt-lms-cli verify --live               (table by table, before the load)
                      pgbench -T 60 -c 4 "$app" &                       (load through the proxy)
                      $BIN_DIR/molt-lms-cli cutover check
                      $BIN_DIR/molt-lms-cli cutover consistent begin
                      $BIN_DIR/molt-lms-cli cutover consistent commit --wait-for-replication
                      psql "$app" -Atc 'SELECT inet_server_port()'       ($TARGET_PORT: the target now)
EOF
  echo "Ctrl-C stops everything."
}

# The subscription has copied every table it replicates (state r, ready); polled.
wait_first_copy() {
  local deadline=$((SECONDS + 120)) pending
  while :; do
    pending=$(app_sql "$TARGET_PORT" -tA -c "SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'")
    [[ $pending == 0 ]] && return 0
    ((SECONDS < deadline)) || die "the subscription molt_demo has not copied its tables within 120 s ($pending left)"
    sleep 0.2
  done
}

# DEV_DEMO=1: the banner's migration, run for real (CI's smoke test of the demo): verify
# --live once replication's first copy is done (it must find no difference), then pgbench
# through the proxy, and during it cutover check, begin and commit --wait-for-replication;
# then every pgbench transaction must have succeeded and the proxy must serve the target.
demo() {
  local cli=("$BIN_DIR/molt-lms-cli" --orchestrator-url http://127.0.0.1:4200 --control-token-file "$TOKEN_FILE")
  local app="postgresql://app:app@127.0.0.1:$LMS_PORT/app" log=$DEV/demo-pgbench.log load port i
  [[ -n $ORCH_PID ]] || die "DEV_DEMO needs the orchestrator"
  "${cli[@]}" status -o json | grep -q '"source_of_truth": *"source"' ||
    die "DEV_DEMO needs the source as the source of truth: remove .local/dev (and the cluster data) to start over"
  say "demo: waiting for the subscription's first copy, then verify --live"
  wait_first_copy
  "${cli[@]}" verify --live || die "verify found the target different from the source (or could not compare them)"
  say "demo: pgbench -c 4 through the proxy; cutover check, begin, commit --wait-for-replication"
  "$PGBIN/pgbench" -n -c 4 -T 25 -P 1 "$app" >"$log" 2>&1 & load=$!
  for ((i = 0; i < 100; i++)); do grep -q '^progress:' "$log" && break; alive "$load" || break; sleep 0.2; done
  grep -q '^progress:' "$log" || { cat "$log" >&2; die "pgbench did not start"; }
  "${cli[@]}" cutover check
  "${cli[@]}" cutover consistent begin
  "${cli[@]}" cutover consistent commit --wait-for-replication=60s
  port=$("$PGBIN/psql" -X -Atc 'SELECT inet_server_port()' "$app")
  [[ $port == "$TARGET_PORT" ]] || die "after the commit the proxy serves port $port, not the target's $TARGET_PORT"
  wait "$load" || { cat "$log" >&2; die "pgbench failed during the cutover"; }
  grep -E '^number of (failed|transactions actually processed)' "$log" || true
  grep -q '^number of failed transactions: 0' "$log" || ! grep -q '^number of failed' "$log" ||
    { cat "$log" >&2; die "pgbench saw failed transactions"; }
  say "demo: committed with pgbench running, no client error; the proxy now serves the target"
}

# Stop PID with SIGTERM and reap it; SIGKILL after the proxy's 30s default shutdown timeout + slack.
stop_pid() {
  local pid=$1 name=$2 i
  [[ -n $pid ]] && alive "$pid" || return 0
  say "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 200; i++)); do alive "$pid" || break; sleep 0.2; done
  alive "$pid" && { say "$name did not stop; killing it"; kill -KILL "$pid" 2>/dev/null || true; }
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$? dir
  trap '' INT TERM # finish stopping things even if Ctrl-C is pressed again
  [[ -n $TAIL_PID ]] && { kill "$TAIL_PID" 2>/dev/null || true; wait "$TAIL_PID" 2>/dev/null || true; }
  stop_pid "$PROXY_PID" molt-lms
  stop_pid "$ORCH_PID" molt-lms-orchestrator
  for dir in "${STARTED[@]}"; do
    say "stopping cluster $dir"
    as_pg "$PGBIN/pg_ctl" -D "$dir" -m fast -w stop >/dev/null || true
  done
  [[ -z $DEMO_ROOT ]] || rm -rf "$DEMO_ROOT"
  exit "$rc"
}

main() {
  trap cleanup EXIT
  trap 'exit 130' INT && trap 'exit 143' TERM # both end up in cleanup through the EXIT trap
  install_packages
  build_proxy
  find_pgbin
  choose_data_root
  start_cluster source "$SOURCE_PORT" $'wal_level = logical\nmax_replication_slots = 10\nmax_wal_senders = 10\n'
  start_cluster target "$TARGET_PORT" ''
  setup_roles
  make_token
  start_orchestrator
  setup_replication
  start_proxy
  banner
  [[ ${DEV_DEMO:-0} == 1 ]] && { demo; exit 0; }
  [[ ${DEV_EXIT_AFTER_READY:-0} == 1 ]] && exit 0
  # Follow the proxy log until the proxy exits or a signal arrives (the trap then runs cleanup).
  tail -n 0 -f "$DEV/molt-lms.log" & TAIL_PID=$!
  local rc=0
  wait "$PROXY_PID" || rc=$?
  PROXY_PID='' # already reaped
  die "molt-lms exited on its own with status $rc (log: $DEV/molt-lms.log)"
}

main
