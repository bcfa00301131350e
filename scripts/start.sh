#!/usr/bin/env bash
# Quick start: set everything up, ingest the report, start the chat on the offline default.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh app
python -m ingest
if [ -f chatbot/app.py ] && [ "${1:-}" != "--terminal" ]; then
  exec streamlit run chatbot/app.py "$@"
fi
exec python -m chatbot chat
