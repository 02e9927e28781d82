#!/usr/bin/env bash
# Benchmarks/StoreBench against PostgresSampleStore on a throwaway PostgreSQL cluster, set up as
# the tests' (Sources/ReflexTestSupport/TemporaryPostgres.swift, Tests/integration/postgres.py):
# initdb in a temporary directory, SCRAM password authentication, a postmaster on a free
# loopback port with `listen_addresses=127.0.0.1` and `max_connections=200`, every other setting
# PostgreSQL's default (fsync on). As root the cluster runs as the `postgres` user, since
# PostgreSQL refuses root. The cluster is stopped and deleted on exit, whatever happens.
#
#   usage: scripts/bench-store-postgres.sh [messages-per-device]
#
# Build StoreBench first: `cd Benchmarks && swift build -c release` (or set STOREBENCH to the
# executable). PostgreSQL's programs come from /usr/lib/postgresql/VERSION/bin (Debian; the
# newest version), else from PATH (initdb and pg_ctl); PG_BIN overrides both.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bench=${STOREBENCH:-$root/Benchmarks/.build/release/StoreBench}
if [[ ! -x $bench ]]; then
    echo "bench-store-postgres: no StoreBench at $bench: run 'cd Benchmarks && swift build -c release'" >&2
    exit 1
fi

find_binaries() {
    if [[ -n ${PG_BIN:-} ]]; then
        echo "$PG_BIN"
        return
    fi
    local version
    for version in $(ls /usr/lib/postgresql 2>/dev/null | sort -rn); do
        if [[ -x /usr/lib/postgresql/$version/bin/initdb ]]; then
            echo "/usr/lib/postgresql/$version/bin"
            return
        fi
    done
    local initdb
    if initdb=$(command -v initdb) && command -v pg_ctl >/dev/null; then
        dirname "$initdb"
        return
    fi
    echo "bench-store-postgres: PostgreSQL is not installed (no initdb): apt-get install postgresql," \
        "or run scripts/install-prerequisites.sh" >&2
    exit 1
}
bin=$(find_binaries)

user=reflex
password=reflex-bench-secret
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
dir=$(mktemp -d "${TMPDIR:-/tmp}/reflex-bench-pg-XXXXXX")
run_as=()
if [[ $(id -u) == 0 ]]; then
    run_as=(runuser -u postgres --)
fi

cleanup() {
    "${run_as[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

printf '%s' "$password" >"$dir/password"
if [[ ${#run_as[@]} -gt 0 ]]; then
    chown -R postgres "$dir"
fi
"${run_as[@]}" "$bin/initdb" -D "$dir/data" -U "$user" --pwfile="$dir/password" --auth=scram-sha-256 \
    -E UTF8 --locale=C --no-sync >"$dir/initdb.out" 2>&1 || {
    cat "$dir/initdb.out" >&2
    exit 1
}
options="-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200"
"${run_as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -o "$options" -w start >/dev/null || {
    cat "$dir/log" >&2
    exit 1
}
echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') ($bin) on 127.0.0.1:$port, data in $dir"

"$bench" "$@" --store "postgres://$user:$password@127.0.0.1:$port/postgres"
