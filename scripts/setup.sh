#!/usr/bin/env bash
# Create .venv (if missing) and install zonewire with its dev extra into it.
# Idempotent: a second run only reinstalls when pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."

# Tests that run the quickstart from a fresh clone lend it the suite's own .venv.
if [ "${ZONEWIRE_SETUP:-}" = skip ]; then
    exit 0
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.zonewire-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    log=.venv/pip-install.log
    if ! { .venv/bin/python -m pip install --upgrade pip \
           && .venv/bin/python -m pip install -e ".[dev]"; } >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        echo "setup.sh: installing zonewire failed; the whole log is in $log" >&2
        exit 1
    fi
    touch "$stamp"
fi
