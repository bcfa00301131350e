"""The figures table: extraction against a hand-labelled list, the claim check of every row, the CLI.

`tests/data/figures_labelled.jsonl` lists every figure the seed report writes in digits, labelled
by reading the report before the extractor existed (indicator, value in base units, unit, kind,
year). Left out on purpose, as they are names or dates rather than figures: years ("2023年",
"2022全国新年登高"), numbers inside quotation marks (“1053”标准, “10·6”疫情, “30日无理由退货”),
codes beside Latin letters (5G, 5A级), the hotline 12345 and the project name 500千伏输变电工程.
Figures written in Chinese numerals (两项, 三年内) are outside the extractor's scope and unlabelled.

Matching, one-to-one (each extracted row matches at most one label, best indicator overlap first):
- value equal (both normalised: 1130万元 is 11,300,000 元) and unit equal, exactly;
- kind (target / result / fact) equal, and year equal;
- indicator overlap: at least half of the label's Han-character bigrams appear in the row's
  indicator plus its relation word ("增长"). Labels were written in a reader's words, not copied
  from the extractor, so a label that names what the report only implies ("市级科技资金", where the
  sentence says "市级资金") can fail here: that counts against the extractor.
Precision = matched rows / extracted rows; recall = matched labels / labels.
Measured on the seed report: precision 54/55 = 0.982, recall 54/55 = 0.982 (goal ≥ 0.95 and ≥ 0.9).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from chatbot.report_figures.extract import KINDS, extract
from chatbot.report_figures.table import FIELDS, check, load_table, table_rows
from chatbot.settings import Settings
from ingest.loaders import load
from ingest.pipeline import prepare_chunks

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "seeds" / "zhangjiajie_2023_government_work_report_p2.txt"
LABELS = ROOT / "tests" / "data" / "figures_labelled.jsonl"
MIN_OVERLAP = 0.5


def _bigrams(text: str) -> set[str]:
    han = "".join(ch for ch in text if "\u4e00" <= ch <= "\u9fff")
    return {han[i : i + 2] for i in range(len(han) - 1)}


def overlap(label: dict, row) -> float:  # noqa: ANN001
    wanted = _bigrams(label["indicator"])
    return len(wanted & _bigrams(row.indicator + row.relation)) / len(wanted) if wanted else 0.0


def match(labels: list[dict], rows: list) -> tuple[int, list[dict], list]:
    """(matched, labels not found, rows matching no label), as defined in the module docstring."""
    pairs = []
    for li, label in enumerate(labels):
        for ri, row in enumerate(rows):
            same = abs(row.value - label["value"]) < 1e-6 and row.unit == label["unit"]
            if same and row.kind == label["kind"] and row.year == label["year"]:
                score = overlap(label, row)
                if score >= MIN_OVERLAP:
                    pairs.append((score, li, ri))
    used_labels: set[int] = set()
    used_rows: set[int] = set()
    for _, li, ri in sorted(pairs, reverse=True):
        if li not in used_labels and ri not in used_rows:
            used_labels.add(li)
            used_rows.add(ri)
    missed = [label for i, label in enumerate(labels) if i not in used_labels]
    extra = [row for i, row in enumerate(rows) if i not in used_rows]
    return len(used_labels), missed, extra


@pytest.fixture(scope="module")
def seed_rows(tmp_path_factory):
    doc = load(SEED)
    chunks = prepare_chunks(doc, Settings(data_dir=tmp_path_factory.mktemp("d")))
    return [r for c in chunks for r in extract(c.text, section=c.section, source=c.source, chunk_id=c.id, report_year=doc.meta["year"])]


def test_labelled_fixture_is_well_formed():
    labels = [json.loads(line) for line in LABELS.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(labels) == 55
    for label in labels:
        assert label["kind"] in KINDS and label["year"] in (2022, 2023) and label["unit"] and label["indicator"]
        assert isinstance(label["value"], (int, float))


def test_extraction_precision_and_recall_against_the_labelled_figures(seed_rows):
    labels = [json.loads(line) for line in LABELS.read_text(encoding="utf-8").splitlines() if line.strip()]
    matched, missed, extra = match(labels, seed_rows)
    precision, recall = matched / len(seed_rows), matched / len(labels)
    print(f"figures: {len(seed_rows)} extracted, {len(labels)} labelled, {matched} matched; precision {precision:.3f}, recall {recall:.3f}")
    print("missed:", [m["written"] + " " + m["indicator"] for m in missed])
    print("extra:", [r.written + " " + r.indicator for r in extra])
    assert precision >= 0.95
    assert recall >= 0.9


def test_matching_is_strict_about_value_unit_kind_and_indicator(seed_rows):
    """The matcher itself: a wrong unit, kind or indicator does not count."""
    gdp = next(r for r in seed_rows if r.indicator == "地区生产总值")
    label = {"indicator": "地区生产总值增长", "value": 7.5, "unit": "%", "kind": "target", "year": 2023}
    assert match([label], [gdp])[0] == 1
    assert match([{**label, "unit": "个"}], [gdp])[0] == 0
    assert match([{**label, "kind": "result"}], [gdp])[0] == 0
    assert match([{**label, "indicator": "固定资产投资增长"}], [gdp])[0] == 0


def test_general_rules_on_sentences_of_no_report():
    """Names, codes and years are not figures; lists pair; ranges share a unit; 今年 is the report's year."""
    rows = extract(
        "今年全县完成“1286”工程，5G基站新增300个，2019年以来累计建成学校12所、医院3家。"
        "粮食、油料产量分别增长2.1%、3.4%。每个乡镇储备200—400亩用地。",
        section="二、工作安排",
        report_year=2031,
    )
    got = {(r.written, r.indicator): r for r in rows}
    assert not any("1286" in w or w.startswith("5") and "G" in w for w, _ in got)
    assert {r.written for r in rows} == {"300个", "12所", "3家", "2.1%", "3.4%", "200亩", "400亩"}
    paired = {r.indicator: r.value for r in rows if r.unit == "%"}
    assert paired == {"粮食": 2.1, "油料产量": 3.4}
    assert all(r.kind == "target" and r.year == 2031 for r in rows)
    review = extract("去年地区生产总值增长4.5%，达到620亿元。", report_year=2031)
    assert [(r.value, r.unit, r.year, r.kind) for r in review] == [(4.5, "%", 2030, "result"), (62_000_000_000.0, "元", 2030, "result")]
    assert review[1].indicator == review[0].indicator == "地区生产总值"


@pytest.fixture(scope="module")
def seed_table(built_store):
    return load_table(Settings(data_dir=built_store))


def test_every_row_is_checked_by_the_claim_checker(seed_table):
    """Each stored row is verified against its own passage; the count that fails is recorded here."""
    assert len(seed_table) == 55
    failed = [r for r in seed_table if not r.verified]
    assert len(failed) == 0, [(r.claim, r.reason) for r in failed]
    assert all(r.clause and r.clause in r.sentence for r in seed_table)
    assert {r.kind for r in seed_table} == {"target", "result", "fact"}


def test_the_check_fails_a_row_given_the_wrong_words_or_passage(seed_table, built_store):
    """The check can fail: the GDP target's figure given to another indicator, or checked against another passage."""
    from chatbot.report_figures.table import _passage, read_store

    chunks, _ = read_store(Settings(data_dir=built_store))
    gdp = next(r for r in seed_table if r.indicator == "地区生产总值")
    passage = _passage(gdp.chunk_id, chunks[gdp.chunk_id])
    wrong = gdp.__class__(**{**gdp.__dict__, "claim": "2023年固定资产投资增长7.5%左右"})
    assert not check(wrong, passage).verified and wrong.reason == "figure"
    other_id = next(r.chunk_id for r in seed_table if r.chunk_id != gdp.chunk_id)
    moved = gdp.__class__(**{**gdp.__dict__})
    assert not check(moved, _passage(other_id, chunks[other_id])).verified
    right = gdp.__class__(**{**gdp.__dict__})
    assert check(right, passage).verified


def test_rows_of_chunks_without_figures_metadata_are_skipped_and_bad_json_is_logged(caplog):
    chunks = {
        "a": {"text": "地区生产总值增长7.5%左右。", "meta": {"source": "x.txt", "section": "二、2030年工作安排", "year": 2030, "figures": "not json"}},
        "b": {"text": "没有数字。", "meta": {"source": "x.txt", "section": ""}},
    }
    assert table_rows(chunks, {}) == []
    assert "unreadable figures" in caplog.text


def _run_cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHATBOT_", "CHROMA_"))}
    env["CHATBOT_DATA_DIR"] = str(data_dir)
    return subprocess.run([sys.executable, "-m", "chatbot", "figures", *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)


def test_cli_figures_json_rows_have_the_stable_fields(built_store, tmp_path):
    data = tmp_path / "copy"
    shutil.copytree(built_store, data)
    done = _run_cli(data, "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert len(rows) == 55 and all(list(r) == list(FIELDS) for r in rows)
    gdp = next(r for r in rows if r["indicator"] == "地区生产总值")
    assert (gdp["value"], gdp["unit"], gdp["qualifier"], gdp["year"], gdp["kind"], gdp["verified"]) == (7.5, "%", "左右", 2023, "target", True)
    assert gdp["report"] == "张家界2023年" and gdp["section"].startswith("二、2023年工作安排")


def test_cli_figures_prints_an_aligned_table(built_store, tmp_path):
    data = tmp_path / "copy"
    shutil.copytree(built_store, data)
    done = _run_cli(data)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("报告 report") and len(lines) == 2 + 55
    from chatbot.report_figures.render import width

    value_column = width(lines[0].split("数值 value")[0])
    gdp = next(line for line in lines if "地区生产总值" in line)
    assert width(gdp[: gdp.index("7.5% 左右")]) == value_column
    assert "55 figures" in done.stderr


def test_cli_figures_with_an_empty_store_says_so_in_one_line(tmp_path):
    done = _run_cli(tmp_path / "empty", "--json")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and "no report" in done.stderr and "python -m ingest" in done.stderr
