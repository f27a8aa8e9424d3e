#!/usr/bin/env bash
# Make sure what the tests talk to is there: PostgreSQL on 127.0.0.1:5432 and
# Debian's Chromium for the browser tests. Starts or installs only what is missing.
set -euo pipefail

if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
    if command -v pg_ctlcluster >/dev/null 2>&1; then
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    fi
    for _ in $(seq 1 30); do
        pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null && break
        sleep 1
    done
fi
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
    echo "services.sh: PostgreSQL is not answering on 127.0.0.1:5432" >&2
    exit 1
fi

if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "services.sh: installing Debian's chromium for the browser tests" >&2
    if ! { apt-get update -qq >/dev/null \
           && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk \
              >/dev/null; }; then
        echo "services.sh: could not install chromium; the browser tests will say they are skipped" >&2
    fi
fi
