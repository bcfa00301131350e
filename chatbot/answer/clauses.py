"""The exact answer first: the clause(s) of a chosen sentence that answer the question, verbatim.

Why: the report packs many facts into one long sentence ("今年主要预期目标是：地区生产总值
增长7.5%左右，旅游接待人次、旅游总收入分别增长40%左右，……"); a citizen who asked about
tourism income should not have to find their figure inside 150 characters.

How, for every kind of question (what it asks is read by chatbot.answer.asked):
  * a sentence is split into clauses at ，；： outside quotation marks, and at 、 between items that
    are facts of their own ("寄宿制学校13所、薄弱学校16所"), never inside a list a question asks for;
    a question about one member of a long enumeration splits it into its members (`_members`, with
    the guards that keep a member's meaning);
  * each clause is scored, for each part the question asks, by the part's weighted coverage counting
    only the concepts that tell the clauses apart (`Part.clause_scores`: a word every clause holds
    says what the sentence is about, not which clause answers);
  * each part's best clause is kept with every clause scoring nearly as well (the contiguous span
    between them; for a list question only the enumerating ones among them; a question asking
    whether keeps the clause after too), then grown by neighbours until it holds what the question
    asks that the sentence holds (`Asked.needs`: a figure of the kind asked, a list, a name — the
    rules table's rows);
  * the sentence stays the answer when the span is all of it, when no clause stands out, when the
    question asks how or what is being done (unless the sentence lists it: "有什么打算" over a list),
    or when the sentence names none of the words beside the question word (of the words the report
    uses at all).
The result is always one contiguous span of the sentence, so it stays verbatim (and verifiable),
and the source card can find it inside the cited sentence to emphasise it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

Key = TypeVar("Key")

_CLAUSE_END = re.compile(r"[，；：]|[,;:](?=\s)")  # ASCII marks only before a space: not inside 1,130 or an escape sequence
_ITEM_END = re.compile(r"、")
_DIGIT = re.compile(r"\d")
_HAN = re.compile(r"[\u4e00-\u9fff]")
# "A、B分别增长6.5%、7%", "在产业发展、红色文化等方面": the items share one predicate
_SHARED = re.compile(r"分别|依次|各|等[^、]*$")
_SHARED_FIGURE = re.compile(r"分别|依次|各")  # "A、B分别增长6.5%、7%": one figure each, named apart
_NEGATION = re.compile(r"[不无未没非禁免勿]")
_TRAILING = "，；：,;:、。！？ "

# Tuned on the "tune" split (python -m chatbot eval --qa tests/data/qa.jsonl --split tune).
WHETHER_FOLLOWING = 1  # clauses after the topic's kept for a question asking whether
CLOSE_RATIO = 0.75  # a clause scoring this close to the best one answers too: both are kept
MIN_ITEM_HAN = 4  # an enumerated item is a fact of its own with a figure and this many Han characters before it,
MIN_MEMBERS = 3  # an enumeration of this many items lists members; two are often modifiers ("中央、省")
MEMBER_STANDS_OUT = 2.0  # one member of an enumeration answers when it scores this many times the next one
MEASURE_HAN = 2  # the Han characters of a figure's measure word ("万吨", "千伏")
MIN_ITEM_CLAUSE = 10  # or with this many Han characters: a clause of its own ("陈能宽故居为“科学家精神教育基地”")
SENTENCE_RATIO = 0.7  # a further sentence must hold this share of the best sentence's coverage of some part


@dataclass(frozen=True)
class Part:
    """One thing a question asks ("安排了多少资金？比上年增长多少？" asks two).

    `coverage(text)`: the part's weighted coverage of `text` (0..1).
    `kind`: "fact" (a figure, a name, a list: the clauses that hold its words give it), "whether"
    ("会不会被曝光？": the clause that names its topic, and what the sentence goes on to say about
    it) or "open" (how, or what is being done: the statement as a whole).
    `locates`: for a part with a question word ("主推哪个App"), how much of the words beside it a text
    holds; a sentence without any of them cannot show which clause answers.
    """

    coverage: Callable[[str], float]
    kind: str = "fact"
    locates: Callable[[str], float] | None = None  # the coverage of the words next to its question word
    held: Callable[[str], dict[str, float]] | None = None  # each concept a text holds, with its share

    def clause_scores(self, clauses: dict[int, str]) -> dict[int, float]:
        """Each clause's coverage counting only the concepts that tell the clauses apart: a word every
        clause holds ("矿山" in 开展非煤矿山专项整治，加快绿色矿山建设，实现在产矿山全部建成绿色矿山)
        says the sentence is about the question, not which clause answers it."""
        if self.held is None or len(clauses) < 2:
            return {i: self.coverage(text) for i, text in clauses.items()}
        held = {i: self.held(text) for i, text in clauses.items()}
        shared = set.intersection(*(set(concepts) for concepts in held.values()))
        scores = {i: sum(share for key, share in concepts.items() if key not in shared) for i, concepts in held.items()}
        return scores if max(scores.values()) > 0 else {i: sum(concepts.values()) for i, concepts in held.items()}


@dataclass(frozen=True)
class Asked:
    """What a question asks, as clause focus needs it.

    `needs`: what an answer must contain (the rules table's rows that match the question); a span
    must satisfy each one the whole sentence satisfies.
    `wants_list`: it asks for the members of something, so an enumeration is kept whole.
    `translated`: its words are not the report's language (English): coverage goes through word-by-word
    translations, too rough to tell one sentence from another, so the answerer's sentences all stay.
    """

    parts: Sequence[Part]
    needs: Sequence[Callable[[str], bool]] = field(default_factory=tuple)
    wants_list: bool = False
    translated: bool = False

    @property
    def open(self) -> bool:
        """Only how or what is being done is asked: the whole statement answers it."""
        return all(part.kind == "open" for part in self.parts)


def split_clauses(sentence: str, *, items: bool = False) -> list[tuple[int, int]]:
    """(start, end) of each clause, its closing punctuation included; the sentence end closes the last.

    With `items`, a clause that enumerates facts with their own figures ("学校13所、学校16所") is
    split at its 、 too; an enumeration of names ("旅游接待人次、旅游总收入分别增长40%") is not.
    """
    spans, start = [], 0
    depth = _quote_depth(sentence)
    for m in _CLAUSE_END.finditer(sentence):
        if depth[m.start()]:
            continue  # inside “…”, 《…》 or （…）: part of a name or a quotation
        spans.append((start, m.end()))
        start = m.end()
    if start < len(sentence):
        spans.append((start, len(sentence)))
    spans = [(s, e) for s, e in spans if sentence[s:e].strip(_TRAILING)]
    if items:
        spans = [piece for s, e in spans for piece in _items(sentence, s, e)]
    return spans


_OPENING, _CLOSING = "“‘《（(「『【", "”’》）)」』】"


def _quote_depth(text: str) -> list[int]:
    """How many quotation marks or brackets are open at each character (never below 0: a stray closing mark)."""
    depth, out = 0, []
    for char in text:
        if char in _CLOSING:
            depth = max(0, depth - 1)
        out.append(depth)
        if char in _OPENING:
            depth += 1
    return out


def _items(sentence: str, start: int, end: int) -> list[tuple[int, int]]:
    """The clause's enumerated facts, or the clause itself when its items are not facts of their own."""
    pieces = _pieces(sentence, start, end)
    if len(pieces) < 2 or _SHARED.search(sentence[start:end]) or not all(_is_fact(sentence[s:e]) for s, e in pieces):
        return [(start, end)]
    return pieces


def _pieces(sentence: str, start: int, end: int) -> list[tuple[int, int]]:
    """The clause cut at each 、 outside quotation marks."""
    clause = sentence[start:end]
    depth = _quote_depth(clause)
    cuts = [start] + [start + m.end() for m in _ITEM_END.finditer(clause) if not depth[m.start()]] + [end]
    return list(zip(cuts, cuts[1:]))


def _members(sentence: str, start: int, end: int, parts: Sequence[Part]) -> list[tuple[int, int]]:
    """The named members of an enumeration when the question asks about one of them, else the clause.

    "2023年要加快建设的输变电工程是多少千伏的？" is answered by "500千伏输变电工程", not by the whole
    "加快桑龙高速、炉慈高速、…、500千伏输变电工程、…等项目建设进度": the question already says what is done
    with it. The clause stays whole when fewer than three items are listed ("中央、省预算内资金",
    "在产业发展、红色文化等方面": modifiers of one thing), when the question names several members, when
    a member is too short to be one, when its items share a figure ("分别增长6.5%、7%", or a figure in the
    last item, which carries what the items share) or a negation ("不得收取A、B、C": a member would read
    as allowed), or when an item's figure would lose what it counts ("粮食栽播192.65万亩、产量64.5万吨").
    """
    clause = sentence[start:end]
    pieces = _pieces(sentence, start, end)
    if len(pieces) < MIN_MEMBERS or _SHARED_FIGURE.search(clause) or _NEGATION.search(clause):
        return [(start, end)]
    texts = [sentence[s:e] for s, e in pieces]
    if _DIGIT.search(texts[-1]) or not all(len(_HAN.findall(t)) >= MIN_ITEM_HAN and _owns_figure(t) for t in texts):
        return [(start, end)]  # the last item carries what the items share: a figure there counts them all
    for part in parts:
        scores = sorted(part.clause_scores(dict(enumerate(texts))).values(), reverse=True)
        if scores[0] > 0 and scores[0] >= MEMBER_STANDS_OUT * scores[1]:
            return pieces
    return [(start, end)]


def _enumerates(text: str) -> bool:
    """The text lists items: a 、 outside quotation marks, or names quoted one after another ("“利剑”“绿盾”")."""
    return "”“" in text or "》《" in text or any(char == "、" and not depth for char, depth in zip(text, _quote_depth(text)))


def _owns_figure(text: str) -> bool:
    """An item without a figure, or whose figure keeps what it counts: this many Han characters
    besides its measure word ("500千伏输变电工程", not "产量64.5万吨")."""
    return not _DIGIT.search(text) or len(_HAN.findall(text)) - MEASURE_HAN >= MIN_ITEM_HAN


def _is_fact(text: str) -> bool:
    """An item that is a clause of its own, or names what it counts before its figure
    ("薄弱环节改善与能力提升学校16所", not "产量64.5万吨"; "大峡谷景区创建5A级景区", not "心血管内科等国家级")."""
    figure = _DIGIT.search(text)
    if figure and len(_HAN.findall(text[: figure.start()])) >= MIN_ITEM_HAN:
        return True
    return len(_HAN.findall(text)) >= MIN_ITEM_CLAUSE


def best_span(sentence: str, asked: Asked) -> str:
    """The clause span of `sentence` that answers `asked`, or the sentence when none is clearly more precise."""
    if asked.open and not (asked.wants_list and _enumerates(sentence)):
        return sentence  # how, or what is being done: the statement as a whole ("有什么打算" with a list: the list)
    spans = split_clauses(sentence, items=not asked.wants_list)
    if not asked.wants_list and not asked.translated and all(part.kind == "fact" for part in asked.parts):
        spans = [piece for s, e in spans for piece in _members(sentence, s, e, asked.parts)]
    # A clause ending in a colon introduces what follows ("今年主要预期目标是："): never part of the answer.
    answering = [i for i, (s, e) in enumerate(spans) if not sentence[s:e].rstrip().endswith(("：", ":"))]
    if len(answering) < 2:
        return sentence
    first, last = answering[0], answering[-1]

    def text(lo: int, hi: int) -> str:
        return sentence[spans[lo][0] : spans[hi][1]]

    kept: list[int] = []  # every part's best clause, and the clauses scoring nearly as well for it
    whole = text(first, last)
    located = [part for part in asked.parts if part.kind == "open" or part.locates is None or part.locates(whole) > 0]
    if not located:
        return sentence  # what is asked is named nowhere in it: no clause can be told to answer
    for part in located:  # a part named nowhere here ("叫什么名字？") is answered, if at all, by the others' clauses
        scores = part.clause_scores({i: text(i, i) for i in answering})
        best = max(scores.values())
        if best > 0:
            close = [i for i in answering if scores[i] >= CLOSE_RATIO * best]
            if asked.wants_list:  # a list is answered by the enumeration among them, not by its lead-in
                close = [i for i in close if _enumerates(text(i, i))] or close
            kept += close + ([min(max(close) + WHETHER_FOLLOWING, last)] if part.kind == "whether" else [])
        elif part.kind == "open":
            return sentence  # what is being done about something no clause names: the sentence tells
    if not kept:
        return sentence
    lo, hi = min(kept), max(kept)
    required = [need for need in asked.needs if need(whole)]
    if asked.wants_list and "、" in whole:
        required.append(lambda t: "、" in t)

    def gives(lo: int, hi: int) -> int:
        return sum(1 for need in required if need(text(lo, hi)))

    def covers(lo: int, hi: int) -> float:
        return sum(part.coverage(text(lo, hi)) for part in asked.parts)

    while gives(lo, hi) < len(required):
        options = [(a, b) for a, b in ((lo - 1, hi), (lo, hi + 1)) if first <= a and b <= last]
        lo, hi = max(options, key=lambda ab: (gives(*ab), covers(*ab), -len(text(*ab))))
    if (lo, hi) == (first, last):
        return sentence  # every answering clause is needed: the sentence is the answer
    return text(lo, hi).strip().rstrip(_TRAILING)


def focus(chosen: list[tuple[Key, str]], asked: Asked) -> list[tuple[Key, str]]:
    """(key, sentence), best first → (key, answering span) of the sentences that answer.

    The first sentence (the answerer's best) stays. A further sentence stays only if, for some asked
    part, its span holds nearly as much as the best span does; one that holds clearly less of every
    part adds length, not answer — also when the best sentence is itself unsure (a sentence holding
    less than an unsure one is no surer), and for a question asking how. An English question keeps
    every sentence: its coverage, through word-by-word translations, cannot tell them apart.
    """
    spans = [(key, best_span(sentence, asked)) for key, sentence in chosen]
    if len(spans) < 2 or asked.translated:
        return spans
    held = [[part.coverage(text) for part in asked.parts] for _, text in spans]
    best = [max(column) for column in zip(*held)]
    return spans[:1] + [span for span, row in zip(spans[1:], held[1:])
                        if any(0 < value >= SENTENCE_RATIO * most for value, most in zip(row, best))]
