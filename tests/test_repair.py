"""Text repair, outline and chunking on real snippets of the report."""

from __future__ import annotations

import re

import pytest

from chatbot.textutil import compact
from chatbot.tokens import count_tokens
from ingest.chunking import build_chunks
from ingest.loaders import load
from ingest.outline import outline
from ingest.repair import despace, repair
from tests.conftest import SEED


def test_spaces_between_chinese_characters_are_removed():
    assert despace("坚 定 不 移 推 进") == "坚定不移推进"
    assert despace("始 终 以 改 革 创 新 破 解 发 展 难 题 、") == "始终以改革创新破解发展难题、"


def test_figures_stay_whole():
    assert despace("粮 食 栽 播 192.65 万 亩 、 产 量 64.5") == "粮食栽播192.65万亩、产量64.5"
    assert despace("安排市级资金 1130 万") == "安排市级资金1130万"


def test_latin_words_are_not_glued():
    assert despace("the Zhangjiajie  report 2023") == "the Zhangjiajie report 2023"
    assert despace("启动 DIP 支付方式改革") == "启动DIP支付方式改革"


def test_lines_broken_mid_sentence_are_joined_and_markers_dropped():
    raw = " ◀◀ （上接 1 版）\n（三） 坚定不移推进改革创新，发\n\n展动能不断增强\n始 终 以 改 革 创 新 破 解 发 展 难 题 、\n\n激发内生动力。重点领域改革扎实推\n进。\n\n▶▶ （下转 3 版）"
    paragraphs = repair([(2, raw)])
    assert [p.text for p in paragraphs] == [
        "（三）坚定不移推进改革创新，发展动能不断增强",
        "始终以改革创新破解发展难题、激发内生动力。重点领域改革扎实推进。",
    ]
    assert paragraphs[0].heading_level == 2
    assert all(p.page == 2 for p in paragraphs)
    assert not any("版" in p.text for p in paragraphs)


def test_page_follows_the_continuation_marker():
    paragraphs = repair([(None, "◀◀（上接1版）\n第一段。\n▶▶（下转3版）\n第二段。")])
    assert [(p.text, p.page) for p in paragraphs] == [("第一段。", 2), ("第二段。", 3)]


@pytest.fixture(scope="module")
def report():
    doc = load(SEED)
    paragraphs = repair(doc.pages)
    sentences, headings = outline(paragraphs, doc.meta["continues_heading"])
    return doc, paragraphs, sentences, headings


def test_no_source_text_is_lost(report):
    doc, paragraphs, _, _ = report
    raw = compact(doc.pages[0][1])
    raw = re.sub(r"[◀▶]+[（(]\S{0,3}(上接|下转)\d+版[）)]", "", raw)
    assert compact("".join(p.text for p in paragraphs)) == raw


def test_outline_finds_headings_and_leads(report):
    _, _, sentences, headings = report
    assert [h[1] for h in headings if h[2] == 1] == ["二、2023年工作安排"]
    assert len([h for h in headings if h[2] == 2]) == 8
    by_text = {s.text: " › ".join(s.path) for s in sentences}
    assert by_text["教育质量明显提升。"] == "一、2022年工作回顾 › （四）努力办好民生实事 › 教育质量明显提升"
    fast = next(s for s in sentences if "快递员群体工伤保险参保率达90%以上" in s.text)
    assert " › ".join(fast.path) == "一、2022年工作回顾 › （四）努力办好民生实事 › 社会保障水平大幅提高"
    target = next(s for s in sentences if "地区生产总值增长7.5%左右" in s.text)
    assert " › ".join(target.path) == "二、2023年工作安排"
    brands = next(s for s in sentences if "五大”区域公用品牌" in s.text)
    assert brands.path[-1] == "着力发展现代农业"


@pytest.mark.parametrize("budget", [64, 128, 192, 384])
def test_chunks_respect_budget_and_keep_all_text(report, budget):
    doc, paragraphs, sentences, _ = report
    chunks = build_chunks(sentences, doc.source, budget)
    assert all(c.tokens <= budget for c in chunks)
    assert all(count_tokens(c.text) == c.tokens for c in chunks)
    body = "".join(p.text for p in paragraphs if not p.heading_level)
    assert "".join(c.text for c in chunks) == body
    assert len({c.id for c in chunks}) == len(chunks)


def test_chunk_offsets_point_into_the_clean_text(report):
    doc, paragraphs, sentences, _ = report
    text = "\n\n".join(p.text for p in paragraphs)
    for chunk in build_chunks(sentences, doc.source, 192):
        assert text[chunk.start : chunk.end] == chunk.text


def test_chunks_end_on_sentence_boundaries(report):
    doc, _, sentences, _ = report
    for chunk in build_chunks(sentences, doc.source, 192):
        # a sentence longer than the budget is cut at clause ends (，、：)
        assert chunk.text[-1] in "。！？；”：），、"
