"""Pack sentences into chunks under a token budget.

A chunk never crosses a paragraph or a heading/lead boundary, so its heading
path is exact, and it is small enough that a citation points at the fact.
Within a segment the sentences are spread evenly over the fewest chunks that
fit the budget, so no chunk is a tiny leftover.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from itertools import groupby

from chatbot.tokens import count_tokens
from ingest.outline import PATH_SEPARATOR, Sentence

_CLAUSE_END = re.compile(r"(?<=[，、：,:])")


@dataclass
class Chunk:
    id: str
    source: str
    text: str
    path: tuple[str, ...]
    page: int | None
    start: int
    end: int
    tokens: int
    index: int = 0
    meta: dict = field(default_factory=dict)

    @property
    def section(self) -> str:
        return PATH_SEPARATOR.join(self.path)

    @property
    def index_text(self) -> str:
        """What is embedded and indexed: the heading path gives the passage its context."""
        return f"{self.section}\n{self.text}" if self.path else self.text


def chunk_id(source: str, section: str, text: str, occurrence: int = 0) -> str:
    """Stable across re-ingests. A passage repeated under one heading gets its occurrence number
    in the hash from the second time on (the first keeps the id it always had), so each copy has
    its own id: Chroma refuses one id twice in a write."""
    key = f"{source}\x00{section}\x00{text}" + (f"\x00{occurrence}" if occurrence else "")
    return f"c-{hashlib.sha1(key.encode()).hexdigest()[:20]}"


def _pieces(sentence: Sentence, budget: int, encoding: str) -> list[Sentence]:
    """A sentence over budget is split at clause ends (，、：), then by characters."""
    if count_tokens(sentence.text, encoding) <= budget:
        return [sentence]
    out: list[Sentence] = []
    pos = 0
    for part in [p for p in _CLAUSE_END.split(sentence.text) if p]:
        while part:
            cut = len(part)
            while count_tokens(part[:cut], encoding) > budget and cut > 1:
                cut = max(1, cut * 3 // 4)
            piece = part[:cut]
            out.append(
                Sentence(piece, sentence.start + pos, sentence.start + pos + len(piece), sentence.page, sentence.path, sentence.segment)
            )
            pos += len(piece)
            part = part[cut:]
    return out


def build_chunks(sentences: list[Sentence], source: str, budget: int, encoding: str = "cl100k_base") -> list[Chunk]:
    chunks: list[Chunk] = []
    for _, group in groupby(sentences, key=lambda s: s.segment):
        units = [piece for s in group for piece in _pieces(s, budget, encoding)]
        sizes = [count_tokens(u.text, encoding) for u in units]
        total = sum(sizes)
        target = total / max(1, math.ceil(total / budget))
        current: list[Sentence] = []
        used = 0
        for unit, size in zip(units, sizes):
            # Close the chunk when adding the unit overshoots the even target
            # by more than it would undershoot it, or would break the budget.
            if current and (used + size > budget or (used + size / 2 > target)):
                chunks.append(_make(current, source, encoding))
                current, used = [], 0
            current.append(unit)
            used += size
        if current:
            chunks.append(_make(current, source, encoding))
    seen: Counter[tuple[str, str]] = Counter()
    for i, chunk in enumerate(chunks):
        chunk.index = i
        occurrence = seen[(chunk.section, chunk.text)]
        seen[(chunk.section, chunk.text)] += 1
        if occurrence:
            chunk.id = chunk_id(source, chunk.section, chunk.text, occurrence)
    return chunks


def _make(units: list[Sentence], source: str, encoding: str) -> Chunk:
    text = "".join(u.text for u in units)
    first = units[0]
    section = PATH_SEPARATOR.join(first.path)
    return Chunk(
        id=chunk_id(source, section, text),
        source=source,
        text=text,
        path=first.path,
        page=first.page,
        start=first.start,
        end=units[-1].end,
        tokens=count_tokens(text, encoding),
    )
