"""Many reports in one store: questions naming a city/year are answered from that report only.

The store holds the seed (张家界 2023) and three hard distractors made by
scripts/make_variants.py from it (湘西州 2023, 张家界 2022, 常德 2024): same wording and
layout, other city names, shifted years, every figure perturbed.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

from chatbot.question.routing import describe, named_cities, named_years, route

ROOT = Path(__file__).resolve().parents[1]
SEED_SOURCE = "zhangjiajie_2023_government_work_report_p2.txt"


def _load_make_variants():
    spec = importlib.util.spec_from_file_location("make_variants", ROOT / "scripts" / "make_variants.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_variants", module)
    spec.loader.exec_module(module)
    return module


make_variants = _load_make_variants()

DOCS = {
    SEED_SOURCE: {"city": "张家界", "city_en": "Zhangjiajie", "year": 2023},
    "xiangxi_2023_government_work_report_p2.txt": {"city": "湘西州", "city_en": "Xiangxi", "year": 2023},
    "zhangjiajie_2022_government_work_report_p2.txt": {"city": "张家界", "city_en": "Zhangjiajie", "year": 2022},
    "changde_2024_government_work_report_p2.txt": {"city": "常德", "city_en": "Changde", "year": 2024},
}


# --- the rule, without a store ------------------------------------------------
@pytest.mark.parametrize(
    ("question", "expected"),
    [
        # plans of year X are in the report of year X
        ("张家界2023年地区生产总值增长目标是多少？", {"city": "张家界", "year": 2023}),
        ("张家界2022年地区生产总值增长目标是多少？", {"city": "张家界", "year": 2022}),
        ("湘西州2023年的主要预期目标有哪些？", {"city": "湘西州", "year": 2023}),
        ("湘西2023年工作安排", {"city": "湘西州", "year": 2023}),
        # results of year X are reviewed in the report of year X+1
        ("张家界2022年粮食产量是多少？", {"city": "张家界", "year": 2023}),
        ("2022年张家界评价入库科技型中小企业多少家？", {"city": "张家界", "year": 2023}),
        ("张家界2022年的目标完成了吗？", {"city": "张家界", "year": 2023}),  # result words win
        ("二〇二二年张家界拆除违建多少处？", {"city": "张家界", "year": 2023}),
        # a year alone narrows to that year's reports (all cities)
        ("2022年粮食产量是多少？", {"year": 2023}),
        # the preferred report is missing: the other one; neither: no year
        ("常德2023年地区生产总值增长目标是多少？", {"city": "常德", "year": 2024}),
        ("常德2019年地区生产总值增长多少？", {"city": "常德"}),
        ("张家界地区生产总值增长目标是多少？", {"city": "张家界"}),
        # English names and years
        ("What is Zhangjiajie's GDP growth target for 2023?", {"city": "张家界", "year": 2023}),
        ("What was Changde's GDP growth target for 2024?", {"city": "常德", "year": 2024}),
        # no routing: nothing named, a comparison, region words, a city not in the store
        ("地区生产总值增长目标是多少？", None),
        ("张家界和湘西州的地区生产总值增长目标分别是多少？", None),
        ("2022年和2023年的粮食产量分别是多少？", None),
        ("湘西北生物多样性保护有什么安排？", None),
        ("长沙地区生产总值增长目标是多少？", None),
    ],
)
def test_route_rule(question, expected):
    assert route(question, DOCS) == expected


def test_one_document_is_never_routed():
    one = {SEED_SOURCE: DOCS[SEED_SOURCE]}
    assert route("张家界2023年地区生产总值增长目标是多少？", one) is None
    assert route("湘西2023年目标", {}) is None


def test_a_filter_that_keeps_every_document_is_dropped():
    same_year = {k: v for k, v in DOCS.items() if v["year"] == 2023}
    assert route("2023年地区生产总值增长目标是多少？", same_year) is None
    # a key that does not narrow further is harmless and kept: the notice names the report fully
    assert route("张家界2023年地区生产总值增长目标是多少？", same_year) == {"city": "张家界", "year": 2023}


def test_named_years_and_cities():
    assert named_years("2022 年和2023年") == [2022, 2023]
    assert named_years("二〇二三年目标") == [2023]
    assert named_years("新增2000亩，增长20%") == []  # figures are not years
    assert named_years("in 2023") == [2023]
    assert named_cities("湘南湘西承接产业转移示范区", DOCS) == []
    assert named_cities("张家界市和常德市", DOCS) == ["张家界", "常德"]
    assert "湘西州" in describe({"city": "湘西州", "year": 2023}) and "2023" in describe({"city": "湘西州", "year": 2023})


# --- the variants ---------------------------------------------------------------
def test_variants_change_city_years_and_every_figure(tmp_path):
    seed = (ROOT / "seeds" / SEED_SOURCE).read_text(encoding="utf-8")
    paths = make_variants.write_variants(tmp_path, [("湘西州", 2023), ("张家界", 2022)], seed=7)
    xiangxi = paths[0].read_text(encoding="utf-8")
    assert "张家界" not in xiangxi and "张 家 界" not in seed.replace("张 家 界", "") and "湘 西" in xiangxi
    assert xiangxi.count("\n") == seed.count("\n")  # same layout
    older = paths[1].read_text(encoding="utf-8")
    assert "二、2022 年工作安排" in older and "2023" not in older
    meta = (tmp_path / "zhangjiajie_2022_government_work_report_p2.meta.json").read_text(encoding="utf-8")
    assert '"continues_heading": "一、2021年工作回顾"' in meta and '"year": 2022' in meta
    # every figure changed, the same figures with the same seed
    numbers = re.compile(r"(?<![A-Za-z\d.])\d+(?:\.\d+)?(?![A-Za-z\d.])")
    kept = {"12345", "2022", "2023", "2026", "2021", "2025"}
    for old, new in zip(numbers.findall(seed), numbers.findall(xiangxi)):
        assert old in kept or old != new
    again = make_variants.write_variants(tmp_path / "again", [("湘西州", 2023)], seed=7)[0]
    assert again.read_text(encoding="utf-8") == xiangxi
    with pytest.raises(ValueError):
        make_variants.write_variants(ROOT / "seeds" / "x", [("常德", 2024)])


# --- the store with four reports ---------------------------------------------------
def _gdp_target(path: Path) -> str:
    flat = re.sub(r"\s+", "", path.read_text(encoding="utf-8"))
    return re.search(r"地区生产总值增长([\d.]+%)左右", flat).group(1)


def test_many_reports_answer_from_the_named_one(store_copy, tmp_path):
    from chatbot.core import Chatbot
    from chatbot.settings import Settings
    from ingest.pipeline import ingest

    variants = make_variants.write_variants(tmp_path / "variants", [("湘西州", 2023), ("张家界", 2022), ("常德", 2024)])
    settings = Settings()
    assert settings.data_dir == store_copy
    ingest([tmp_path / "variants"], settings, progress=False)  # the seed is in the copied store already
    bot = Chatbot(settings)
    assert len(bot.retriever.documents) == 4
    by_name = {p.name: p for p in variants}

    cases = [
        ("张家界2023年地区生产总值增长目标是多少？", SEED_SOURCE, "7.5%"),
        ("湘西州2023年地区生产总值增长目标是多少？", "xiangxi_2023_government_work_report_p2.txt", None),
        ("张家界2022年地区生产总值增长目标是多少？", "zhangjiajie_2022_government_work_report_p2.txt", None),
        ("What is Changde's GDP growth target for 2024?", "changde_2024_government_work_report_p2.txt", None),
    ]
    for question, source, figure in cases:
        figure = figure or _gdp_target(by_name[source])
        answer = bot.ask(question)
        assert {p.source for p in answer.contexts} == {source}, question
        assert not answer.refused and figure in answer.answer, (question, answer.answer)
        assert answer.citations and {c.source for c in answer.citations} == {source}
        assert any("只检索了" in w for w in answer.warnings)
        if source != SEED_SOURCE:
            assert "7.5%" not in answer.answer
    # 今年 in a question naming one city means the year of that city's (latest) report: 常德 has
    # only a 2024 report, so "常德今年" is 2024 and its target is answered.
    answer = bot.ask("常德今年地区生产总值增长目标是多少？")
    assert "2024年" in answer.standalone_question
    assert {p.source for p in answer.contexts} == {"changde_2024_government_work_report_p2.txt"}
    assert not answer.refused and _gdp_target(by_name["changde_2024_government_work_report_p2.txt"]) in answer.answer
    # with no city named, one answer quotes one report only
    answer = bot.ask("地区生产总值增长目标是多少？")
    assert len({c.source for c in answer.citations}) == 1

    # a result of 2022 is reviewed in the 2023 report, not in the 2022 one
    answer = bot.ask("2022年张家界评价入库科技型中小企业多少家？")
    assert {p.source for p in answer.contexts} == {SEED_SOURCE}
    assert "304" in answer.answer
    # 去年 is resolved to 2022 before routing, with the same result
    answer = bot.ask("张家界去年评价入库科技型中小企业多少家？")
    assert "2022年" in answer.standalone_question and "304" in answer.answer

    # an explicit filter wins over the router, for any metadata key
    xiangxi = "xiangxi_2023_government_work_report_p2.txt"
    answer = bot.ask("张家界2023年地区生产总值增长目标是多少？", where={"source": xiangxi})
    assert {p.source for p in answer.contexts} == {xiangxi}
    assert _gdp_target(by_name[xiangxi]) in answer.answer
    assert not any("只检索了" in w for w in answer.warnings)
    passages = bot.retrieve("地区生产总值增长目标", 5, where={"city": "张家界", "year": 2022})
    assert {p.source for p in passages} == {"zhangjiajie_2022_government_work_report_p2.txt"}
