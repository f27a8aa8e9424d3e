#!/usr/bin/env bash
# The README's first command: set up, then run the main job on the embedded default:
# the bundled sample portal on 127.0.0.1:8400 (publishing a new article every 15 s)
# and its sample zone website on 127.0.0.1:8401 (one every 45 s, some reposted later),
# SQLite under var/, a Maildir outbox under var/outbox/, and feeds served on
# http://127.0.0.1:8080/. No network, no secrets. Ctrl-C stops it (worker and portal).
#
# ZONEWIRE_QUICKSTART_SECONDS=N stops it by itself after N seconds (used by tests).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
zw=.venv/bin/zonewire
mkdir -p var

# Ctrl-C (SIGINT to the whole foreground group) or a SIGTERM to this script stops the
# worker and the portal too, and waits for them: nothing keeps running afterwards.
# (Background commands of a script ignore SIGINT, so they are sent SIGTERM here.)
portal="" worker=""
stop_children() {
    trap - INT TERM EXIT
    # The worker first (it finishes what it is doing against a live portal), then the portal.
    for pid in $worker $portal; do
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}
trap stop_children EXIT
trap 'stop_children; exit 130' INT
trap 'stop_children; exit 143' TERM

$zw sample-portal --port 8400 --site-port 8401 --articles 60 --add-every 15 \
    >var/sample-portal.log 2>&1 &
portal=$!
for _ in $(seq 1 50); do
    grep -q "sample site:" var/sample-portal.log 2>/dev/null && break
    sleep 0.2
done
if ! kill -0 "$portal" 2>/dev/null; then
    cat var/sample-portal.log >&2
    exit 1
fi
echo "sample portal running at http://127.0.0.1:8400/ (log: var/sample-portal.log)"
echo "sample zone website running at http://127.0.0.1:8401/ (the same log)"

$zw check
echo
echo "zonewire worker: feeds on http://127.0.0.1:8080/, digests in var/outbox/new/"
echo "(the first poll of each source is a backfill: it fills the feeds and emails nobody;"
echo " each article the portal or the zone website publishes after that is emailed to"
echo " news-desk at once)"
echo
# The worker runs in the background and the script waits for it, so a signal to the
# script is handled at once (bash runs traps only between commands or during `wait`).
status=0
if [ -n "${ZONEWIRE_QUICKSTART_SECONDS:-}" ]; then
    timeout -s TERM "$ZONEWIRE_QUICKSTART_SECONDS" "$zw" run &
    worker=$!
    wait "$worker" || status=$?
    worker=""
    [ "$status" -eq 124 ] && status=0   # stopped by the timer: a clean SIGTERM stop
    $zw status
    exit "$status"
fi
"$zw" run &
worker=$!
wait "$worker" || status=$?
worker=""
exit "$status"
