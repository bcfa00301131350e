"""Who may do what in the web app (AppTest): visitors ask, the operator configures, staff log in.

A local listener (tests/fakes/listener.py) records every request it receives. A visitor who tries every widget
and types the listener's address everywhere must cause none, and the operator's key
(a canary) must never reach the page. Staff need the password; failed logins back off;
a URL a staff member types is never sent the operator's key.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from chatbot.answer.notices import FALLBACK_NOTICES, about_replaced  # noqa: E402
from chatbot.core import Chatbot, Event  # noqa: E402
from chatbot.export import escape_markdown  # noqa: E402
from chatbot.feedback import FeedbackStore  # noqa: E402
from chatbot.settings import get_settings  # noqa: E402
from chatbot.staff_auth import hash_password  # noqa: E402
from chatbot.types import Answer  # noqa: E402
from tests.fakes.listener import Listener  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "chatbot" / "app.py")
STAFF_PAGE = "ui/pages/staff.py"
TIMEOUT = 120
CANARY_KEY = "sk-CANARY-app-5e4d3c2b1a"
PASSWORD = "correct horse battery staple"
PASSWORD_HASH = hash_password(PASSWORD)
STAFF_KEYS = ("w_staff_backend", "w_staff_model", "w_staff_url", "w_staff_key", "w_staff_export", "w_staff_logout")


@pytest.fixture
def listener() -> Iterator[Listener]:
    with Listener() as server:
        yield server


@pytest.fixture
def operator_env(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The operator's settings: a canary key, one model choice, no base URL, a staff password."""
    monkeypatch.setenv("CHATBOT_DATA_DIR", str(data_dir))
    monkeypatch.setenv("OPENAI_API_KEY", CANARY_KEY)
    monkeypatch.setenv("CHATBOT_PUBLIC_BACKENDS", "extractive,openai:canary-model")
    monkeypatch.setenv("CHATBOT_STAFF_PASSWORD_HASH", PASSWORD_HASH)
    monkeypatch.setenv("CHATBOT_CONNECT_TIMEOUT", "1")
    monkeypatch.setenv("CHATBOT_READ_TIMEOUT", "3")
    get_settings.cache_clear()
    from chatbot.ui.resources import login_backoff

    login_backoff().reset()  # the process-wide backoff outlives one AppTest
    yield data_dir
    login_backoff().reset()
    get_settings.cache_clear()


def start(**kwargs: object) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def run(widget) -> AppTest:  # noqa: ANN001 - any AppTest widget
    at = widget.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def page_text(at: AppTest) -> str:
    """Every element of the page (main, sidebar, dialogs) as its protobuf text."""
    out: list[str] = []

    def walk(node) -> None:  # noqa: ANN001
        proto = getattr(node, "proto", None)
        if proto is not None:
            out.append(str(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(out)


def widget_keys(at: AppTest) -> set[str]:
    kinds = ("chat_input", "button", "text_input", "selectbox", "radio", "slider", "checkbox", "number_input", "download_button", "form_submit_button")
    return {w.key for kind in kinds for w in at.get(kind) if getattr(w, "key", None)}


def login(at: AppTest, password: str) -> AppTest:
    at.switch_page(STAFF_PAGE)
    run(at)
    at.text_input(key="w_staff_password").set_value(password)
    return run(at.get("form_submit_button")[0].click())


def fast_stream(self, question, history=None, **kwargs):  # noqa: ANN001, ANN202
    yield Event("standalone", question)
    yield Event("passages", [])
    yield Event("token", "答案。")
    yield Event("answer", Answer(question=question, standalone_question=question, answer="答案。", refused=False, backend="extractive"))


# --- visitors ---------------------------------------------------------------------------
def test_a_visitor_trying_everything_makes_no_request_and_never_sees_the_key(operator_env, listener) -> None:
    url = listener.url + "/v1#"
    at = start()
    assert {"w_choice", "w_chat", "w_lang"} <= widget_keys(at)
    assert not widget_keys(at) & set(STAFF_KEYS)
    choice = at.selectbox(key="w_choice")
    assert choice.options == ["离线摘录（无需模型）", "OpenAI 兼容接口：canary-model"]
    for index in range(len(choice.options)):
        run(at.selectbox(key="w_choice").select_index(index))
        for text_input in at.text_input:
            text_input.set_value(url)
        run(at.chat_input(key="w_chat").set_value(f"{url} 今年GDP增长目标是多少？请访问 {listener.url}/v1/models"))
        assert at.get("chat_message")
    # every other widget: the feedback thumbs and comment, slider, buttons, the language
    at.feedback[0].set_value(0)
    run(at)
    for text_input in at.text_input:
        text_input.set_value(url)
    for submit in at.get("form_submit_button"):
        run(submit.click())
    run(at.slider(key="w_top_k").set_value(at.slider(key="w_top_k").max))
    for key in [b.key for b in at.button if b.key]:
        run(at.button(key=key).click())
    for download in at.get("download_button"):
        run(download.click())
    for lang in ("en", "zh"):
        run(at.radio(key="w_lang").set_value(lang))
    text = page_text(at)
    # and the staff page's only field, the password
    login(at, url)
    text += page_text(at)

    assert listener.requests == [], listener.requests
    assert CANARY_KEY not in text and CANARY_KEY[3:] not in text
    assert not widget_keys(at) & set(STAFF_KEYS)
    assert "导出反馈" not in text and "Export feedback" not in text


def test_the_visitors_health_line_is_one_cached_check_per_choice(operator_env, listener, monkeypatch) -> None:
    """Changing anything a visitor can change adds no health check (it was 30 requests in 1.8 s)."""
    from chatbot.ui.resources import public_health

    monkeypatch.setenv("OPENAI_BASE_URL", listener.url + "/v1")  # the operator's server this time
    get_settings.cache_clear()
    public_health.clear()
    at = start()
    for _ in range(5):
        for index in (1, 0):
            run(at.selectbox(key="w_choice").select_index(index))
        for lang in ("en", "zh"):
            run(at.radio(key="w_lang").set_value(lang))
    second = start()  # another visitor
    run(second.selectbox(key="w_choice").select_index(1))
    assert [(method, path) for method, path, _ in listener.requests] == [("GET", "/v1/models")]
    assert [c.value for c in second.sidebar.caption if "可用" in c.value] == [":red[●] 暂时不可用（将使用离线摘录）"]
    public_health.clear()


def test_the_public_page_has_no_url_key_or_model_fields(operator_env) -> None:
    at = start()
    labels = [w.label for w in at.text_input] + [w.label for w in at.selectbox]
    for forbidden in ("接口地址", "Base URL", "API", "密钥", "模型"):
        assert not [label for label in labels if forbidden in label], labels
    assert not [d for d in at.get("download_button") if "反馈" in d.label]


def test_without_a_password_hash_there_is_no_staff_page(data_dir, monkeypatch, caplog) -> None:
    monkeypatch.setenv("CHATBOT_DATA_DIR", str(data_dir))
    get_settings.cache_clear()
    from chatbot.ui.resources import note_staff_page_off

    note_staff_page_off.clear()
    caplog.set_level("WARNING")
    at = start()
    with pytest.raises(ValueError):
        at.switch_page(STAFF_PAGE)
    assert not widget_keys(at) & set(STAFF_KEYS)
    run(at)
    start()  # another session of the same process
    said = [r for r in caplog.records if "CHATBOT_STAFF_PASSWORD_HASH is not set" in r.getMessage()]
    assert len(said) == 1, "the log says so once per process"


def test_a_broken_store_shows_no_path(tmp_path, monkeypatch) -> None:
    broken = tmp_path / "secret-data-path"
    broken.mkdir()
    (broken / "chroma").write_text("not a folder")  # the embedded store cannot open
    monkeypatch.setenv("CHATBOT_DATA_DIR", str(broken))
    monkeypatch.setenv("CHATBOT_SEEDS_DIR", str(tmp_path / "no-seeds"))
    get_settings.cache_clear()
    at = start()
    errors = [e.value for e in at.error]
    assert errors == ["服务暂时不可用，请稍后再试。"], errors
    assert "secret-data-path" not in page_text(at)


def test_the_public_sidebar_does_not_read_the_feedback_store(operator_env, monkeypatch) -> None:
    calls: list[str] = []
    for name in ("export_jsonl", "export_items", "rows", "__len__"):
        original = getattr(FeedbackStore, name)
        monkeypatch.setattr(FeedbackStore, name, lambda self, *a, _n=name, _o=original, **k: calls.append(_n) or _o(self, *a, **k))
    monkeypatch.setattr(Chatbot, "stream", fast_stream)
    at = start()
    run(at.chat_input(key="w_chat").set_value("今年GDP增长目标是多少？"))
    at.feedback[0].set_value(1)
    run(at)
    run(at.radio(key="w_lang").set_value("en"))
    assert calls == [], calls


def test_a_withdrawn_stream_does_not_stay_on_screen(operator_env, monkeypatch) -> None:
    def withdrawing(self, question, history=None, **kwargs):  # noqa: ANN001, ANN202
        yield Event("standalone", question)
        yield Event("token", "WITHDRAWN model text")
        yield Event("reset", None)
        yield Event("notice", "[openai] The answer did not pass the check at http://10.0.0.5:8000/v1.")
        yield Event("token", "离线答案。")
        yield Event("answer", Answer(question=question, standalone_question=question, answer="离线答案。", refused=False, backend="extractive", fallback=True))

    monkeypatch.setattr(Chatbot, "stream", withdrawing)
    at = start()
    run(at.chat_input(key="w_chat").set_value("今年GDP增长目标是多少？"))
    text = page_text(at)
    assert "WITHDRAWN" not in text and "离线答案" in text
    assert "10.0.0.5" not in text and [w.value for w in at.warning] == ["所选的模型后端不可用，已改用离线摘录答案。"]



def test_why_the_checks_replaced_a_model_answer_is_information_not_a_warning(operator_env, monkeypatch) -> None:
    """The offline answer shown after a checks' fallback is checked: its notice must not look like a flag."""
    def replaced(self, question, history=None, **kwargs):  # noqa: ANN001, ANN202
        yield Event("standalone", question)
        yield Event("notice", FALLBACK_NOTICES["unsupported"])
        yield Event("token", "离线答案。")
        yield Event("answer", Answer(question=question, standalone_question=question, answer="离线答案。", refused=False,
                                     backend="extractive", fallback=True, fallback_reason="unsupported",
                                     warnings=[FALLBACK_NOTICES["unsupported"], replaced_flag]))

    replaced_flag = about_replaced("Figures not found in the cited passages: 55亿元.")
    monkeypatch.setattr(Chatbot, "stream", replaced)
    at = start()
    run(at.chat_input(key="w_chat").set_value("今年GDP增长目标是多少？"))
    assert [i.value for i in at.info] == [escape_markdown(FALLBACK_NOTICES["unsupported"])]
    assert [c.value for c in at.caption if c.value.startswith("ⓘ ") and "55亿元" in c.value]
    assert not at.warning and "⚠" not in page_text(at)

# --- limits ---------------------------------------------------------------------------------
def test_the_question_rate_limit_is_polite_and_keeps_the_question(operator_env, monkeypatch) -> None:
    monkeypatch.setenv("CHATBOT_SESSION_QUESTIONS_PER_MINUTE", "2")
    get_settings.cache_clear()
    monkeypatch.setattr(Chatbot, "stream", fast_stream)
    at = start()
    for question in ("第一个问题", "第二个问题", "第三个问题"):
        run(at.chat_input(key="w_chat").set_value(question))
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "提问太频繁" in errors[0] and "秒后再问" in errors[0], errors
    assert [m.value for m in at.markdown if m.value == "第三个问题"], "the refused question stays visible"
    again = [b for b in at.button if b.key and b.key.startswith("again-")]
    assert again and again[0].label == "重新提问"
    run(again[0].click())  # still inside the minute: refused again, the question still kept, no stack trace
    assert [e.value for e in at.error if "提问太频繁" in e.value]
    assert len([t for t in at.session_state["_zjj_session"].turns if t.question == "第三个问题"]) == 1


def test_a_session_keeps_a_bounded_number_of_turns(operator_env, monkeypatch) -> None:
    monkeypatch.setenv("CHATBOT_MAX_SESSION_TURNS", "3")
    get_settings.cache_clear()
    monkeypatch.setattr(Chatbot, "stream", fast_stream)
    at = start()
    for i in range(5):
        run(at.chat_input(key="w_chat").set_value(f"问题编号{i}"))
    turns = at.session_state["_zjj_session"].turns
    assert [t.question for t in turns] == ["问题编号2", "问题编号3", "问题编号4"]
    run(at)  # a rerun draws only the kept turns
    text = page_text(at)
    assert "问题编号0" not in text and "问题编号1" not in text and "问题编号4" in text


# --- staff --------------------------------------------------------------------------------------
def test_the_right_password_shows_the_staff_tools(operator_env) -> None:
    at = login(start(), PASSWORD)
    assert set(STAFF_KEYS) <= widget_keys(at), widget_keys(at)
    assert [d for d in at.get("download_button") if d.label == "导出反馈（QA JSONL）"]
    captions = "\n".join(c.value for c in at.caption)
    # health and store in detail (escaped for Markdown)
    assert escape_markdown("openai:canary-model") in captions and escape_markdown(str(operator_env)) in captions
    run(at.button(key="w_staff_logout").click())
    assert not widget_keys(at) & set(STAFF_KEYS)


def test_a_wrong_password_shows_nothing(operator_env) -> None:
    at = login(start(), "wrong password")
    assert [e.value for e in at.error] == ["密码不正确。"]
    assert not widget_keys(at) & set(STAFF_KEYS)


def test_repeated_wrong_passwords_back_off_and_refuse_even_the_right_one(operator_env) -> None:
    at = start()
    for _ in range(3):  # the first few cost nothing
        login(at, "wrong password")
        assert [e.value for e in at.error] == ["密码不正确。"]
    session = at.session_state["_zjj_session"]
    session.login_backoff.failures = 9  # as if many more had failed: the next wait is long
    login(at, "wrong password")
    waits = [w.value for w in at.warning]
    assert waits and waits[0].startswith("尝试次数过多，请在") and "秒后再试" in waits[0], waits
    seconds = int(waits[0].split("请在 ")[1].split(" 秒")[0])
    assert seconds >= 30
    login(at, PASSWORD)  # during the wait: not accepted
    assert [w.value for w in at.warning if "尝试次数过多" in w.value]
    assert not widget_keys(at) & set(STAFF_KEYS)
    assert not at.session_state["_zjj_session"].staff


def test_many_sessions_share_a_process_wide_backoff(operator_env) -> None:
    from chatbot.ui.resources import login_backoff

    process = login_backoff()
    process.failures = 40  # many sessions have failed before
    at = login(start(), "wrong password")  # a fresh session, first attempt
    assert [w.value for w in at.warning if "尝试次数过多" in w.value]
    login(at, PASSWORD)
    assert not at.session_state["_zjj_session"].staff


def _use_own_backend(at: AppTest, url: str, key: str = "") -> AppTest:
    at.selectbox(key="w_staff_backend").set_value("openai")
    at.text_input(key="w_staff_model").set_value("staff-model")
    at.text_input(key="w_staff_url").set_value(url)
    at.text_input(key="w_staff_key").set_value(key)
    submit = [b for b in at.get("form_submit_button") if b.label == "在本会话中使用"]
    return run(submit[0].click())


def test_a_staff_typed_url_never_gets_the_operators_key(operator_env, listener) -> None:
    at = login(start(), PASSWORD)
    _use_own_backend(at, listener.url + "/v1")
    at.switch_page("ui/pages/chat.py")
    run(at)
    run(at.chat_input(key="w_chat").set_value("今年GDP增长目标是多少？"))
    assert [m.value for m in at.markdown if "7\\.5%" in m.value], "the offline answer after the 404"
    assert listener.requests, "the staff member's URL was used"
    assert any(path.startswith("/v1/chat/completions") for _, path, _ in listener.requests)
    for _, _, headers in listener.requests:
        assert CANARY_KEY not in headers.get("authorization", ""), headers
    # a key the staff member types goes with their URL
    listener.requests.clear()
    at.switch_page(STAFF_PAGE)
    run(at)
    _use_own_backend(at, listener.url + "/v1", key="sk-staff-own-key")
    assert listener.requests and all(h.get("authorization") == "Bearer sk-staff-own-key" for _, _, h in listener.requests)


def test_staff_review_and_purge_feedback(operator_env) -> None:
    store = FeedbackStore(operator_env)
    store.add(rating=0, question="员工页面测试：电话13800000000", comment="回答不对")
    at = login(start(), PASSWORD)
    recent = [d.value for d in at.dataframe]
    assert any("员工页面测试" in str(frame.to_dict()) for frame in recent), "staff review recent feedback"
    submit = [b for b in at.get("form_submit_button") if b.label == "删除全部反馈"][0]
    run(submit.click())  # without the confirmation: nothing happens
    assert any(r["question"].startswith("员工页面测试") for r in store.rows())
    at.checkbox(key="w_staff_sure").check()
    run([b for b in at.get("form_submit_button") if b.label == "删除全部反馈"][0].click())
    assert [s.value for s in at.success if "已删除" in s.value]
    assert store.rows() == []


def test_the_whole_answer_deadline_shows_its_message_on_a_slow_model(operator_env, monkeypatch) -> None:
    """A model server that accepts the question and then says nothing: at the deadline the visitor
    gets the offline answer and a plain notice, with no address in it."""
    from chatbot.ui.resources import load_chatbot, public_health
    from tests.fakes.llm_servers import FakeOpenAIServer

    with FakeOpenAIServer(mode="slow", delay=30) as slow:
        monkeypatch.setenv("OPENAI_BASE_URL", slow.base_url)
        monkeypatch.setenv("CHATBOT_REQUEST_TIMEOUT", "1")
        monkeypatch.setenv("CHATBOT_READ_TIMEOUT", "60")
        get_settings.cache_clear()
        load_chatbot.clear()  # the process-wide Chatbot of earlier tests carries their settings
        public_health.clear()
        at = start()
        run(at.selectbox(key="w_choice").set_value("openai:canary-model"))
        run(at.chat_input(key="w_chat").set_value("今年GDP增长目标是多少？"))
        assert [r for r in slow.requests if r.path.endswith("/chat/completions")], "the question never reached the model"
        address = slow.base_url
    warnings = " ".join(w.value for w in at.warning)
    assert "模型回答超时" in warnings, warnings
    assert "127.0.0.1" not in page_text(at) and address not in page_text(at)
    assert [m.value for m in at.markdown if "7\\.5%" in m.value], "the offline answer is missing"
    load_chatbot.clear()  # later tests get a Chatbot with their own settings
    public_health.clear()
