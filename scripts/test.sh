#!/usr/bin/env bash
# Install everything the tests need (venv, project, Chromium for the browser test) and run them all.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh dev
bash scripts/install_llama.sh || true
if { ! command -v chromium >/dev/null 2>&1 || [ ! -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; } && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's chromium and a Chinese font for the browser and PDF tests..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null) \
    || echo "warning: could not install chromium; the browser test will be skipped"
fi
exec python -m pytest "$@"
