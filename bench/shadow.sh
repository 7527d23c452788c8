# shellcheck shell=bash
# Section "shadow": pgbench direct and through four proxies that differ only in --shadow-mode
# (none, async, sync, strict-sync). Source of truth: the bench cluster; shadow: the target
# cluster (same pgbench data, same SCRAM verifier for role postgres). Per rep, every cell runs
# direct, none, async, sync, strict-sync in turn, as the matrix does. Afterwards each proxy's
# GET /api/v1/shadow is saved. Output: $SECDIR/shadow.raw (RESULT lines of bench_pg.sh) and
# $SECDIR/shadow-report-MODE.json. Sourced by run.sh.

SHADOW_CELLS=${SHADOW_CELLS:-"S:8:extended tpcb:8:simple"}
SHADOW_MODES=(none async sync strict-sync)

bench_shadow_modes() {
  cells_ok SHADOW_CELLS "$SHADOW_CELLS"
  ensure_target_cluster
  local src tgt mode
  src=$(pg_url "$PG_PORT" postgres)
  tgt=$(pg_url "$TARGET_PG_PORT" postgres)
  declare -A port=([direct]=$PG_PORT) pid=([direct]="") admin=()
  for mode in "${SHADOW_MODES[@]}"; do
    start_lms "shadow-$mode" "$src" "$tgt" --shadow-mode "$mode"
    port[$mode]=$LMS_SQL_PORT pid[$mode]=$LMS_PID admin[$mode]=$LMS_ADMIN
  done
  for mode in "${SHADOW_MODES[@]}"; do wait_sql "${port[$mode]}" "shadow-$mode proxy (admin ${admin[$mode]})"; done

  OUT_RAW=$SECDIR/shadow.raw
  : >"$OUT_RAW"
  local ncells nruns n=0 r cell w c m tgt label failed=0
  ncells=$(wc -w <<<"$SHADOW_CELLS")
  nruns=$((ncells * 5 * REPS))
  for ((r = 1; r <= REPS; r++)); do
    for cell in $SHADOW_CELLS; do
      IFS=: read -r w c m <<<"$cell"
      for tgt in direct "${SHADOW_MODES[@]}"; do
        n=$((n + 1))
        label=shadow-$tgt
        [[ $tgt == direct ]] && label=direct
        log "shadow run $n/$nruns: rep $r $label -$w c$c $m"
        # bench_pg.sh resets the bench cluster's tpcb tables; the shadow's are reset here.
        [[ $w == tpcb ]] && reset_tpcb "$TARGET_PG_PORT"
        if ! bounded_bench_pg "${port[$tgt]}" "$label" "${pid[$tgt]}" "$w" "$c" "$m" "$r" "$T"; then
          failed=$((failed + 1))
          log "shadow run failed: $label -$w c$c $m rep $r (see results.md)"
        fi
      done
    done
  done

  for mode in "${SHADOW_MODES[@]}"; do
    lms_py http GET "http://${admin[$mode]}/api/v1/shadow" >"$SECDIR/shadow-report-$mode.json" ||
      section_error "GET /api/v1/shadow on the $mode proxy failed: $(head -c 300 "$SECDIR/shadow-report-$mode.json")"
    alive "${pid[$mode]}" || section_error "the shadow-$mode proxy died during the runs (logs/shadow-$mode.stderr)"
  done
  ((failed == 0)) || section_error "$failed of $nruns shadow-section pgbench runs failed"
}
