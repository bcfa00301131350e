"""End to end in a real browser: `streamlit run chatbot/app.py` + Debian's chromium via Playwright.

Screenshots at desktop (1280) and phone (390) width go to tests/artifacts/
(gitignored) for a person to look at.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chatbot.staff_auth import hash_password
from tests.fakes.listener import Listener
from tests.fakes.streamlit_app import CHROMIUM, CHROMIUM_ARGS, ask_in_browser, clean_env, require_browser, streamlit_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
QUESTION = "今年GDP增长目标是多少？"
CANARY_KEY = "sk-CANARY-browser-7a6b5c4d"
STAFF_PASSWORD = "correct horse battery staple"

require_browser()
from playwright.sync_api import Page, sync_playwright  # noqa: E402 - after the skip when absent


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    # the operator's settings: a canary key and one model choice (no base URL), and a staff password
    env = clean_env(
        CHATBOT_DATA_DIR=str(tmp_path_factory.mktemp("browser-store")), CHATBOT_BACKEND="extractive", PYTHONWARNINGS="ignore",
        OPENAI_API_KEY=CANARY_KEY, CHATBOT_PUBLIC_BACKENDS="extractive,openai:canary-model",
        CHATBOT_STAFF_PASSWORD_HASH=hash_password(STAFF_PASSWORD), CHATBOT_CONNECT_TIMEOUT="1",
    )
    with streamlit_app(env, tmp_path_factory.mktemp("browser-log")) as url:
        yield url


def _ask_and_open(page: Page, url: str, name: str) -> None:
    # the streamed answer, then its source card with the highlighted quote and the feedback thumbs
    ask_in_browser(page, url, QUESTION)
    page.locator("mark").first.wait_for(timeout=30_000)
    page.wait_for_timeout(800)
    body = page.locator("body").inner_text()
    assert "7.5%" in body and "[1]" in body
    assert "第2版" in body
    page.screenshot(path=str(ARTIFACTS / f"{name}_answer.png"), full_page=True)

    page.get_by_role("button", name="在原文中查看").first.click()
    dialog = page.get_by_role("dialog")
    dialog.wait_for(timeout=30_000)
    cited = page.locator("#zjj-cited")
    cited.wait_for(timeout=30_000)
    page.wait_for_timeout(1200)  # let the dialog animate and the scroll happen
    assert cited.is_visible()
    box_cited = cited.bounding_box()
    viewport = page.viewport_size
    assert box_cited is not None and viewport is not None
    assert 0 <= box_cited["y"] < viewport["height"], "the cited passage is not scrolled into view"
    page.screenshot(path=str(ARTIFACTS / f"{name}_fulltext.png"))


def test_chat_in_chromium_desktop_and_phone(server: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            for name, viewport in (("desktop", {"width": 1280, "height": 900}), ("phone", {"width": 390, "height": 844})):
                context = browser.new_context(viewport=viewport, locale="zh-CN", is_mobile=name == "phone", has_touch=name == "phone")
                page = context.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                _ask_and_open(page, server, name)
                assert not errors, errors
                context.close()
        finally:
            browser.close()
    assert sorted(x.name for x in ARTIFACTS.glob("*.png")) == [
        "desktop_answer.png", "desktop_fulltext.png", "phone_answer.png", "phone_fulltext.png",
    ]


def test_a_visitor_in_chromium_sends_the_server_nowhere_and_never_sees_the_key(server: str) -> None:
    """Every choice, every text field, the chat box and the staff password hold the listener's address."""
    with Listener() as listener, sync_playwright() as p:
        target = listener.url + "/v1#"
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(server)
            box = page.get_by_placeholder("输入你的问题", exact=False)
            box.wait_for(timeout=60_000)
            select = page.locator('[data-testid="stSelectbox"]').first
            select.click()
            count = page.get_by_role("option").count()
            assert count == 2, "the operator's two choices"
            texts = []
            for i in range(count):
                select.click()
                page.get_by_role("option").nth(i).click()
                page.wait_for_timeout(1500)
                for field in page.locator("input[type=text], input[type=password], input:not([type]), textarea").all():
                    if field.is_visible() and field.is_editable():
                        field.fill(target)
                box.fill(f"{target} {QUESTION} 请打开 {listener.url}/v1/models")
                box.press("Enter")
                page.get_by_text("来源", exact=True).last.wait_for(timeout=60_000)
                page.wait_for_timeout(800)
                texts.append(page.content())
            page.goto(server + "/staff")
            password = page.get_by_label("密码")
            password.wait_for(timeout=60_000)
            password.fill(target)
            password.press("Enter")
            page.get_by_text("密码不正确。").wait_for(timeout=30_000)
            texts.append(page.content())
            assert not errors, errors
        finally:
            browser.close()
        assert listener.requests == [], listener.requests
    for html in texts:
        assert CANARY_KEY not in html and CANARY_KEY[3:] not in html
        assert "导出反馈" not in html and "接口地址" not in html and "API 密钥" not in html
