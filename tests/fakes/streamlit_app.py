"""Start the real app (`streamlit run chatbot/app.py`) on a free local port for browser tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.fakes.processes import stop

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Debian's chromium, driven by playwright without a browser download (see shared NOTES).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]
CHROMIUM_MISSING = f"{CHROMIUM} is missing (apt-get install -y chromium fonts-wqy-microhei)"


def ask_in_browser(page, url: str | None, question: str) -> None:  # noqa: ANN001 - a playwright Page
    """Ask `question` in the chat (on a freshly opened page when `url` is given, else in this session) and wait
    for the answer's source card and its full-text button."""
    if url is not None:
        page.goto(url)
    box = page.get_by_placeholder("输入你的问题", exact=False)
    box.wait_for(timeout=60_000)
    box.fill(question)
    box.press("Enter")
    page.get_by_text("来源", exact=True).wait_for(timeout=60_000)
    page.get_by_role("button", name="在原文中查看").first.wait_for(timeout=30_000)


def require_browser() -> None:
    """Skip the calling browser-test module, with the reason, when chromium or playwright is absent."""
    import pytest

    if not Path(CHROMIUM).exists():
        pytest.skip(CHROMIUM_MISSING, allow_module_level=True)
    pytest.importorskip("playwright.sync_api", reason="the playwright Python package is missing (pip install -e '.[dev]'; the browser is Debian's chromium)")

def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without the operator's settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHATBOT_", "OPENAI_", "OLLAMA_", "CHROMA_"))}
    env.update(extra)
    return env


@contextmanager
def streamlit_app(env: dict[str, str], log_dir: Path) -> Iterator[str]:
    """Build the store first (so the page does not wait for the ingest), then serve the app; yields its URL."""
    subprocess.run([sys.executable, "-c", "from chatbot.launch import open_chatbot; open_chatbot()"], cwd=ROOT, env=env, check=True, timeout=180)
    port = _free_port()
    log_path = log_dir / "streamlit.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "chatbot/app.py", "--server.port", str(port), "--server.headless", "true",
             "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    raise RuntimeError("streamlit did not start:\n" + log_path.read_text(encoding="utf-8")[-3000:])
                time.sleep(0.3)
            yield url
        finally:
            stop(proc)
