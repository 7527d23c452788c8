# shellcheck shell=bash
# Section "mysql": sysbench through up to five paths, interleaved as the matrix is (per rep,
# every cell runs the paths in this order):
#   direct    the section's MariaDB (never a server on 3306)
#   socat     a plain TCP relay: the floor cost of one extra hop
#   proxy     molt-lms with --source-dialect mysql (no orchestrator, no shadow), on MariaDB
#   after     a second such proxy, registered with an orchestrator of the section's own and cut
#             over before the runs: it serves the MySQL clients from PostgreSQL (database
#             sbtest on the bench cluster) through its MySQL -> PostgreSQL gateway
#   pgdirect  the same workload with sysbench's own PostgreSQL driver straight at that database
#             (only if this sysbench has the pgsql driver)
# The sbtest tables are copied from MariaDB to PostgreSQL after `sysbench prepare`, so every
# path reads the same rows. Workloads oltp_read_only and oltp_point_select at 1 and 8 threads.
# Output: $SECDIR/mysql.raw, one line per run:
#   MYSQL target=T workload=W threads=N rep=R ok=0|1 tps=X qps=Y errors=E rc=C queries=Q cpu_s=S
# (cpu_s: the proxy's user + system CPU seconds during the run, proxy and after only; "-"
# elsewhere), and $SECDIR/mysql-cutover.json (the cutover of `after`). Sourced by run.sh.

MYSQL_WORKLOADS=${MYSQL_WORKLOADS:-"oltp_read_only oltp_point_select"}
MYSQL_THREADS=${MYSQL_THREADS:-"1 8"}
MYSQL_TABLES=${MYSQL_TABLES:-4}
MYSQL_TABLE_SIZE=${MYSQL_TABLE_SIZE:-10000}
MYSQL_SYSBENCH_ARGS=${MYSQL_SYSBENCH_ARGS:-}
MYSQL_PG_DB=sbtest # the PostgreSQL database of `after` and `pgdirect`, on the bench cluster

# True if this sysbench has its PostgreSQL driver compiled in.
# (grep reads it all: with pipefail, grep -q could SIGPIPE sysbench and fail the test.)
sysbench_has_pgsql() { sysbench --help 2>/dev/null | grep '^ *pgsql - ' >/dev/null; }

# The paths, in run order.
mysql_targets() {
  printf '%s\n' direct socat proxy after
  if sysbench_has_pgsql; then echo pgdirect; fi
}

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

sysbench_args() { # workload port threads [pgsql]
  if [[ ${4:-} == pgsql ]]; then
    printf '%s\n' "$1" --db-driver=pgsql --pgsql-host=127.0.0.1 "--pgsql-port=$2" --pgsql-user=postgres \
      "--pgsql-password=$PASSWORD" "--pgsql-db=$MYSQL_PG_DB"
  else
    printf '%s\n' "$1" --db-driver=mysql --mysql-host=127.0.0.1 "--mysql-port=$2" --mysql-user=bench \
      "--mysql-password=$PASSWORD" --mysql-db=sbtest
  fi
  printf '%s\n' "--tables=$MYSQL_TABLES" "--table-size=$MYSQL_TABLE_SIZE" "--threads=$3"
  # Extra sysbench options, one per word (e.g. --db-ps-mode=disable for the text protocol).
  # shellcheck disable=SC2086 # split into words on purpose
  [[ -z ${MYSQL_SYSBENCH_ARGS:-} ]] || printf '%s\n' $MYSQL_SYSBENCH_ARGS
}

# One timed sysbench run; appends its MYSQL line. With PID, also the CPU that process used.
mysql_run() { # target port workload threads rep [pid]
  local tgt=$1 port=$2 w=$3 n=$4 r=$5 pid=${6:-} out rc=0 tps qps queries errs ok=1 c0="" c1="" cpu=-
  out=$OUTDIR/logs/mysql-$tgt-$w-t$n-r$r.log
  local driver=mysql
  [[ $tgt != pgdirect ]] || driver=pgsql
  mapfile -t args < <(sysbench_args "$w" "$port" "$n" "$driver")
  [[ -z $pid ]] || c0=$(cpu_ticks "$pid") || true
  timeout $((T + BENCH_GRACE)) sysbench "${args[@]}" "--time=$T" --report-interval=0 run >"$out" 2>&1 || rc=$?
  [[ -z $pid ]] || c1=$(cpu_ticks "$pid") || true
  if [[ -n $c0 && -n $c1 ]]; then cpu=$(awk -v a="$c0" -v b="$c1" -v hz="$CLK_TCK" 'BEGIN{printf "%.2f", (b - a) / hz}'); fi
  tps=$(sed -n 's/^ *transactions: *[0-9]* *(\([0-9.]*\) per sec.)/\1/p' "$out")
  qps=$(sed -n 's/^ *queries: *[0-9]* *(\([0-9.]*\) per sec.)/\1/p' "$out")
  queries=$(sed -n 's/^ *queries: *\([0-9]*\) *(.*/\1/p' "$out")
  errs=$(sed -n 's/^ *ignored errors: *\([0-9]*\).*/\1/p' "$out")
  [[ $rc -eq 0 && -n $tps ]] || ok=0
  printf 'MYSQL target=%s workload=%s threads=%s rep=%s ok=%s tps=%s qps=%s errors=%s rc=%s queries=%s cpu_s=%s\n' \
    "$tgt" "$w" "$n" "$r" "$ok" "${tps:-0}" "${qps:-0}" "${errs:-?}" "$rc" "${queries:-0}" "$cpu" >>"$SECDIR/mysql.raw"
  ((ok == 1))
}

# The sbtest tables of MariaDB, rows included, in $MYSQL_PG_DB on the bench cluster (public
# schema: the gateway connects to the target URL's database, and sysbench's unqualified table
# names resolve there). Copied as tab-separated text, which needs c and pad free of tabs and
# backslashes: sysbench fills them with digits and dashes, checked here.
copy_sbtest_to_pg() {
  local i t odd n
  pg_sql "$PG_PORT" postgres "CREATE DATABASE $MYSQL_PG_DB" >/dev/null
  for ((i = 1; i <= MYSQL_TABLES; i++)); do
    t=sbtest$i
    odd=$(my_sql "SELECT COUNT(*) FROM sbtest.$t WHERE c NOT REGEXP '^[0-9-]*\$' OR pad NOT REGEXP '^[0-9-]*\$'")
    [[ $odd == 0 ]] || die "sbtest.$t has $odd rows whose c or pad is not digits and dashes; cannot copy as text"
    pg_sql "$PG_PORT" "$MYSQL_PG_DB" "CREATE TABLE $t (id integer PRIMARY KEY, k integer NOT NULL DEFAULT 0,
      c char(120) NOT NULL DEFAULT '', pad char(60) NOT NULL DEFAULT '')" >/dev/null
    my_sql "SELECT id, k, c, pad FROM sbtest.$t" |
      "$PGBIN/psql" -h 127.0.0.1 -p "$PG_PORT" -d "$MYSQL_PG_DB" -XAtq -v ON_ERROR_STOP=1 -c "\\copy $t FROM STDIN" \
        >>"$OUTDIR/logs/mysql-copy.log" 2>&1 || die "copying $t to PostgreSQL failed (logs/mysql-copy.log)"
    pg_sql "$PG_PORT" "$MYSQL_PG_DB" "CREATE INDEX k_$i ON $t(k)" >/dev/null
    n=$(pg_sql "$PG_PORT" "$MYSQL_PG_DB" "SELECT count(*) FROM $t")
    [[ $n == "$(my_sql "SELECT COUNT(*) FROM sbtest.$t")" ]] || die "$t: $n rows on PostgreSQL, not as many as on MariaDB"
  done
  pg_sql "$PG_PORT" "$MYSQL_PG_DB" "VACUUM ANALYZE" >/dev/null
  log "mysql: $MYSQL_TABLES sbtest tables copied to PostgreSQL database $MYSQL_PG_DB"
}

# The `after` proxy: registered with an orchestrator of the section's own (metadata database
# mysql_meta on the bench cluster), then cut over with nobody connected. Sets AFTER_PORT, AFTER_PID.
start_after_proxy() {
  pg_sql "$PG_PORT" postgres "CREATE DATABASE mysql_meta" >/dev/null
  start_orch mysql-orchestrator "$(pg_url "$PG_PORT" mysql_meta)"
  start_lms mysql-after "mysql://lms:$PASSWORD@127.0.0.1:$MY_PORT/" "$(pg_url "$PG_PORT" "$MYSQL_PG_DB")" \
    --source-dialect mysql --workers 2 --orchestrator-url "http://$ORCH_API"
  AFTER_PORT=$LMS_SQL_PORT AFTER_PID=$LMS_PID
  lms_py wait-proxies "$ORCH_API" 1 30 >/dev/null
  local summary rc=0
  summary=$(lms_py cutover "$ORCH_API" "$SECDIR/mysql-cutover.json" --finish commit --timeout 60) || rc=$?
  log "mysql: cutover of the after proxy: $summary"
  ((rc == 0)) || die "the cutover of the after proxy did not complete: $summary"
  # Served from PostgreSQL now: a function MariaDB does not have, and the copied rows.
  local v
  v=$(mariadb --no-defaults -h 127.0.0.1 -P "$AFTER_PORT" -ubench "-p$PASSWORD" -N -B \
    -e "SELECT current_setting('server_version'), (SELECT count(*) FROM sbtest1)" 2>&1) ||
    die "the after proxy does not answer from PostgreSQL: $v"
  log "mysql: the after proxy answers from PostgreSQL $(cut -f1 <<<"$v") (sbtest1: $(cut -f2 <<<"$v") rows)"
}

bench_mysql() {
  start_mariadb
  CLK_TCK=$(getconf CLK_TCK)
  local sport
  read -r sport < <(free_ports 1)
  setsid socat "TCP-LISTEN:$sport,fork,reuseaddr,nodelay,bind=127.0.0.1" "TCP:127.0.0.1:$MY_PORT,nodelay" \
    >"$OUTDIR/logs/mysql-socat.log" 2>&1 </dev/null &
  track_pid $! mysql-socat
  # Not registered with any orchestrator: it stays on MariaDB while `after` switches.
  start_lms mysql-proxy "mysql://lms:$PASSWORD@127.0.0.1:$MY_PORT/" "$(pg_url "$PG_PORT" bench)" \
    --source-dialect mysql --workers 2
  local pport=$LMS_SQL_PORT ppid=$LMS_PID
  mapfile -t args < <(sysbench_args oltp_read_only "$MY_PORT" 4)
  sysbench "${args[@]}" prepare >"$OUTDIR/logs/mysql-prepare.log" 2>&1 || die "sysbench prepare failed (logs/mysql-prepare.log)"
  copy_sbtest_to_pg
  start_after_proxy
  local targets
  mapfile -t targets < <(mysql_targets)
  [[ " ${targets[*]} " == *" pgdirect "* ]] ||
    not_measured mysql "pgdirect (sysbench's PostgreSQL driver straight at PostgreSQL): this sysbench has no pgsql driver"
  declare -A port=([direct]=$MY_PORT [socat]=$sport [proxy]=$pport [after]=$AFTER_PORT [pgdirect]=$PG_PORT)
  declare -A pid=([proxy]=$ppid [after]=$AFTER_PID)
  : >"$SECDIR/mysql.raw"
  local r w n tgt k=0 failed=0 total
  total=$(($(wc -w <<<"$MYSQL_WORKLOADS") * $(wc -w <<<"$MYSQL_THREADS") * ${#targets[@]} * REPS))
  for ((r = 1; r <= REPS; r++)); do
    for w in $MYSQL_WORKLOADS; do for n in $MYSQL_THREADS; do
      for tgt in "${targets[@]}"; do
        k=$((k + 1))
        log "mysql run $k/$total: rep $r $tgt $w threads $n"
        mysql_run "$tgt" "${port[$tgt]}" "$w" "$n" "$r" "${pid[$tgt]:-}" || {
          failed=$((failed + 1))
          log "mysql run failed: $tgt $w threads $n rep $r (logs/mysql-$tgt-$w-t$n-r$r.log)"
        }
      done
    done; done
  done
  alive "$ppid" || section_error "the MySQL proxy died during the runs (logs/mysql-proxy.stderr)"
  alive "$AFTER_PID" || section_error "the after proxy died during the runs (logs/mysql-after.stderr)"
  ((failed == 0)) || section_error "$failed of $total sysbench runs failed"
  local errs
  errs=$(awk '/^MYSQL / { for (i = 2; i <= NF; i++) if ($i ~ /^errors=/ && $i != "errors=0") { print; break } }' "$SECDIR/mysql.raw")
  [[ -z $errs ]] || section_error "sysbench counted ignored errors: $(tr '\n' ';' <<<"$errs")"
}
