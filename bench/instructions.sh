#!/usr/bin/env bash
# Instructions the proxy executes per pgbench transaction, counted by callgrind: a figure
# that does not depend on what else the machine is doing, so two builds of the proxy can be
# compared on a busy 2-core machine where tps ratios are noisy.
#
#   bench/instructions.sh BIN [BIN...]
#
# For each binary: one PostgreSQL cluster (started here, own data dir, ephemeral port), the
# proxy under `valgrind --tool=callgrind`, then `pgbench -S -n` through it with 1 client for
# T1 and for T2 transactions (separate proxy runs); the difference divided by T2 - T1 is the
# cost of one transaction without start-up and shut-down. A BIN of `pgbouncer` counts
# PgBouncer (session mode, SCRAM with the cluster's verifier) the same way, for a figure
# beside the proxy's.
#   MODES ["simple extended"]   pgbench -M modes
#   T1 [500], T2 [2500]         transactions per run
#   PROXY_ARGS []               more proxy options, one per word (e.g. "--shadow-mode sync":
#                               the shadow is the same cluster, so the shadow relay runs)
#   KEEP []                     a directory to keep each run's callgrind file in, for
#                               callgrind_annotate (cg.<run>.<mode>.<transactions>)
# Needs valgrind (apt install valgrind) and PostgreSQL's server binaries. Run as root (the
# cluster runs as postgres) or as a user that may run initdb.
set -euo pipefail
(($#)) || { sed -n 2,20p "$0"; exit 2; }
MODES=${MODES:-simple extended}
T1=${T1:-500}
T2=${T2:-2500}
PASSWORD=bench-instructions
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 2; }
# shellcheck source=bench/scratch_cluster.sh
source "$(dirname "${BASH_SOURCE[0]}")/scratch_cluster.sh"

PROXY_PID=
cleanup() {
  [[ -n $PROXY_PID ]] && kill "$PROXY_PID" 2>/dev/null || true
  scratch_stop
}
trap cleanup EXIT
scratch_start 1

url="postgresql://postgres:$PASSWORD@127.0.0.1:$PG_PORT/postgres?sslmode=disable"
printf '{"INIT_SOURCE":"%s","INIT_TARGET":"%s"}\n' "$url" "$url" >"$WORK/config.json"

# Instructions of one PgBouncer run serving `pgbench -t $1 -M $2`.
run_bouncer() {
  local tx=$1 mode=$2 out=$WORK/cg.out
  rm -f "$out"
  as_pg valgrind --tool=callgrind --callgrind-out-file="$out" \
    "$(command -v pgbouncer || echo /usr/sbin/pgbouncer)" "$WORK/pgbouncer.ini" \
    >"$WORK/bouncer.stdout" 2>&1 &
  PROXY_PID=$!
  until "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$BOUNCER_PORT"; do
    kill -0 "$PROXY_PID" 2>/dev/null || { tail "$WORK/bouncer.stdout" >&2; exit 1; }
    sleep 0.2
  done
  "$PGBIN/pgbench" -h 127.0.0.1 -p "$BOUNCER_PORT" -U postgres -S -n -c 1 -t "$tx" -M "$mode" postgres >/dev/null
  # SIGTERM: PgBouncer's immediate shutdown; valgrind writes its counts on the way out.
  pkill -TERM -f "callgrind-out-file=$out" || true
  wait "$PROXY_PID" || true
  PROXY_PID=
  awk '/^summary:/ { print $2 }' "$out"
}

# Instructions of one proxy run serving `pgbench -t $2 -M $3`.
run() {
  local bin=$1 tx=$2 mode=$3 out=$WORK/cg.out line
  if [[ $bin == pgbouncer ]]; then
    run_bouncer "$tx" "$mode"
    return
  fi
  rm -f "$out" "$WORK/proxy.stdout"
  # shellcheck disable=SC2086 # PROXY_ARGS is split into words on purpose
  RUST_LOG=warn valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" \
    --config "$WORK/config.json" --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 \
    --control-listen 127.0.0.1:0 --insecure-control-plane --workers 1 ${PROXY_ARGS:-} \
    >"$WORK/proxy.stdout" 2>"$WORK/proxy.stderr" &
  PROXY_PID=$!
  until line=$(grep -m1 '^molt-lms ready sql=' "$WORK/proxy.stdout"); do
    kill -0 "$PROXY_PID" 2>/dev/null || { tail "$WORK/proxy.stderr" >&2; exit 1; }
    sleep 0.2
  done
  local sql=${line#molt-lms ready sql=}
  sql=${sql%% *}
  "$PGBIN/pgbench" -h 127.0.0.1 -p "${sql##*:}" -U postgres -S -n -c 1 -t "$tx" -M "$mode" postgres >/dev/null
  kill -TERM "$PROXY_PID"
  wait "$PROXY_PID" || true
  PROXY_PID=
  awk '/^summary:/ { print $2 }' "$out"
}

for bin in "$@"; do [[ $bin == pgbouncer ]] && scratch_bouncer_ini && break; done
printf '| binary | mode | instructions per transaction |\n| --- | --- | --- |\n'
n=0
for bin in "$@"; do
  n=$((n + 1))
  for mode in $MODES; do
    a=$(run "$bin" "$T1" "$mode")
    [[ -n ${KEEP:-} ]] && cp "$WORK/cg.out" "$KEEP/cg.$n.$mode.$T1"
    b=$(run "$bin" "$T2" "$mode")
    [[ -n ${KEEP:-} ]] && cp "$WORK/cg.out" "$KEEP/cg.$n.$mode.$T2"
    printf '| %s | %s | %s |\n' "$bin" "$mode" $(((b - a) / (T2 - T1)))
  done
done
