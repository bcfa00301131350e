"""Local fake LLM servers that speak the real OpenAI and Ollama wire protocols.

Standard library only.  Each server is an ``http.server.ThreadingHTTPServer``
bound to ``127.0.0.1`` on a free port, served from a daemon thread, and can be
used as a context manager or through explicit ``start()`` / ``stop()``::

    with FakeOpenAIServer(reply="Hello [1]") as srv:
        client = openai.OpenAI(base_url=srv.base_url, api_key="sk-test")
        ...
        assert srv.requests[-1].json["model"] == "gpt-4o-mini"

    with FakeOllamaServer(models=["qwen2.5:7b"]) as srv:
        client = ollama.Client(host=srv.url)

Scripting API shared by both servers
------------------------------------
``reply``
    A string, or a callable ``(request_json: dict) -> str`` that crafts the
    assistant's answer from the request it received.
``mode``
    One of :data:`MODES`:

    * ``"ok"``            normal answers;
    * ``"unauthorized"``  401;
    * ``"not_found"``     404 "model not found" on every model-bearing request,
                          and the model listings come back empty;
    * ``"rate_limited"``  429 with a ``Retry-After`` header (``retry_after``);
    * ``"server_error"``  500;
    * ``"slow"``          wait ``delay`` seconds before answering normally
                          (for client timeouts; ``stop()`` cuts the wait short);
    * ``"cut"``           send the start of the answer, then close the socket
                          abruptly: streams stop after ``cut_after`` content
                          pieces without ``[DONE]`` / ``"done": true`` and
                          without the terminating zero-length chunk;
                          non-streamed bodies are truncated below their
                          ``Content-Length``.
``lie`` (``FakeOpenAIServer`` only)
    None (default: ``reply`` answers), ``"honest"``, or one of :data:`LIES`: the fake reads
    the numbered passages and the question of the chat request and answers like a model
    that quotes the best-matching passage sentence with its ``[n]``: honestly, or with
    exactly one lie of that kind (see :func:`liar_reply`).
``requests``
    List of :class:`RecordedRequest` (method, path, query, headers with
    lower-cased names, parsed JSON body, raw body), in arrival order.
``delay`` / ``chunk_delay`` / ``chunk_chars`` / ``cut_after`` / ``retry_after``
    Seconds to stall in "slow" mode; seconds between streamed pieces (any
    mode); characters per streamed piece; content pieces sent before a "cut";
    value of the ``Retry-After`` header in "rate_limited" mode.
``errors``
    Exceptions raised inside the fake itself (e.g. by a ``reply`` callable);
    a request that hits one gets a 500.  Assert it is empty if in doubt.
``url``
    ``http://127.0.0.1:PORT``; ``FakeOpenAIServer.base_url`` is ``url + "/v1"``.

The ``GET /`` heartbeat of the Ollama fake always answers ``Ollama is running``
whatever the mode; every other endpoint obeys the mode.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import math
import random
import re
import socket
import struct
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Optional, Sequence, TypeVar, Union

__all__ = [
    "MODES",
    "RecordedRequest",
    "FakeOpenAIServer",
    "FakeOllamaServer",
    "fake_embedding",
    "count_tokens",
    "LIES",
    "liar_reply",
]

MODES = ("ok", "unauthorized", "not_found", "rate_limited", "server_error", "slow", "cut")

Reply = Union[str, Callable[[Any], str]]
_S = TypeVar("_S", bound="_FakeServer")


# --------------------------------------------------------------------------- helpers


@dataclass
class RecordedRequest:
    """One request as the fake received it."""

    method: str
    path: str
    query: str
    headers: dict[str, str]  # names lower-cased
    json: Any  # parsed JSON body, or None (no body / not JSON)
    body: bytes = field(repr=False, default=b"")

    def header(self, name: str, default: Optional[str] = None) -> Optional[str]:
        return self.headers.get(name.lower(), default)

    @property
    def authorization(self) -> Optional[str]:
        return self.headers.get("authorization")


_TOKEN_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[^\W_]+|[^\w\s]", re.UNICODE)
_CJK_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def count_tokens(text: str) -> int:
    """Rough, deterministic token count (words, punctuation, one per CJK char)."""
    return len(_TOKEN_RE.findall(text or ""))


def _features(text: str) -> list[str]:
    text = text.lower()
    feats: list[str] = []
    words = re.findall(r"[^\W_]+", text)
    for w in words:
        cjk = _CJK_RE.findall(w)
        if cjk:
            feats.extend(cjk)
            feats.extend(a + b for a, b in zip(cjk, cjk[1:]))
            rest = _CJK_RE.sub(" ", w).split()
            feats.extend(rest)
        else:
            feats.append(w)
    return feats


def _f32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]


def fake_embedding(text: Union[str, Sequence[int]], dim: int) -> list[float]:
    """Deterministic unit vector of length ``dim`` for ``text``.

    Feature hashing of words / CJK characters and bigrams, plus a small
    text-specific component, so that texts sharing words are closer (cosine)
    than unrelated texts, and different texts give different vectors.  The
    values are float32-representable, so the ``float`` and ``base64``
    encodings of the OpenAI fake decode to identical lists.
    """
    if dim <= 0:
        raise ValueError("dim must be positive")
    if not isinstance(text, str):  # token-id array
        text = " ".join(str(int(t)) for t in text)
    vec = [0.0] * dim
    for feat in _features(text):
        h = hashlib.sha256(feat.encode("utf-8")).digest()
        idx = int.from_bytes(h[:4], "little") % dim
        vec[idx] += 1.0 if h[4] & 1 else -1.0
    seed = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")
    rng = random.Random(seed)
    noise = [rng.uniform(-1.0, 1.0) for _ in range(dim)]
    nn = math.sqrt(sum(v * v for v in noise)) or 1.0
    fn = math.sqrt(sum(v * v for v in vec))
    if fn == 0.0:
        out = [v / nn for v in noise]
    else:
        out = [v / fn + 0.15 * n / nn for v, n in zip(vec, noise)]
    norm = math.sqrt(sum(v * v for v in out)) or 1.0
    return [_f32(v / norm) for v in out]


def _split_pieces(text: str, size: int) -> list[str]:
    size = max(1, int(size))
    return [text[i : i + size] for i in range(0, len(text), size)]


def _message_text(messages: Any) -> str:
    parts: list[str] = []
    if isinstance(messages, list):
        for m in messages:
            if not isinstance(m, dict):
                continue
            c = m.get("content")
            if isinstance(c, str):
                parts.append(c)
            elif isinstance(c, list):
                for p in c:
                    if isinstance(p, dict) and isinstance(p.get("text"), str):
                        parts.append(p["text"])
    return "\n".join(parts)


class _ClientGone(Exception):
    """The fake decided to drop the connection (cut / stopping)."""


# --------------------------------------------------------------------------- the liar

LIES = (
    "invented_official",  # 常务副市长刘建明表示，<honest sentence>
    "invented_project",  # <honest>; 将在云梦新区新建国际会展中心[n]。
    "unsupported_claim",  # <honest>; 这一目标已经提前在上半年全面完成[n]。
    "added_judgement",  # <honest>[n]。<a clause of it>，位居前列[n]。 (a grade the passage does not give)
    "invented_figure",  # the honest sentence with one figure changed
    "moved_figure",  # the honest sentence with one figure swapped for another fact's figure
    "wrong_year",  # the honest sentence with its year (or 今年) made another year
    "miscounted",  # the honest sentence with a count in Chinese numerals changed (六大 → 三大)
    "wrong_citation",  # the honest sentence citing a passage that does not hold it
    "unanswerable",  # an invented answer, for a question the passages do not answer
    "off_question",  # a true clause of the honest sentence, cited right, about something else than asked
)
_PASSAGE_BLOCK = re.compile(r"^\[(\d+)\] \((.*?)\)\n(.*?)(?=\n\n\[\d+\] \(|\n\nQuestion:|\Z)", re.S | re.M)
_FIGURE_RE = re.compile(r"(?<![\d.])\d+(?:\.\d+)?(?=%|万|亿|元|个|家|所|件|人|亩|吨)")
_YEAR_RE = re.compile(r"(?:19|20)\d\d(?=年)")
_COUNT_RE = re.compile(r"(?<![一二三四五六七八九十两])[二三四五六七八九](?=[大个项条年])")


def _passages_and_question(request: Any) -> tuple[list[tuple[int, str]], str]:
    """The numbered passages ([n], text) and the question of an answer prompt."""
    user = ""
    for m in request.get("messages") or []:
        if isinstance(m, dict) and m.get("role") == "user" and isinstance(m.get("content"), str):
            user = m["content"]
    passages = [(int(m.group(1)), m.group(3).strip()) for m in _PASSAGE_BLOCK.finditer(user)]
    question = user.rsplit("Question:", 1)[-1].strip() if "Question:" in user else user
    return passages, question


def _bigrams(text: str) -> set[str]:
    han = re.findall(r"[\u4e00-\u9fff]+", text)
    return {run[i : i + 2] for run in han for i in range(len(run) - 1)}


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.findall(r"[^。！？；]+[。！？；]?", text) if len(s.strip()) > 4]


def _best_sentence(passages: list[tuple[int, str]], question: str, need: Optional[re.Pattern] = None) -> tuple[int, str]:
    asked = _bigrams(question)
    options = [(len(asked & _bigrams(s)), -n, n, s) for n, text in passages for s in _sentences(text)
               if need is None or need.search(s)]
    if not options:
        raise ValueError("no passage sentence fits this lie")
    _, _, n, sentence = max(options)
    return n, sentence.rstrip("。！？；")


def _cited(sentence: str, n: int) -> str:
    return f"{sentence}[{n}]。"


def liar_reply(lie: Optional[str] = None, *, markers: bool = True) -> Callable[[Any], str]:
    """A reply callable for the fakes: honest (lie=None or "honest") or with one lie of a kind in LIES.

    The honest answer quotes the passage sentence that shares most words with the question,
    with its [n] (without it when markers=False, as small models often write). Each lie changes
    only what its name says. Condense requests (no passages) get the question back.
    """
    if lie not in (None, "honest") and lie not in LIES:
        raise ValueError(f"unknown lie {lie!r}; expected one of {LIES}")

    def reply(request: Any) -> str:
        passages, question = _passages_and_question(request)
        if not passages:
            return question.splitlines()[-1] if question else "?"
        if lie == "unanswerable":
            return _cited("张家界现任市长叫李文", passages[0][0])
        need = _FIGURE_RE if lie in ("invented_figure", "moved_figure") else _COUNT_RE if lie == "miscounted" else None
        n, sentence = _best_sentence(passages, question, need)
        cite = (lambda text, k: _cited(text, k)) if markers else (lambda text, k: text + "。")
        if lie in (None, "honest"):
            return cite(sentence, n)
        if lie == "invented_official":
            return cite("常务副市长刘建明表示，" + sentence, n)
        if lie == "invented_project":
            return cite(sentence, n) + cite("将在云梦新区新建国际会展中心", n)
        if lie == "added_judgement":  # a short clause of it graded, after the honest sentence (the answer is kept)
            clauses = [c for c in re.split(r"[，；：]", sentence) if len(c) >= 6]
            clause = next((c for c in clauses if _FIGURE_RE.search(c)), clauses[0] if clauses else sentence)
            return cite(sentence, n) + cite(clause + "，位居前列", n)
        if lie == "unsupported_claim":
            return cite(sentence, n) + cite("这一目标已经提前在上半年全面完成", n)
        if lie == "invented_figure":
            m = _FIGURE_RE.search(sentence)
            value = float(m.group())
            new = f"{value * 1.3 + 1:.1f}" if "." in m.group() else str(int(value * 1.3) + 1)
            return cite(sentence[: m.start()] + new + sentence[m.end() :], n)
        if lie == "moved_figure":
            mine = _FIGURE_RE.search(sentence)
            text = dict(passages)[n]
            unit = sentence[mine.end() : mine.end() + 1]
            others = [m.group() for m in _FIGURE_RE.finditer(text)
                      if m.group() != mine.group() and text[m.end() : m.end() + 1] == unit]
            if not others:
                raise ValueError("the passage has no other figure of the same unit")
            return cite(sentence[: mine.start()] + others[-1] + sentence[mine.end() :], n)
        if lie == "off_question":
            clauses = [c for c in re.split(r"[，；：]", sentence) if len(c) >= 6]
            if len(clauses) < 2:
                raise ValueError("the honest sentence has one clause only")
            asked = _bigrams(question)
            return cite(min(clauses, key=lambda c: (len(asked & _bigrams(c)), -len(c))), n)
        if lie == "miscounted":
            m = _COUNT_RE.search(sentence)
            other = "三" if m.group() != "三" else "五"
            return cite(sentence[: m.start()] + other + sentence[m.end() :], n)
        if lie == "wrong_year":
            m = _YEAR_RE.search(sentence)
            if m:
                return cite(sentence[: m.start()] + str(int(m.group()) - 3) + sentence[m.end() :], n)
            if "今年" in sentence:
                return cite(sentence.replace("今年", "2019年", 1), n)
            return cite("2019年，" + sentence, n)
        # wrong_citation: a passage that does not hold the sentence
        other = next((k for k, text in passages if sentence not in text), None)
        if other is None:
            raise ValueError("every passage holds the sentence")
        return cite(sentence, other)

    return reply


# --------------------------------------------------------------------------- HTTP plumbing


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], fake: "_FakeServer") -> None:
        self.fake = fake
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:  # quiet
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):  # client went away, socket closed by stop()...
            return
        if exc is not None:
            self.fake._record_error(exc)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60  # idle keep-alive connections give up eventually
    server: _HTTPServer

    # -- lifecycle -------------------------------------------------------
    def setup(self) -> None:
        super().setup()
        try:  # small writes (SSE / NDJSON pieces) must not wait for delayed ACKs
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self.server.fake._register(self)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.fake._unregister(self)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass

    def log_error(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    # -- dispatch --------------------------------------------------------
    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            data = bytearray()
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(data)
                data += self.rfile.read(size)
                self.rfile.readline(65537)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self) -> None:
        fake = self.server.fake
        self._headers_done = False
        self._chunked = False
        try:
            raw = self._read_body()
            path, _, query = self.path.partition("?")
            parsed: Any = None
            bad_json = False
            if raw:
                try:
                    parsed = json.loads(raw)
                except ValueError:
                    bad_json = True
            rec = RecordedRequest(
                method=self.command,
                path=path,
                query=query,
                headers={k.lower(): v for k, v in self.headers.items()},
                json=parsed,
                body=raw,
            )
            fake._record(rec)
            if fake._stopping.is_set():
                raise _ClientGone()
            fake._handle(self, rec, bad_json)
        except _ClientGone:
            self.close_connection = True
        except OSError:
            self.close_connection = True
        except Exception as exc:  # a bug in the fake or in a reply callable
            fake._record_error(exc)
            self.close_connection = True
            if not self._headers_done:
                try:
                    body = json.dumps(fake._internal_error_body(exc)).encode("utf-8")
                    self.send_bytes(500, body, "application/json")
                except OSError:
                    pass

    # -- response helpers ---------------------------------------------------
    def _start(self, status: int, content_type: str, headers: Optional[dict[str, str]], length: Optional[int]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if length is None:
            self.send_header("Transfer-Encoding", "chunked")
            self._chunked = True
        else:
            self.send_header("Content-Length", str(length))
        self.end_headers()
        self._headers_done = True

    def send_bytes(
        self,
        status: int,
        data: bytes,
        content_type: str,
        headers: Optional[dict[str, str]] = None,
        *,
        cut: bool = False,
    ) -> None:
        self._start(status, content_type, headers, len(data))
        if self.command == "HEAD":
            return
        if cut:
            self.wfile.write(data[: max(1, len(data) // 2)])
            self.cut()
        self.wfile.write(data)

    def send_json(self, status: int, obj: Any, headers: Optional[dict[str, str]] = None, *, cut: bool = False,
                  content_type: str = "application/json") -> None:
        self.send_bytes(status, json.dumps(obj, ensure_ascii=False).encode("utf-8"), content_type, headers, cut=cut)

    def start_chunked(self, status: int, content_type: str, headers: Optional[dict[str, str]] = None) -> None:
        self._start(status, content_type, headers, None)

    def write_chunk(self, data: bytes) -> None:
        if data:
            self.wfile.write(b"%X\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

    def end_chunked(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def cut(self) -> None:
        """Close the connection abruptly, mid-body."""
        try:
            self.wfile.flush()
        except OSError:
            pass
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        raise _ClientGone()


# --------------------------------------------------------------------------- base server


class _FakeServer:
    """Shared machinery; see the module docstring for the scripting API."""

    _default_reply = "This is a fake answer."

    def __init__(
        self,
        *,
        reply: Reply = _default_reply,
        mode: str = "ok",
        delay: float = 5.0,
        embedding_dim: int = 32,
        chunk_chars: int = 4,
        cut_after: int = 2,
        chunk_delay: float = 0.0,
        retry_after: Union[int, float] = 1,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.reply: Reply = reply
        self.mode = mode
        self.delay = delay
        self.embedding_dim = embedding_dim
        self.chunk_chars = chunk_chars
        self.cut_after = cut_after
        self.chunk_delay = chunk_delay
        self.retry_after = retry_after
        self.host = host
        self._port_wanted = port
        self.requests: list[RecordedRequest] = []
        self.errors: list[BaseException] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: Optional[_HTTPServer] = None
        self._thread: Optional[threading.Thread] = None
        self._handlers: dict[_Handler, threading.Thread] = {}

    # -- scripting -----------------------------------------------------------
    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, value: str) -> None:
        if value not in MODES:
            raise ValueError(f"unknown mode {value!r}; expected one of {MODES}")
        self._mode = value

    def render_reply(self, request_json: Any) -> str:
        r = self.reply
        out = r(request_json) if callable(r) else r
        return out if isinstance(out, str) else str(out)

    def pieces(self, text: str) -> list[str]:
        return _split_pieces(text, self.chunk_chars)

    def reset(self) -> None:
        """Back to mode "ok" and forget recorded requests / errors."""
        self.mode = "ok"
        with self._lock:
            self.requests.clear()
            self.errors.clear()

    @property
    def last_request(self) -> RecordedRequest:
        with self._lock:
            if not self.requests:
                raise LookupError("no request recorded yet")
            return self.requests[-1]

    # -- lifecycle -------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._httpd is not None

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self: _S) -> _S:
        if self._httpd is not None:
            raise RuntimeError(f"{type(self).__name__} already started")
        self._stopping.clear()
        httpd = _HTTPServer((self.host, self._port_wanted), self)
        thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.01},
            name=f"{type(self).__name__}:{httpd.server_address[1]}",
            daemon=True,
        )
        self._httpd, self._thread = httpd, thread
        thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving; wakes pending "slow" requests and drops open connections."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.server_close()
        with self._lock:
            handlers = list(self._handlers.items())
        for handler, _ in handlers:
            try:
                handler.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        deadline = time.monotonic() + timeout
        for _, t in handlers:
            if t is not threading.current_thread():
                t.join(max(0.0, deadline - time.monotonic()))
        if thread is not None:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._httpd = self._thread = None

    def __enter__(self: _S) -> _S:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.url if self.running else "stopped"
        return f"<{type(self).__name__} {where} mode={self.mode!r}>"

    # -- internals -------------------------------------------------------------
    def _register(self, handler: _Handler) -> None:
        with self._lock:
            self._handlers[handler] = threading.current_thread()

    def _unregister(self, handler: _Handler) -> None:
        with self._lock:
            self._handlers.pop(handler, None)

    def _record(self, rec: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(rec)

    def _record_error(self, exc: BaseException) -> None:
        with self._lock:
            self.errors.append(exc)

    def _pace(self) -> None:
        """Pause ``chunk_delay`` seconds between streamed pieces (interrupted by stop())."""
        if self.chunk_delay > 0 and self._stopping.wait(self.chunk_delay):
            raise _ClientGone()

    def _sleep_if_slow(self, mode: str) -> None:
        if mode == "slow" and self._stopping.wait(self.delay):
            raise _ClientGone()

    def _internal_error_body(self, exc: BaseException) -> Any:
        return {"error": f"fake server error: {exc!r}"}

    def _handle(self, h: _Handler, req: RecordedRequest, bad_json: bool) -> None:  # pragma: no cover
        raise NotImplementedError


def _embedding_inputs(value: Any) -> Optional[list[Union[str, list[int]]]]:
    """Normalise an embeddings ``input``: str | [str] | [int] | [[int]]."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value:
        if all(isinstance(v, str) for v in value):
            return list(value)
        if all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            return [list(value)]
        if all(isinstance(v, list) and all(isinstance(i, int) for i in v) for v in value):
            return [list(v) for v in value]
    return None


# --------------------------------------------------------------------------- OpenAI


class FakeOpenAIServer(_FakeServer):
    """Fake of the OpenAI REST API under ``/v1``.

    Endpoints: ``POST /v1/chat/completions`` (JSON or SSE when ``"stream": true``),
    ``GET /v1/models``, ``GET /v1/models/{id}``, ``POST /v1/embeddings``.

    ``model`` is the id listed by ``/v1/models``; any model name is accepted by
    the other endpoints unless ``strict_models=True``.  ``expected_api_key``:
    when set, a missing or different bearer token gets a 401 whatever the mode.
    """

    def __init__(
        self,
        *,
        model: str = "gpt-4o-mini",
        models: Optional[Iterable[str]] = None,
        expected_api_key: Optional[str] = None,
        strict_models: bool = False,
        lie: Optional[str] = None,
        **kwargs: Any,
    ) -> None:
        if lie is not None:
            kwargs["reply"] = liar_reply(lie)
        super().__init__(**kwargs)
        self.model = model
        self.models: list[str] = list(models) if models is not None else [model]
        if model not in self.models:
            self.models.insert(0, model)
        self.expected_api_key = expected_api_key
        self.strict_models = strict_models

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    @property
    def authorizations(self) -> list[Optional[str]]:
        """The ``Authorization`` header of each recorded request (None if absent)."""
        with self._lock:
            return [r.headers.get("authorization") for r in self.requests]

    # -- errors --------------------------------------------------------------
    @staticmethod
    def error_body(message: str, type_: str, code: Optional[str], param: Optional[str] = None) -> dict:
        return {"error": {"message": message, "type": type_, "param": param, "code": code}}

    def _internal_error_body(self, exc: BaseException) -> Any:
        return self.error_body(f"fake server error: {exc!r}", "server_error", None)

    def _send_error(self, h: _Handler, status: int, message: str, type_: str, code: Optional[str],
                    param: Optional[str] = None, headers: Optional[dict[str, str]] = None) -> None:
        hdrs = {"x-request-id": "req_" + uuid.uuid4().hex}
        hdrs.update(headers or {})
        h.send_json(status, self.error_body(message, type_, code, param), hdrs)

    def _auth_error(self, h: _Handler, req: RecordedRequest) -> None:
        auth = req.authorization
        if not auth:
            msg = ("You didn't provide an API key. You need to provide your API key in an Authorization header "
                   "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")
            self._send_error(h, 401, msg, "invalid_request_error", None)
            return
        token = auth.split(" ", 1)[-1]
        shown = (token[:3] + "*" * 4 + token[-4:]) if len(token) > 8 else "****"
        msg = (f"Incorrect API key provided: {shown}. You can find your API key at "
               "https://platform.openai.com/account/api-keys.")
        self._send_error(h, 401, msg, "invalid_request_error", "invalid_api_key")

    def _model_not_found(self, h: _Handler, model: str) -> None:
        self._send_error(h, 404, f"The model `{model}` does not exist or you do not have access to it.",
                         "invalid_request_error", "model_not_found")

    def _model_known(self, model: str) -> bool:
        return self.mode != "not_found" and (not self.strict_models or model in self.models)

    # -- dispatch ------------------------------------------------------------
    def _handle(self, h: _Handler, req: RecordedRequest, bad_json: bool) -> None:
        mode = self.mode
        if not req.path.startswith("/v1/") and req.path != "/v1":
            self._send_error(h, 404, f"Invalid URL ({req.method} {req.path})", "invalid_request_error", None)
            return
        if self.expected_api_key is not None and req.authorization != f"Bearer {self.expected_api_key}":
            self._auth_error(h, req)
            return
        if mode == "unauthorized":
            self._auth_error(h, req)
            return
        if mode == "rate_limited":
            msg = (f"Rate limit reached for {self.model} in organization org-fake on requests per min (RPM): "
                   f"Limit 3, Used 3, Requested 1. Please try again in {self.retry_after}s.")
            self._send_error(h, 429, msg, "requests", "rate_limit_exceeded",
                             headers={"retry-after": str(self.retry_after)})
            return
        if mode == "server_error":
            self._send_error(h, 500, "The server had an error while processing your request. Sorry about that!",
                             "server_error", None)
            return
        self._sleep_if_slow(mode)
        cut = mode == "cut"

        route = (req.method, req.path.rstrip("/"))
        if route == ("GET", "/v1/models"):
            listed = [] if mode == "not_found" else self.models
            body = {"object": "list", "data": [self._model_obj(m) for m in listed]}
            h.send_json(200, body, self._headers(), cut=cut)
            return
        if req.method == "GET" and req.path.startswith("/v1/models/"):
            mid = req.path[len("/v1/models/"):]
            if mode == "not_found" or mid not in self.models:
                self._model_not_found(h, mid)
            else:
                h.send_json(200, self._model_obj(mid), self._headers(), cut=cut)
            return
        if route in {("POST", "/v1/chat/completions"), ("POST", "/v1/embeddings")}:
            if bad_json or not isinstance(req.json, dict):
                self._send_error(h, 400, "We could not parse the JSON body of your request. (HINT: This likely "
                                 "means you aren't using your HTTP library correctly. The OpenAI API expects a "
                                 "JSON payload, but what was sent was not valid JSON.",
                                 "invalid_request_error", None)
                return
            if route[1] == "/v1/chat/completions":
                self._chat(h, req.json, cut)
            else:
                self._embeddings(h, req.json, cut)
            return
        self._send_error(h, 404, f"Invalid URL ({req.method} {req.path})", "invalid_request_error", None)

    def _headers(self) -> dict[str, str]:
        return {"x-request-id": "req_" + uuid.uuid4().hex, "openai-processing-ms": "7",
                "openai-version": "2020-10-01"}

    @staticmethod
    def _model_obj(mid: str) -> dict:
        return {"id": mid, "object": "model", "created": 1700000000, "owned_by": "system"}

    def _checked_model(self, h: _Handler, body: dict, required: tuple[str, ...]) -> str | None:
        """The requested model, or None after answering 400 (missing field) or 404 (unknown model)."""
        for name in required:
            if name not in body:
                self._send_error(h, 400, f"Missing required parameter: '{name}'.", "invalid_request_error",
                                 "missing_required_parameter", name)
                return None
        model = str(body["model"])
        if not self._model_known(model):
            self._model_not_found(h, model)
            return None
        return model

    # -- chat ------------------------------------------------------------------
    def _chat(self, h: _Handler, body: dict, cut: bool) -> None:
        model = self._checked_model(h, body, ("model", "messages"))
        if model is None:
            return
        text = self.render_reply(body)
        cid = "chatcmpl-" + uuid.uuid4().hex[:24]
        created = int(time.time())
        prompt_tokens = count_tokens(_message_text(body.get("messages")))
        completion_tokens = count_tokens(text)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
        }
        if not body.get("stream"):
            completion = {
                "id": cid,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [{
                    "index": 0,
                    "message": {"role": "assistant", "content": text, "refusal": None, "annotations": []},
                    "logprobs": None,
                    "finish_reason": "stop",
                }],
                "usage": usage,
                "service_tier": "default",
                "system_fingerprint": "fp_fake",
            }
            h.send_json(200, completion, self._headers(), cut=cut)
            return

        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

        def chunk(delta: dict, finish: Optional[str]) -> bytes:
            obj: dict[str, Any] = {
                "id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                "service_tier": "default", "system_fingerprint": "fp_fake",
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            }
            if include_usage:
                obj["usage"] = None
            return b"data: " + json.dumps(obj, ensure_ascii=False).encode("utf-8") + b"\n\n"

        h.start_chunked(200, "text/event-stream; charset=utf-8", self._headers())
        h.write_chunk(chunk({"role": "assistant", "content": "", "refusal": None}, None))
        for i, piece in enumerate(self.pieces(text)):
            if cut and i >= self.cut_after:
                h.cut()
            self._pace()
            h.write_chunk(chunk({"content": piece}, None))
        if cut:
            h.cut()
        h.write_chunk(chunk({}, "stop"))
        if include_usage:
            last = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                    "service_tier": "default", "system_fingerprint": "fp_fake", "choices": [], "usage": usage}
            h.write_chunk(b"data: " + json.dumps(last).encode("utf-8") + b"\n\n")
        h.write_chunk(b"data: [DONE]\n\n")
        h.end_chunked()

    # -- embeddings -------------------------------------------------------------
    def _embeddings(self, h: _Handler, body: dict, cut: bool) -> None:
        model = self._checked_model(h, body, ("model", "input"))
        if model is None:
            return
        inputs = _embedding_inputs(body["input"])
        if inputs is None or any(i == "" for i in inputs):
            self._send_error(h, 400, "'$.input' is invalid. Please check the API reference: "
                             "https://platform.openai.com/docs/api-reference.", "invalid_request_error", None)
            return
        fmt = body.get("encoding_format", "float")
        if fmt not in ("float", "base64"):
            self._send_error(h, 400, f"Invalid value for 'encoding_format': '{fmt}'.",
                             "invalid_request_error", "invalid_value", "encoding_format")
            return
        dim = body.get("dimensions") or self.embedding_dim
        data = []
        tokens = 0
        for i, item in enumerate(inputs):
            vec = fake_embedding(item, int(dim))
            tokens += len(item) if isinstance(item, list) else count_tokens(item)
            emb: Any = vec
            if fmt == "base64":
                emb = base64.b64encode(struct.pack(f"<{len(vec)}f", *vec)).decode("ascii")
            data.append({"object": "embedding", "index": i, "embedding": emb})
        h.send_json(200, {"object": "list", "data": data, "model": model,
                          "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}, self._headers(), cut=cut)


# --------------------------------------------------------------------------- Ollama


def _ollama_name(name: str) -> str:
    """Ollama's name normalisation: a missing tag means ``:latest``."""
    name = name.strip()
    last = name.rsplit("/", 1)[-1]
    return name if ":" in last else name + ":latest"


def _now_rfc3339() -> str:
    ns = time.time_ns()
    base = datetime.fromtimestamp(ns // 1_000_000_000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{ns % 1_000_000_000:09d}Z"


class FakeOllamaServer(_FakeServer):
    """Fake of Ollama's native API.

    Endpoints: ``GET /`` (heartbeat), ``GET /api/version``, ``GET /api/tags``,
    ``POST /api/chat`` (NDJSON stream unless ``"stream": false``),
    ``POST /api/embed`` and the legacy ``POST /api/embeddings``.

    ``models``: the installed model names (as listed by ``/api/tags``); a
    request naming any other model gets Ollama's 404 "not found" error.
    """

    version = "0.6.0"

    def __init__(self, *, models: Iterable[str] = ("qwen2.5:7b", "nomic-embed-text:latest"), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.models: list[str] = list(models)

    def _known(self, model: str) -> bool:
        return self.mode != "not_found" and _ollama_name(model) in {_ollama_name(m) for m in self.models}

    def _error(self, h: _Handler, status: int, message: str, headers: Optional[dict[str, str]] = None) -> None:
        h.send_json(status, {"error": message}, headers, content_type="application/json; charset=utf-8")

    def _not_found(self, h: _Handler, model: str) -> None:
        self._error(h, 404, f'model "{model}" not found, try pulling it first')

    def _handle(self, h: _Handler, req: RecordedRequest, bad_json: bool) -> None:
        mode = self.mode
        route = (req.method, req.path.rstrip("/") or "/")
        if route in {("GET", "/"), ("HEAD", "/")}:
            h.send_bytes(200, b"Ollama is running", "text/plain; charset=utf-8")
            return
        known = {("GET", "/api/version"), ("GET", "/api/tags"), ("POST", "/api/chat"),
                 ("POST", "/api/embed"), ("POST", "/api/embeddings")}
        if route not in known:
            h.send_bytes(404, b"404 page not found", "text/plain")
            return
        if mode == "unauthorized":
            self._error(h, 401, "unauthorized")
            return
        if mode == "rate_limited":
            self._error(h, 429, "too many requests, please try again later",
                        {"Retry-After": str(self.retry_after)})
            return
        if mode == "server_error":
            self._error(h, 500, "llama runner process has terminated: exit status 2")
            return
        self._sleep_if_slow(mode)
        cut = mode == "cut"
        ctype = "application/json; charset=utf-8"

        if route == ("GET", "/api/version"):
            h.send_json(200, {"version": self.version}, cut=cut, content_type=ctype)
            return
        if route == ("GET", "/api/tags"):
            listed = [] if mode == "not_found" else self.models
            h.send_json(200, {"models": [self._tag(m) for m in listed]}, cut=cut, content_type=ctype)
            return

        if bad_json or not isinstance(req.json, dict):
            self._error(h, 400, "invalid character in request body")
            return
        body = req.json
        model = body.get("model")
        if not model:
            self._error(h, 400, "model is required")
            return
        if not self._known(str(model)):
            self._not_found(h, str(model))
            return
        if route == ("POST", "/api/chat"):
            self._chat(h, body, cut)
        elif route == ("POST", "/api/embed"):
            self._embed(h, body, cut)
        else:
            self._legacy_embeddings(h, body, cut)

    @staticmethod
    def _tag(name: str) -> dict:
        digest = hashlib.sha256(name.encode("utf-8")).hexdigest()
        family = re.split(r"[:.]", name.rsplit("/", 1)[-1])[0] or "llama"
        size_label = name.rsplit(":", 1)[-1].upper() if ":" in name else "7B"
        return {
            "name": name,
            "model": name,
            "modified_at": "2025-01-15T10:20:30.123456789+08:00",
            "size": 4683087332,
            "digest": digest,
            "details": {
                "parent_model": "",
                "format": "gguf",
                "family": family,
                "families": [family],
                "parameter_size": size_label if size_label.endswith("B") else "7.6B",
                "quantization_level": "Q4_K_M",
            },
        }

    def _chat(self, h: _Handler, body: dict, cut: bool) -> None:
        model = str(body["model"])
        text = self.render_reply(body)
        prompt_count = count_tokens(_message_text(body.get("messages")))
        eval_count = count_tokens(text)
        final_stats = {
            "done_reason": "stop",
            "done": True,
            "total_duration": 1_000_000 * (20 + eval_count),
            "load_duration": 5_000_000,
            "prompt_eval_count": prompt_count,
            "prompt_eval_duration": 100_000 * (1 + prompt_count),
            "eval_count": eval_count,
            "eval_duration": 1_000_000 * (1 + eval_count),
        }
        ctype = "application/json; charset=utf-8"
        if body.get("stream", True) is False:
            obj = {"model": model, "created_at": _now_rfc3339(),
                   "message": {"role": "assistant", "content": text}, **final_stats}
            h.send_json(200, obj, cut=cut, content_type=ctype)
            return

        def line(obj: dict) -> bytes:
            return json.dumps(obj, ensure_ascii=False).encode("utf-8") + b"\n"

        h.start_chunked(200, "application/x-ndjson")
        for i, piece in enumerate(self.pieces(text)):
            if cut and i >= self.cut_after:
                h.cut()
            self._pace()
            h.write_chunk(line({"model": model, "created_at": _now_rfc3339(),
                                "message": {"role": "assistant", "content": piece}, "done": False}))
        if cut:
            h.cut()
        h.write_chunk(line({"model": model, "created_at": _now_rfc3339(),
                            "message": {"role": "assistant", "content": ""}, **final_stats}))
        h.end_chunked()

    def _dim(self, body: dict) -> int:
        dim = body.get("dimensions")
        return int(dim) if isinstance(dim, int) and dim > 0 else self.embedding_dim

    def _embed(self, h: _Handler, body: dict, cut: bool) -> None:
        raw = body.get("input")
        inputs: list[str]
        if raw is None:
            inputs = []
        elif isinstance(raw, str):
            inputs = [raw]
        elif isinstance(raw, list) and all(isinstance(x, str) for x in raw):
            inputs = list(raw)
        else:
            self._error(h, 400, "invalid input type")
            return
        dim = self._dim(body)
        out = {
            "model": str(body["model"]),
            "embeddings": [fake_embedding(t, dim) for t in inputs],
            "total_duration": 14_143_917,
            "load_duration": 1_019_500,
            "prompt_eval_count": sum(count_tokens(t) for t in inputs),
        }
        h.send_json(200, out, cut=cut, content_type="application/json; charset=utf-8")

    def _legacy_embeddings(self, h: _Handler, body: dict, cut: bool) -> None:
        prompt = body.get("prompt") or ""
        vec = fake_embedding(prompt, self._dim(body)) if prompt else []
        h.send_json(200, {"embedding": vec}, cut=cut, content_type="application/json; charset=utf-8")
