"""The words of an answer sentence and whether a passage contains them.

Support is judged on content units: the Han character bigrams inside each
content word jieba finds (so "增长目标" gives 增长 and 目标, never the
cross-word 长目). A unit is present when the cited text, with whitespace
removed, contains it. Bigrams, not whole words, because a paraphrase and the
report cut the same phrase into different jieba words.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass

import jieba
import jieba.posseg

from chatbot.segmentation import STOPWORDS, posseg_lock

jieba.setLogLevel(logging.WARNING)

_HAN = re.compile(r"[\u4e00-\u9fff]")
# Framing and function words: they say how the answer is told, not what it claims.
FRAMING = frozenset(
    """报告 政府工作报告 工作报告 提到 提及 指出 表示 显示 写道 明确 根据 按照 依据 其中 主要 包括 方面 以及 通过 进行 相关 具体
    内容 情况 问题 答案 回答 来看 来说 总之 此外 另外 同时 并且 而且 已经 将会 将要 还有 一个 一项 这一 该项 这些 那些 我们 大家
    目前 现在 文中 文件 资料 段落 材料 passage 根据报告 得出 结论 以下 如下 总结 综上 综上所述 可以 可知 看出""".split()
) | STOPWORDS
_CLAUSE = re.compile(r"[，,；;：:。！？!?\n]")


@dataclass(frozen=True)
class Token:
    word: str
    flag: str
    start: int

    @property
    def end(self) -> int:
        return self.start + len(self.word)


def tag(text: str) -> list[Token]:
    """jieba's words with part-of-speech tags and offsets in `text`."""
    with posseg_lock:
        pairs = jieba.posseg.lcut(text)
    out: list[Token] = []
    cursor = 0
    for pair in pairs:
        out.append(Token(pair.word, pair.flag, cursor))
        cursor += len(pair.word)
    return out


def squash(text: str) -> str:
    """NFKC, lower case, no whitespace: how answer and passage text are compared."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()


def units_of(word: str) -> list[str]:
    """Han bigrams of a content word (none for function words, single characters and digits)."""
    if word in FRAMING or len(word) < 2:
        return []
    han = "".join(ch for ch in word if _HAN.match(ch))
    return [han[i : i + 2] for i in range(len(han) - 1)]


def content_units(tokens: list[Token], start: int = 0, end: int | None = None, *, measures: bool = True) -> list[str]:
    """The content units of the tokens between `start` and `end` (offsets in the tagged text).

    measures=False leaves out numerals and measure words (万元, 万人次): beside a figure they
    are its unit, not what it counts."""
    stop = end if end is not None else (tokens[-1].end if tokens else 0)
    out: list[str] = []
    for token in tokens:
        if token.start >= start and token.end <= stop and (measures or not token.flag.startswith(("m", "q"))):
            out.extend(units_of(token.word))
    return out


def share_present(units: list[str], haystack: str) -> float:
    """The share of `units` that `haystack` (squashed) contains; 1.0 when there is nothing to check."""
    if not units:
        return 1.0
    return sum(1 for u in units if u in haystack) / len(units)


def clause_spans(text: str) -> list[tuple[int, int]]:
    """Clauses: the stretches between ，；：。 and the like."""
    spans, cursor = [], 0
    for m in _CLAUSE.finditer(text):
        if m.start() > cursor:
            spans.append((cursor, m.start()))
        cursor = m.end()
    if cursor < len(text):
        spans.append((cursor, len(text)))
    return spans
