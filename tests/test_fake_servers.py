"""The fake LLM servers are faithful: the REAL clients talk to them.

Drives ``openai.OpenAI``, ``langchain_openai.ChatOpenAI``, ``ollama.Client``,
``langchain_ollama.ChatOllama`` / ``OllamaEmbeddings`` against the fakes of
``tests/fakes/llm_servers.py`` and pins the exact exception type each client
raises for each failure mode (the product translates those into messages).
"""

from __future__ import annotations

import base64
import struct
import threading
import time

import httpx
import httpx2
import ollama
import openai
import pytest
from langchain_core import exceptions as lc_exc
from langchain_ollama import ChatOllama, OllamaEmbeddings
from langchain_openai import ChatOpenAI
from langchain_openai.chat_models import base as lc_openai_base

try:
    from tests.fakes.llm_servers import MODES, FakeOllamaServer, FakeOpenAIServer, fake_embedding
except ImportError:  # tests/ on sys.path instead of the project root
    from fakes.llm_servers import MODES, FakeOllamaServer, FakeOpenAIServer, fake_embedding

API_KEY = "sk-test-0123456789abcdef"
CHAT_MODEL = "qwen2.5:7b"
EMBED_MODEL = "nomic-embed-text"
LONG_REPLY = "根据报告，2023年张家界接待游客增长显著 [1]。The answer cites passage [1]."
MESSAGES = [{"role": "user", "content": "张家界2023年接待了多少游客？"}]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def oai_server():
    with FakeOpenAIServer(model="gpt-4o-mini", reply=LONG_REPLY, embedding_dim=12) as server:
        yield server
    assert server.errors == []


@pytest.fixture
def oai(oai_server):
    with openai.OpenAI(base_url=oai_server.base_url, api_key=API_KEY, max_retries=0) as client:
        yield client


@pytest.fixture
def ollama_server():
    with FakeOllamaServer(models=[CHAT_MODEL, EMBED_MODEL + ":latest"], reply=LONG_REPLY, embedding_dim=10) as server:
        yield server
    assert server.errors == []


@pytest.fixture
def ol(ollama_server):
    with ollama.Client(host=ollama_server.url) as client:
        yield client


@pytest.fixture
def raw_http():
    with httpx.Client(timeout=5) as client:
        yield client


def _call(llm, how: str) -> None:
    """One LangChain chat call, invoked or streamed to the end."""
    if how == "invoke":
        llm.invoke("hi")
    else:
        for _ in llm.stream("hi"):
            pass


def _chat(client: openai.OpenAI, **kw):
    return client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, **kw)


# --------------------------------------------------------------------------- the module itself


def test_lifecycle_and_scripting_api():
    server = FakeOpenAIServer()
    with pytest.raises(RuntimeError):
        server.url  # not started
    server.start()
    try:
        assert server.url.startswith("http://127.0.0.1:") and server.port > 0
        assert server.base_url == server.url + "/v1"
        with pytest.raises(RuntimeError):
            server.start()
        with pytest.raises(ValueError):
            server.mode = "flaky"
        assert set(MODES) == {"ok", "unauthorized", "not_found", "rate_limited", "server_error", "slow", "cut"}
    finally:
        server.stop()
    server.stop()  # idempotent
    assert not server.running
    with FakeOllamaServer() as ol_server:
        assert ol_server.running
    assert not ol_server.running


def test_fake_embedding_is_deterministic_normalised_and_similarity_aware():
    a = fake_embedding("张家界 旅游 收入", 64)
    assert a == fake_embedding("张家界 旅游 收入", 64)
    assert len(a) == 64 and abs(sum(v * v for v in a) - 1.0) < 1e-5
    assert a != fake_embedding("张家界 旅游 收入 增长", 64)

    def cos(x, y):
        return sum(p * q for p, q in zip(x, y))

    assert cos(a, fake_embedding("张家界旅游收入增长", 64)) > cos(a, fake_embedding("quantum physics", 64))


def test_stop_is_prompt_while_a_slow_request_is_pending():
    server = FakeOpenAIServer(mode="slow", delay=30).start()
    outcome: list[BaseException] = []

    def call():
        with openai.OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0, timeout=20) as client:
            try:
                _chat(client)
            except BaseException as exc:  # noqa: BLE001 - reported to the main thread
                outcome.append(exc)

    worker = threading.Thread(target=call)
    worker.start()
    deadline = time.monotonic() + 5
    while not server.requests and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.requests, "the request never reached the server"
    t0 = time.monotonic()
    server.stop()
    assert time.monotonic() - t0 < 2
    worker.join(5)
    assert not worker.is_alive()
    # the server dropped the connection before answering
    assert len(outcome) == 1 and type(outcome[0]) is openai.APIConnectionError


def test_reply_callable_errors_are_recorded_and_give_500():
    def broken(_request):
        raise KeyError("boom")

    with FakeOpenAIServer(reply=broken) as server:
        with openai.OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0) as client:
            with pytest.raises(openai.InternalServerError) as info:
                _chat(client)
        assert "boom" in info.value.message
        assert len(server.errors) == 1 and isinstance(server.errors[0], KeyError)


def test_chunk_delay_paces_the_stream(oai_server, oai):
    oai_server.reply = "abcdefghijkl"  # 3 pieces of 4 characters
    oai_server.chunk_delay = 0.1
    t0 = time.monotonic()
    with _chat(oai, stream=True) as stream:
        text = "".join(c.choices[0].delta.content or "" for c in stream)
    assert text == "abcdefghijkl"
    assert time.monotonic() - t0 >= 0.3


# --------------------------------------------------------------------------- OpenAI, real client


def test_openai_chat_completion(oai_server, oai):
    oai_server.reply = lambda req: "You asked: " + req["messages"][-1]["content"] + " See [1]."
    completion = _chat(oai)
    assert completion.object == "chat.completion"
    choice = completion.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == "You asked: " + MESSAGES[0]["content"] + " See [1]."
    assert choice.finish_reason == "stop"
    assert completion.usage.completion_tokens > 0 and completion.usage.prompt_tokens > 0
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens
    assert completion._request_id.startswith("req_")

    req = oai_server.last_request
    assert (req.method, req.path) == ("POST", "/v1/chat/completions")
    assert req.json["model"] == "gpt-4o-mini" and req.json["messages"] == MESSAGES
    assert req.headers["authorization"] == f"Bearer {API_KEY}"
    assert oai_server.authorizations == [f"Bearer {API_KEY}"]


def test_openai_streamed_completion(oai_server, oai):
    with _chat(oai, stream=True) as stream:
        chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    contents = [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]
    assert len(contents) >= 3  # really split into small pieces
    assert "".join(contents) == LONG_REPLY
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.choices for c in chunks)  # no usage chunk unless asked for
    assert oai_server.last_request.json["stream"] is True


def test_openai_streamed_completion_with_usage(oai_server, oai):
    with _chat(oai, stream=True, stream_options={"include_usage": True}) as stream:
        chunks = list(stream)
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0
    assert all(c.usage is None for c in chunks[:-1])
    assert "".join(c.choices[0].delta.content or "" for c in chunks[:-1]) == LONG_REPLY


def test_openai_models(oai):
    assert [m.id for m in oai.models.list()] == ["gpt-4o-mini"]
    assert oai.models.retrieve("gpt-4o-mini").id == "gpt-4o-mini"
    with pytest.raises(openai.NotFoundError):
        oai.models.retrieve("gpt-5-nonexistent")


def test_openai_embeddings_float_and_default_encoding(oai_server, oai):
    floats = oai.embeddings.create(model="text-embedding-3-small", input=["第一段", "second"], encoding_format="float")
    assert oai_server.last_request.json["encoding_format"] == "float"
    assert [d.index for d in floats.data] == [0, 1]
    assert floats.data[0].embedding == fake_embedding("第一段", 12)
    assert floats.data[1].embedding == fake_embedding("second", 12)
    assert floats.usage.prompt_tokens > 0

    default = oai.embeddings.create(model="text-embedding-3-small", input=["第一段", "second"])
    # the SDK asks for base64 behind the user's back and decodes it
    assert oai_server.last_request.json["encoding_format"] == "base64"
    assert [d.embedding for d in default.data] == [d.embedding for d in floats.data]

    single = oai.embeddings.create(model="text-embedding-3-small", input="第一段", dimensions=5)
    assert len(single.data) == 1 and len(single.data[0].embedding) == 5


def test_openai_base64_wire_format_is_little_endian_float32(oai_server, raw_http):
    resp = raw_http.post(
        oai_server.base_url + "/embeddings",
        json={"model": "m", "input": "abc", "encoding_format": "base64"},
    )
    data = base64.b64decode(resp.json()["data"][0]["embedding"])
    assert len(data) == 4 * 12
    assert list(struct.unpack("<12f", data)) == fake_embedding("abc", 12)


def test_openai_error_body_format(oai_server, raw_http):
    oai_server.mode = "not_found"
    resp = raw_http.post(oai_server.base_url + "/chat/completions", json={"model": "x", "messages": MESSAGES})
    assert resp.status_code == 404
    err = resp.json()["error"]
    assert set(err) >= {"message", "type", "code"} and err["code"] == "model_not_found"
    oai_server.mode = "ok"
    resp = raw_http.post(oai_server.base_url + "/chat/completions", json={"model": "x"})
    assert resp.status_code == 400 and resp.json()["error"]["param"] == "messages"


def test_openai_expected_api_key(oai_server):
    oai_server.expected_api_key = API_KEY
    with openai.OpenAI(base_url=oai_server.base_url, api_key="sk-wrong-key-000000", max_retries=0) as bad:
        with pytest.raises(openai.AuthenticationError) as info:
            _chat(bad)
    assert info.value.status_code == 401 and info.value.code == "invalid_api_key"
    with openai.OpenAI(base_url=oai_server.base_url, api_key=API_KEY, max_retries=0) as good:
        assert _chat(good).choices[0].message.content == LONG_REPLY
    assert oai_server.authorizations == ["Bearer sk-wrong-key-000000", f"Bearer {API_KEY}"]


@pytest.mark.parametrize(
    ("mode", "exc_type", "status", "code"),
    [
        ("unauthorized", openai.AuthenticationError, 401, "invalid_api_key"),
        ("not_found", openai.NotFoundError, 404, "model_not_found"),
        ("rate_limited", openai.RateLimitError, 429, "rate_limit_exceeded"),
        ("server_error", openai.InternalServerError, 500, None),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_openai_status_errors(oai_server, oai, mode, exc_type, status, code, stream):
    oai_server.mode = mode
    with pytest.raises(openai.APIStatusError) as info:
        _chat(oai, stream=stream)  # status errors surface at call time, even when streaming
    assert type(info.value) is exc_type
    assert info.value.status_code == status
    assert info.value.code == code
    assert isinstance(info.value.body, dict) and info.value.body["message"]
    assert len(oai_server.requests) == 1  # max_retries=0
    if mode == "rate_limited":
        assert info.value.response.headers["retry-after"] == "1"


def test_openai_retries_honour_retry_after(oai_server):
    oai_server.mode = "rate_limited"
    oai_server.retry_after = 0.1
    with openai.OpenAI(base_url=oai_server.base_url, api_key=API_KEY, max_retries=2) as client:
        t0 = time.monotonic()
        with pytest.raises(openai.RateLimitError):
            _chat(client)
    assert len(oai_server.requests) == 3
    assert 0.2 <= time.monotonic() - t0 < 2


def test_openai_slow_gives_timeout(oai_server, oai):
    oai_server.mode = "slow"
    oai_server.delay = 5
    t0 = time.monotonic()
    with pytest.raises(openai.APITimeoutError) as info:
        _chat(oai, timeout=0.5)
    assert time.monotonic() - t0 < 3
    assert type(info.value) is openai.APITimeoutError
    assert isinstance(info.value.__cause__, httpx2.ReadTimeout)


def test_openai_cut_stream(oai_server, oai):
    oai_server.mode = "cut"
    received = []
    with pytest.raises(openai.APIConnectionError) as info:
        with _chat(oai, stream=True) as stream:
            for chunk in stream:
                received.append(chunk.choices[0].delta.content)
    assert type(info.value) is openai.APIConnectionError  # not the APITimeoutError subclass
    assert isinstance(info.value.__cause__, httpx2.RemoteProtocolError)
    assert "incomplete chunked read" in str(info.value.__cause__)
    assert received[0] == "" and len(received) == 1 + oai_server.cut_after
    assert "".join(received) != LONG_REPLY


def test_openai_cut_non_streamed(oai_server, oai):
    oai_server.mode = "cut"
    with pytest.raises(openai.APIConnectionError) as info:
        _chat(oai)
    assert type(info.value) is openai.APIConnectionError
    assert isinstance(info.value.__cause__, httpx2.RemoteProtocolError)


# --------------------------------------------------------------------------- LangChain OpenAI


@pytest.fixture
def chat_openai(oai_server):
    llm = ChatOpenAI(base_url=oai_server.base_url, api_key=API_KEY, model="gpt-4o-mini", max_retries=0)
    yield llm
    llm.root_client.close()  # its pooled connections would otherwise leak ResourceWarnings


def test_langchain_chat_openai_invoke_and_stream(oai_server, chat_openai):
    message = chat_openai.invoke("张家界2023年接待了多少游客？")
    assert message.content == LONG_REPLY
    assert message.response_metadata["finish_reason"] == "stop"
    assert oai_server.last_request.json["messages"] == MESSAGES

    pieces = [chunk.content for chunk in chat_openai.stream("hi")]
    assert len([p for p in pieces if p]) >= 3
    assert "".join(pieces) == LONG_REPLY
    assert oai_server.last_request.json["stream"] is True


@pytest.mark.parametrize(
    ("mode", "lc_type", "openai_base", "core_base"),
    [
        ("unauthorized", lc_openai_base.OpenAIAuthenticationError, openai.AuthenticationError,
         lc_exc.ModelAuthenticationError),
        ("not_found", lc_openai_base.OpenAIModelNotFoundError, openai.NotFoundError, lc_exc.ModelNotFoundError),
        ("rate_limited", lc_openai_base.OpenAIRateLimitError, openai.RateLimitError, lc_exc.ModelRateLimitError),
        ("server_error", lc_openai_base.OpenAIAPIError, openai.InternalServerError, lc_exc.ModelAPIError),
        ("slow", lc_openai_base.OpenAITimeoutError, openai.APITimeoutError, lc_exc.ModelTimeoutError),
        ("cut", lc_openai_base.OpenAIConnectionError, openai.APIConnectionError, lc_exc.ModelConnectionError),
    ],
)
@pytest.mark.parametrize("how", ["invoke", "stream"])
def test_langchain_chat_openai_errors(oai_server, mode, lc_type, openai_base, core_base, how):
    """langchain-openai re-raises openai errors as its own subclasses (also langchain_core Model*Error)."""
    oai_server.mode = mode
    oai_server.delay = 5
    # its own HTTP client: langchain-openai shares one per (base_url, timeout), and closing that shared one
    # broke a later test whose server happened to get the same port ("the client has been closed")
    llm = ChatOpenAI(base_url=oai_server.base_url, api_key=API_KEY, model="gpt-4o-mini", max_retries=0,
                     timeout=0.5, http_client=openai.DefaultHttpxClient(timeout=0.5))
    try:
        with pytest.raises(openai_base) as info:
            _call(llm, how)
    finally:
        llm.root_client.close()
    assert type(info.value) is lc_type
    assert isinstance(info.value, core_base)
    assert isinstance(info.value.__cause__, openai_base)  # the original SDK error is chained


# --------------------------------------------------------------------------- Ollama, real client


def test_ollama_heartbeat_and_version(ollama_server, raw_http):
    resp = raw_http.get(ollama_server.url + "/")
    assert resp.status_code == 200 and resp.text == "Ollama is running"
    assert raw_http.get(ollama_server.url + "/api/version").json() == {"version": "0.6.0"}
    assert raw_http.get(ollama_server.url + "/api/nope").status_code == 404


def test_ollama_list(ollama_server, ol):
    models = ol.list().models
    assert [m.model for m in models] == [CHAT_MODEL, EMBED_MODEL + ":latest"]
    assert all(m.digest and m.size and m.modified_at and m.details.format == "gguf" for m in models)
    ollama_server.mode = "not_found"
    assert ol.list().models == []


def test_ollama_chat_non_streamed(ollama_server, ol):
    ollama_server.reply = lambda req: "echo: " + req["messages"][-1]["content"]
    response = ol.chat(model=CHAT_MODEL, messages=MESSAGES)
    assert response.message.role == "assistant"
    assert response.message.content == "echo: " + MESSAGES[0]["content"]
    assert response.done is True and response.done_reason == "stop"
    assert response.eval_count > 0 and response.total_duration > 0
    req = ollama_server.last_request
    assert (req.method, req.path) == ("POST", "/api/chat")
    assert req.json["stream"] is False and req.json["messages"] == MESSAGES


def test_ollama_chat_streamed(ollama_server, ol):
    parts = list(ol.chat(model=CHAT_MODEL, messages=MESSAGES, stream=True))
    assert ollama_server.last_request.json["stream"] is True
    assert all(p.done is False for p in parts[:-1]) and len(parts) >= 4
    assert parts[-1].done is True and parts[-1].done_reason == "stop" and parts[-1].eval_count > 0
    assert "".join(p.message.content for p in parts) == LONG_REPLY


def test_ollama_embed(ollama_server, ol):
    many = ol.embed(model=EMBED_MODEL, input=["第一段", "second"])
    assert [list(v) for v in many.embeddings] == [fake_embedding("第一段", 10), fake_embedding("second", 10)]
    one = ol.embed(model=EMBED_MODEL, input="第一段")
    assert [list(v) for v in one.embeddings] == [fake_embedding("第一段", 10)]
    assert ollama_server.last_request.json["input"] == "第一段"


def test_ollama_unknown_model_is_404(ollama_server, ol):
    with pytest.raises(ollama.ResponseError) as info:
        ol.chat(model="llama3", messages=MESSAGES)
    assert info.value.status_code == 404
    assert info.value.error == 'model "llama3" not found, try pulling it first'
    with pytest.raises(ollama.ResponseError) as info:
        list(ol.chat(model="llama3", messages=MESSAGES, stream=True))
    assert info.value.status_code == 404
    # an untagged name means ":latest", as in Ollama
    assert ol.embed(model=EMBED_MODEL, input="x").embeddings


@pytest.mark.parametrize(
    ("mode", "status"), [("unauthorized", 401), ("not_found", 404), ("rate_limited", 429), ("server_error", 500)]
)
def test_ollama_status_errors(ollama_server, ol, mode, status):
    ollama_server.mode = mode
    with pytest.raises(ollama.ResponseError) as info:
        ol.chat(model=CHAT_MODEL, messages=MESSAGES)
    assert type(info.value) is ollama.ResponseError and info.value.status_code == status
    assert info.value.error and "{" not in info.value.error  # the JSON "error" field was extracted
    with pytest.raises(ollama.ResponseError) as info:
        for _ in ol.chat(model=CHAT_MODEL, messages=MESSAGES, stream=True):
            pass
    assert info.value.status_code == status
    with pytest.raises(ollama.ResponseError) as info:
        ol.embed(model=EMBED_MODEL, input="x")
    assert info.value.status_code == status


def test_ollama_cut_stream(ollama_server, ol):
    ollama_server.mode = "cut"
    received = []
    with pytest.raises(httpx.RemoteProtocolError) as info:
        for part in ol.chat(model=CHAT_MODEL, messages=MESSAGES, stream=True):
            received.append(part)
    assert type(info.value) is httpx.RemoteProtocolError
    assert "incomplete chunked read" in str(info.value)
    assert len(received) == ollama_server.cut_after and not any(p.done for p in received)


def test_ollama_cut_non_streamed(ollama_server, ol):
    ollama_server.mode = "cut"
    with pytest.raises(httpx.RemoteProtocolError):
        ol.chat(model=CHAT_MODEL, messages=MESSAGES)


def test_ollama_slow_gives_read_timeout(ollama_server):
    ollama_server.mode = "slow"
    ollama_server.delay = 5
    t0 = time.monotonic()
    with ollama.Client(host=ollama_server.url, timeout=0.5) as client:
        with pytest.raises(httpx.ReadTimeout):
            client.chat(model=CHAT_MODEL, messages=MESSAGES)
    assert time.monotonic() - t0 < 3


# --------------------------------------------------------------------------- LangChain Ollama


def test_langchain_chat_ollama_invoke_and_stream(ollama_server):
    llm = ChatOllama(base_url=ollama_server.url, model=CHAT_MODEL)
    try:
        message = llm.invoke("张家界2023年接待了多少游客？")
        assert message.content == LONG_REPLY
        assert message.response_metadata["done_reason"] == "stop"
        assert ollama_server.last_request.json["messages"] == MESSAGES

        pieces = [chunk.content for chunk in llm.stream("hi")]
        assert len([p for p in pieces if p]) >= 3
        assert "".join(pieces) == LONG_REPLY
    finally:
        llm._client.close()


@pytest.mark.parametrize(
    ("mode", "exc_type", "status"),
    [
        ("unauthorized", ollama.ResponseError, 401),
        ("not_found", ollama.ResponseError, 404),
        ("rate_limited", ollama.ResponseError, 429),
        ("server_error", ollama.ResponseError, 500),
        ("slow", httpx.ReadTimeout, None),
        ("cut", httpx.RemoteProtocolError, None),
    ],
)
@pytest.mark.parametrize("how", ["invoke", "stream"])
def test_langchain_chat_ollama_errors(ollama_server, mode, exc_type, status, how):
    """langchain-ollama does NOT wrap: ollama.ResponseError / raw httpx errors come through."""
    ollama_server.mode = mode
    ollama_server.delay = 5
    llm = ChatOllama(base_url=ollama_server.url, model=CHAT_MODEL, client_kwargs={"timeout": 0.5})
    try:
        with pytest.raises(Exception) as info:
            _call(llm, how)
    finally:
        llm._client.close()
    assert type(info.value) is exc_type
    if status is not None:
        assert info.value.status_code == status


def test_langchain_chat_ollama_unknown_model(ollama_server):
    llm = ChatOllama(base_url=ollama_server.url, model="llama3")
    try:
        with pytest.raises(ollama.ResponseError) as info:
            llm.invoke("hi")
    finally:
        llm._client.close()
    assert info.value.status_code == 404 and "llama3" in info.value.error


def test_langchain_ollama_embeddings(ollama_server):
    emb = OllamaEmbeddings(base_url=ollama_server.url, model=EMBED_MODEL)
    try:
        assert emb.embed_query("张家界") == fake_embedding("张家界", 10)
        assert emb.embed_documents(["a", "b"]) == [fake_embedding("a", 10), fake_embedding("b", 10)]
        assert ollama_server.last_request.path == "/api/embed"
    finally:
        emb._client.close()
