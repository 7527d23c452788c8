# shellcheck shell=bash
# Section "idle": what idle client connections cost the proxy, with one proxy (shadow none, fd
# limit raised with prlimit) registered with its own orchestrator (metadata database idle_meta on
# the bench cluster).
#
# The proxy opens a backend session for a client only after authenticating it, so a logged-in
# idle client also costs a backend session. Straight on PostgreSQL that is a backend process
# (several MiB each): 10,000 of them do not fit on this machine. Hence three measurements, each
# on a fresh proxy (freed memory stays in the allocator, so one proxy's baseline would be spoilt
# by another measurement):
#  (a) IDLE_CONNS TCP connections that sent nothing yet (before the startup packet; the proxy
#      closes those after 60 s, so each hold lasts < 60 s), opened 128 at a time by
#      bench/idle_conns.py: the proxy's RSS and CPU with them, pgbench -S (8 clients, simple)
#      beside them vs without (interleaved, REPS times), and the cutover pause (begin ->
#      TrafficPaused, then abort) with them held. Source = target = the bench cluster.
#  (b) IDLE_SESSIONS authenticated sessions (pgbench clients running `SELECT 1` every 5 s):
#      RSS per session, PostgreSQL's private memory per backend, and the pause with them held.
#      Source = target = the bench cluster.
#  (c) IDLE_AUTH_SESSIONS authenticated sessions the same way, but source = target = a PgBouncer
#      in transaction pooling mode in front of the bench cluster, so that thousands of the
#      proxy's backend sessions share a few PostgreSQL backends: the proxy's RSS and CPU with
#      them, the pause, PgBouncer's server connections. The proxy needs two fds per session
#      (client and backend), so the per-process fd hard limit (`ulimit -Hn`, 20,000 in the
#      bench container) caps the count below 10,000: hence the default of 9000.
#      PgBouncer's auth_file holds role postgres's SCRAM verifier copied from pg_authid, not the
#      plain password: with a plain password PgBouncer answers SCRAM with a fresh random salt,
#      which the proxy cannot use (it logs in to backends with the client's SCRAM ClientKey,
#      valid for the stored salt only); with the verifier PgBouncer also logs in to PostgreSQL
#      with the ClientKey it recovers from the proof. The proxy's service session (auth lookup on
#      pg_authid) logs in with the password and also goes through PgBouncer.
# Output: $SECDIR/idle.txt (IDLE lines), $SECDIR/idle.raw (RESULT lines). Sourced by run.sh.

IDLE_CONNS=${IDLE_CONNS:-10000}
IDLE_SESSIONS=${IDLE_SESSIONS:-200}
IDLE_T=${IDLE_T:-$((T < 30 ? T : 30))}
IDLE_SESSIONS_T=20 # seconds the session holder (pgbench) runs
IDLE_AUTH_SESSIONS=${IDLE_AUTH_SESSIONS:-9000}
IDLE_AUTH_HOLD=${IDLE_AUTH_HOLD:-40} # seconds (c)'s sessions stay after the last one connected
IDLE_AUTH_POOL=20                    # PgBouncer default_pool_size for (c)

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

# Like pause_and_abort, but commits: every held session is prepared on the target and
# switched. Prints "begin_to_paused_ms commit_ms prepare_ms prepared_sessions".
pause_and_commit() { # api lms_address out
  local summary rc=0
  summary=$(lms_py cutover "$1" "$3" --lms "$2" --finish commit --timeout 120) || rc=$?
  ((rc == 0)) || section_error "commit with idle sessions failed: $summary"
  printf '%s %s %s %s\n' "$(field "$summary" begin_to_paused_ms)" "$(field "$summary" commit_ms)" \
    "$(field "$summary" prepare_ms)" "$(field "$summary" prepared_sessions)"
}

# A proxy that needs FDS file descriptors for its clients (fd limit raised), source = target = URL
# (default: the bench cluster's database postgres), registered with the orchestrator, warmed up
# with 2 s of the load measured beside the clients (so that the baseline includes what that
# allocates). Sets ppid, port, admin (the caller's locals).
start_idle_proxy() { # name fds [url]
  local url=${3:-} hard nofile=$(($2 + 4096))
  hard=$(ulimit -Hn)
  [[ $hard == unlimited ]] || ((nofile <= hard)) || nofile=$hard
  (($2 + 256 <= nofile)) ||
    die "the fd hard limit ($hard) is too low for $2 fds; lower IDLE_CONNS/IDLE_SESSIONS/IDLE_AUTH_SESSIONS"
  [[ -n $url ]] || url=$(pg_url "$PG_PORT" postgres)
  LMS_WRAP=(prlimit "--nofile=$nofile:$nofile" --)
  start_lms "$1" "$url" "$url" --orchestrator-url "http://$ORCH_API"
  # shellcheck disable=SC2034 # read by start_lms
  LMS_WRAP=()
  ppid=$LMS_PID port=$LMS_SQL_PORT admin=$LMS_ADMIN
  log "$1: pid $ppid, fd limit $(prlimit --pid "$ppid" --nofile -o SOFT --noheadings | tr -d ' ')"
  wait_sql "$port" "$1 (admin $admin)"
  # This proxy live in the orchestrator's status (the earlier ones, stopped, turn lost meanwhile).
  lms_py wait-proxies "$ORCH_API" 1 30 --address "127.0.0.1:$port" >/dev/null
  "$PGBIN/pgbench" -h 127.0.0.1 -p "$port" -n -S -c 8 -j "$J" -T 2 bench >"$OUTDIR/logs/$1-warmup.out" 2>&1
}

# The fd limit for a process that holds N connections: N + 1024, at most the hard limit.
nofile_for() { # n
  local hard n=$(($1 + 1024))
  hard=$(ulimit -Hn)
  [[ $hard == unlimited ]] || ((n <= hard)) || n=$hard
  echo "$n"
}

# Percent of one core: CPU ticks T0 -> T1 over SECS seconds.
cpu_pct() { awk -v a="$1" -v b="$2" -v s="$3" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.2f", (b-a)/hz/s*100}'; }

# The proxy's open_connections right now (empty if it does not answer).
open_now() { # admin
  lms_py http GET "http://$1/api/v1/status" 2>/dev/null |
    python3 -c 'import json, sys; print(json.load(sys.stdin).get("open_connections", ""))' 2>/dev/null || true
}

# Waits until the proxy reports >= N open connections, while PID (the client holding them) lives,
# at most SECS; prints the count reached. A loop of short polls rather than one long-running
# `lms.py wait-open`: the section ignores SIGINT (it runs in the background) and bash handles
# the TERM of run.sh's cleanup only once a foreground child ends.
wait_open_while() { # admin n secs pid
  local deadline=$((SECONDS + $3)) n=""
  while :; do
    n=$(open_now "$1")
    [[ $n =~ ^[0-9]+$ ]] && ((n >= $2)) && break
    if ! alive "$4" || ((SECONDS >= deadline)); then
      echo "${n:-NA}"
      return 1
    fi
    sleep 0.5
  done
  echo "$n"
}

bench_idle_10k() {
  local x
  for x in IDLE_CONNS IDLE_SESSIONS IDLE_T IDLE_AUTH_SESSIONS IDLE_AUTH_HOLD; do
    [[ ${!x} =~ ^[0-9]+$ ]] || die "$x must be a whole number (it is '${!x}')"
  done
  ((IDLE_T >= 2 && IDLE_T <= 40)) || die "IDLE_T must be 2..40 s: the proxy closes clients silent for 60 s"
  ((IDLE_AUTH_HOLD >= 20)) || die "IDLE_AUTH_HOLD must be >= 20 s: (c) measures for ~15 s while the sessions are held"
  local hard
  hard=$(ulimit -Hn)
  [[ $hard == unlimited ]] || ((2 * IDLE_AUTH_SESSIONS + 256 <= hard)) ||
    die "IDLE_AUTH_SESSIONS=$IDLE_AUTH_SESSIONS needs $((2 * IDLE_AUTH_SESSIONS + 256)) fds in the proxy (two per session)" \
      "but the fd hard limit is $hard: at most $(((hard - 256) / 2))"
  local hz dir=$WORK/idle
  hz=$(getconf CLK_TCK)
  mkdir -p "$dir"
  # The session holders' script, (b) and (c): each client runs SELECT 1, then sleeps 5 s.
  printf 'SELECT 1;\n\\sleep 5 s\n' >"$dir/idle.sql"
  : >"$SECDIR/idle.txt"
  OUT_RAW=$SECDIR/idle.raw
  : >"$OUT_RAW"
  pg_sql "$PG_PORT" postgres "SELECT 1 FROM pg_database WHERE datname = 'idle_meta'" | grep -q 1 ||
    pg_sql "$PG_PORT" postgres "CREATE DATABASE idle_meta" >/dev/null
  start_orch idle-orchestrator "$(pg_url "$PG_PORT" idle_meta)"
  local ppid port admin
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
    seen=$(wait_open_while "$admin" "$open" 30 "$hp") || section_error "the proxy does not report $open open connections"
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

  ((IDLE_SESSIONS == 0)) || idle_sessions
  ((IDLE_AUTH_SESSIONS == 0)) || idle_auth_sessions
}

# (b) authenticated sessions on a fresh proxy straight on the bench cluster, held by one pgbench
# running idle.sql. Uses bench_idle_10k's locals.
idle_sessions() {
  local rss0 rss1 seen pause
  stop_tree "$ppid" 35
  start_idle_proxy idle-proxy-sessions $((2 * IDLE_SESSIONS))
  sleep 1
  rss0=$(rss_kib "$ppid")
  local sp out=$OUTDIR/logs/idle-sessions-pgbench.out
  log "idle: $IDLE_SESSIONS authenticated sessions (pgbench -c $IDLE_SESSIONS -f idle.sql -T $IDLE_SESSIONS_T)"
  "$PGBIN/pgbench" -h 127.0.0.1 -p "$port" -n -c "$IDLE_SESSIONS" -j "$J" -T "$IDLE_SESSIONS_T" -f "$dir/idle.sql" \
    bench >"$out" 2>&1 </dev/null &
  sp=$!
  track_pid "$sp" "pgbench holding idle sessions"
  seen=$(wait_open_while "$admin" "$IDLE_SESSIONS" 60 "$sp") ||
    die "the proxy held only $seen of $IDLE_SESSIONS sessions ($(tail -3 "$out"))"
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

# (c) IDLE_AUTH_SESSIONS authenticated sessions on a fresh proxy whose source and target are a
# PgBouncer in transaction pooling mode in front of the bench cluster (see the header), held by
# one pgbench running idle.sql with -t: its clients all connect first (one at a time per thread,
# each a SCRAM login with PBKDF2 on pgbench's side), then each runs ceil(IDLE_AUTH_HOLD / 5)
# times SELECT 1 + 5 s sleep, so the sessions stay ~IDLE_AUTH_HOLD s however long connecting
# took. Uses bench_idle_10k's locals.
idle_auth_sessions() {
  local n=$IDLE_AUTH_SESSIONS bdir=$dir/bouncer bport bp bpid verifier nofile hard bin
  local rss0 rss1 seen pause k0 k1 bk0 bk1 brss0 brss1 servers backends open_after t0 connect_s
  stop_tree "$ppid" 35
  hard=$(ulimit -Hn)
  # PgBouncer, transaction pooling, on a free port; the admin console (SHOW SERVERS) for role postgres.
  mkdir -p "$bdir"
  bport=$(free_ports 1)
  verifier=$(pg_sql "$PG_PORT" postgres "SELECT rolpassword FROM pg_authid WHERE rolname = 'postgres'")
  [[ $verifier == SCRAM-SHA-256\$* ]] || die "unexpected verifier of role postgres on the bench cluster: ${verifier:0:16}..."
  printf '"postgres" "%s"\n' "$verifier" >"$bdir/userlist.txt"
  cat >"$bdir/pgbouncer.ini" <<EOF
[databases]
bench = host=127.0.0.1 port=$PG_PORT dbname=bench
postgres = host=127.0.0.1 port=$PG_PORT dbname=postgres

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $bport
unix_socket_dir =
pool_mode = transaction
auth_type = scram-sha-256
auth_file = $bdir/userlist.txt
admin_users = postgres
max_client_conn = $((2 * n + 100))
default_pool_size = $IDLE_AUTH_POOL
log_connections = 0
log_disconnections = 0
pidfile = $bdir/pgbouncer.pid
EOF
  chmod 600 "$bdir/userlist.txt"
  if [[ $EUID -eq 0 ]]; then chown -R postgres: "$bdir"; fi
  # Twice the sessions: a commit prepares a second backend session for each held one.
  nofile=$(nofile_for $((2 * n)))
  bin=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
  # In the foreground (logging to stderr), so that it is tracked, and stopped, by its own pid.
  as_pg prlimit "--nofile=$nofile:$nofile" -- "$bin" "$bdir/pgbouncer.ini" >"$OUTDIR/logs/idle-bouncer.log" 2>&1 </dev/null &
  bp=$!
  track_pid "$bp" "PgBouncer of idle (c)"
  sleep 0.5
  alive "$bp" || die "PgBouncer of idle (c) exited at once: $(tail -3 "$OUTDIR/logs/idle-bouncer.log")"
  wait_sql "$bport" "PgBouncer of idle (c) (transaction pooling)"
  bpid=$(descendants "$bp" pgbouncer | head -1)
  [[ $(ps -o comm= -p "$bp" 2>/dev/null) != pgbouncer ]] || bpid=$bp
  [[ -n $bpid ]] || die "cannot find the pgbouncer process under pid $bp"
  [[ $bpid == "$bp" ]] || track_pid "$bpid" "pgbouncer of idle (c)"
  log "idle (c): PgBouncer pid $bpid on 127.0.0.1:$bport, pool_mode transaction, default_pool_size $IDLE_AUTH_POOL," \
    "fd limit $(awk '/^Max open files/{print $4}' "/proc/$bpid/limits")"

  # A commit holds three fds per session until the switch (client, old and prepared
  # backend); the commit round runs only when the fd hard limit allows that.
  local commit_fds=$((3 * n)) can_commit=1
  [[ $hard == unlimited ]] || ((commit_fds + 256 <= hard)) || can_commit=0
  ((can_commit)) || commit_fds=$((2 * n))
  start_idle_proxy idle-proxy-bouncer "$commit_fds" "$(pg_url "$bport" postgres)"
  sleep 1
  rss0=$(rss_kib "$ppid")
  brss0=$(rss_kib "$bpid")
  local sp rc=0 k=$(((IDLE_AUTH_HOLD + 4) / 5)) bound=$((60 + n / 50)) out=$OUTDIR/logs/idle-auth-sessions-pgbench.out
  log "idle (c): $n authenticated sessions through PgBouncer (pgbench -c $n -j $J -t $k -f idle.sql; connecting takes a while)"
  t0=$(date +%s.%N)
  prlimit "--nofile=$nofile:$nofile" -- "$PGBIN/pgbench" -h 127.0.0.1 -p "$port" -n -c "$n" -j "$J" -t "$k" \
    -f "$dir/idle.sql" bench >"$out" 2>&1 </dev/null &
  sp=$!
  track_pid "$sp" "pgbench holding idle (c)'s sessions"
  if ! seen=$(wait_open_while "$admin" "$n" "$bound" "$sp"); then
    local why="pgbench exited"
    alive "$sp" && why="pgbench still connecting after $bound s"
    section_error "(c): the proxy held only $seen of $n sessions ($why: $(tail -2 "$out" | tr '\n' ' '))"
    stop_tree "$sp" 10
    idle_line "kind=authsessions sessions=$n proxy_saw=${seen:-NA} fd_hard=$hard pool_size=$IDLE_AUTH_POOL rss_base_kib=$rss0"
    return 0
  fi
  connect_s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
  log "idle (c): the proxy holds $seen sessions after $connect_s s"
  sleep 2
  rss1=$(rss_kib "$ppid")
  brss1=$(rss_kib "$bpid")
  k0=$(cpu_ticks "$ppid") bk0=$(cpu_ticks "$bpid")
  sleep 5
  k1=$(cpu_ticks "$ppid") bk1=$(cpu_ticks "$bpid")
  servers=$(pg_sql "$bport" pgbouncer "SHOW SERVERS" | grep -c . || true)
  backends=$(pg_sql "$PG_PORT" postgres "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()")
  read -r pause < <(pause_and_abort "$ORCH_API" "127.0.0.1:$port" "$SECDIR/idle-pause-authsessions.json")
  open_after=$(open_now "$admin")
  # Then a commit across them: each held session is prepared on the target (the same
  # PgBouncer) and switched; the sessions keep running their SELECT 1 afterwards.
  local cpause=NA ccommit=NA cprep=NA cn=NA
  if ((can_commit)); then
    read -r cpause ccommit cprep cn < <(pause_and_commit "$ORCH_API" "127.0.0.1:$port" "$SECDIR/idle-commit-authsessions.json")
  else
    log "idle (c): no commit round: $n sessions need $((3 * n + 256)) fds in the proxy during a commit (hard limit $hard)"
  fi
  alive "$sp" || section_error "(c): pgbench ended before the measurements did (raise IDLE_AUTH_HOLD)"
  local deadline=$((SECONDS + IDLE_AUTH_HOLD + BENCH_GRACE))
  while alive "$sp" && ((SECONDS < deadline)); do sleep 0.5; done
  alive "$sp" && { section_error "(c): the session-holding pgbench did not end; killed"; kill -TERM "$sp" 2>/dev/null || true; }
  wait "$sp" || rc=$?
  local errs failed processed
  errs=$(grep -cE 'ERROR|FATAL|aborted|error:' "$out" || true)
  failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$out")
  processed=$(sed -n 's/^number of transactions actually processed: \([0-9/]*\).*/\1/p' "$out")
  idle_line "kind=authsessions sessions=$n proxy_saw=$seen connect_secs=$connect_s open_after_pause=${open_after:-NA}" \
    "fd_hard=$hard proxy_nofile=$(prlimit --pid "$ppid" --nofile -o SOFT --noheadings | tr -d ' ') pool_size=$IDLE_AUTH_POOL" \
    "bouncer_servers=$servers pg_client_backends=$backends rss_base_kib=$rss0 rss_with_kib=$rss1 cpu_pct=$(cpu_pct "$k0" "$k1" 5)" \
    "bouncer_rss_base_kib=$brss0 bouncer_rss_with_kib=$brss1 bouncer_cpu_pct=$(cpu_pct "$bk0" "$bk1" 5)" \
    "pause_ms=${pause% *} abort_ms=${pause#* } hold_xacts=$k pgbench_rc=$rc pgbench_errors=$errs" \
    "commit_pause_ms=$cpause commit_ms=$ccommit prepare_ms=$cprep prepared_sessions=$cn" \
    "pgbench_failed=${failed:-NA} pgbench_processed=${processed:-NA}"
  [[ ${open_after:-0} -ge $n ]] || section_error "(c): only ${open_after:-?} of $n sessions still open after the pause"
  if ((rc != 0 || errs != 0)) || [[ ${failed:-0} != 0 ]]; then
    section_error "(c): the session-holding pgbench failed (rc $rc, $errs error lines, ${failed:-?} failed; logs/${out##*/})"
  fi
}
