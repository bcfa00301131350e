#!/usr/bin/env bash
# Record the real model's answers that tests/test_qwen_replay.py replays: Qwen2.5-Coder-0.5B-Instruct
# (scripts/install_qwen.sh) behind llama_cpp.server, temperature 0, k=3, over the tune items listed in
# tests/data/qwen_tune_ids.txt, into tests/data/qwen_tune.cassette.jsonl (replaced; QWEN_TUNE_IDS and
# QWEN_TUNE_CASSETTE choose others). Run it after a
# change to the prompts or to retrieval, which makes the recorded prompts unreachable. About 25 minutes
# on 2 cores. Needs: bash scripts/setup.sh dev && bash scripts/install_llama.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
IDS=${QWEN_TUNE_IDS:-tests/data/qwen_tune_ids.txt}
OUT=${QWEN_TUNE_CASSETTE:-tests/data/qwen_tune.cassette.jsonl}
model=$("$PY" -m tests.fakes.models check) || { echo "record_qwen_tune: the Qwen model is not installed (bash scripts/install_llama.sh)" >&2; exit 1; }
model=${model%% *}
work=$(mktemp -d "${TMPDIR:-/tmp}/zjj-record.XXXXXX")
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$PY" -m llama_cpp.server --model "$model" --n_ctx 4096 --n_threads 2 --model_alias qwen --port "$port" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 180); do curl -sf "http://127.0.0.1:$port/v1/models" >/dev/null && break; sleep 1; done
"$PY" - "$work/sample.jsonl" "$IDS" <<'PYEOF'
import json, sys
wanted = open(sys.argv[2], encoding="utf-8").read().split()
rows = {json.loads(line)["id"]: line for line in open("tests/data/qa.jsonl", encoding="utf-8")}
open(sys.argv[1], "w", encoding="utf-8").write("".join(rows[i] if rows[i].endswith("\n") else rows[i] + "\n" for i in wanted))
PYEOF
export CHATBOT_DATA_DIR="$work/data" CHATBOT_TEMPERATURE=0 CHATBOT_MAX_OUTPUT_TOKENS=384
"$PY" -m ingest --quiet seeds
CHATBOT_RECORD_TO="$work/cassette.jsonl" OPENAI_BASE_URL="http://127.0.0.1:$port/v1" OPENAI_API_KEY=none \
  "$PY" -m chatbot eval --qa "$work/sample.jsonl" --split tune --backend openai --model qwen --k 3 --out "$work/report" --quiet
mv "$work/cassette.jsonl" "$OUT"
echo "record_qwen_tune: $OUT recorded ($(wc -l < "$OUT") exchanges)"
