#!/usr/bin/env bash
# Set up and run everything CI runs: ruff, mypy and the whole pytest suite against
# SQLite and PostgreSQL. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
bash scripts/services.sh

.venv/bin/ruff check feeds notifier tests bench
.venv/bin/mypy
set +e
.venv/bin/pytest -q "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
    echo "test.sh: pytest collected no tests" >&2
    exit 1
fi
exit "$status"
