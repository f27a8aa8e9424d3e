#!/usr/bin/env bash
# Remake docs/index.png, docs/digest.png and the region page at desktop and phone
# width (docs/region-desktop.png, docs/region-phone.png) from the bundled samples, with
# Debian's headless Chromium (bash scripts/services.sh installs it). Nothing leaves
# 127.0.0.1 once the packages are there.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# Chinese text needs a CJK font, or Chromium draws boxes (tofu) for every character.
if ! fc-list :lang=zh 2>/dev/null | grep -q .; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "screenshots.sh: installing fonts-noto-cjk (Chinese glyphs)" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk
    else
        echo "screenshots.sh: no CJK font; install fonts-noto-cjk (apt-get) first" >&2
        exit 1
    fi
fi
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
# 北京市: breadcrumbs, child districts, the latest articles, subscribe links.
shoot "$root/docs/region-desktop.png" 1280,900 "$work/public/r/110000.html"
shoot "$root/docs/region-phone.png" 390,844 "$work/public/r/110000.html"
echo "wrote docs/digest.png, docs/index.png, docs/region-desktop.png and docs/region-phone.png"
