"""The operator's key goes to the operator's base URL and nowhere else: redirects are not followed."""

from __future__ import annotations

import http.server
import threading

import pytest

from chatbot.core import Chatbot
from chatbot.settings import Settings
from tests.conftest import track

CANARY_KEY = "sk-redirect-canary-0123456789"


class _Recorder(http.server.ThreadingHTTPServer):
    """Answers every request with `status` (and a Location to `target`), recording what came."""

    def __init__(self, status: int, target: str = "") -> None:
        self.seen: list[tuple[str, str, str]] = []
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                recorder.seen.append((self.command, self.path, self.headers.get("Authorization", "")))
                self.send_response(status)
                if target:
                    self.send_header("Location", target + self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = _any

            def log_message(self, *args) -> None:  # quiet
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirecting_base_url_never_gets_the_key_forwarded(built_store, status):
    with _Recorder(200) as elsewhere, _Recorder(status, target=elsewhere.url) as base:
        settings = Settings(data_dir=built_store, openai_api_key=CANARY_KEY, openai_base_url=base.url + "/v1")
        bot = track(Chatbot(settings))
        answer = bot.ask("今年GDP增长目标是多少？", backend="openai")
        health = bot.backend("openai").health()
    assert base.seen and all(auth == f"Bearer {CANARY_KEY}" for _, _, auth in base.seen)  # the key went where it belongs
    assert elsewhere.seen == []  # ... and nowhere else
    assert answer.fallback and "7.5%" in answer.answer
    assert any("redirect" in w for w in answer.warnings), answer.warnings
    assert not health.reachable and base.url not in health.detail
    assert CANARY_KEY not in answer.model_dump_json()


def test_ollama_host_paths_cannot_pick_the_endpoint(built_store):
    with _Recorder(404) as server:
        settings = Settings(data_dir=built_store, ollama_host=server.url + "/secret/path?x=1#")
        track(Chatbot(settings)).backend("ollama").health()
    assert [path for _, path, _ in server.seen] == ["/api/tags"]
