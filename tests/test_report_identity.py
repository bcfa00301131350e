"""Everything about a report comes from its files: a renamed report is served under its own name.

The seed renamed 张家界 → 岳阳 (a plain text replacement, as an operator would do it: the PDF's
"张 家 界" split by spaces survives in four passages, as brands and "异地张家界商会"), with its
own .meta.json, is ingested alone into a fresh store. Its questions are answered, 张家界 is
another city, and the UI names only 岳阳.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from chatbot.reports import base_year, report_name, report_title
from chatbot.ui.strings import report_heading

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "seeds" / "zhangjiajie_2023_government_work_report_p2.txt"
RENAMED = "yueyang_2023_government_work_report_p2.txt"
OLD, NEW = "张家界", "岳阳"


def _renamed_report(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    text = SEED.read_text(encoding="utf-8")
    assert OLD in text
    (folder / RENAMED).write_text(text.replace(OLD, NEW), encoding="utf-8")
    meta = json.loads(SEED.with_name(SEED.stem + ".meta.json").read_text(encoding="utf-8"))
    meta.update(title="2023年岳阳市政府工作报告（第2版）", title_en="Yueyang Municipal Government Work Report 2023 (page 2)",
                city=NEW, city_en="Yueyang")
    (folder / RENAMED).with_suffix("").with_suffix(".meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def renamed_store(tmp_path_factory) -> Path:
    """A fresh store holding only the renamed report."""
    from chatbot.settings import Settings
    from ingest.pipeline import ingest

    base = tmp_path_factory.mktemp("renamed")
    data = base / "data"
    ingest([_renamed_report(base / "reports")], Settings(data_dir=data), progress=False)
    return data


@pytest.fixture(scope="module")
def renamed_bot(renamed_store):
    from chatbot.core import Chatbot
    from chatbot.settings import Settings

    bot = Chatbot(Settings(data_dir=renamed_store))
    yield bot
    bot.close()


def test_the_renamed_reports_questions_are_answered(renamed_bot):
    assert [m["city"] for m in renamed_bot.retriever.documents.values()] == [NEW]
    for question in ("岳阳今年GDP增长目标是多少？", "今年GDP增长目标是多少？"):
        answer = renamed_bot.ask(question)
        assert not answer.refused and "7.5%" in answer.answer, question
        assert "2023年" in answer.standalone_question  # 今年 from the report's .meta.json year
    assert not renamed_bot.ask("岳阳莓茶产业怎么样？").refused


def test_the_old_city_is_another_city(renamed_bot):
    for question in ("张家界今年GDP增长目标是多少？", "张家界去年粮食产量是多少？"):
        answer = renamed_bot.ask(question)
        assert answer.refused, (question, answer.answer)
        assert answer.answer == "这是岳阳的政府工作报告，没有关于张家界市的内容。"
    # the report still names 张家界 in passing (a brand): asking about that passage is answered
    assert not renamed_bot.ask("张家界莓茶产业怎么样？").refused


def test_the_ui_names_only_the_new_city(renamed_store, monkeypatch):
    pytest.importorskip("streamlit")
    from streamlit.testing.v1 import AppTest

    from chatbot import settings as settings_module

    monkeypatch.setenv("CHATBOT_DATA_DIR", str(renamed_store))
    monkeypatch.setenv("CHATBOT_BACKEND", "extractive")
    settings_module.get_settings.cache_clear()
    at = AppTest.from_file(str(ROOT / "chatbot" / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    shown = [at.title[0].value] + [c.value for c in at.caption] + [c.value for c in at.sidebar.caption]
    assert at.title[0].value == "岳阳2023年政府工作报告问答"
    assert any("2023年岳阳市政府工作报告（第2版）" in c for c in shown)
    assert not [s for s in shown if OLD in s or "Zhangjiajie" in s], shown
    at.radio(key="w_lang").set_value("en").run()
    assert at.title[0].value.startswith("Yueyang 2023 ")
    assert not [c.value for c in at.caption if "Zhangjiajie" in c.value]
    settings_module.get_settings.cache_clear()


def test_headings_for_one_several_and_no_reports():
    one = {"a.txt": {"title": "2023年岳阳市政府工作报告", "city": "岳阳", "city_en": "Yueyang", "year": 2023}}
    two = {**one, "b.txt": {"title": "2024年常德市政府工作报告", "city": "常德", "year": 2024}}
    assert report_heading("zh", one) == ("岳阳2023年政府工作报告问答", "根据《2023年岳阳市政府工作报告》回答问题，每句话都标注出处 [n]，可以点开原文核对。")
    title, intro = report_heading("zh", two)
    assert "2 份报告" in title and "2023年岳阳市政府工作报告" in intro and "2024年常德市政府工作报告" in intro
    title, intro = report_heading("en", two)
    assert "2 reports" in title and "2023年岳阳市政府工作报告" in intro  # no title_en: the title as written
    title, intro = report_heading("zh", {})
    assert "python -m ingest" in intro and not re.search(r"\d{4}", title)
    # a document with no metadata is named by its title (the file name at ingest)
    assert report_name({"title": "report"}, "en") == "report" and report_title({"path": "/x/r.txt"}) == "/x/r.txt"


def test_this_year_is_the_stored_reports_year(monkeypatch):
    from chatbot.settings import Settings

    assert Settings().report_year is None  # no default year in the code
    monkeypatch.setenv("CHATBOT_REPORT_YEAR", "")
    assert Settings().report_year is None
    monkeypatch.setenv("CHATBOT_REPORT_YEAR", "2024")
    assert Settings().report_year == 2024
    docs = {"a.txt": {"city": "岳阳", "year": 2023}, "b.txt": {"city": "常德", "year": 2024}, "c.txt": {"city": "岳阳", "year": 2022}}
    assert base_year("今年GDP增长目标是多少？", docs) == 2024  # none named: the newest report
    assert base_year("岳阳今年GDP增长目标是多少？", docs) == 2023  # the named city's newest
    assert base_year("岳阳今年GDP增长目标是多少？", docs, override=2030) == 2030  # CHATBOT_REPORT_YEAR
    assert base_year("今年GDP增长目标是多少？", {}) is None
    assert base_year("今年", {"x.txt": {"title": "no year"}}) is None


def test_no_report_is_named_in_the_code():
    """Nothing in chatbot/ or ingest/ names the seed's city or year (2023) outside docstring/comment examples."""
    offenders = []
    for folder in ("chatbot", "ingest"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix not in (".py", ".tsv", ".json", ".toml", ".txt") or path.name == "prefectures.tsv":
                continue
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                code = line.split("#", 1)[0] if path.suffix == ".py" else line
                if re.search(r"张家界|zhangjiajie|2023", code, re.I) and not (path.suffix == ".py" and _in_docstring(path, n)):
                    offenders.append(f"{path.relative_to(ROOT)}:{n}")
    assert not offenders, offenders


def _in_docstring(path: Path, line_no: int) -> bool:
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
            doc = body[0]
            if isinstance(doc.value.value, str) and doc.lineno <= line_no <= (doc.end_lineno or doc.lineno):
                return True
    return False
