"""Outline: give every sentence its heading path.

Headings are 一、 (level 1) and （一） (level 2) paragraphs. Inside a
paragraph, the report opens each topic with a short bold lead sentence, e.g.
"教育质量明显提升。"; the bold is lost in the text, so we recognise a lead by
its shape: a short sentence of Chinese characters only, ending with 。. The
lead's scope runs to the next lead or the end of its paragraph.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chatbot.textutil import split_sentences
from ingest.repair import Paragraph

PATH_SEPARATOR = " › "
_LEAD = re.compile(r"^[\u4e00-\u9fff]{4,11}。$")


@dataclass
class Sentence:
    text: str
    start: int  # offsets in the clean document text
    end: int
    page: int | None
    path: tuple[str, ...]
    segment: int  # sentences of one segment share paragraph and path


def is_lead(sentence: str) -> bool:
    return bool(_LEAD.match(sentence))


def short_heading(text: str) -> str:
    """The first clause of a heading: （四）努力办好民生实事，人民生活持续改善 → （四）努力办好民生实事."""
    return text.split("，", 1)[0].split(",", 1)[0]


def outline(paragraphs: list[Paragraph], initial_heading: str | None = None) -> tuple[list[Sentence], list[tuple[int, str, int]]]:
    """Return the body sentences with paths, and the headings as (offset, text, level)."""
    level1 = initial_heading or ""
    level2 = ""
    sentences: list[Sentence] = []
    headings: list[tuple[int, str, int]] = []
    offset = 0
    segment = 0
    for paragraph in paragraphs:
        if paragraph.heading_level == 1:
            level1, level2 = paragraph.text, ""
            headings.append((offset, paragraph.text, 1))
        elif paragraph.heading_level >= 2:
            level2 = short_heading(paragraph.text)
            headings.append((offset, paragraph.text, 2))
        else:
            lead = ""
            segment += 1
            for start, end in split_sentences(paragraph.text):
                text = paragraph.text[start:end]
                if is_lead(text):
                    lead = text.rstrip("。")
                    segment += 1
                path = tuple(part for part in (level1, level2, lead) if part)
                sentences.append(Sentence(text, offset + start, offset + end, paragraph.page, path, segment))
        offset += len(paragraph.text) + 2  # paragraphs are joined by a blank line
    return sentences, headings
