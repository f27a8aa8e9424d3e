#!/usr/bin/env bash
# Remake docs/index.png and docs/digest.png from the bundled samples, with Debian's
# headless Chromium (bash scripts/services.sh installs it). Nothing leaves 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bash scripts/setup.sh
zw=$root/.venv/bin/zonewire
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/config"
cat >"$work/config/zonewire.yaml" <<YAML
public_url: https://zonewire.example.org/
notify_max_age: 36500d
YAML
cat >"$work/config/subscriptions.yaml" <<YAML
subscribers:
  - id: desk
    name: 投促新闻组
    email: desk@example.com
    schedule: immediate
    regions: [北京市, 浙江省, 江苏省]
YAML
cd "$work"
"$zw" digest send >/dev/null                 # the subscriber is seen from now on
"$zw" import "$root/samples/articles.jsonl" >/dev/null
"$zw" feeds build >/dev/null
"$zw" digest preview desk --format html >digest.html
shoot() {  # shoot OUTPUT WIDTH,HEIGHT FILE
    chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --hide-scrollbars --user-data-dir="$work/profile" --window-size="$2" \
        --screenshot="$1" "file://$3" >/dev/null 2>&1
}
shoot "$root/docs/digest.png" 720,900 "$work/digest.html"
shoot "$root/docs/index.png" 420,900 "$work/public/index.html"
echo "wrote docs/digest.png and docs/index.png"
