"""Client/server mode: ingest, ask and evaluate against a real `chroma run` server.

A module-scoped fixture starts `chroma run --path <tmp> --host 127.0.0.1 --port <free>`,
waits for `GET /api/v2/heartbeat` and stops it afterwards. The product talks to it
through CHROMA_HOST / CHROMA_PORT, exactly as replicas in a deployment do.

Authentication: the `chroma run` server of chromadb 1.5.x (the Rust frontend) has no
token authentication; it ignores CHROMA_SERVER_AUTHN_PROVIDER / _CREDENTIALS (checked
in `test_chroma_run_has_no_token_auth`). Deployments put a reverse proxy that checks the
token in front of it (docs/deployment.md). The client side of that set-up is tested
here with a small token-checking proxy: the right token works, a wrong one is refused
with a clear StoreError.
"""

from __future__ import annotations

import functools
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from chatbot.errors import StoreError
from chatbot.retrieve.store import ChunkStore
from chatbot.settings import Settings, get_settings
from tests.conftest import ROOT
from tests.fakes.processes import stop

pytestmark = pytest.mark.chroma_server

CHROMA = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
QA = ROOT / "tests" / "data" / "qa.jsonl"
TOKEN = "s3cret-token"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _heartbeat(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1) as response:
            return response.status == 200
    except (OSError, urllib.error.URLError):
        return False


class ChromaServer:
    def __init__(self, path: Path, log: Path, env: dict | None = None) -> None:
        if not Path(CHROMA).exists():
            pytest.skip("the chroma CLI is not installed")
        self.port = _free_port()
        self.log_path = log
        self._log = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [CHROMA, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=self._log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
        )
        deadline = time.monotonic() + 30
        while not _heartbeat(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"chroma run did not start: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        stop(self.proc)
        self._log.close()


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("chroma-server")
    server = ChromaServer(tmp / "db", tmp / "server.log")
    yield server
    server.stop()


@pytest.fixture
def server_env(chroma_server, monkeypatch):
    monkeypatch.setenv("CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("CHROMA_PORT", str(chroma_server.port))
    get_settings.cache_clear()
    return dict(os.environ)


def _run(args: list[str], env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def _collection_ids(settings: Settings) -> list[str]:
    with ChunkStore(settings) as store:
        return sorted(store.client.get_collection(settings.collection).get(include=[])["ids"])


def _manifest(settings: Settings) -> dict:
    with ChunkStore(settings) as store:
        return store.read_manifest()


def test_ingest_ask_reingest_and_eval_against_the_server(server_env, isolated_data_dir):
    settings = get_settings()
    assert settings.uses_chroma_server

    first = _run(["-m", "ingest", "--quiet"], server_env)
    assert first.returncode == 0, first.stderr
    assert "109 chunks (109 embedded, 0 unchanged, 0 deleted)" in first.stdout, first.stdout
    # Nothing was written to the local data folder but the lock: the chunks live on the server.
    assert not (isolated_data_dir / "chroma").exists()
    ids = _collection_ids(settings)
    manifest = _manifest(settings)
    assert sorted(i for entry in manifest.values() for i in entry["ids"]) == ids

    asked = _run(["-m", "chatbot", "ask", "2023年地区生产总值预期增长多少？", "--json"], server_env)
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert "7.5%" in answer["answer"]
    assert answer["citations"], answer
    assert all(c["chunk_id"] in ids for c in answer["citations"])
    assert {c["source"] for c in answer["citations"]} == {"zhangjiajie_2023_government_work_report_p2.txt"}
    assert all(c["quote"] for c in answer["citations"])

    again = _run(["-m", "ingest", "--quiet"], server_env)
    assert again.returncode == 0, again.stderr
    assert "(0 embedded, 109 unchanged, 0 deleted)" in again.stdout, again.stdout
    assert _collection_ids(settings) == ids

    from chatbot.evaluation.run import evaluate
    from chatbot.launch import open_chatbot

    bot = open_chatbot(auto_ingest=False)  # what evaluate() opens itself; made here to close its client
    # eval embeds each question twice (answer, then ranking): embed it once (test speed only)
    bot.embedder.embed_query = functools.lru_cache(maxsize=None)(bot.embedder.embed_query)
    try:
        assert bot.retriever.store.settings.uses_chroma_server
        report = evaluate(QA, split="holdout", progress=False, bot=bot)
    finally:
        bot.close()
        bot.retriever.store.close()
    assert report["n"] >= 60
    assert report["retrieval"]["hit@5"] >= 0.9, report["retrieval"]


def test_unreachable_server_is_a_clear_store_error(isolated_data_dir, monkeypatch):
    monkeypatch.setenv("CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("CHROMA_PORT", str(_free_port()))
    get_settings.cache_clear()
    with pytest.raises(StoreError) as err:
        _manifest(get_settings())
    message = str(err.value)
    assert "Cannot reach the Chroma server at 127.0.0.1:" in message and "CHROMA_HOST" in message


def test_chroma_run_has_no_token_auth(tmp_path):
    """Documented fact: chromadb 1.5's `chroma run` ignores the old server auth settings."""
    server = ChromaServer(
        tmp_path / "db", tmp_path / "server.log",
        env={"CHROMA_SERVER_AUTHN_PROVIDER": "chromadb.auth.token_authn.TokenAuthenticationServerProvider",
             "CHROMA_SERVER_AUTHN_CREDENTIALS": TOKEN},
    )
    try:
        url = f"http://127.0.0.1:{server.port}/api/v2/tenants/default_tenant/databases/default_database/collections"
        request = urllib.request.Request(url, headers={"Authorization": "Bearer wrong"})
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200  # if this starts failing, chroma gained auth: test it directly
    finally:
        server.stop()


# --- a token-checking reverse proxy, as in docs/deployment.md ------------------------------------
class _TokenProxy(BaseHTTPRequestHandler):
    upstream_port = 0
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet
        pass

    def _handle(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.rstrip("/") != "/api/v2/heartbeat" and self.headers.get("Authorization") != f"Bearer {TOKEN}" \
                and self.headers.get("X-Chroma-Token") != TOKEN:
            payload = json.dumps({"error": "AuthError", "message": "Unauthorized"}).encode()
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        upstream = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=30)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection", "authorization", "x-chroma-token")}
            upstream.request(self.command, self.path, body=body or None, headers=headers)
            response = upstream.getresponse()
            data = response.read()
            self.send_response(response.status)
            for key, value in response.getheaders():
                if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        finally:
            upstream.close()

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle


@pytest.fixture
def token_proxy(chroma_server):
    handler = type("Handler", (_TokenProxy,), {"upstream_port": chroma_server.port})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.mark.parametrize("header", ["Authorization", "X-Chroma-Token"])
def test_token_behind_a_proxy_right_token_works_wrong_token_is_refused(token_proxy, isolated_data_dir, monkeypatch, header):
    monkeypatch.setenv("CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("CHROMA_PORT", str(token_proxy))
    monkeypatch.setenv("CHROMA_AUTH_HEADER", header)
    monkeypatch.setenv("CHROMA_AUTH_TOKEN", TOKEN)
    get_settings.cache_clear()
    _manifest(get_settings())  # passes the proxy

    monkeypatch.setenv("CHROMA_AUTH_TOKEN", "wrong")
    get_settings.cache_clear()
    with pytest.raises(StoreError) as err:
        _manifest(get_settings())
    message = str(err.value)
    assert "refused" in message and "CHROMA_AUTH_TOKEN" in message, message
    assert "wrong" not in message  # never echo the token

    monkeypatch.delenv("CHROMA_AUTH_TOKEN")
    get_settings.cache_clear()
    with pytest.raises(StoreError, match="refused"):
        _manifest(get_settings())
