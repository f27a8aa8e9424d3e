#!/usr/bin/env bash
# The README's first command: set up, then run the main job on the embedded
# default (SQLite under var/, Maildir outbox under var/outbox, bundled samples).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
zw=.venv/bin/zonewire

$zw import samples/articles.jsonl
$zw status
