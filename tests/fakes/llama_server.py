"""Start a real `python -m llama_cpp.server` on a free loopback port for the llama tests, wait until it
lists its model, and stop it afterwards (tests/test_llama_e2e.py: Gemma 3 270M; tests/test_qwen_e2e.py:
Qwen2.5-Coder-0.5B)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.fakes.processes import stop

START_TIMEOUT = 90.0

# A conversation to render through a chat template: system rules, one exchange, a second question.
TEMPLATE_PROBE = [
    {"role": "system", "content": "RULES"},
    {"role": "user", "content": "Q1"},
    {"role": "assistant", "content": "A1"},
    {"role": "user", "content": "Q2"},
]


class ServerStartError(RuntimeError):
    """The server exited or did not list its model in time; the message ends with its log."""


def missing_server() -> str | None:
    """None when llama-cpp-python and its [server] extra import, else a skip reason."""
    try:
        import llama_cpp  # noqa: F401
        import llama_cpp.server.app  # noqa: F401  (the [server] extra: fastapi, uvicorn, ...)
    except ImportError as exc:
        return f"llama-cpp-python[server] is not installed ({exc}); run `bash scripts/install_llama.sh`"
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@contextmanager
def llama_server(model: Path, alias: str, log_path: Path, *extra: str, timeout: float = START_TIMEOUT) -> Iterator[dict]:
    """Yields {"base_url", "model" (the id /v1/models lists), "log"}. The server gets no OPENAI_/CHATBOT_
    variables from the developer's shell; `extra` are more server flags (chat format, threads, ...)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CHATBOT_"))}
    cmd = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model), "--model_alias", alias,
        "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", "4096", *extra,
    ]
    base_url = f"http://127.0.0.1:{port}/v1"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    try:
        deadline = time.monotonic() + timeout
        model_id = None
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    raise ServerStartError(f"llama_cpp.server exited with {proc.returncode}:\n{tail(log_path)}")
                try:
                    response = client.get(f"{base_url}/models")
                    if response.status_code == 200:
                        model_id = response.json()["data"][0]["id"]
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.25)
        if model_id is None:
            raise ServerStartError(f"llama_cpp.server did not answer /v1/models within {timeout:.0f} s:\n{tail(log_path)}")
        yield {"base_url": base_url, "model": model_id, "log": log_path}
    finally:
        stop(proc, timeout=15)
