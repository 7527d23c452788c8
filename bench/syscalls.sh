#!/usr/bin/env bash
# System calls and context switches per pgbench transaction, the proxy beside PgBouncer:
# where the kernel CPU of a round trip goes (issue "Cheaper than PgBouncer per
# transaction"). Counts, not times, so a busy 2-core machine gives the same figures.
#
#   bench/syscalls.sh PROXY_BIN
#
# One PostgreSQL cluster (started here, own data dir, ephemeral port), then for each
# intermediary (molt-lms with --workers W, PgBouncer in session mode) and each cell: pgbench
# runs a fixed number of transactions through it twice: once for its voluntary and
# involuntary context switches (/proc/<pid>/task/*/status before and after), once while
# `strace -c -f` counts its system calls (all threads). Output: a markdown table
# per cell, calls per transaction by system call, and the totals.
#   CELLS ["S:8:simple S:8:extended tpcb:8:simple"]   workload:clients:mode
#   TX [4000]        transactions per client
#   WORKERS [2]      the proxy's --workers
# Needs strace, pgbouncer and PostgreSQL's server binaries. Run as root (the cluster and
# PgBouncer run as postgres) or as a user that may run initdb.
set -euo pipefail
(($#)) || { sed -n 2,18p "$0"; exit 2; }
PROXY_BIN=$1
CELLS=${CELLS:-S:8:simple S:8:extended tpcb:8:simple}
TX=${TX:-4000}
WORKERS=${WORKERS:-2}
PASSWORD=bench-syscalls
for tool in strace pgbouncer; do
  command -v "$tool" >/dev/null || [[ -x /usr/sbin/$tool ]] || { echo "$tool is not installed" >&2; exit 2; }
done
PGBOUNCER=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
# shellcheck source=bench/scratch_cluster.sh
source "$(dirname "${BASH_SOURCE[0]}")/scratch_cluster.sh"

PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  scratch_stop
}
trap cleanup EXIT
scratch_start 8 -c max_connections=100

# The proxy.
url="postgresql://postgres:$PASSWORD@127.0.0.1:$PG_PORT/postgres?sslmode=disable"
printf '{"INIT_SOURCE":"%s","INIT_TARGET":"%s"}\n' "$url" "$url" >"$WORK/config.json"
RUST_LOG=warn "$PROXY_BIN" --config "$WORK/config.json" --listen 127.0.0.1:0 \
  --metrics-listen 127.0.0.1:0 --control-listen 127.0.0.1:0 --insecure-control-plane \
  --workers "$WORKERS" >"$WORK/proxy.stdout" 2>"$WORK/proxy.stderr" &
PROXY_PID=$!
PIDS+=("$PROXY_PID")
until line=$(grep -m1 '^molt-lms ready sql=' "$WORK/proxy.stdout"); do
  kill -0 "$PROXY_PID" 2>/dev/null || { tail "$WORK/proxy.stderr" >&2; exit 1; }
  sleep 0.2
done
PROXY_PORT=${line#molt-lms ready sql=}
PROXY_PORT=${PROXY_PORT%% *}
PROXY_PORT=${PROXY_PORT##*:}

# PgBouncer, session mode, the same users (its auth file holds the SCRAM verifier).
scratch_bouncer_ini "max_client_conn = 200" "default_pool_size = 50" "pidfile = $WORK/pgbouncer.pid"
as_pg "$PGBOUNCER" -d "$WORK/pgbouncer.ini"
for _ in $(seq 50); do [[ -s $WORK/pgbouncer.pid ]] && break; sleep 0.1; done
BOUNCER_PID=$(cat "$WORK/pgbouncer.pid")
PIDS+=("$BOUNCER_PID")

# Voluntary and involuntary context switches of every thread of $1, summed.
switches() {
  cat /proc/"$1"/task/*/status 2>/dev/null |
    awk '/^voluntary_ctxt_switches/ {v += $2} /^nonvoluntary_ctxt_switches/ {n += $2} END {print v + 0, n + 0}'
}

# One cell through one intermediary: strace attached for the run, then the table rows.
measure() { # name pid port workload clients mode
  local name=$1 pid=$2 port=$3 w=$4 c=$5 m=$6 out=$WORK/strace.$1 common=(-n -c "$5" -j 2 -M "$6")
  [[ $w == S ]] && common+=(-S)
  # Warm the intermediary (its pools, caches) out of the count.
  "$PGBIN/pgbench" -h 127.0.0.1 -p "$port" -U postgres "${common[@]}" -t 50 postgres >/dev/null 2>&1 || true
  # Context switches without strace, whose stops would add their own.
  read -r v0 n0 < <(switches "$pid")
  "$PGBIN/pgbench" -h 127.0.0.1 -p "$port" -U postgres "${common[@]}" -t "$TX" postgres >"$WORK/pgbench.out" 2>&1
  read -r v1 n1 < <(switches "$pid")
  # System calls of every thread (strace -p attaches to all of a process's threads).
  strace -c -f -q -o "$out" -p "$pid" &
  local st=$!
  sleep 0.5
  "$PGBIN/pgbench" -h 127.0.0.1 -p "$port" -U postgres "${common[@]}" -t "$TX" postgres >"$WORK/pgbench.out" 2>&1
  kill -INT "$st"
  wait "$st" 2>/dev/null || true
  local tx=$((c * TX))
  awk -v name="$name" -v tx="$tx" -v vol=$((v1 - v0)) -v inv=$((n1 - n0)) '
    $1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" { sc = $NF; calls[sc] = $4; total += $4 }
    END {
      for (s in calls) if (calls[s] / tx >= 0.05) printf "| %s | %s | %.2f |\n", name, s, calls[s] / tx
      printf "| %s | **all system calls** | **%.2f** |\n", name, total / tx
      printf "| %s | context switches, voluntary | %.2f |\n", name, vol / tx
      printf "| %s | context switches, involuntary | %.2f |\n", name, inv / tx
    }' "$out" | sort -t'|' -k2,2 -k4,4nr
}

for cell in $CELLS; do
  IFS=: read -r w c m <<<"$cell"
  printf '\n### %s, %s clients, %s (%s transactions per client)\n\n' \
    "$([[ $w == S ]] && echo 'pgbench -S' || echo 'TPC-B-like')" "$c" "$m" "$TX"
  printf '| intermediary | system call | per transaction |\n| --- | --- | --- |\n'
  measure molt-lms "$PROXY_PID" "$PROXY_PORT" "$w" "$c" "$m"
  measure pgbouncer "$BOUNCER_PID" "$BOUNCER_PORT" "$w" "$c" "$m"
done
