# shellcheck shell=bash
# Section "idle": what idle client connections cost the proxy, with one proxy (shadow none,
# source = target = the bench cluster, fd limit raised with prlimit) registered with its own
# orchestrator (metadata database idle_meta on the bench cluster).
#
# The proxy opens a backend session for a client only after authenticating it, so a logged-in
# idle client also costs one PostgreSQL backend (several MiB each): 10,000 of them do not fit
# on this machine. Hence two measurements, each on a fresh proxy (freed memory stays in the
# allocator, so one proxy's baseline would be spoilt by the other measurement):
#  (a) IDLE_CONNS TCP connections that sent nothing yet (before the startup packet; the proxy
#      closes those after 60 s, so each hold lasts < 60 s), opened 128 at a time by
#      bench/idle_conns.py: the proxy's RSS and CPU with them, pgbench -S (8 clients, simple)
#      beside them vs without (interleaved, REPS times), and the cutover pause (begin ->
#      TrafficPaused, then abort) with them held.
#  (b) IDLE_SESSIONS authenticated sessions (pgbench clients running `SELECT 1` every 5 s):
#      RSS per session, PostgreSQL's private memory per backend, and the pause with them held.
# Output: $SECDIR/idle.txt (IDLE lines), $SECDIR/idle.raw (RESULT lines). Sourced by run.sh.

IDLE_CONNS=${IDLE_CONNS:-10000}
IDLE_SESSIONS=${IDLE_SESSIONS:-200}
IDLE_T=${IDLE_T:-$((T < 30 ? T : 30))}
IDLE_SESSIONS_T=20 # seconds the session holder (pgbench) runs

idle_line() { printf 'IDLE %s\n' "$*" >>"$SECDIR/idle.txt"; log "idle: $*"; }

# Waits until the holder's status file has KEY=; prints the file.
holder_status() { # file key pid secs
  local deadline=$((SECONDS + $4))
  until grep -q "$2=" "$1" 2>/dev/null; do
    alive "$3" || die "the connection holder exited early: $(cat "$1" 2>/dev/null)"
    ((SECONDS < deadline)) || die "the connection holder wrote no $2= in $4 s"
    sleep 0.1
  done
  cat "$1"
}
field() { sed -n "s/.*\\b$2=\\([^ ]*\\).*/\\1/p" <<<"$1"; } # text key

pause_and_abort() { # api lms_address out -> prints "begin_to_paused_ms abort_ms"
  local summary rc=0
  summary=$(lms_py cutover "$1" "$3" --lms "$2" --finish abort --timeout 60) || rc=$?
  ((rc == 0)) || section_error "pause with idle connections failed: $summary"
  printf '%s %s\n' "$(field "$summary" begin_to_paused_ms)" "$(field "$summary" abort_ms)"
}

# A proxy for N idle clients (fd limit raised), registered with the orchestrator, warmed up with
# 2 s of the load measured beside them (so that the baseline includes what that allocates).
# Sets ppid, port, admin (the caller's locals).
start_idle_proxy() { # name n
  local url hard nofile=$(($2 + 4096))
  hard=$(ulimit -Hn)
  [[ $hard == unlimited ]] || ((nofile <= hard)) || nofile=$hard
  (($2 + 256 <= nofile)) || die "the fd hard limit ($hard) is too low for $2 connections; lower IDLE_CONNS/IDLE_SESSIONS"
  url=$(pg_url "$PG_PORT" postgres)
  LMS_WRAP=(prlimit "--nofile=$nofile:$nofile" --)
  start_lms "$1" "$url" "$url" --orchestrator-url "http://$ORCH_API"
  # shellcheck disable=SC2034 # read by start_lms
  LMS_WRAP=()
  ppid=$LMS_PID port=$LMS_SQL_PORT admin=$LMS_ADMIN nproxies=$((nproxies + 1))
  log "$1: pid $ppid, fd limit $(prlimit --pid "$ppid" --nofile -o SOFT --noheadings | tr -d ' ')"
  wait_sql "$port" "$1 (admin $admin)"
  lms_py wait-proxies "$ORCH_API" "$nproxies" 30 >/dev/null
  "$PGBIN/pgbench" -h 127.0.0.1 -p "$port" -n -S -c 8 -j "$J" -T 2 bench >"$OUTDIR/logs/$1-warmup.out" 2>&1
}

bench_idle_10k() {
  [[ $IDLE_CONNS =~ ^[0-9]+$ && $IDLE_SESSIONS =~ ^[0-9]+$ && $IDLE_T =~ ^[0-9]+$ ]] ||
    die "IDLE_CONNS, IDLE_SESSIONS and IDLE_T must be whole numbers"
  ((IDLE_T >= 2 && IDLE_T <= 40)) || die "IDLE_T must be 2..40 s: the proxy closes clients silent for 60 s"
  local hz dir=$WORK/idle
  hz=$(getconf CLK_TCK)
  mkdir -p "$dir"
  : >"$SECDIR/idle.txt"
  OUT_RAW=$SECDIR/idle.raw
  : >"$OUT_RAW"
  pg_sql "$PG_PORT" postgres "SELECT 1 FROM pg_database WHERE datname = 'idle_meta'" | grep -q 1 ||
    pg_sql "$PG_PORT" postgres "CREATE DATABASE idle_meta" >/dev/null
  start_orch idle-orchestrator "$(pg_url "$PG_PORT" idle_meta)"
  local ppid port admin nproxies=0
  start_idle_proxy idle-proxy-conns "$IDLE_CONNS"

  local r st hp open seen rss0 rss1 rss2 k0 k1 pause alive_end
  for ((r = 1; r <= REPS; r++)); do
    log "idle rep $r/$REPS: pgbench -S c8 without idle connections"
    bounded_bench_pg "$port" idle-without "$ppid" S 8 simple "$r" "$IDLE_T" ||
      section_error "pgbench without idle connections failed (rep $r)"
    sleep 1
    rss0=$(rss_kib "$ppid")
    log "idle rep $r/$REPS: opening $IDLE_CONNS idle connections"
    rm -f "$dir/holder.status"
    python3 "$BENCH_DIR/idle_conns.py" --port "$port" --n "$IDLE_CONNS" --window 128 --status "$dir/holder.status" </dev/null &
    hp=$!
    track_pid "$hp" "idle connection holder"
    st=$(holder_status "$dir/holder.status" open "$hp" 120)
    open=$(field "$st" open)
    ((open == IDLE_CONNS)) || section_error "only $open of $IDLE_CONNS idle connections opened: $st"
    seen=$(lms_py wait-open "$admin" "$open" 30) || section_error "the proxy does not report $open open connections"
    sleep 1
    rss1=$(rss_kib "$ppid")
    k0=$(cpu_ticks "$ppid")
    sleep 5
    k1=$(cpu_ticks "$ppid")
    log "idle rep $r/$REPS: pgbench -S c8 beside $open idle connections"
    bounded_bench_pg "$port" idle-beside "$ppid" S 8 simple "$r" "$IDLE_T" ||
      section_error "pgbench beside idle connections failed (rep $r)"
    read -r pause < <(pause_and_abort "$ORCH_API" "127.0.0.1:$port" "$SECDIR/idle-pause-conns-r$r.json")
    kill -USR1 "$hp"
    sleep 0.5
    st=$(holder_status "$dir/holder.status" alive "$hp" 10)
    alive_end=$(field "$st" alive)
    stop_tree "$hp" 10
    sleep 2
    rss2=$(rss_kib "$ppid")
    idle_line "kind=conns rep=$r conns=$IDLE_CONNS open=$open failed=$(field "$st" failed)" \
      "connect_secs=$(field "$st" secs) listen_overflows=$(field "$st" listen_overflows)" \
      "proxy_saw=${seen:-NA} alive_at_end=$alive_end rss_base_kib=$rss0" \
      "rss_with_kib=$rss1 rss_after_kib=$rss2 cpu_idle_pct=$(awk -v a="$k0" -v b="$k1" -v hz="$hz" 'BEGIN{printf "%.2f", (b-a)/hz/5*100}')" \
      "pause_ms=${pause% *} abort_ms=${pause#* }"
    ((alive_end == open)) || section_error "$((open - alive_end)) idle connections were closed by the proxy while held (rep $r)"
  done

  ((IDLE_SESSIONS > 0)) || return 0
  # (b) authenticated sessions on a fresh proxy, held by one pgbench: each client runs SELECT 1,
  # then sleeps 5 s.
  stop_tree "$ppid" 35
  start_idle_proxy idle-proxy-sessions "$IDLE_SESSIONS"
  printf 'SELECT 1;\n\\sleep 5 s\n' >"$dir/idle.sql"
  sleep 1
  rss0=$(rss_kib "$ppid")
  local sp out=$OUTDIR/logs/idle-sessions-pgbench.out
  log "idle: $IDLE_SESSIONS authenticated sessions (pgbench -c $IDLE_SESSIONS -f idle.sql -T $IDLE_SESSIONS_T)"
  "$PGBIN/pgbench" -h 127.0.0.1 -p "$port" -n -c "$IDLE_SESSIONS" -j "$J" -T "$IDLE_SESSIONS_T" -f "$dir/idle.sql" \
    bench >"$out" 2>&1 </dev/null &
  sp=$!
  track_pid "$sp" "pgbench holding idle sessions"
  seen=$(lms_py wait-open "$admin" "$IDLE_SESSIONS" 60) || die "the proxy never held $IDLE_SESSIONS sessions ($(tail -3 "$out"))"
  sleep 1
  rss1=$(rss_kib "$ppid")
  local bpids anon=0 nb=0 b v
  bpids=$(pg_sql "$PG_PORT" postgres "SELECT pid FROM pg_stat_activity WHERE application_name = 'pgbench'")
  for b in $bpids; do
    v=$(awk '/^RssAnon:/{print $2}' "/proc/$b/status" 2>/dev/null) || continue
    [[ -n $v ]] && anon=$((anon + v)) nb=$((nb + 1))
  done
  read -r pause < <(pause_and_abort "$ORCH_API" "127.0.0.1:$port" "$SECDIR/idle-pause-sessions.json")
  local rc=0 deadline=$((SECONDS + IDLE_SESSIONS_T + BENCH_GRACE))
  while alive "$sp" && ((SECONDS < deadline)); do sleep 0.2; done
  alive "$sp" && { section_error "the session-holding pgbench did not end; killed"; kill -TERM "$sp" 2>/dev/null || true; }
  wait "$sp" || rc=$?
  local errs
  errs=$(grep -cE 'ERROR|FATAL|aborted|error:' "$out" || true)
  idle_line "kind=sessions sessions=$IDLE_SESSIONS proxy_saw=$seen pg_backends=$nb" \
    "pg_backend_rss_anon_kib_mean=$((nb > 0 ? anon / nb : 0)) rss_base_kib=$rss0 rss_with_kib=$rss1" \
    "pause_ms=${pause% *} abort_ms=${pause#* } pgbench_rc=$rc pgbench_errors=$errs"
  ((rc == 0 && errs == 0)) || section_error "the session-holding pgbench failed (rc $rc, $errs error lines; logs/${out##*/})"
}
