# shellcheck shell=bash
# Section "mysql": sysbench through three paths to a MariaDB of the section's own, interleaved
# as the matrix is (per rep, every cell runs direct, socat, proxy in turn):
#   direct   the section's MariaDB (never a server on 3306)
#   socat    a plain TCP relay: the floor cost of one extra hop
#   proxy    molt-lms with --source-dialect mysql (no orchestrator, no shadow)
# Workloads oltp_read_only and oltp_point_select at 1 and 8 threads. Output: $SECDIR/mysql.raw,
# one line per run:
#   MYSQL target=T workload=W threads=N rep=R ok=0|1 tps=X qps=Y errors=E
# Sourced by run.sh.

MYSQL_WORKLOADS=${MYSQL_WORKLOADS:-"oltp_read_only oltp_point_select"}
MYSQL_THREADS=${MYSQL_THREADS:-"1 8"}
MYSQL_TABLES=${MYSQL_TABLES:-4}
MYSQL_TABLE_SIZE=${MYSQL_TABLE_SIZE:-10000}
MYSQL_SYSBENCH_ARGS=${MYSQL_SYSBENCH_ARGS:-}
MYSQL_TARGETS=(direct socat proxy)

my_sql() { mariadb --no-defaults --socket="$MY_DIR/sock" -uroot -N -B -e "$1"; }

# A MariaDB in $WORK/mariadb on a free port. Sets MY_DIR, MY_PORT.
start_mariadb() {
  command -v mariadbd >/dev/null || [[ -x /usr/sbin/mariadbd ]] || die "mariadbd not found (apt install mariadb-server)"
  command -v sysbench >/dev/null || die "sysbench not found (apt install sysbench)"
  MY_DIR=$WORK/mariadb
  mkdir -p "$MY_DIR/tmp"
  [[ $EUID -eq 0 ]] && chown -R mysql: "$MY_DIR"
  mariadb-install-db --no-defaults --datadir="$MY_DIR/data" --tmpdir="$MY_DIR/tmp" --user=mysql \
    --auth-root-authentication-method=normal --skip-test-db >"$OUTDIR/logs/mariadb-install.log" 2>&1 ||
    die "mariadb-install-db failed (logs/mariadb-install.log)"
  read -r MY_PORT < <(free_ports 1)
  local mariadbd
  mariadbd=$(command -v mariadbd || echo /usr/sbin/mariadbd)
  setsid "$mariadbd" --no-defaults --datadir="$MY_DIR/data" --socket="$MY_DIR/sock" \
    --pid-file="$MY_DIR/server.pid" --log-error="$OUTDIR/logs/mariadb.log" --tmpdir="$MY_DIR/tmp" \
    --port="$MY_PORT" --bind-address=127.0.0.1 --user=mysql --skip-name-resolve \
    --innodb-buffer-pool-size=256M --innodb-flush-log-at-trx-commit=0 --max-connections=200 \
    </dev/null >/dev/null 2>&1 &
  local pid=$!
  track_pid "$pid" mariadb
  local deadline=$((SECONDS + READY_TIMEOUT))
  until my_sql 'SELECT 1' >/dev/null 2>&1; do
    alive "$pid" || die "mariadbd exited (logs/mariadb.log)"
    ((SECONDS < deadline)) || die "mariadbd does not answer after ${READY_TIMEOUT}s (logs/mariadb.log)"
    sleep 0.2
  done
  my_sql "CREATE USER 'lms'@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('$PASSWORD');
    GRANT ALL ON *.* TO 'lms'@'%';
    CREATE USER 'bench'@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('$PASSWORD');
    GRANT ALL ON *.* TO 'bench'@'%';
    CREATE DATABASE sbtest;" || die "cannot create the bench users"
  log "mariadb ready on port $MY_PORT"
}

sysbench_args() { # workload port threads
  printf '%s\n' "$1" --db-driver=mysql --mysql-host=127.0.0.1 "--mysql-port=$2" --mysql-user=bench \
    "--mysql-password=$PASSWORD" --mysql-db=sbtest "--tables=$MYSQL_TABLES" "--table-size=$MYSQL_TABLE_SIZE" \
    "--threads=$3"
  # Extra sysbench options, one per word (e.g. --db-ps-mode=disable for the text protocol).
  [[ -z ${MYSQL_SYSBENCH_ARGS:-} ]] || printf '%s\n' $MYSQL_SYSBENCH_ARGS
}

# One timed sysbench run; appends its MYSQL line.
mysql_run() { # target port workload threads rep
  local tgt=$1 port=$2 w=$3 n=$4 r=$5 out rc=0 tps qps errs ok=1
  out=$OUTDIR/logs/mysql-$tgt-$w-t$n-r$r.log
  mapfile -t args < <(sysbench_args "$w" "$port" "$n")
  timeout $((T + BENCH_GRACE)) sysbench "${args[@]}" "--time=$T" --report-interval=0 run >"$out" 2>&1 || rc=$?
  tps=$(sed -n 's/^ *transactions: *[0-9]* *(\([0-9.]*\) per sec.)/\1/p' "$out")
  qps=$(sed -n 's/^ *queries: *[0-9]* *(\([0-9.]*\) per sec.)/\1/p' "$out")
  errs=$(sed -n 's/^ *ignored errors: *\([0-9]*\).*/\1/p' "$out")
  [[ $rc -eq 0 && -n $tps ]] || ok=0
  printf 'MYSQL target=%s workload=%s threads=%s rep=%s ok=%s tps=%s qps=%s errors=%s rc=%s\n' \
    "$tgt" "$w" "$n" "$r" "$ok" "${tps:-0}" "${qps:-0}" "${errs:-?}" "$rc" >>"$SECDIR/mysql.raw"
  ((ok == 1))
}

bench_mysql() {
  start_mariadb
  local sport
  read -r sport < <(free_ports 1)
  setsid socat "TCP-LISTEN:$sport,fork,reuseaddr,nodelay,bind=127.0.0.1" "TCP:127.0.0.1:$MY_PORT,nodelay" \
    >"$OUTDIR/logs/mysql-socat.log" 2>&1 </dev/null &
  track_pid $! mysql-socat
  start_lms mysql-proxy "mysql://lms:$PASSWORD@127.0.0.1:$MY_PORT/" "$(pg_url "$PG_PORT" bench)" \
    --source-dialect mysql --workers 2
  local pport=$LMS_SQL_PORT ppid=$LMS_PID
  declare -A port=([direct]=$MY_PORT [socat]=$sport [proxy]=$pport)
  mapfile -t args < <(sysbench_args oltp_read_only "$MY_PORT" 4)
  sysbench "${args[@]}" prepare >"$OUTDIR/logs/mysql-prepare.log" 2>&1 || die "sysbench prepare failed (logs/mysql-prepare.log)"
  : >"$SECDIR/mysql.raw"
  local r w n tgt k=0 failed=0 total
  total=$(($(wc -w <<<"$MYSQL_WORKLOADS") * $(wc -w <<<"$MYSQL_THREADS") * ${#MYSQL_TARGETS[@]} * REPS))
  for ((r = 1; r <= REPS; r++)); do
    for w in $MYSQL_WORKLOADS; do for n in $MYSQL_THREADS; do
      for tgt in "${MYSQL_TARGETS[@]}"; do
        k=$((k + 1))
        log "mysql run $k/$total: rep $r $tgt $w threads $n"
        mysql_run "$tgt" "${port[$tgt]}" "$w" "$n" "$r" || {
          failed=$((failed + 1))
          log "mysql run failed: $tgt $w threads $n rep $r (logs/mysql-$tgt-$w-t$n-r$r.log)"
        }
      done
    done; done
  done
  alive "$ppid" || section_error "the MySQL proxy died during the runs (logs/mysql-proxy.stderr)"
  ((failed == 0)) || section_error "$failed of $total sysbench runs failed"
}
