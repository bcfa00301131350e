"""The extractive answerer's coverage floor (`MIN_COVERAGE`), both ways, on constructed passages.

The idf is constructed too: a word the passage holds is common (weight 1), a word it lacks is rare
(weight `lacking`), as in a report where a citizen's own wording is absent and the report's is everywhere.
"""

from __future__ import annotations

import pytest

from chatbot.answer import extractive
from chatbot.answer.extractive import extract
from chatbot.segmentation import tokenize
from chatbot.types import Passage

DEBT = Passage(chunk_id="debt", text="防范化解地方政府债务风险，坚决遏制隐性债务增量。", score=1.0, source="r", section="2023年工作安排")
ROADS = Passage(chunk_id="roads", text="新改建农村公路300公里。", score=1.0, source="r", section="2023年工作安排")
# An everyday question about the debt passage; the lexicon gives the report's term for its wording.
EVERYDAY = "政府会不会又偷偷借一堆看不见的债？"
EVERYDAY_TERMS = ["隐性债务"]


def _idf(passages: list[Passage], lacking: float):
    held = set(tokenize("".join(p.section + p.text for p in passages)))
    return lambda token: 1.0 if token in held else lacking


def test_an_everyday_question_its_passage_half_matches_is_answered():
    result = extract(EVERYDAY, [DEBT], _idf([DEBT], lacking=4.0), EVERYDAY_TERMS)
    # between the floor and the old one (0.06), which refused it
    assert extractive.MIN_COVERAGE <= result.coverage < 0.06
    assert not result.refused
    assert "隐性债务" in result.text and "[1]" in result.text


@pytest.mark.parametrize(
    "question, passages, terms, lacking",
    [
        ("地铁有没有通到机场？", [ROADS], [], 4.0),  # nothing in common
        (EVERYDAY, [DEBT], EVERYDAY_TERMS, 10.0),  # the same wording, its own words rarer still: below the floor
    ],
)
def test_a_question_its_passages_barely_touch_is_refused(question, passages, terms, lacking):
    result = extract(question, passages, _idf(passages, lacking), terms)
    assert result.coverage < extractive.MIN_COVERAGE
    assert result.refused and result.reason == "not_covered"
    assert "[" not in result.text
