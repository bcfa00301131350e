#!/usr/bin/env bash
# Create .venv and install the project (idempotent). Sourced by start.sh and test.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# shellcheck disable=SC1091
. .venv/bin/activate
stamp=.venv/.installed-$(sha1sum pyproject.toml | cut -c1-12)-$1
if [ ! -f "$stamp" ]; then
  python -m pip install -q --upgrade pip
  if [ "$1" = dev ]; then python -m pip install -q -e ".[dev]"; else python -m pip install -q -e .; fi
  touch "$stamp"
fi
