"""Questions about how the report is organised, answered from its heading tree.

"今年的工作安排分为哪几个方面？" or "报告回顾了哪些方面的工作？" ask for the report's own
structure, which no single passage states: the answer is the list of headings under one
top-level part (一、…年工作回顾 / 二、…年工作安排). Every chunk stores its heading path in
`section` ("二、2023年工作安排 › （一）加快构建现代化产业体系 › …"), so the outline comes from
the stored metadata of any report ingested with 一、/（一） headings; nothing here names one.

The answer lists the second-level headings of the part whose title matches what the question
asks for (a plan or a review, and the year it names), each cited to the chunk where that
heading starts. The core shows it for every backend, before any answerer runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from chatbot.question.vocabulary import PLAN_TITLE, PLAN_WORDS, RESULT_WORDS, REVIEW_TITLE, YEAR_ANY
from chatbot.textutil import is_english
from chatbot.types import Passage

SEPARATOR = " › "
# Asks for the parts of something, not for a fact inside it.
ASKS_PARTS = re.compile(
    r"(?:分为|分成|包括|包含|有|涉及)(?:哪几|哪些|几)个?(?:方面|部分|板块|领域)|哪几个方面|哪几部分|哪些方面的工作|几大(?:方面|部分|板块)|"
    r"\b(?:main|major|key)\s+(?:parts|sections|areas)\b|\bwhat (?:parts|sections)\b|\bstructured?\b|\borgani[sz]ed\b",
    re.I,
)


@dataclass(frozen=True)
class Outline:
    """The headings of one part of a report, as an answer: passages to cite and the text citing them."""

    part: str
    passages: list[Passage]
    text: str


def _wanted_kinds(question: str) -> set[str]:
    kinds: set[str] = set()
    if PLAN_WORDS.search(question):
        kinds.add("plan")
    if REVIEW_TITLE.search(question) or RESULT_WORDS.search(question):
        kinds.add("review")
    return kinds


def _part_matches(title: str, kinds: set[str], years: set[str]) -> bool:
    title_years = set(YEAR_ANY.findall(title))
    if years and not years & title_years:
        return False
    if not kinds:
        return bool(years)  # "2023年的报告分为哪几个部分" names the part by its year alone
    return ("plan" in kinds and bool(PLAN_TITLE.search(title))) or ("review" in kinds and bool(REVIEW_TITLE.search(title)))


def _matches_filter(source: str, meta: dict, where: dict | None) -> bool:
    """Whether a document passes the routing filter ({"city": …, "year": …} or {"source": …})."""
    return not where or all((source if key == "source" else meta.get(key)) == value for key, value in where.items())


def outline_answer(
    question: str,
    documents: dict[str, dict],
    document_chunks: Callable[[str], list[Passage]],
    where: dict | None = None,
) -> Outline | None:
    """The outline answer to a structure question, or None for any other question.

    `question` is the standalone question with 今年/去年 already resolved to years;
    `where` is the routing filter, if any (a named city or year).
    """
    if not ASKS_PARTS.search(question):
        return None
    kinds, years = _wanted_kinds(question), set(YEAR_ANY.findall(question))
    if not kinds and not years:
        return None
    sources = [source for source, meta in documents.items() if _matches_filter(source, meta, where)]
    sources.sort(key=lambda s: -int(documents[s].get("year") or 0))  # the latest report first
    for source in sources:
        chunks = document_chunks(source)
        parts = list(dict.fromkeys(c.section.split(SEPARATOR)[0] for c in chunks if c.section))
        for part in (p for p in parts if _part_matches(p, kinds, years)):
            outline = _outline(question, part, chunks)
            if outline:
                return outline
    return None


def _outline(question: str, part: str, chunks: list[Passage]) -> Outline | None:
    """The second-level headings of `part`, each with the chunk where it starts (None if fewer than two)."""
    first: dict[str, Passage] = {}
    for chunk in chunks:
        path = chunk.section.split(SEPARATOR)
        if path[0] == part and len(path) >= 2 and path[1] not in first:
            first[path[1]] = chunk
    if len(first) < 2:
        return None
    passages = list(first.values())
    items = [f"{heading}[{n}]" for n, heading in enumerate(first, start=1)]
    # The headings are Chinese, so they are separated by ；, which also keeps one citation per heading.
    intro = f"The report's part “{part}” has these sections: " if is_english(question) else f"报告的“{part}”分为以下几个方面："
    text = intro + "；".join(items) + "。"
    return Outline(part, passages, text)
