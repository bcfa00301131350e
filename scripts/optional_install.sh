# Sourced by scripts/install_llama.sh and scripts/install_qwen.sh: the project's venv (unless one is
# active), $PY, and give_up, which says what went wrong and which tests will skip, then exits 0, so an
# optional install never fails its caller. Set NAME and SKIPPED before sourcing.
if [ -z "${VIRTUAL_ENV:-}" ] && [ -x .venv/bin/python ]; then
  # shellcheck disable=SC1091
  . .venv/bin/activate
fi
PY="${PYTHON:-python}"

give_up() {
  echo "$NAME: $1" >&2
  echo "$NAME: $SKIPPED will be skipped." >&2
  exit 0
}
