# shellcheck shell=bash
# A throwaway PostgreSQL cluster for the single-proxy measurement scripts (instructions.sh,
# syscalls.sh): its own data dir under a fresh $WORK, an ephemeral port, SCRAM logins for
# `postgres` with $PASSWORD, and pgbench's tables. Sourced; the caller sets PASSWORD.
#   scratch_start SCALE [SERVER OPTION...]   sets PGBIN, WORK, PG_PORT; exports PGPASSWORD
#   scratch_stop                               stops the cluster, removes $WORK
#   scratch_bouncer_ini [LINE...]              $WORK/pgbouncer.ini and its auth file for a
#                                              PgBouncer in session mode in front of it (SCRAM
#                                              with the cluster's own verifier); sets BOUNCER_PORT

PGBIN=$(for d in /usr/lib/postgresql/*/bin; do [[ -x $d/initdb ]] && echo "$d"; done | sort -V | tail -1)
[[ -n $PGBIN ]] || { echo "no PostgreSQL server binaries" >&2; exit 2; }

as_pg() { if ((EUID == 0)); then runuser -u postgres -- "$@"; else "$@"; fi; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

scratch_start() {
  local scale=$1
  shift
  WORK=$(mktemp -d /tmp/molt-scratch.XXXXXX)
  chmod 755 "$WORK"
  PG_PORT=$(free_port)
  printf '%s\n' "$PASSWORD" >"$WORK/pwfile"
  ((EUID == 0)) && chown postgres: "$WORK" "$WORK/pwfile"
  as_pg "$PGBIN/initdb" -D "$WORK/data" -U postgres --auth=scram-sha-256 --pwfile="$WORK/pwfile" >/dev/null
  as_pg "$PGBIN/pg_ctl" -D "$WORK/data" -l "$WORK/pg.log" -w \
    -o "-p $PG_PORT -k $WORK -c listen_addresses=127.0.0.1 $*" start >/dev/null
  export PGPASSWORD=$PASSWORD
  "$PGBIN/pgbench" -h 127.0.0.1 -p "$PG_PORT" -U postgres -i -s "$scale" -q postgres >/dev/null 2>&1
}

scratch_bouncer_ini() {
  BOUNCER_PORT=$(free_port)
  local verifier
  verifier=$("$PGBIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -At \
    -c "SELECT rolpassword FROM pg_authid WHERE rolname = 'postgres'" postgres)
  printf '"postgres" "%s"\n' "$verifier" >"$WORK/userlist.txt"
  {
    printf '[databases]\npostgres = host=127.0.0.1 port=%s dbname=postgres\n[pgbouncer]\n' "$PG_PORT"
    printf 'listen_addr = 127.0.0.1\nlisten_port = %s\nunix_socket_dir =\n' "$BOUNCER_PORT"
    printf 'auth_type = scram-sha-256\nauth_file = %s\npool_mode = session\n' "$WORK/userlist.txt"
    printf 'logfile = %s\n' "$WORK/pgbouncer.log"
    if (($#)); then printf '%s\n' "$@"; fi
  } >"$WORK/pgbouncer.ini"
  ((EUID == 0)) && chown postgres: "$WORK/pgbouncer.ini" "$WORK/userlist.txt"
  chmod 600 "$WORK/userlist.txt"
}

scratch_stop() {
  [[ -n ${WORK:-} ]] || return 0
  as_pg "$PGBIN/pg_ctl" -D "$WORK/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
