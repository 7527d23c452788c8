# shellcheck shell=bash disable=SC2153 # SECTIONS, ORCH_BIN, ... are set by run.sh
# Helpers for the measurement sections after the matrix (shadow.sh, tracing.sh, cutover.sh,
# idle.sh).
# Sourced by run.sh; uses its log, die, alive, stop_pid, free_ports, wait_sql, as_pg, PGBIN,
# WORK, OUTDIR, PASSWORD, PG_PORT, PROXY_BIN, ORCH_BIN.
#
# Each section runs in a subshell (run_section) with errexit on. Whatever it starts, it
# registers with track_pid: the subshell's EXIT trap stops those processes, and run.sh's own
# cleanup stops any that are still alive (checked by pid *and* start time, so a reused pid is
# never hit). The second cluster (ensure_target_cluster) is a daemon shared by the sections;
# run.sh's cleanup stops it. Files a section writes for summarize.py go to $SECDIR.

SECDIR= # set by run.sh: $OUTDIR/sections
SECTION_FAILED=() # names of failed sections (main shell)
SECTION_PIDS=()   # pids started by the running section (its subshell)
LMS_WRAP=()       # prefix for start_lms, e.g. (prlimit --nofile=65536:65536 --)

# Field 22 of /proc/PID/stat: the process's start time in clock ticks since boot.
proc_starttime() { [[ -r /proc/$1/stat ]] && sed 's/^.*) //' "/proc/$1/stat" | awk '{print $20}'; }

track_pid() { # pid label
  local st
  st=$(proc_starttime "$1") || st=gone
  SECTION_PIDS+=("$1:$st")
  printf '%s\t%s\t%s\n' "$1" "$st" "$2" >>"$WORK/pids.tsv"
}

# True if PID still is the process that had start time ST.
same_proc() { alive "$1" && [[ $(proc_starttime "$1") == "$2" ]]; }

# Descendants of PID (children first, recursively), optionally only those whose command is NAME.
descendants() { # pid [name]
  local c
  for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
    descendants "$c" "${2:-}"
    if [[ -z ${2:-} || $(ps -o comm= -p "$c" 2>/dev/null) == "$2" ]]; then echo "$c"; fi
  done
}

# Stops PID and everything it started (pgbench under bench_pg.sh, ...).
stop_tree() { # pid secs
  local d
  alive "$1" || return 0
  for d in $(descendants "$1"); do kill -TERM "$d" 2>/dev/null || true; done
  stop_pid "$1" "$2"
  wait "$1" 2>/dev/null || true
}

# The subshell's EXIT trap: stop what this section started, newest first.
section_cleanup() {
  local rc=$? i
  set +e
  trap - EXIT INT TERM
  for ((i = ${#SECTION_PIDS[@]} - 1; i >= 0; i--)); do
    same_proc "${SECTION_PIDS[i]%%:*}" "${SECTION_PIDS[i]#*:}" && stop_tree "${SECTION_PIDS[i]%%:*}" 35
  done
  exit "$rc"
}

# run.sh's cleanup: anything a section registered and that still runs (the section was killed).
stop_tracked() {
  local pid st label
  [[ -f $WORK/pids.tsv ]] || return 0
  while IFS=$'\t' read -r pid st label; do
    same_proc "$pid" "$st" || continue
    log "cleanup: stopping $label (pid $pid), left by its section"
    stop_tree "$pid" 35
  done < <(tac "$WORK/pids.tsv")
}

wants() { [[ " $SECTIONS " == *" $1 "* ]]; }

# Runs section NAME (function FN) in a subshell; records ok/failed/skipped in $SECDIR/NAME.status
# and the reasons of a failure in $SECDIR/NAME.err. Never exits the caller.
run_section() { # name fn
  local name=$1 fn=$2 rc
  if ! wants "$name"; then
    echo skipped >"$SECDIR/$name.status"
    return 0
  fi
  log "=== section $name ==="
  : >"$SECDIR/$name.err"
  # In the background, so that a signal to run.sh is handled at once (bash defers traps while
  # it waits for a foreground child); run.sh's cleanup then stops the section (stop_section).
  set +e
  (
    set -e
    # shellcheck disable=SC2030 # the section's name lives in its subshell only, on purpose
    SECTION=$name
    SECTION_PIDS=()
    trap section_cleanup EXIT
    trap 'exit 143' TERM
    "$fn"
  ) &
  SECTION_SHELL=$!
  wait "$SECTION_SHELL"
  rc=$?
  SECTION_SHELL=
  set -e
  if ((rc == 0)) && [[ ! -s $SECDIR/$name.err ]]; then
    echo ok >"$SECDIR/$name.status"
    log "=== section $name: done ==="
  else
    echo failed >"$SECDIR/$name.status"
    [[ -s $SECDIR/$name.err ]] || echo "the section exited with code $rc (see the log above)" >"$SECDIR/$name.err"
    SECTION_FAILED+=("$name")
    log "=== section $name: FAILED: $(head -1 "$SECDIR/$name.err") ==="
    ((rc != 143)) || exit "$rc" # the section was terminated: stop the whole run
  fi
  return 0
}

# run.sh's cleanup, first: end a section still running (its EXIT trap stops what it started;
# stop_tracked ends those children at once, which lets the section's shell act on the signal).
SECTION_SHELL=
stop_section() {
  alive "${SECTION_SHELL:-}" || return 0
  log "cleanup: stopping the running section (pid $SECTION_SHELL)"
  kill -TERM "$SECTION_SHELL" 2>/dev/null || true
  stop_tracked
  stop_pid "$SECTION_SHELL" 40
  wait "$SECTION_SHELL" 2>/dev/null || true
}

# A failure the section records but carries on from (die records and stops it).
# shellcheck disable=SC2031 # called inside the section's subshell, where SECTION is set
section_error() { log "ERROR ($SECTION): $*"; printf '%s\n' "$*" >>"$SECDIR/$SECTION.err"; }

# Checks a section's cells knob: words of workload:clients:mode.
cells_ok() { # knob cells
  local cell w c m
  for cell in $2; do
    IFS=: read -r w c m <<<"$cell"
    [[ $w =~ ^(S|tpcb)$ && $c =~ ^[0-9]+$ && $m =~ ^(simple|extended|prepared)$ ]] ||
      die "$1: '$cell' is not workload:clients:mode (workload S or tpcb; mode simple, extended or prepared)"
  done
}

pg_url() { printf 'postgresql://postgres:%s@127.0.0.1:%s/%s?sslmode=disable' "$PASSWORD" "$1" "$2"; }
pg_sql() { "$PGBIN/psql" -h 127.0.0.1 -p "$1" -d "$2" -XAtq -v ON_ERROR_STOP=1 -c "$3"; } # port db sql

# Python helpers: HTTP, cutover driving and analysis (bench/lms.py).
lms_py() { python3 "$BENCH_DIR/lms.py" "$@"; }

# ---------------------------------------------------------------------------------------------
# The second cluster (the target of the shadow and cutover sections)
# ---------------------------------------------------------------------------------------------
TARGET_DIR= # $WORK/target, set by run.sh
TARGET_PG_PORT=

ensure_target_cluster() {
  if [[ -f $TARGET_DIR/ready ]]; then
    TARGET_PG_PORT=$(<"$TARGET_DIR/port")
    return 0
  fi
  [[ ! -e $TARGET_DIR ]] || die "the target cluster failed to start earlier in this run (logs/target-postgres.log)"
  mkdir -p "$TARGET_DIR"
  chmod 755 "$TARGET_DIR"
  [[ $EUID -eq 0 ]] && chown postgres: "$TARGET_DIR"
  TARGET_PG_PORT=$(free_ports 1)
  echo "$TARGET_PG_PORT" >"$TARGET_DIR/port"
  create_cluster "$TARGET_DIR/data" "$TARGET_PG_PORT" "$TARGET_DIR/postgres.log" 300 target
  init_bench_db "$TARGET_PG_PORT" "$OUTDIR/logs/pgbench-init-target.log"
  # The proxies log in to the target with the client's SCRAM key: same verifier on both.
  local verifier
  verifier=$(pg_sql "$PG_PORT" postgres "SELECT rolpassword FROM pg_authid WHERE rolname = 'postgres'")
  [[ $verifier == SCRAM-SHA-256\$* ]] || die "unexpected verifier of role postgres on the bench cluster: ${verifier:0:16}..."
  printf "ALTER ROLE postgres PASSWORD :'v';\n" |
    "$PGBIN/psql" -h 127.0.0.1 -p "$TARGET_PG_PORT" -d postgres -Xq -v ON_ERROR_STOP=1 -v v="$verifier" >/dev/null
  [[ $(pg_sql "$TARGET_PG_PORT" postgres "SELECT rolpassword FROM pg_authid WHERE rolname = 'postgres'") == "$verifier" ]] ||
    die "copying the SCRAM verifier of role postgres to the target cluster failed"
  touch "$TARGET_DIR/ready"
  log "target cluster ready on 127.0.0.1:$TARGET_PG_PORT (role postgres has the bench cluster's verifier)"
}

stop_target_cluster() {
  [[ -n ${TARGET_DIR:-} && -f $TARGET_DIR/data/postmaster.pid ]] || return 0
  as_pg "$PGBIN/pg_ctl" -D "$TARGET_DIR/data" -m fast -w -t 60 stop >/dev/null ||
    log "pg_ctl stop failed for the target cluster; postmaster pid $(head -1 "$TARGET_DIR/data/postmaster.pid" 2>/dev/null)"
  cp "$TARGET_DIR/postgres.log" "$OUTDIR/logs/target-postgres.log" 2>/dev/null || true
}

# Resets what pgbench's own vacuum step resets, on the given cluster.
reset_tpcb() { # port
  "$PGBIN/psql" -h 127.0.0.1 -p "$1" -d bench -qX -c "VACUUM pgbench_branches" -c "VACUUM pgbench_tellers" \
    -c "TRUNCATE pgbench_history" >/dev/null 2>&1
}

# ---------------------------------------------------------------------------------------------
# Processes: proxies and the orchestrator
# ---------------------------------------------------------------------------------------------
# Waits for a ready line (regex) in OUT from PID; prints the line.
wait_ready_line() { # pid out err regex label
  local pid=$1 out=$2 err=$3 re=$4 label=$5 line deadline=$((SECONDS + READY_TIMEOUT))
  until line=$(grep -m1 -E "$re" "$out"); do
    alive "$pid" || { tail -20 "$err" >&2; die "$label exited before it was ready (logs/${err##*/})"; }
    ((SECONDS < deadline)) || { tail -20 "$err" >&2; die "$label printed no ready line in ${READY_TIMEOUT}s"; }
    sleep 0.1
  done
  printf '%s\n' "$line"
}

# start_lms NAME SOURCE_URL TARGET_URL [PROXY ARGS...]: a molt-lms proxy on ephemeral ports,
# logs in logs/NAME.std{out,err}. Sets LMS_PID, LMS_SQL_PORT, LMS_ADMIN (the control API's HOST:PORT).
start_lms() {
  local name=$1 src=$2 tgt=$3
  shift 3
  local dir=$WORK/$name out=$OUTDIR/logs/$name.stdout err=$OUTDIR/logs/$name.stderr line sql
  mkdir -p "$dir"
  printf '{"INIT_SOURCE":"%s","INIT_TARGET":"%s"}\n' "$src" "$tgt" >"$dir/config.json"
  RUST_LOG=warn setsid "${LMS_WRAP[@]}" "$PROXY_BIN" --config "$dir/config.json" --listen 127.0.0.1:0 \
    --metrics-listen 127.0.0.1:0 --control-listen 127.0.0.1:0 \
    --control-token-file "$MOLT_CONTROL_TOKEN_FILE" "$@" >"$out" 2>"$err" </dev/null &
  LMS_PID=$!
  track_pid "$LMS_PID" "$name"
  own_session_check "$LMS_PID" "$name" # why: run.sh, at own_session_check
  line=$(wait_ready_line "$LMS_PID" "$out" "$err" '^molt-lms ready sql=' "$name")
  sql=${line#molt-lms ready sql=}
  sql=${sql%% *}
  LMS_SQL_PORT=${sql##*:}
  LMS_ADMIN=${line##*control=} # the control API (/api/v1/...)
  [[ $LMS_SQL_PORT =~ ^[0-9]+$ && $LMS_ADMIN == *:* ]] || die "cannot parse $name's ready line: $line"
}

# start_orch NAME CRDB_URL: the orchestrator on ephemeral ports, initialized. Sets ORCH_PID, ORCH_API.
start_orch() {
  local name=$1 crdb=$2 dir=$WORK/$1 out=$OUTDIR/logs/$1.stdout err=$OUTDIR/logs/$1.stderr line
  [[ -x $ORCH_BIN ]] || die "$ORCH_BIN not found (build it: cargo build --release -p molt-lms-orchestrator)"
  mkdir -p "$dir"
  printf '{"CRDB_URL":"%s"}\n' "$crdb" >"$dir/config.json"
  RUST_LOG=warn setsid "$ORCH_BIN" --config "$dir/config.json" --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 \
    --control-token-file "$MOLT_CONTROL_TOKEN_FILE" >"$out" 2>"$err" </dev/null &
  ORCH_PID=$!
  track_pid "$ORCH_PID" "$name"
  own_session_check "$ORCH_PID" "$name"
  line=$(wait_ready_line "$ORCH_PID" "$out" "$err" '^molt-lms-orchestrator ready api=' "$name")
  ORCH_API=${line#molt-lms-orchestrator ready api=}
  ORCH_API=${ORCH_API%% *}
  [[ $ORCH_API == *:* ]] || die "cannot parse $name's ready line: $line"
  lms_py http POST "http://$ORCH_API/api/v1/initialize" '{}' >/dev/null || die "$name: POST /api/v1/initialize failed"
  log "$name ready, api $ORCH_API (metadata $(printf '%s' "$crdb" | sed 's/:[^:@]*@/:***@/'))"
}

rss_kib() { awk '/^VmRSS:/{print $2}' "/proc/$1/status"; }       # resident set of PID, KiB
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; } # utime + stime of PID

# bench_pg.sh for one cell, bounded: a pgbench still running T+GRACE seconds after it started is
# killed, so a hung run becomes a failed RESULT line instead of a hung benchmark.
# Appends to $OUT_RAW; returns 1 when the run produced no ok RESULT line.
BENCH_GRACE=${BENCH_GRACE:-30}
bounded_bench_pg() { # port label proxy_pid workload clients mode rep T
  local port=$1 label=$2 ppid=$3 w=$4 c=$5 m=$6 rep=$7 t=$8 bp deadline killed=""
  env -u PROXY_PID ${ppid:+PROXY_PID=$ppid} \
    BASE="$OUTDIR" OUT="$OUT_RAW" DIRECT="127.0.0.1:$PG_PORT/bench" PGDATA="$PGDATA_DIR" \
    WORKLOADS="$w" CLIENTS="$c" MODES="$m" T="$t" J="$J" REPS=1 REP="$rep" \
    bash "$BENCH_PG" "127.0.0.1:$port/bench" "$label" >/dev/null </dev/null &
  bp=$!
  track_pid "$bp" "bench_pg.sh $label"
  deadline=$((SECONDS + t + BENCH_GRACE + 5))
  while alive "$bp"; do
    if [[ -z $killed ]] && ((SECONDS > deadline)); then
      killed=1
      section_error "$label -$w c$c $m rep $rep: pgbench still running ${BENCH_GRACE}s after its -T $t ended; killed"
      local d
      for d in $(descendants "$bp" pgbench); do kill -TERM "$d" 2>/dev/null || true; done
    fi
    sleep 0.2
  done
  wait "$bp" || true
  tail -1 "$OUT_RAW" | grep -q "label=$label .*workload=$w clients=$c mode=$m .*status=ok" || return 1
}
