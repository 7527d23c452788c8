# shellcheck shell=bash
# Section "scale": SCALE_PROXIES idle proxy processes (default 32) registered with one
# orchestrator on this machine. SCALE_ROUNDS times: begin -> every proxy's pause-ack
# (TrafficPaused), then commit -> every proxy switched (CommitCompleted, which includes the
# two-phase preparation), driven by bench/lms.py through the REST API; each round commits
# to the other database, so rounds alternate source and target. What grows with the number
# of proxies is the orchestrator's fan-out. Output: $SECDIR/scale.json. Sourced by run.sh.

SCALE_PROXIES=${SCALE_PROXIES:-32}
SCALE_ROUNDS=${SCALE_ROUNDS:-5}

bench_scale() {
  [[ $SCALE_PROXIES =~ ^[0-9]+$ && $SCALE_ROUNDS =~ ^[0-9]+$ ]] || die "SCALE_PROXIES and SCALE_ROUNDS must be whole numbers"
  ((SCALE_PROXIES >= 1 && SCALE_ROUNDS >= 1)) || die "need SCALE_PROXIES >= 1 and SCALE_ROUNDS >= 1"
  ensure_target_cluster
  pg_sql "$TARGET_PG_PORT" postgres "SELECT 1 FROM pg_database WHERE datname = 'meta_scale'" | grep -q 1 ||
    pg_sql "$TARGET_PG_PORT" postgres "CREATE DATABASE meta_scale" >/dev/null
  start_orch scale-orchestrator "$(pg_url "$TARGET_PG_PORT" meta_scale)"
  local src tgt i r rc summary rounds=()
  src=$(pg_url "$PG_PORT" postgres)
  tgt=$(pg_url "$TARGET_PG_PORT" postgres)
  for ((i = 1; i <= SCALE_PROXIES; i++)); do
    # One worker each: 32 idle proxies on 2 cores, as pods on one node would be.
    start_lms "scale-proxy-$i" "$src" "$tgt" --workers 1 --orchestrator-url "http://$ORCH_API"
  done
  lms_py wait-proxies "$ORCH_API" "$SCALE_PROXIES" 60 >/dev/null
  log "scale: $SCALE_PROXIES proxies registered"
  for ((r = 1; r <= SCALE_ROUNDS; r++)); do
    rc=0
    summary=$(lms_py cutover "$ORCH_API" "$SECDIR/scale-r$r.json" --finish commit --timeout 60) || rc=$?
    log "scale round $r: $summary"
    ((rc == 0)) || section_error "scale round $r did not complete: $summary"
    rounds+=("$SECDIR/scale-r$r.json")
  done
  python3 - "$SECDIR/scale.json" "$SCALE_PROXIES" "${rounds[@]}" <<'PY'
import json, sys
out, n, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
rounds = []
for f in files:
    d = json.load(open(f))
    x = d.get("derived", {})
    per = [v for v in (x.get("per_proxy_pause_ms") or {}).values() if v is not None]
    rounds.append({
        "begin_to_paused_ms": x.get("begin_to_paused_ms"),
        "orch_trigger_to_paused_ms": x.get("orch_trigger_to_paused_ms"),
        "slowest_pause_ack_ms": max(per) if per else None,
        "commit_ms": x.get("finish_ms"),
        "proxies": x.get("proxies"),
        "error": d.get("error"),
    })
json.dump({"proxies": n, "rounds": rounds}, open(out, "w"), indent=2)
PY
}
