# shellcheck shell=bash
# Section "tracing": pgbench direct and through three proxies that differ only in query tracing:
# off (no OTLP endpoint), default (an endpoint and LMS_TRACE_QUERIES=0.01, the default ratio)
# and all (LMS_TRACE_QUERIES=1). Source and target: the bench cluster. Each traced proxy exports
# to an OTLP/HTTP sink of its own (bench/otlp_sink.py), which counts and discards what it gets.
# Per rep, every cell runs direct, off, default, all in turn, as the matrix does. Afterwards
# each proxy's client requests are read from its metrics, the proxies are stopped (their last
# batch goes out), then the sinks. Output: $SECDIR/tracing.raw (RESULT lines of bench_pg.sh) and
# $SECDIR/tracing.txt (one TRACING line per traced proxy: its client requests, and the exports,
# bytes and spans its sink received, with the sink's CPU). Sourced by run.sh.

TRACING_CELLS=${TRACING_CELLS:-"S:8:extended tpcb:8:simple"}
TRACING_PROXIES=(off default all)

# The share of requests traced by each proxy; off has the default ratio but no endpoint.
tracing_ratio() { case $1 in all) echo 1 ;; *) echo 0.01 ;; esac; }

# start_sink NAME: an OTLP sink for proxy NAME; logs in logs/tracing-sink-NAME.std{out,err}.
# Sets SINK_PID and SINK_ADDR (HOST:PORT).
start_sink() {
  local name=$1 out=$OUTDIR/logs/tracing-sink-$1.stdout err=$OUTDIR/logs/tracing-sink-$1.stderr line
  rm -f "$WORK/tracing-sink-$name.status"
  setsid python3 "$BENCH_DIR/otlp_sink.py" --status "$WORK/tracing-sink-$name.status" >"$out" 2>"$err" </dev/null &
  SINK_PID=$!
  track_pid "$SINK_PID" "tracing-sink-$name"
  own_session_check "$SINK_PID" "tracing-sink-$name" # why: run.sh, at own_session_check
  line=$(wait_ready_line "$SINK_PID" "$out" "$err" '^otlp-sink ready addr=' "tracing-sink-$name")
  SINK_ADDR=${line#otlp-sink ready addr=}
  [[ $SINK_ADDR =~ ^127\.0\.0\.1:[0-9]+$ ]] || die "cannot parse tracing-sink-$name's ready line: $line"
}

# Client requests proxy NAME answered (lms_queries_total, all labels), from its metrics listener.
lms_requests() { # name
  local metrics
  metrics=$(sed -n 's/^molt-lms ready .* admin=\([^ ]*\).*/\1/p' "$OUTDIR/logs/$1.stdout")
  [[ -n $metrics ]] || return 1
  lms_py http GET "http://$metrics/metrics" | awk '/^lms_queries_total\{/ {n += $NF} END {printf "%d\n", n}'
}

bench_tracing() {
  cells_ok TRACING_CELLS "$TRACING_CELLS"
  local url name
  url=$(pg_url "$PG_PORT" postgres)
  declare -A port=([direct]=$PG_PORT) pid=([direct]="") admin=() sink=()
  for name in "${TRACING_PROXIES[@]}"; do
    LMS_WRAP=(env "LMS_TRACE_QUERIES=$(tracing_ratio "$name")")
    if [[ $name != off ]]; then
      start_sink "$name"
      sink[$name]=$SINK_PID
      LMS_WRAP+=("OTEL_EXPORTER_OTLP_ENDPOINT=http://$SINK_ADDR")
      log "tracing-$name: LMS_TRACE_QUERIES=$(tracing_ratio "$name"), exporting to the sink on $SINK_ADDR"
    fi
    start_lms "tracing-$name" "$url" "$url"
    port[$name]=$LMS_SQL_PORT pid[$name]=$LMS_PID admin[$name]=$LMS_ADMIN
  done
  LMS_WRAP=()
  for name in "${TRACING_PROXIES[@]}"; do wait_sql "${port[$name]}" "tracing-$name proxy (admin ${admin[$name]})"; done

  OUT_RAW=$SECDIR/tracing.raw
  : >"$OUT_RAW"
  local ncells nruns n=0 r cell w c m tgt label failed=0
  ncells=$(wc -w <<<"$TRACING_CELLS")
  nruns=$((ncells * 4 * REPS))
  for ((r = 1; r <= REPS; r++)); do
    for cell in $TRACING_CELLS; do
      IFS=: read -r w c m <<<"$cell"
      for tgt in direct "${TRACING_PROXIES[@]}"; do
        n=$((n + 1))
        label=tracing-$tgt
        [[ $tgt == direct ]] && label=direct
        log "tracing run $n/$nruns: rep $r $label -$w c$c $m"
        if ! bounded_bench_pg "${port[$tgt]}" "$label" "${pid[$tgt]}" "$w" "$c" "$m" "$r" "$T"; then
          failed=$((failed + 1))
          log "tracing run failed: $label -$w c$c $m rep $r (see results.md)"
        fi
      done
    done
  done

  declare -A reqs=()
  for name in "${TRACING_PROXIES[@]}"; do
    alive "${pid[$name]}" || section_error "the tracing-$name proxy died during the runs (logs/tracing-$name.stderr)"
    [[ $name == off ]] || reqs[$name]=$(lms_requests "tracing-$name") ||
      { section_error "cannot read tracing-$name's metrics"; reqs[$name]=NA; }
    stop_tree "${pid[$name]}" 35 # a traced proxy exports its last batch as it stops
  done
  local st
  : >"$SECDIR/tracing.txt"
  for name in "${TRACING_PROXIES[@]}"; do
    [[ $name != off ]] || continue
    alive "${sink[$name]}" || section_error "the sink of tracing-$name died during the runs (logs/tracing-sink-$name.stderr)"
    stop_tree "${sink[$name]}" 10
    st=$(cat "$WORK/tracing-sink-$name.status" 2>/dev/null) ||
      { section_error "the sink of tracing-$name wrote no counts (logs/tracing-sink-$name.stderr)"; continue; }
    printf 'TRACING proxy=%s ratio=%s client_requests=%s %s\n' "$name" "$(tracing_ratio "$name")" "${reqs[$name]}" "$st" \
      >>"$SECDIR/tracing.txt"
    log "tracing-$name: ${reqs[$name]} client requests; its sink: $st"
    [[ $st != exports=0\ * ]] || section_error "the tracing-$name proxy exported nothing to its sink"
    [[ $st == *" undecoded=0 "* ]] || section_error "tracing-$name's sink could not decode every export: its span count is short ($st)"
  done
  ((failed == 0)) || section_error "$failed of $nruns tracing-section pgbench runs failed"
}
