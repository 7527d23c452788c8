# shellcheck shell=bash
# Section "cutover": a consistent cutover under load. The orchestrator (metadata database `meta`
# on the target cluster) and CUTOVER_PROXIES proxies (shadow mode none, source = bench cluster,
# target = the target cluster); CUTOVER_CLIENTS pgbench clients (TPC-B-like, simple protocol)
# spread over the proxies, one pgbench per proxy, for CUTOVER_T seconds with per-transaction
# logs. CUTOVER_BEGIN_AT seconds in, bench/lms.py drives begin -> TrafficPaused -> commit through
# the REST API. There is no replication here: both clusters were initialized with the same
# pgbench data, and writes after the commit go to the target. Output: $SECDIR/cutover.json
# (analysis), $SECDIR/cutover-drive.json (times and the attempt). Sourced by run.sh.

CUTOVER_T=${CUTOVER_T:-20}
CUTOVER_CLIENTS=${CUTOVER_CLIENTS:-32}
CUTOVER_PROXIES=${CUTOVER_PROXIES:-3}
CUTOVER_BEGIN_AT=${CUTOVER_BEGIN_AT:-$((CUTOVER_T / 3))}
CUTOVER_HOLD_MS=${CUTOVER_HOLD_MS:-0} # pause kept between TrafficPaused and commit (replication catch-up)

bench_cutover() {
  [[ $CUTOVER_T =~ ^[0-9]+$ && $CUTOVER_CLIENTS =~ ^[0-9]+$ && $CUTOVER_PROXIES =~ ^[0-9]+$ ]] ||
    die "CUTOVER_T, CUTOVER_CLIENTS and CUTOVER_PROXIES must be whole numbers"
  ((CUTOVER_PROXIES >= 1 && CUTOVER_CLIENTS >= CUTOVER_PROXIES)) || die "need CUTOVER_CLIENTS >= CUTOVER_PROXIES >= 1"
  ((CUTOVER_BEGIN_AT >= 2 && CUTOVER_BEGIN_AT + 4 <= CUTOVER_T)) ||
    die "need 2 <= CUTOVER_BEGIN_AT <= CUTOVER_T - 4 (CUTOVER_T=$CUTOVER_T, CUTOVER_BEGIN_AT=$CUTOVER_BEGIN_AT)"
  ensure_target_cluster
  pg_sql "$TARGET_PG_PORT" postgres "SELECT 1 FROM pg_database WHERE datname = 'meta'" | grep -q 1 ||
    pg_sql "$TARGET_PG_PORT" postgres "CREATE DATABASE meta" >/dev/null
  start_orch cutover-orchestrator "$(pg_url "$TARGET_PG_PORT" meta)"
  local src tgt i ports=() pids=()
  src=$(pg_url "$PG_PORT" postgres)
  tgt=$(pg_url "$TARGET_PG_PORT" postgres)
  for ((i = 1; i <= CUTOVER_PROXIES; i++)); do
    start_lms "cutover-proxy-$i" "$src" "$tgt" --orchestrator-url "http://$ORCH_API"
    ports+=("$LMS_SQL_PORT")
    pids+=("$LMS_PID")
  done
  for ((i = 0; i < CUTOVER_PROXIES; i++)); do wait_sql "${ports[i]}" "cutover-proxy-$((i + 1))"; done
  lms_py wait-proxies "$ORCH_API" "$CUTOVER_PROXIES" 30 >/dev/null
  reset_tpcb "$PG_PORT"
  reset_tpcb "$TARGET_PG_PORT"

  local dir=$OUTDIR/logs/cutover bp=() outs=() c left=$CUTOVER_CLIENTS
  mkdir -p "$dir"
  for ((i = 0; i < CUTOVER_PROXIES; i++)); do
    c=$(((left + CUTOVER_PROXIES - i - 1) / (CUTOVER_PROXIES - i))) # 32 over 3: 11 11 10
    left=$((left - c))
    outs+=("$dir/pgbench-p$((i + 1)).out")
    "$PGBIN/pgbench" -h 127.0.0.1 -p "${ports[i]}" -n -M simple -b tpcb-like -c "$c" -j 1 -T "$CUTOVER_T" \
      -P 1 -l --log-prefix="$dir/tx-p$((i + 1))" bench >"${outs[i]}" 2>&1 </dev/null &
    bp+=($!)
    track_pid "$!" "pgbench via cutover-proxy-$((i + 1))"
  done
  log "cutover: $CUTOVER_CLIENTS pgbench clients over $CUTOVER_PROXIES proxies for ${CUTOVER_T}s; begin at ${CUTOVER_BEGIN_AT}s"
  sleep "$CUTOVER_BEGIN_AT"
  local drive_rc=0 summary
  summary=$(lms_py cutover "$ORCH_API" "$SECDIR/cutover-drive.json" --finish commit --hold-ms "$CUTOVER_HOLD_MS" \
    --timeout 60) || drive_rc=$?
  log "cutover: $summary"
  ((drive_rc == 0)) || section_error "the cutover did not complete: $summary"

  local deadline=$((SECONDS + CUTOVER_T + BENCH_GRACE)) rc
  for ((i = 0; i < CUTOVER_PROXIES; i++)); do
    while alive "${bp[i]}" && ((SECONDS < deadline)); do sleep 0.2; done
    if alive "${bp[i]}"; then
      section_error "pgbench via cutover-proxy-$((i + 1)) still running ${BENCH_GRACE}s after its -T ended; killed"
      kill -TERM "${bp[i]}" 2>/dev/null || true
    fi
    rc=0
    wait "${bp[i]}" || rc=$?
    echo "rc=$rc" >>"${outs[i]}"
  done

  local hs ht
  hs=$(pg_sql "$PG_PORT" bench "SELECT count(*) FROM pgbench_history")
  ht=$(pg_sql "$TARGET_PG_PORT" bench "SELECT count(*) FROM pgbench_history")
  lms_py cutover-analyze --drive "$SECDIR/cutover-drive.json" --out "$SECDIR/cutover.json" \
    --pgbench-out "${outs[@]}" --pgbench-log "$dir/tx-p*" --history-source "$hs" --history-target "$ht" >/dev/null
  local errors
  errors=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["errors"])' "$SECDIR/cutover.json")
  ((errors == 0)) || section_error "pgbench saw $errors error(s) during the cutover run (logs/cutover/pgbench-p*.out)"
  for ((i = 0; i < CUTOVER_PROXIES; i++)); do
    alive "${pids[i]}" || section_error "cutover-proxy-$((i + 1)) died (logs/cutover-proxy-$((i + 1)).stderr)"
  done
}
