#!/usr/bin/env bash
# Make sure PostgreSQL's server binaries are available for the sync tests
# (tests/test_sync_postgres.py starts a throwaway cluster with initdb and pg_ctl on a free
# port, as the `postgres` user when run as root; nothing is started here).
#
# Idempotent and fast when already done: if an initdb is installed, nothing happens.
# Otherwise Debian's `postgresql` package is installed with apt-get (needs root, as on CI).
# The packaged cluster it may create and start is stopped again: the tests use their own.
set -euo pipefail

if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    exit 0
fi

if [[ "$(id -u)" -ne 0 ]]; then
    echo "setup-postgres: PostgreSQL is missing and installing it needs root;" \
         "run: sudo apt-get update && sudo apt-get install -y postgresql" >&2
    exit 1
fi

echo "setup-postgres: installing Debian postgresql..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq postgresql >/dev/null
# the package starts its default cluster where a service manager runs; the tests do not use it
if command -v pg_ctlcluster >/dev/null; then
    for conf in /etc/postgresql/*/main; do
        [[ -d "$conf" ]] || continue
        version=$(basename "$(dirname "$conf")")
        pg_ctlcluster "$version" main stop >/dev/null 2>&1 || true
    done
fi
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null
