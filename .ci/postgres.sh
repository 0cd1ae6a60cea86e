# shellcheck shell=bash
# Throwaway PostgreSQL server for the test suite.
#
# Source this file from .ci/run (it only defines functions), then:
#
#     source .ci/postgres.sh
#     trap pg_stop EXIT
#     pg_start                       # exports FTSWEEP_TEST_POSTGRES_URL
#     python -m pytest ...
#
# pg_start installs Debian's `postgresql` package if no server binaries are
# present, creates a fresh cluster in a temp dir (owned by the `postgres` OS
# user when run as root), starts it on 127.0.0.1 on a free port with trust
# auth and its unix socket inside the temp dir, creates the database
# `ftsweep_test` and exports
#     FTSWEEP_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:PORT/ftsweep_test
# It never starts (or touches) the Debian default cluster.  The cluster runs
# with fsync off: it is for tests only, and its data is thrown away.
#
# pg_stop stops that server and removes the temp dir.  It is safe to call
# twice, or after a failed / never-run pg_start (so it can live in a trap).
#
# Both functions work under `set -euo pipefail`; pg_start returns non-zero
# (after printing its log) on failure.  Setup output goes to a log file; on
# success a single line is printed.
#
# Knobs (optional): FTSWEEP_PG_PORT (first port to try, default 55432),
# FTSWEEP_PG_DB (database name, default ftsweep_test), FTSWEEP_PG_TMPDIR
# (parent of the temp dir, default /tmp; must be reachable by user postgres).

_pg_log() {
    # _pg_log MSG... : append a line to the setup log (if there is one yet)
    if [[ -n "${_FTSWEEP_PG_LOG:-}" ]]; then
        printf '[pg %(%H:%M:%S)T] %s\n' -1 "$*" >>"$_FTSWEEP_PG_LOG" 2>/dev/null || true
    fi
}

_pg_bindir() {
    # Print the bin dir of the newest installed server, or fail.
    local d best=""
    for d in /usr/lib/postgresql/*/bin; do
        [[ -x "$d/initdb" && -x "$d/pg_ctl" && -x "$d/postgres" ]] || continue
        if [[ -z "$best" ]] || [[ "${d//[!0-9]/}" -gt "${best//[!0-9]/}" ]]; then
            best="$d"
        fi
    done
    [[ -n "$best" ]] || return 1
    printf '%s\n' "$best"
}

_pg_as_owner() {
    # Run a command as the cluster owner (postgres when we are root), from the
    # data's parent dir so the postgres user never has to read our cwd.
    if [[ "$(id -u)" -eq 0 ]]; then
        (cd "$_FTSWEEP_PG_DIR" && runuser -u postgres -- "$@")
    else
        (cd "$_FTSWEEP_PG_DIR" && "$@")
    fi
}

_pg_install() {
    # Install Debian's server without letting its maintainer scripts start the
    # default cluster: while apt runs, /usr/sbin/policy-rc.d forbids every
    # service start (exit 101); whatever was there before is put back after.
    if [[ "$(id -u)" -ne 0 ]]; then
        _pg_log "no PostgreSQL server binaries and not root: cannot apt-get install"
        return 1
    fi
    local policy=/usr/sbin/policy-rc.d backup="" rc=0
    if [[ -e "$policy" || -L "$policy" ]]; then
        backup="$policy.ftsweep-backup.$$"
        mv -f "$policy" "$backup" || return 1
    fi
    printf '#!/bin/sh\n# temporary, from ftsweep .ci/postgres.sh\nexit 101\n' >"$policy" &&
        chmod 755 "$policy" || rc=1
    if [[ "$rc" -eq 0 ]]; then
        _pg_log "installing postgresql with apt-get"
        {
            apt-get -o DPkg::Lock::Timeout=300 update -q &&
                DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q \
                    --no-install-recommends postgresql
        } </dev/null >>"$_FTSWEEP_PG_LOG" 2>&1 || rc=$?
    else
        _pg_log "could not write $policy"
    fi
    rm -f "$policy"
    if [[ -n "$backup" ]]; then
        mv -f "$backup" "$policy" || rc=1
    fi
    return "$rc"
}

_pg_port_busy() {
    # True if something accepts TCP connections on 127.0.0.1:$1.
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

_pg_fail() {
    # _pg_fail MSG : report a pg_start failure with the logs, clean up, return 1
    local f
    echo "pg_start: FAILED: $*" >&2
    for f in "${_FTSWEEP_PG_LOG:-}" "${_FTSWEEP_PG_DIR:-/nonexistent}/server.log"; do
        if [[ -n "$f" && -s "$f" ]]; then
            echo "----- $f -----" >&2
            tail -n 200 "$f" >&2 || true
        fi
    done
    echo "----- end of PostgreSQL logs -----" >&2
    pg_stop >/dev/null 2>&1 || true
    return 1
}

pg_start() {
    local bindir tmp port first_port db ok=0 tries=0
    if [[ -n "${_FTSWEEP_PG_DIR:-}" ]]; then
        echo "pg_start: already running (${FTSWEEP_TEST_POSTGRES_URL:-?}); call pg_stop first" >&2
        return 1
    fi
    first_port="${FTSWEEP_PG_PORT:-55432}"
    db="${FTSWEEP_PG_DB:-ftsweep_test}"

    # Not $TMPDIR: the postgres user must be able to reach the dir.
    tmp="$(mktemp -d "${FTSWEEP_PG_TMPDIR:-/tmp}/ftsweep-pg.XXXXXX")" || {
        echo "pg_start: FAILED: mktemp" >&2
        return 1
    }
    _FTSWEEP_PG_DIR="$tmp"
    _FTSWEEP_PG_LOG="$tmp/setup.log"
    : >"$_FTSWEEP_PG_LOG"
    chmod 755 "$tmp" || true

    if ! bindir="$(_pg_bindir)"; then
        _pg_install || { _pg_fail "apt-get install postgresql"; return 1; }
        bindir="$(_pg_bindir)" || { _pg_fail "no initdb under /usr/lib/postgresql/*/bin"; return 1; }
    fi
    _FTSWEEP_PG_BIN="$bindir"
    _pg_log "using $bindir"

    if [[ "$(id -u)" -eq 0 ]]; then
        id postgres >/dev/null 2>&1 || { _pg_fail "no 'postgres' OS user"; return 1; }
        chown postgres: "$tmp" "$_FTSWEEP_PG_LOG" || { _pg_fail "chown $tmp"; return 1; }
    fi

    _pg_log "initdb $tmp/data"
    local locale
    for locale in C.UTF-8 C; do # C.UTF-8 is in Debian's libc; plain C as a fallback
        if _pg_as_owner "$bindir/initdb" -D "$tmp/data" -U postgres -A trust -E UTF8 \
            --locale="$locale" --no-sync >>"$_FTSWEEP_PG_LOG" 2>&1; then
            break
        fi
        rm -rf -- "${tmp:?}/data"
    done
    [[ -f "$tmp/data/PG_VERSION" ]] || { _pg_fail "initdb"; return 1; }

    # Test-only settings: loopback only, socket in the temp dir, no durability.
    cat >>"$tmp/data/postgresql.conf" <<EOF || { _pg_fail "write postgresql.conf"; return 1; }

# --- ftsweep throwaway test cluster (.ci/postgres.sh) ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '$tmp'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 100
logging_collector = off
EOF

    # Start on the first free port from $first_port on; a port that is taken
    # between our check and the bind just makes us try the next one.
    port="$first_port"
    while [[ "$tries" -lt 50 ]]; do
        tries=$((tries + 1))
        if _pg_port_busy "$port"; then
            _pg_log "port $port busy"
            port=$((port + 1))
            continue
        fi
        _pg_log "starting on 127.0.0.1:$port"
        if _pg_as_owner "$bindir/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w -t 60 \
            -o "-p $port" start >>"$_FTSWEEP_PG_LOG" 2>&1; then
            ok=1
            break
        fi
        if grep -qiE 'could not (bind|create listen)|address already in use' \
            "$tmp/server.log" 2>/dev/null; then
            _pg_log "port $port taken at bind time, trying the next"
            : >"$tmp/server.log"
            port=$((port + 1))
            continue
        fi
        break
    done
    [[ "$ok" -eq 1 ]] || { _pg_fail "pg_ctl start"; return 1; }
    _FTSWEEP_PG_PORT="$port"

    _pg_log "createdb $db"
    "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres \
        -c "CREATE DATABASE \"$db\"" </dev/null >>"$_FTSWEEP_PG_LOG" 2>&1 ||
        { _pg_fail "CREATE DATABASE $db"; return 1; }

    export FTSWEEP_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$port/$db"
    echo "pg_start: PostgreSQL $("$bindir/postgres" -V | awk '{print $3}') on 127.0.0.1:$port" \
        "(data $tmp); FTSWEEP_TEST_POSTGRES_URL=$FTSWEEP_TEST_POSTGRES_URL"
}

_pg_is_our_postmaster() {
    # _pg_is_our_postmaster PID DIR : PID is alive and is a postgres whose
    # command line names our data dir (guards against a recycled pid).
    [[ "$1" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$1" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$2/data"
}

pg_stop() {
    local tmp="${_FTSWEEP_PG_DIR:-}" bindir="${_FTSWEEP_PG_BIN:-}" pid=""
    unset FTSWEEP_TEST_POSTGRES_URL _FTSWEEP_PG_DIR _FTSWEEP_PG_LOG _FTSWEEP_PG_BIN \
        _FTSWEEP_PG_PORT
    if [[ -z "$tmp" ]]; then
        return 0
    fi
    # Only ever remove our own mktemp dir.
    case "$tmp" in
    */ftsweep-pg.*) ;;
    *)
        echo "pg_stop: refusing to remove unexpected dir '$tmp'" >&2
        return 0
        ;;
    esac
    if [[ -f "$tmp/data/postmaster.pid" ]]; then
        pid="$(head -n 1 "$tmp/data/postmaster.pid" 2>/dev/null || true)"
        if [[ -n "$bindir" && -x "$bindir/pg_ctl" ]]; then
            if [[ "$(id -u)" -eq 0 ]]; then
                (cd "$tmp" && runuser -u postgres -- "$bindir/pg_ctl" -D "$tmp/data" \
                    -m fast -w -t 30 stop) >/dev/null 2>&1 || true
            else
                (cd "$tmp" && "$bindir/pg_ctl" -D "$tmp/data" -m fast -w -t 30 stop) \
                    >/dev/null 2>&1 || true
            fi
        fi
        # Still there (pg_ctl missing or timed out)? Kill that one postmaster.
        if _pg_is_our_postmaster "$pid" "$tmp"; then
            kill -QUIT "$pid" 2>/dev/null || true
            for _ in $(seq 1 50); do
                _pg_is_our_postmaster "$pid" "$tmp" || break
                sleep 0.1
            done
            if _pg_is_our_postmaster "$pid" "$tmp"; then
                kill -KILL "$pid" 2>/dev/null || true
            fi
        fi
    fi
    rm -rf -- "$tmp" 2>/dev/null || true
    return 0
}
