#!/usr/bin/env bash
# `make bench`: pgbench through four PostgreSQL-protocol paths on this machine, interleaved.
#
#   direct     the benchmark's own PostgreSQL cluster (never the server on 5432)
#   socat      a plain TCP relay: the floor cost of one extra hop
#   pgbouncer  PgBouncer in session mode
#   proxy      target/release/molt-lms (source = target = the same cluster)
#
# Knobs (environment; defaults in brackets):
#   SECTIONS ["matrix shadow tracing mysql cutover idle scale"]: which measurements run (any subset; always in
#     this order)
#   WORKLOADS ["S tpcb"]  CLIENTS ["1 8 32 64 128"]  MODES ["simple extended prepared"]   (matrix)
#   T [15] seconds per run   REPS [2]   J [2] pgbench threads   SKIP_BUILD=1 skips cargo build
#   PROXY_BIN [target/release/molt-lms]: benchmark another build of the proxy (implies no cargo build)
#   PROXY_ARGS []: more options for the matrix's proxy, one per word (e.g. "--workers 1")
#   PROXY_B_BIN []: a second build of the proxy, run in every matrix cell as target `proxy_b` right
#     after `proxy` (same PROXY_ARGS): an interleaved A/B of two builds; results.md adds a table of
#     the two side by side
#   SYSCALLS_T [3]: per matrix cell, in repetition 1, a run this many seconds long through PgBouncer
#     and through the proxy (and proxy_b) whose system calls `perf stat` counts (all, epoll waits,
#     recvfrom + sendto) for results.md's per-transaction table; 0 skips it. Apart from the timed
#     runs: a counted system call is slower. Needs linux-perf and root; otherwise not measured.
#   ORCH_BIN [target/release/molt-lms-orchestrator]: the orchestrator for the mysql, cutover, idle and scale sections
#   OUTDIR [bench-out]: results.md, results.json, results.raw (matrix RESULT lines), sections/ (the
#     other sections' raw results) and logs/ (all cleared each run)
#   shadow:  SHADOW_CELLS ["S:8:extended tpcb:8:simple"] (workload:clients:mode); T and REPS as above
#   tracing: TRACING_CELLS ["S:8:extended tpcb:8:simple"] (workload:clients:mode); T and REPS as above
#   cutover: CUTOVER_T [20] s of pgbench  CUTOVER_CLIENTS [32]  CUTOVER_PROXIES [3]
#            CUTOVER_BEGIN_AT [CUTOVER_T/3] s into the run  CUTOVER_HOLD_MS [0] between pause and commit
#   idle:    IDLE_CONNS [10000] pre-startup connections  IDLE_SESSIONS [200] authenticated sessions
#            IDLE_T [min(T,30), at most 40] s per pgbench run beside/without them; REPS as above
#            IDLE_AUTH_SESSIONS [9000] authenticated sessions through PgBouncer (transaction pooling;
#            0 skips them; at most (fd hard limit - 256) / 2)  IDLE_AUTH_HOLD [40] s they are held
#   scale:   SCALE_PROXIES [32] idle proxies on one orchestrator  SCALE_ROUNDS [5] begin -> commit rounds
#   BENCH_GRACE [30]: a section's pgbench still running this long after its -T ended is killed (failed)
#   PLAN_ONLY=1: print the plan (what runs, how long) and exit
# Quick run:  T=3 REPS=1 CLIENTS=8 MODES=simple WORKLOADS=S make bench
#             (add IDLE_CONNS=2000 CUTOVER_T=12 to shorten the sections; SECTIONS=matrix: the matrix only)
#
# matrix: every cell (workload, clients, mode) runs direct, socat, pgbouncer, proxy in turn, once
#   per repetition (A B C D, A B C D, ...), so the machine's drift hits all targets alike.
# shadow: pgbench direct and through four proxies with --shadow-mode none, async, sync and
#   strict-sync against a second cluster, interleaved the same way (bench/shadow.sh).
# tracing: pgbench direct and through three proxies with query tracing off (no OTLP endpoint), at
#   the default ratio (LMS_TRACE_QUERIES=0.01) and at 1, each traced one exporting to an OTLP sink
#   of the section's own (bench/otlp_sink.py), interleaved the same way (bench/tracing.sh).
# mysql: sysbench oltp_read_only and oltp_point_select at 1 and 8 threads on a MariaDB of its own,
#   direct, through socat and through the proxy (--source-dialect mysql); through a second proxy
#   cut over to PostgreSQL (`after`: its MySQL -> PostgreSQL gateway, the same tables copied there),
#   and with sysbench's pgsql driver straight at PostgreSQL (`pgdirect`), interleaved (bench/mysql.sh).
#   MYSQL_WORKLOADS, MYSQL_THREADS, MYSQL_TABLES [4], MYSQL_TABLE_SIZE [10000]; T and REPS as above.
# cutover: 32 pgbench clients over 3 proxies and a consistent cutover under load (bench/cutover.sh).
# idle: the proxy's RSS and CPU with IDLE_CONNS idle connections, pgbench beside them, the cutover
#   pause with them held; the same for IDLE_SESSIONS authenticated idle sessions, and for
#   IDLE_AUTH_SESSIONS of them on a proxy whose backend is a PgBouncer in transaction pooling mode
#   in front of the bench cluster (bench/idle.sh).
# Exits non-zero when any pgbench run or any section failed (after writing the results).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=$ROOT/bench
cd "$ROOT"

WORKLOADS=${WORKLOADS:-"S tpcb"}
CLIENTS=${CLIENTS:-"1 8 32 64 128"}
MODES=${MODES:-"simple extended prepared"}
T=${T:-15}
REPS=${REPS:-2}
J=${J:-2}
SKIP_BUILD=${SKIP_BUILD:-}
PROXY_BIN=${PROXY_BIN:-}
PROXY_B_BIN=${PROXY_B_BIN:-}
SYSCALLS_T=${SYSCALLS_T:-3}
OUTDIR=${OUTDIR:-$ROOT/bench-out}
SECTIONS=${SECTIONS:-"matrix shadow tracing mysql cutover idle scale"}
ORCH_BIN=${ORCH_BIN:-$ROOT/target/release/molt-lms-orchestrator}
TARGETS=(direct socat pgbouncer proxy)
[[ -z $PROXY_B_BIN ]] || TARGETS+=(proxy_b)
PASSWORD=bench
READY_TIMEOUT=30 # seconds, for every server to come up

# The shared pgbench driver, extended here: it also reports the intermediary's CPU split into
# user and kernel time and its wake-ups (voluntary context switches).
BENCH_PG=$BENCH_DIR/bench_pg.sh

# Nothing from the caller's libpq environment may redirect a run.
unset PGHOST PGHOSTADDR PGPORT PGDATABASE PGSERVICE PGOPTIONS PGSSLMODE PROXY_PID
# Nor may it turn tracing on, or change it, in any proxy: the tracing section sets it per proxy.
unset "${!OTEL_@}" LMS_TRACE_QUERIES
export PGUSER=postgres PGPASSWORD=$PASSWORD

log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
# Inside a section (bench/sections.sh) the reason is also recorded for results.md.
die() {
  log "ERROR: $*"
  [[ -z ${SECTION:-} ]] || printf '%s\n' "$*" >>"$SECDIR/$SECTION.err"
  exit 1
}

SUDO=()
[[ $EUID -eq 0 ]] || SUDO=(sudo)
# initdb, pg_ctl, postgres and pgbouncer refuse to run as root.
as_pg() { if [[ $EUID -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# ---------------------------------------------------------------------------------------------
# 1. Packages and the proxy binary
# ---------------------------------------------------------------------------------------------
install_missing() {
  local missing=() p
  for p in pgbouncer socat postgresql postgresql-contrib; do
    [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == "install ok installed" ]] || missing+=("$p")
  done
  command -v python3 >/dev/null || missing+=(python3)
  ((${#missing[@]} == 0)) || {
    log "installing ${missing[*]}"
    "${SUDO[@]}" apt-get update -q >&2
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2
  }
  # perf only counts system calls (SYSCALLS_T); without it they are not measured, nothing fails.
  if wants matrix && [[ $SYSCALLS_T != 0 ]] && ! command -v perf >/dev/null; then
    log "installing linux-perf (system calls per transaction)"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q linux-perf >&2 ||
      log "linux-perf could not be installed"
  fi
}

# Whether perf can count this machine's syscall tracepoints (root, tracefs, linux-perf).
can_count_syscalls() {
  command -v perf >/dev/null &&
    perf stat -x, -o /dev/null -e raw_syscalls:sys_enter,syscalls:sys_enter_epoll_wait true 2>/dev/null
}

build_proxy() {
  if [[ -n $PROXY_BIN ]]; then
    PROXY_BIN=$(realpath "$PROXY_BIN")
    log "PROXY_BIN set: benchmarking $PROXY_BIN, no build"
    [[ -x $PROXY_BIN ]] || die "$PROXY_BIN is not executable"
    return
  elif [[ $SKIP_BUILD == 1 ]]; then
    log "SKIP_BUILD=1: using the existing target/release/molt-lms"
  else
    local pkgs=(-p molt-lms)
    if wants mysql || wants cutover || wants idle || wants scale; then pkgs+=(-p molt-lms-orchestrator); fi
    log "cargo build --release ${pkgs[*]}"
    cargo build --release "${pkgs[@]}"
  fi
  PROXY_BIN=$ROOT/target/release/molt-lms
  [[ -x $PROXY_BIN ]] || die "$PROXY_BIN not found (build it, or unset SKIP_BUILD)"
}

check_proxy_b() {
  [[ -z $PROXY_B_BIN ]] && return
  PROXY_B_BIN=$(realpath "$PROXY_B_BIN")
  [[ -x $PROXY_B_BIN ]] || die "PROXY_B_BIN: $PROXY_B_BIN is not executable"
  log "PROXY_B_BIN set: $PROXY_B_BIN runs as target proxy_b in every matrix cell"
}

# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------
# N distinct free loopback ports, all held open while choosing so that they differ.
free_ports() {
  python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

# Waits until `SELECT 1` succeeds through PORT (proves listening and authentication), bounded.
wait_sql() { # port label
  local port=$1 label=$2 deadline=$((SECONDS + READY_TIMEOUT)) out
  until out=$("$PGBIN/psql" -h 127.0.0.1 -p "$port" -d bench -XAtqc 'SELECT 1' 2>&1) && [[ $out == 1 ]]; do
    ((SECONDS < deadline)) || die "$label on port $port does not answer SELECT 1 after ${READY_TIMEOUT}s: $out"
    sleep 0.3
  done
  log "$label ready on 127.0.0.1:$port"
}

alive() { [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null; }

# Every intermediary runs in a session of its own, as PgBouncer (-d) and PostgreSQL (pg_ctl)
# already do. With the kernel's autogroup scheduling (/proc/sys/kernel/sched_autogroup_enabled),
# a process left in this script's session shares one CPU group with pgbench: measured that way,
# the proxy and socat were preempted twice as often as PgBouncer and lost about 10 % of the
# 32-client throughput to the set-up, not to their own cost. `setsid` does not fork here (the
# script runs without job control), so $! stays the server's pid; own_session_check proves it.
own_session_check() { # pid label
  local sid
  sid=$(ps -o sid= -p "$1" 2>/dev/null | tr -d ' ')
  [[ $sid == "$1" ]] || die "$2 (pid $1) is not in a session of its own (sid ${sid:-none})"
}

# Sends TERM to PID, waits up to SECS, then KILL.
stop_pid() { # pid secs
  local pid=$1 secs=$2 i
  alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < secs * 10; i++)); do alive "$pid" || return 0; sleep 0.1; done
  log "pid $pid still alive after ${secs}s, killing"
  kill -KILL "$pid" 2>/dev/null || true
}

# ---------------------------------------------------------------------------------------------
# 2. PostgreSQL cluster of our own
# ---------------------------------------------------------------------------------------------
# initdb (password $PASSWORD for postgres over TCP) and start; the caller stops it.
create_cluster() { # datadir port logfile max_connections label
  local data=$1 port=$2 logf=$3 maxconn=$4 label=$5
  log "initdb in $data ($PGBIN)"
  as_pg "$PGBIN/initdb" -D "$data" -A trust --auth-host=scram-sha-256 -U postgres \
    --pwfile="$WORK/pwfile" >"$data.initdb.log" 2>&1 || { cat "$data.initdb.log" >&2; die "initdb failed ($label)"; }
  cat >>"$data/postgresql.conf" <<EOF

# molt-lms bench
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$WORK'
max_connections = $maxconn
shared_buffers = 256MB
fsync = off
synchronous_commit = off
EOF
  as_pg "$PGBIN/pg_ctl" -D "$data" -l "$logf" -w -t "$READY_TIMEOUT" start >/dev/null ||
    { tail -20 "$logf" >&2; die "PostgreSQL did not start ($label)"; }
}

# Database bench with pgbench's tables at scale 10.
init_bench_db() { # port logfile
  "$PGBIN/psql" -h 127.0.0.1 -p "$1" -d postgres -XAtqc 'CREATE DATABASE bench' >/dev/null
  log "pgbench -i -s 10 bench (port $1)"
  "$PGBIN/pgbench" -h 127.0.0.1 -p "$1" -i -s 10 bench >"$2" 2>&1 ||
    { tail -20 "$2" >&2; die "pgbench -i failed (port $1)"; }
}

start_postgres() {
  PGBIN=$(for d in /usr/lib/postgresql/*/bin; do [[ -x $d/initdb ]] && echo "$d"; done | sort -V | tail -1)
  [[ -n $PGBIN ]] || die "no /usr/lib/postgresql/<ver>/bin/initdb"
  export PGBIN
  WORK=$(mktemp -d /tmp/molt-bench.XXXXXX)
  # One control-plane token for every proxy, orchestrator and lms.py call of this run.
  export MOLT_CONTROL_TOKEN_FILE=$WORK/control-token
  (umask 077 && od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$MOLT_CONTROL_TOKEN_FILE")
  chmod 755 "$WORK"
  PGDATA_DIR=$WORK/data
  TARGET_DIR=$WORK/target # the second cluster, created by the first section that needs it
  printf '%s\n' "$PASSWORD" >"$WORK/pwfile"
  [[ $EUID -eq 0 ]] && chown postgres: "$WORK" "$WORK/pwfile"
  # The idle section holds IDLE_SESSIONS more backends on this cluster.
  # 128 matrix clients through one target while PgBouncer keeps up to 128 idle server
  # connections of its session pool.
  local maxconn=400
  if wants idle && ((IDLE_SESSIONS + 100 > maxconn)); then maxconn=$((IDLE_SESSIONS + 100)); fi
  create_cluster "$PGDATA_DIR" "$PG_PORT" "$WORK/postgres.log" "$maxconn" bench
  PG_STARTED=1
  PG_VERSION=$("$PGBIN/psql" -h 127.0.0.1 -p "$PG_PORT" -d postgres -XAtqc 'SHOW server_version')
  log "PostgreSQL $PG_VERSION on 127.0.0.1:$PG_PORT"
  init_bench_db "$PG_PORT" "$OUTDIR/logs/pgbench-init.log"
}

# ---------------------------------------------------------------------------------------------
# 3. The three intermediaries
# ---------------------------------------------------------------------------------------------
start_socat() {
  setsid socat "TCP-LISTEN:$SOCAT_PORT,fork,reuseaddr,nodelay,bind=127.0.0.1" "TCP:127.0.0.1:$PG_PORT,nodelay" \
    >"$OUTDIR/logs/socat.log" 2>&1 </dev/null &
  SOCAT_PID=$!
  own_session_check "$SOCAT_PID" socat
}

start_pgbouncer() {
  local ini=$WORK/pgbouncer.ini
  printf '"postgres" "%s"\n' "$PASSWORD" >"$WORK/userlist.txt"
  cat >"$ini" <<EOF
[databases]
bench = host=127.0.0.1 port=$PG_PORT dbname=bench

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $BOUNCER_PORT
unix_socket_dir =
pool_mode = session
auth_type = scram-sha-256
auth_file = $WORK/userlist.txt
max_client_conn = 1000
default_pool_size = 200
logfile = $WORK/pgbouncer.log
pidfile = $WORK/pgbouncer.pid
EOF
  [[ $EUID -eq 0 ]] && chown postgres: "$ini" "$WORK/userlist.txt"
  chmod 600 "$WORK/userlist.txt"
  as_pg "$(command -v pgbouncer || echo /usr/sbin/pgbouncer)" -d "$ini" >"$OUTDIR/logs/pgbouncer.stdout" 2>&1 ||
    { cat "$OUTDIR/logs/pgbouncer.stdout" "$WORK/pgbouncer.log" >&2 2>/dev/null; die "pgbouncer did not start"; }
  local deadline=$((SECONDS + READY_TIMEOUT))
  until [[ -s $WORK/pgbouncer.pid ]]; do
    ((SECONDS < deadline)) || die "pgbouncer wrote no pidfile"
    sleep 0.1
  done
  BOUNCER_PID=$(<"$WORK/pgbouncer.pid")
}

# start_proxy [BIN [NAME]]: sets PROXY_PID_RUN, PROXY_PORT and PROXY_ADMIN.
start_proxy() {
  local bin=${1:-$PROXY_BIN} name=${2:-proxy}
  local url="postgresql://postgres:$PASSWORD@127.0.0.1:$PG_PORT/postgres?sslmode=disable"
  printf '{"INIT_SOURCE":"%s","INIT_TARGET":"%s"}\n' "$url" "$url" >"$WORK/config.json"
  local out=$OUTDIR/logs/$name.stdout err=$OUTDIR/logs/$name.stderr line=""
  # shellcheck disable=SC2086 # PROXY_ARGS is split into words on purpose
  RUST_LOG=warn setsid "$bin" --config "$WORK/config.json" --listen 127.0.0.1:0 \
    --metrics-listen 127.0.0.1:0 --control-listen 127.0.0.1:0 \
    --control-token-file "$MOLT_CONTROL_TOKEN_FILE" ${PROXY_ARGS:-} >"$out" 2>"$err" </dev/null &
  PROXY_PID_RUN=$!
  own_session_check "$PROXY_PID_RUN" molt-lms
  local deadline=$((SECONDS + READY_TIMEOUT))
  until line=$(grep -m1 '^molt-lms ready sql=' "$out"); do
    alive "$PROXY_PID_RUN" || { tail -20 "$err" >&2; die "molt-lms exited before it was ready"; }
    ((SECONDS < deadline)) || { tail -20 "$err" >&2; die "molt-lms printed no ready line in ${READY_TIMEOUT}s"; }
    sleep 0.1
  done
  local sql=${line#molt-lms ready sql=}
  sql=${sql%% *}
  PROXY_PORT=${sql##*:}
  PROXY_ADMIN=${line##*control=} # the control API (/api/v1/...)
  [[ $PROXY_PORT =~ ^[0-9]+$ ]] || die "cannot parse the proxy's ready line: $line"
}

# ---------------------------------------------------------------------------------------------
# 7. Cleanup (EXIT): every process by its own pid, then the temporary directory
# ---------------------------------------------------------------------------------------------
cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  if alive "${PROXY_PID_RUN:-}"; then stop_pid "$PROXY_PID_RUN" 35; wait "$PROXY_PID_RUN" 2>/dev/null; fi
  if alive "${PROXY_B_PID:-}"; then stop_pid "$PROXY_B_PID" 35; wait "$PROXY_B_PID" 2>/dev/null; fi
  stop_section
  [[ -n ${WORK:-} ]] && stop_tracked # whatever a section left running (it was killed)
  # The idle section's PgBouncer, in case a signal came between its start and its track_pid.
  local bpid
  bpid=$(cat "${WORK:-/nonexistent}/idle/bouncer/pgbouncer.pid" 2>/dev/null)
  if [[ -n $bpid && $(ps -o comm= -p "$bpid" 2>/dev/null) == pgbouncer ]]; then
    log "cleanup: stopping the idle section's PgBouncer (pid $bpid)"
    stop_pid "$bpid" 10
  fi
  if alive "${SOCAT_PID:-}"; then
    pkill -TERM -P "$SOCAT_PID" 2>/dev/null # its per-connection forks, if any are left
    stop_pid "$SOCAT_PID" 5
    wait "$SOCAT_PID" 2>/dev/null
  fi
  stop_pid "${BOUNCER_PID:-}" 10
  stop_target_cluster
  if [[ -n ${PG_STARTED:-} ]]; then
    as_pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w -t 60 stop >/dev/null ||
      log "pg_ctl stop failed; postmaster pid $(head -1 "$PGDATA_DIR/postmaster.pid" 2>/dev/null)"
  fi
  if [[ -n ${WORK:-} && -d $WORK ]]; then
    cp "$WORK"/postgres.log "$WORK"/pgbouncer.log "$OUTDIR/logs/" 2>/dev/null
    rm -rf "$WORK"
  fi
  exit "$rc"
}

# ---------------------------------------------------------------------------------------------
# 6. Sections not benchmarked yet: each says why, so that results.md never implies a number.
# ---------------------------------------------------------------------------------------------
not_measured() { printf '%s\t%s\n' "$1" "$2" >>"$WORK/not_measured.tsv"; }

# The measured sections, one file each; each runs in a subshell (run_section in sections.sh).
# shellcheck source=bench/sections.sh
source "$BENCH_DIR/sections.sh"
# shellcheck source=bench/shadow.sh
source "$BENCH_DIR/shadow.sh"  # bench_shadow_modes
# shellcheck source=bench/tracing.sh
source "$BENCH_DIR/tracing.sh" # bench_tracing
# shellcheck source=bench/cutover.sh
source "$BENCH_DIR/cutover.sh" # bench_cutover
# shellcheck source=bench/idle.sh
source "$BENCH_DIR/idle.sh"    # bench_idle_10k
# shellcheck source=bench/scale.sh
source "$BENCH_DIR/scale.sh"   # bench_scale
# shellcheck source=bench/mysql.sh
source "$BENCH_DIR/mysql.sh"   # bench_mysql

# ---------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------
fmt_dur() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

# Prints the plan: pgbench load and estimated wall time of each selected section.
plan() {
  local total=30 line # ~30 s set-up: the bench cluster and pgbench -i
  if wants matrix; then
    local run_s=$((MATRIX_RUNS * T))
    printf 'Planned: %d cells x %d targets x %d reps = %d pgbench runs x %ss = %s of load\n' \
      "$MATRIX_CELLS" "${#TARGETS[@]}" "$REPS" "$MATRIX_RUNS" "$T" "$(fmt_dur "$run_s")"
    total=$((total + run_s + MATRIX_RUNS))
    if [[ $SYSCALLS_T != 0 ]]; then
      local counted=$((MATRIX_CELLS * (${#TARGETS[@]} - 2)))
      printf '         + %d runs x %ss counting system calls (repetition 1: pgbouncer and proxies)\n' "$counted" "$SYSCALLS_T"
      total=$((total + counted * (SYSCALLS_T + 1)))
    fi
  else
    echo "Planned: matrix skipped (SECTIONS=\"$SECTIONS\")"
  fi
  local target_setup=25 # second cluster, pgbench -i on it
  if wants shadow; then
    local nc n s
    nc=$(wc -w <<<"$SHADOW_CELLS")
    n=$((nc * 5 * REPS))
    s=$((n * T + n + target_setup + 5))
    target_setup=0
    printf '         + shadow: %d cells x 5 targets x %d reps = %d pgbench runs x %ss, ~%s\n' "$nc" "$REPS" "$n" "$T" "$(fmt_dur "$s")"
    total=$((total + s))
  fi
  if wants tracing; then
    local nc n s
    nc=$(wc -w <<<"$TRACING_CELLS")
    n=$((nc * 4 * REPS))
    s=$((n * T + n + 10))
    printf '         + tracing: %d cells x 4 targets x %d reps = %d pgbench runs x %ss, ~%s\n' "$nc" "$REPS" "$n" "$T" "$(fmt_dur "$s")"
    total=$((total + s))
  fi
  if wants mysql; then
    local n s
    local paths
    paths=$(mysql_targets | wc -l)
    n=$(($(wc -w <<<"$MYSQL_WORKLOADS") * $(wc -w <<<"$MYSQL_THREADS") * paths * REPS))
    s=$((n * T + n + 45))
    printf '         + mysql: %d sysbench runs x %ss (%s) on a MariaDB of its own and PostgreSQL, ~%s\n' "$n" "$T" \
      "$(mysql_targets | tr '\n' ' ' | sed 's/ $//')" "$(fmt_dur "$s")"
    total=$((total + s))
  fi
  if wants cutover; then
    local s=$((CUTOVER_T + 15 + target_setup))
    printf '         + cutover: %ss of pgbench, %d clients over %d proxies, ~%s\n' "$CUTOVER_T" "$CUTOVER_CLIENTS" \
      "$CUTOVER_PROXIES" "$(fmt_dur "$s")"
    total=$((total + s))
  fi
  if wants idle; then
    # (c): ~300 SCRAM logins/s measured on 2 cores (250 here), then the hold.
    local s=$((REPS * (2 * IDLE_T + 20) + IDLE_SESSIONS_T + 20))
    ((IDLE_AUTH_SESSIONS == 0)) || s=$((s + IDLE_AUTH_SESSIONS / 250 + IDLE_AUTH_HOLD + 20))
    printf '         + idle: %d idle connections, %d reps x 2 pgbench runs x %ss; %d sessions for %ss;' \
      "$IDLE_CONNS" "$REPS" "$IDLE_T" "$IDLE_SESSIONS" "$IDLE_SESSIONS_T"
    printf ' %d sessions via PgBouncer held %ss, ~%s\n' "$IDLE_AUTH_SESSIONS" "$IDLE_AUTH_HOLD" "$(fmt_dur "$s")"
    total=$((total + s))
  fi
  if wants scale; then
    local s=$((SCALE_PROXIES / 4 + SCALE_ROUNDS * 2 + 15))
    printf '         + scale: %d idle proxies, %d begin/commit rounds, ~%s\n' "$SCALE_PROXIES" "$SCALE_ROUNDS" "$(fmt_dur "$s")"
    total=$((total + s))
  fi
  printf '         ~%s in all with ~1s overhead per run and ~30s set-up (more if installing or building)\n' \
    "$(fmt_dur "$total")"
}

# The four-target matrix; counts bench_pg.sh failures in DRIVER_ERRORS.
bench_matrix() {
  start_socat
  start_pgbouncer
  local b_port="" b_pid=""
  if [[ -n $PROXY_B_BIN ]]; then
    start_proxy "$PROXY_B_BIN" proxy_b
    PROXY_B_PID=$PROXY_PID_RUN b_port=$PROXY_PORT b_pid=$PROXY_PID_RUN
    wait_sql "$b_port" "proxy_b (admin $PROXY_ADMIN)"
  fi
  start_proxy
  wait_sql "$PG_PORT" direct
  wait_sql "$SOCAT_PORT" socat
  wait_sql "$BOUNCER_PORT" pgbouncer
  wait_sql "$PROXY_PORT" "proxy (admin $PROXY_ADMIN)"

  declare -A port=([direct]=$PG_PORT [socat]=$SOCAT_PORT [pgbouncer]=$BOUNCER_PORT [proxy]=$PROXY_PORT [proxy_b]=$b_port)
  declare -A pid=([direct]="" [socat]=$SOCAT_PID [pgbouncer]=$BOUNCER_PID [proxy]=$PROXY_PID_RUN [proxy_b]=$b_pid)
  local r w c m tgt n=0 counting=0 sc_t
  if [[ $SYSCALLS_T == 0 ]]; then
    not_measured "system calls per transaction" "SYSCALLS_T=0"
  elif can_count_syscalls; then
    counting=1
  else
    not_measured "system calls per transaction" "perf cannot count syscall tracepoints here (needs linux-perf, root and tracefs)"
  fi
  for ((r = 1; r <= REPS; r++)); do
    for w in $WORKLOADS; do for c in $CLIENTS; do for m in $MODES; do
      for tgt in "${TARGETS[@]}"; do
        n=$((n + 1))
        log "run $n/$MATRIX_RUNS: rep $r $tgt -$w c$c $m"
        sc_t=0
        [[ $counting == 1 && $r == 1 && $tgt =~ ^(pgbouncer|proxy|proxy_b)$ ]] && sc_t=$SYSCALLS_T
        if ! env -u PROXY_PID ${pid[$tgt]:+PROXY_PID=${pid[$tgt]}} SYSCALLS_T="$sc_t" \
          BASE="$OUTDIR" OUT="$OUTDIR/results.raw" DIRECT="127.0.0.1:$PG_PORT/bench" PGDATA="$PGDATA_DIR" \
          WORKLOADS="$w" CLIENTS="$c" MODES="$m" T="$T" J="$J" REPS=1 REP="$r" \
          bash "$BENCH_PG" "127.0.0.1:${port[$tgt]}/bench" "$tgt" >/dev/null; then
          DRIVER_ERRORS=$((DRIVER_ERRORS + 1))
          log "bench_pg.sh itself failed for $tgt -$w c$c $m rep $r"
        fi
        tail -1 "$OUTDIR/results.raw" | grep -q "label=$tgt .*workload=$w clients=$c mode=$m " ||
          log "no RESULT line for $tgt -$w c$c $m rep $r"
      done
    done; done; done
  done
}

main() {
  local w c m x
  for x in $SECTIONS; do
    [[ $x =~ ^(matrix|shadow|tracing|mysql|cutover|idle|scale)$ ]] ||
      die "SECTIONS: unknown section '$x' (matrix shadow tracing mysql cutover idle scale)"
  done
  MATRIX_CELLS=0
  for w in $WORKLOADS; do for c in $CLIENTS; do for m in $MODES; do MATRIX_CELLS=$((MATRIX_CELLS + 1)); done; done; done
  ! wants matrix || ((MATRIX_CELLS > 0)) || die "empty matrix: WORKLOADS='$WORKLOADS' CLIENTS='$CLIENTS' MODES='$MODES'"
  MATRIX_RUNS=0
  wants matrix && MATRIX_RUNS=$((MATRIX_CELLS * ${#TARGETS[@]} * REPS))
  plan
  [[ ${PLAN_ONLY:-} != 1 ]] || return 0

  mkdir -p "$OUTDIR"
  OUTDIR=$(cd "$OUTDIR" && pwd)
  SECDIR=$OUTDIR/sections
  rm -rf "$OUTDIR/logs" "$SECDIR"
  mkdir -p "$OUTDIR/logs" "$SECDIR"
  rm -f "$OUTDIR"/results.{md,json,raw}
  : >"$OUTDIR/results.raw"
  local started_utc
  started_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)

  install_missing
  build_proxy
  check_proxy_b
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  read -r PG_PORT SOCAT_PORT BOUNCER_PORT < <(free_ports 3)
  start_postgres
  : >"$WORK/not_measured.tsv"
  DRIVER_ERRORS=0
  if wants matrix; then bench_matrix; else echo skipped >"$SECDIR/matrix.status"; fi

  run_section shadow bench_shadow_modes
  run_section tracing bench_tracing
  run_section mysql bench_mysql
  run_section cutover bench_cutover
  run_section idle bench_idle_10k
  run_section scale bench_scale

  local cmd cpu commit
  cmd="T=$T REPS=$REPS J=$J WORKLOADS=\"$WORKLOADS\" CLIENTS=\"$CLIENTS\" MODES=\"$MODES\""
  [[ $SECTIONS == "matrix shadow tracing mysql cutover idle scale" ]] || cmd+=" SECTIONS=\"$SECTIONS\""
  if wants shadow && [[ $SHADOW_CELLS != "S:8:extended tpcb:8:simple" ]]; then cmd+=" SHADOW_CELLS=\"$SHADOW_CELLS\""; fi
  if wants tracing && [[ $TRACING_CELLS != "S:8:extended tpcb:8:simple" ]]; then cmd+=" TRACING_CELLS=\"$TRACING_CELLS\""; fi
  local name
  if wants mysql; then
    for x in "MYSQL_WORKLOADS:oltp_read_only oltp_point_select" "MYSQL_THREADS:1 8" MYSQL_TABLES:4 MYSQL_TABLE_SIZE:10000; do
      name=${x%%:*}
      [[ ${!name} == "${x#*:}" ]] || cmd+=" $name=\"${!name}\""
    done
  fi
  if wants cutover; then
    for x in CUTOVER_T:20 CUTOVER_CLIENTS:32 CUTOVER_PROXIES:3 "CUTOVER_BEGIN_AT:$((CUTOVER_T / 3))" CUTOVER_HOLD_MS:0; do
      name=${x%%:*}
      [[ ${!name} == "${x#*:}" ]] || cmd+=" $name=${!name}"
    done
  fi
  if wants idle; then
    for x in IDLE_CONNS:10000 IDLE_SESSIONS:200 "IDLE_T:$((T < 30 ? T : 30))" IDLE_AUTH_SESSIONS:9000 IDLE_AUTH_HOLD:40; do
      name=${x%%:*}
      [[ ${!name} == "${x#*:}" ]] || cmd+=" $name=${!name}"
    done
  fi
  if wants scale; then
    for x in SCALE_PROXIES:32 SCALE_ROUNDS:5; do
      name=${x%%:*}
      [[ ${!name} == "${x#*:}" ]] || cmd+=" $name=${!name}"
    done
  fi
  [[ $SYSCALLS_T == 3 ]] || cmd+=" SYSCALLS_T=$SYSCALLS_T"
  cmd+="${SKIP_BUILD:+ SKIP_BUILD=$SKIP_BUILD}"
  [[ $PROXY_BIN == "$ROOT/target/release/molt-lms" ]] || cmd+=" PROXY_BIN=${PROXY_BIN#"$ROOT"/}"
  [[ -z ${PROXY_ARGS:-} ]] || cmd+=" PROXY_ARGS=\"$PROXY_ARGS\""
  [[ -z $PROXY_B_BIN ]] || cmd+=" PROXY_B_BIN=${PROXY_B_BIN#"$ROOT"/}"
  cmd+=" ./bench/run.sh"
  cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
  commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
  [[ -n $(git -C "$ROOT" status --porcelain -- actors services api 2>/dev/null) ]] && commit+=" (+ uncommitted changes)"
  local rc=0 bouncer_v socat_v
  bouncer_v=$(pgbouncer --version 2>&1 | head -1) || true
  socat_v=$(socat -V 2>/dev/null | sed -n 's/^socat version \([^ ]*\).*/\1/p') || true
  local b_meta=()
  [[ -z $PROXY_B_BIN ]] || b_meta=(--meta proxy_b_bin="${PROXY_B_BIN#"$ROOT"/} ($(date -u -r "$PROXY_B_BIN" +%FT%TZ))")
  python3 "$BENCH_DIR/summarize.py" --raw "$OUTDIR/results.raw" --outdir "$OUTDIR" \
    --expected-runs "$MATRIX_RUNS" --not-measured "$WORK/not_measured.tsv" \
    --sections-dir "$SECDIR" --sections "$SECTIONS" \
    --meta started_utc="$started_utc" --meta nproc="$(nproc)" --meta cpu="$cpu" \
    --meta postgresql="$PG_VERSION" --meta pgbouncer="$bouncer_v" --meta socat="$socat_v" \
    --meta autogroup="$(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null || echo absent)" \
    --meta proxy_commit="$commit" --meta proxy_bin="${PROXY_BIN#"$ROOT"/} ($(date -u -r "$PROXY_BIN" +%FT%TZ))" --meta command="$cmd" --meta T="$T" --meta REPS="$REPS" --meta J="$J" \
    --meta bench_pg="$(realpath "$BENCH_PG")" "${b_meta[@]}" || rc=$?
  ((DRIVER_ERRORS == 0)) || { log "$DRIVER_ERRORS bench_pg.sh invocation(s) failed"; rc=1; }
  ((${#SECTION_FAILED[@]} == 0)) || { log "failed section(s): ${SECTION_FAILED[*]} (see results.md)"; rc=1; }
  log "results: $OUTDIR/results.md, $OUTDIR/results.json; logs: $OUTDIR/logs/"
  return "$rc"
}

main "$@"
