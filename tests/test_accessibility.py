"""Accessibility in a real browser: axe-core (axe-playwright-python) on every view, names, language, keyboard.

The app runs as `streamlit run chatbot/app.py` and Debian's chromium renders it at
desktop (1280 px) and phone (390 px) width. axe must report no serious or critical
violation on the empty chat, an answer with its sources, the full-text dialog, the
figures page (table and chart, a figure's passage, its full text) and the staff page
(login form and signed in). Every violation found (any impact) is
written to tests/artifacts/axe.json for a person to read.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.streamlit_app import CHROMIUM, CHROMIUM_ARGS, ROOT, ask_in_browser, clean_env, require_browser, streamlit_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
QUESTION = "今年GDP增长目标是多少？"
STAFF_PASSWORD = "a long staff passphrase for axe"
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}

require_browser()
pytest.importorskip("axe_playwright_python", reason="axe-playwright-python is missing (pip install -e '.[dev]')")
from axe_playwright_python.sync_playwright import Axe  # noqa: E402 - after the skips when absent
from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    hashed = subprocess.run(
        [sys.executable, "-m", "chatbot", "hash-password"], input=STAFF_PASSWORD + "\n", capture_output=True, text=True,
        cwd=ROOT, env=clean_env(), check=True, timeout=60,
    ).stdout.strip()
    env = clean_env(
        CHATBOT_DATA_DIR=str(tmp_path_factory.mktemp("a11y-store")), CHATBOT_BACKEND="extractive", PYTHONWARNINGS="ignore",
        CHATBOT_STAFF_PASSWORD_HASH=hashed,
    )
    with streamlit_app(env, tmp_path_factory.mktemp("a11y-log")) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser: Browser, name: str) -> Page:
    context = browser.new_context(viewport=VIEWPORTS[name], locale="zh-CN", is_mobile=name == "phone", has_touch=name == "phone")
    return context.new_page()


def serious_violations(page: Page, view: str, record: dict) -> list[str]:
    """Run axe on the page; record every violation, return the serious and critical ones."""
    page.wait_for_timeout(600)
    results = Axe().run(page).response
    found = [
        {"rule": v["id"], "impact": v["impact"], "nodes": len(v["nodes"]), "targets": [n["target"] for n in v["nodes"]][:5]}
        for v in results["violations"]
    ]
    record[view] = found
    return [f"{view}: {v['rule']} ({v['impact']}) on {v['nodes']} element(s): {v['targets']}" for v in found if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("name", list(VIEWPORTS))
def test_axe_finds_no_serious_violation(server: str, browser: Browser, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    record: dict[str, list] = {}
    problems: list[str] = []
    page = new_page(browser, name)
    page.goto(server)
    page.get_by_placeholder("输入你的问题", exact=False).wait_for(timeout=60_000)
    problems += serious_violations(page, "empty", record)

    ask_in_browser(page, server, QUESTION)
    problems += serious_violations(page, "answer", record)

    page.get_by_role("button", name="在原文中查看").first.click()
    page.locator("#zjj-cited").wait_for(timeout=30_000)
    problems += serious_violations(page, "fulltext", record)
    page.keyboard.press("Escape")

    page.goto(server + "/figures")
    page.get_by_text("下载表格（CSV）", exact=True).wait_for(timeout=60_000)
    page.locator('[data-testid="stDataFrame"]').wait_for(timeout=60_000)
    page.locator('[data-testid="stVegaLiteChart"], [data-testid="stArrowVegaLiteChart"]').first.wait_for(timeout=60_000)
    problems += serious_violations(page, "figures", record)
    picker = page.get_by_label("选择一个数字，查看原文")  # from the keyboard: open the list, take the first figure
    picker.focus()
    page.keyboard.press("ArrowDown")
    page.wait_for_timeout(300)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.get_by_role("button", name="在原文中查看").wait_for(timeout=30_000)
    problems += serious_violations(page, "figures_passage", record)
    page.get_by_role("button", name="在原文中查看").click()
    page.locator("#zjj-cited").wait_for(timeout=30_000)
    problems += serious_violations(page, "figures_fulltext", record)
    page.keyboard.press("Escape")

    page.goto(server + "/staff")
    password = page.get_by_label("密码")
    password.wait_for(timeout=60_000)
    problems += serious_violations(page, "staff_login", record)
    password.fill(STAFF_PASSWORD)
    password.press("Enter")
    page.get_by_text("导出反馈", exact=False).first.wait_for(timeout=60_000)
    problems += serious_violations(page, "staff", record)
    page.context.close()
    (ARTIFACTS / f"axe_{name}.json").write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
    assert not problems, "\n".join(problems)


def focused_control(page: Page) -> str:
    """The name of the focused button (or radio button); '' when focus is on anything else."""
    return page.evaluate(
        "() => { const e = document.activeElement;"
        " if (!e || !(e.tagName === 'BUTTON' || e.getAttribute('role') === 'radio')) return '';"
        " return e.getAttribute('aria-label') || e.innerText || ''; }"
    )


def tab_until(page: Page, wanted: str, *, limit: int = 80) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if wanted in focused_control(page):
            return
    raise AssertionError(f"Tab never reached {wanted!r}")


def test_the_whole_flow_works_from_the_keyboard_and_every_control_is_named(server: str, browser: Browser) -> None:
    page = new_page(browser, "desktop")
    page.goto(server)
    box = page.get_by_placeholder("输入你的问题", exact=False)
    box.wait_for(timeout=60_000)
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    box.focus()
    page.keyboard.type(QUESTION)
    page.keyboard.press("Enter")
    page.get_by_text("来源", exact=True).wait_for(timeout=60_000)
    page.get_by_role("button", name="在原文中查看").first.wait_for(timeout=30_000)
    page.wait_for_timeout(500)
    # the icon-only controls have names a screen reader reads
    assert page.get_by_role("radio", name="有帮助", exact=True).count() == 1
    assert page.get_by_role("radio", name="没有帮助", exact=True).count() == 1
    assert page.get_by_role("switch", name="大字号").count() == 1 or page.get_by_role("checkbox", name="大字号").count() == 1

    page.locator("body").focus()
    tab_until(page, "在原文中查看")
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    dialog.wait_for(timeout=30_000)
    page.locator("#zjj-cited").wait_for(timeout=30_000)
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden", timeout=30_000)
    tab_until(page, "有帮助")
    page.keyboard.press("Space")
    page.get_by_text("已记录你的反馈", exact=False).wait_for(timeout=30_000)
    page.context.close()


def test_the_page_language_follows_the_language_switch(server: str, browser: Browser) -> None:
    page = new_page(browser, "desktop")
    page.goto(server)
    page.get_by_placeholder("输入你的问题", exact=False).wait_for(timeout=60_000)
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    page.get_by_text("English", exact=True).click()
    page.get_by_placeholder("Ask a question", exact=False).wait_for(timeout=30_000)
    page.wait_for_function("document.documentElement.lang === 'en'", timeout=30_000)
    page.context.close()


def root_font_px(page: Page) -> float:
    return float(page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)"))


def test_large_text_is_one_click_from_the_chat_and_kept_for_the_session(server: str, browser: Browser) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page = new_page(browser, "phone")
    page.goto(server)
    page.get_by_placeholder("输入你的问题", exact=False).wait_for(timeout=60_000)
    normal = root_font_px(page)
    page.get_by_text("大字号", exact=True).click()
    page.wait_for_function(f"parseFloat(getComputedStyle(document.documentElement).fontSize) > {normal * 1.2}", timeout=30_000)
    assert 1.25 <= root_font_px(page) / normal <= 1.5
    page.screenshot(path=str(ARTIFACTS / "phone_large_empty.png"))
    ask_in_browser(page, None, QUESTION)
    page.wait_for_timeout(800)
    page.locator('[data-testid="stChatMessage"]').last.scroll_into_view_if_needed()
    page.locator('[data-testid="stChatMessage"]').last.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / "phone_large_answer_top.png"))
    page.locator('[data-testid="stFeedback"]').last.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "phone_large_answer.png"), full_page=True)
    # nothing is wider than the phone: no text runs off the right edge
    overflow = page.evaluate(
        "() => [...document.querySelectorAll('[data-testid=stMain] p, [data-testid=stMain] button, [data-testid=stMain] mark')]"
        ".filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).map(e => e.innerText.slice(0, 30))"
    )
    assert overflow == []
    page.get_by_role("button", name="在原文中查看").first.click()
    page.locator("#zjj-cited").wait_for(timeout=30_000)
    page.wait_for_timeout(1200)
    page.screenshot(path=str(ARTIFACTS / "phone_large_fulltext.png"))
    page.keyboard.press("Escape")
    # another page of the app and back, in the same session: still large
    page.get_by_role("dialog").wait_for(state="hidden", timeout=30_000)
    page.locator('[data-testid="stSidebarCollapsedControl"] button, [data-testid="stExpandSidebarButton"]').first.click()
    page.locator('[data-testid="stSidebarNavLink"]', has_text="工作人员").click()
    page.get_by_label("密码").wait_for(timeout=60_000)
    page.wait_for_function(f"parseFloat(getComputedStyle(document.documentElement).fontSize) > {normal * 1.2}", timeout=30_000)
    page.context.close()
