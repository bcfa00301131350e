"""The visitors' figures page ("报告数据一览"), driven in-process with streamlit's AppTest.

The store is the session's seed store (conftest `data_dir`). Hostile input goes into the filters
and the `row` query parameter; it must come back escaped or not at all.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from chatbot import settings as settings_module  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "chatbot" / "app.py")
PAGE = "ui/pages/figures.py"
HOSTILE = '<img src=x onerror=alert(1)>**粗体**[链接](javascript:alert(1))'


@pytest.fixture
def figures_page(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("CHATBOT_DATA_DIR", str(data_dir))
    monkeypatch.setenv("CHATBOT_BACKEND", "extractive")
    settings_module.get_settings.cache_clear()
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    yield at
    settings_module.get_settings.cache_clear()


def _table(at: AppTest):
    frames = at.get("dataframe")
    assert len(frames) == 1
    return frames[0].value


def test_the_page_is_in_the_navigation_and_lists_every_checked_figure(figures_page: AppTest) -> None:
    at = figures_page
    assert at.title[0].value == "报告数据一览"
    table = _table(at)
    assert len(table) == 55
    assert list(table.columns) == ["年份", "类型", "指标", "原文写法", "原文", "章节", "数值", "单位"]  # one report: no report column
    gdp = table[table["指标"] == "地区生产总值增长"].iloc[0]
    assert (gdp["年份"], gdp["类型"], gdp["原文写法"], gdp["数值"], gdp["单位"]) == (2023, "目标", "7.5% 左右", 7.5, "%")
    assert gdp["原文"].startswith("?row=c-")
    assert "共 55 个数字" in [c.value for c in at.caption]


def test_filters_narrow_the_table_and_the_chart_shows_the_years_growth_targets(figures_page: AppTest) -> None:
    at = figures_page
    at.multiselect(key="fig_kind").set_value(["target"]).run()
    table = _table(at)
    assert set(table["类型"]) == {"目标"} and len(table) == 16
    assert at.header[0].value == "2023年增长目标（%）"
    charts = at.get("vega_lite_chart")
    assert charts, "no growth-target chart"
    # every bar is labelled with its whole indicator name (no 200 px cut) and carries its value
    spec = json.loads(charts[0].proto.spec)
    assert spec["layer"][0]["encoding"]["y"]["axis"]["labelLimit"] == 0
    assert spec["layer"][1]["encoding"]["text"]["field"] == "%"
    at.text_input(key="fig_search").set_value("旅游").run()
    table = _table(at)
    assert len(table) >= 2
    assert set(table["指标"]) >= {"旅游接待人次分别增长", "旅游总收入分别增长"}
    at.multiselect(key="fig_kind").set_value(["result"]).run()
    at.text_input(key="fig_search").set_value("").run()
    at.multiselect(key="fig_section").set_value(["一、2022年工作回顾 › （四）努力办好民生实事"]).run()
    table = _table(at)
    assert len(table) == 13 and set(table["年份"]) == {2022}
    assert "当前筛选中没有增长目标。" in [c.value for c in at.caption]


def test_hostile_search_text_is_matched_as_text_and_never_rendered(figures_page: AppTest) -> None:
    at = figures_page
    at.text_input(key="fig_search").set_value(HOSTILE).run()
    assert not at.exception
    assert not at.get("dataframe")
    assert [i.value for i in at.info] == ["没有符合筛选条件的数字。"]
    rendered = [m.value for m in at.markdown] + [c.value for c in at.caption] + [h.value for h in at.get("html")]
    assert not any("<img" in r or "onerror" in r for r in rendered)
    at.text_input(key="fig_search").set_value(".*").run()  # a pattern is plain text here
    assert not at.get("dataframe")


def test_a_row_opens_its_passage_with_the_figure_highlighted_and_the_full_text(figures_page: AppTest) -> None:
    at = figures_page
    pick = at.selectbox(key="fig_pick")
    gdp = next(o for o in pick.options if o.startswith("地区生产总值增长 7.5% 左右"))
    pick.select(gdp).run()
    cards = [h.value for h in at.get("html") if "<mark" in h.value]
    assert cards, "the passage is not shown"
    assert '<strong style="background:#fadb14;color:inherit">地区生产总值增长7.5%左右</strong>' in cards[0]
    at.button(key="fig_open_full").click().run()
    assert not at.exception
    full = [h.value for h in at.get("html") if 'id="zjj-cited"' in h.value]
    assert full and len(full[0]) > 10000
    assert '<mark id="zjj-cited"' in full[0] and "地区生产总值增长7.5%左右</mark>" in full[0]


def test_the_row_link_opens_that_rows_passage_and_a_forged_link_shows_nothing_of_it(figures_page: AppTest) -> None:
    at = figures_page
    link = _table(at).iloc[0]["原文"]
    row_id = link.split("=", 1)[1]
    at.query_params["row"] = row_id
    at.run()
    cards = [h.value for h in at.get("html") if "<mark" in h.value]
    assert cards and "<strong" in cards[0] and "1130万元" in cards[0]
    at.query_params["row"] = HOSTILE
    at.run()
    assert [w.value for w in at.warning] == ["找不到这个数字（报告可能已更新）。请在表格中重新选择。"]
    rendered = [m.value for m in at.markdown] + [h.value for h in at.get("html")] + [w.value for w in at.warning]
    assert not any("onerror" in r for r in rendered)


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """The files the app hands to Streamlit's media storage (download buttons), by file name."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    files: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def capture(self, path_or_data, mimetype, kind, filename=None):  # noqa: ANN001
        if filename:
            files[filename] = path_or_data
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", capture)
    return files


def test_the_csv_download_holds_the_filtered_rows(served: dict[str, bytes], figures_page: AppTest) -> None:
    """The file the button serves (captured from Streamlit's media storage) is the filtered table."""
    from chatbot.report_figures.table import FIELDS

    at = figures_page
    at.multiselect(key="fig_kind").set_value(["fact"]).run()
    assert not at.exception
    text = served["figures.csv"].decode("utf-8")
    assert text.startswith("\ufeff")  # spreadsheet programs read the BOM as UTF-8
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert list(rows[0]) == list(FIELDS)
    assert [r["kind"] for r in rows] == ["fact", "fact"] and {r["unit"] for r in rows} == {"个"}
    assert len(_table(at)) == len(rows)


def test_english_labels(figures_page: AppTest) -> None:
    from chatbot.ui.state import _KEY

    at = figures_page
    at.session_state[_KEY].lang = "en"
    at.run()
    assert at.title[0].value == "The report's figures at a glance"
    table = _table(at)
    assert list(table.columns)[:3] == ["Year", "Kind", "Indicator"]
    assert set(table["Kind"]) == {"Target", "Result", "Fact"}
