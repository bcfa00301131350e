"""The exact answer first: the clause(s) of a chosen sentence that answer the question, verbatim.

Why: the report packs many facts into one long sentence ("今年主要预期目标是：地区生产总值
增长7.5%左右，旅游接待人次、旅游总收入分别增长40%左右，……"); a citizen who asked about
tourism income should not have to find their figure inside 150 characters. A sentence is
split into clauses at ，；：, and each clause is scored by the question's weighted coverage
(the same measure the extractive answerer scores sentences with). The best clause is kept and
grown by its neighbours until it holds all of the question's vocabulary the sentence holds; it
replaces the sentence only when that span is clearly shorter and still gives a figure.
The result is always one contiguous span of the sentence, so it stays verbatim (and verifiable).
"""

from __future__ import annotations

import re
from collections.abc import Callable

_CLAUSE_END = re.compile(r"[，；：]|[,;:](?=\s)")  # ASCII marks only before a space: not inside 1,130 or an escape sequence
_DIGIT = re.compile(r"\d")
_TRAILING = "，；：,;:。！？ "

MAX_LENGTH_RATIO = 0.7  # the span must be at most this share of the sentence, else the sentence is the answer
KEEP_COVERAGE = 1.0 - 1e-9  # the span keeps all of the sentence's coverage: any less lost keywords on the tune split


def split_clauses(sentence: str) -> list[tuple[int, int]]:
    """(start, end) of each clause, its closing punctuation included; the sentence end closes the last."""
    spans, start = [], 0
    for m in _CLAUSE_END.finditer(sentence):
        spans.append((start, m.end()))
        start = m.end()
    if start < len(sentence):
        spans.append((start, len(sentence)))
    return [(s, e) for s, e in spans if sentence[s:e].strip(_TRAILING)]


def best_span(sentence: str, coverage: Callable[[str], float]) -> str:
    """The shortest clause span of `sentence` that keeps most of its coverage of the question, or the sentence.

    `coverage(text)` is the question's weighted coverage of `text` (0..1). Starting from the best
    clause, neighbours join while the span lacks too much of the question's vocabulary the sentence has;
    a span that must grow to most of the sentence is no more precise than the sentence itself.
    """
    spans = split_clauses(sentence)
    if len(spans) < 2:
        return sentence
    # A clause ending in a colon introduces what follows ("今年主要预期目标是："): never part of the answer.
    answering = [i for i, (s, e) in enumerate(spans) if not sentence[s:e].rstrip().endswith(("：", ":"))]
    if not answering:
        return sentence
    first, last = answering[0], answering[-1]
    wanted = coverage(sentence[spans[first][0] : spans[last][1]])
    if wanted <= 0:
        return sentence
    scores = {i: coverage(sentence[spans[i][0] : spans[i][1]]) for i in answering}
    lo = hi = max(answering, key=lambda i: (scores[i], -(spans[i][1] - spans[i][0])))
    while coverage(sentence[spans[lo][0] : spans[hi][1]]) < KEEP_COVERAGE * wanted:
        options = [(a, b) for a, b in ((lo - 1, hi), (lo, hi + 1)) if first <= a and b <= last]
        lo, hi = max(options, key=lambda ab: coverage(sentence[spans[ab[0]][0] : spans[ab[1]][1]]))
    text = sentence[spans[lo][0] : spans[hi][1]].rstrip(_TRAILING)
    if len(text) > MAX_LENGTH_RATIO * len(sentence.strip()) or not _DIGIT.search(text):
        return sentence  # not clearly shorter, or it lost the figure that was asked for
    return text


def focus(chosen: list[tuple[int, str]], coverage: Callable[[str], float], *, asks_figure: bool) -> list[tuple[int, str]]:
    """(passage n, sentence) → (passage n, answering span), in the same order.

    Only a question asking for a figure is focused: its answer is a figure, which a clause
    holds; for "which", "when" or "where" the asked detail is not among the question's words,
    so coverage cannot tell which clause gives it, and the whole sentence stays the answer.
    """
    if not asks_figure:
        return chosen
    return [(n, best_span(sentence, coverage)) for n, sentence in chosen]
