"""What a question asks, read for choosing the clause that answers it (chatbot.answer.clauses).

Why a reading of its own: the extractive answerer weighs a question's tokens to find the sentences
about it; inside one sentence the question must tell its clauses apart, which token overlap does
badly ("收入" would pick any income; "过" in 拿过 matches 通过). So the question is read as:
  * parts: the things it asks ("安排了多少资金？比上年增长多少？" asks two), each with its kind —
    a fact (a figure, a name, a list), whether something is so, or how / what is being done;
  * concepts: its words with the report terms the lexicon gives for them (a word and its synonyms
    are one concept), idf-weighted; the words next to its question word weigh more (they say what
    is asked), a change asked for ("涨多少") less, and in a follow-up the words carried over from the
    earlier question far less than the reader's own;
  * needs: what an answer must contain, from the rules table (chatbot.question.rules).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from chatbot.answer.clauses import Asked, Part
from chatbot.question.query import FOLLOWUP_START, expansion_groups, expansions
from chatbot.question.rules import Rule
from chatbot.question.vocabulary import (
    CHANGE_ASKED,
    CLAUSE_END,
    LIST_QUESTION,
    OPEN_QUESTION,
    QUANTITY_ASKED,
    QUESTION_WORDS,
    WHETHER_QUESTION,
)
from chatbot.segmentation import normalize, words
from chatbot.textutil import is_english

# A follow-up made standalone by keeping the earlier question beside it (chatbot.question.query.condense):
# "那旅游收入呢？（上文：今年GDP增长目标是多少？）".
_CARRIED = re.compile(r"（上文：.*）$")
_NEVER_USED = "\x00"  # a token no report holds: its idf is that of a word the report never uses
_QUOTED = re.compile(r"[“《\"]([^“”《》\"]+)[”》\"]")

# Tuned on the "tune" split (python -m chatbot eval --qa tests/data/qa.jsonl --split tune).
CARRIED_WEIGHT = 0.1  # the earlier question's words: context that breaks ties, not what is asked now
SLOT_WORDS = 2  # the words either side of the question word that say what is asked
SLOT_WEIGHT = 3.0
CHANGE_WEIGHT = 0.5  # "涨多少": a change asked for is the kind of answer more than its topic


def what_is_asked(question: str, idf: Callable[[str], float], terms: list[str], needs: list[list[Rule]]) -> Asked:
    """`question`: the standalone question; `terms`: the search's expansions (English translated);
    `needs`: groups of the table's rows an answer must satisfy (a group: any of its rows)."""
    carried = _CARRIED.search(question)
    own_text = FOLLOWUP_START.sub("", question[: carried.start()] if carried else question)
    translated = [t for t in terms if t not in expansions(question)]  # English, in the report's words
    context = _concepts(carried.group(), idf, CARRIED_WEIGHT) if carried else {}
    asks = [own_text] if is_english(question) else _parts(own_text)
    parts = []
    for text in asks:
        concepts = {**context, **_concepts(text, idf, 1.0, translated)}
        # A word the report never uses ("跟", "全称") locates nothing in any of its sentences.
        unseen = idf(_NEVER_USED)
        slot = {key: concept for key, concept in concepts.items()
                if concept.slot and any(idf(term) < unseen for term in concept.full)}
        # English words never stand in the report's text: beside an English question word they locate nothing
        locates = _coverage(slot) if slot and not is_english(question) else None
        parts.append(Part(_coverage(concepts), _kind(text), locates=locates, held=_held(concepts)))
    if len(parts) > 1:  # several things asked: one part each, by the words it holds
        parts = [part for part in parts if part.coverage(own_text) > 0] or parts[:1]
    return Asked(parts, needs=tuple(_any_of(group) for group in needs), wants_list=bool(LIST_QUESTION.search(question)),
                 translated=is_english(question))


def _parts(question: str) -> list[str]:
    """The clauses of a question that ask something, each with the clauses before it that ask nothing
    ("你觉得去旅游会不会被拉去购物？政府去年怎么管的？" asks one thing, "…降了多少？…破了没？" two)."""
    parts, pending = [], ""
    for clause in CLAUSE_END.split(question):
        pending += clause
        if any(pattern.search(clause) for pattern in (QUESTION_WORDS, OPEN_QUESTION, WHETHER_QUESTION)):
            parts.append(pending)
            pending = ""
    if pending.strip() and parts:
        parts[-1] += pending
    return parts or [question]


def _kind(part: str) -> str:
    """What answers one asked part (chatbot.answer.clauses.Part)."""
    if OPEN_QUESTION.search(part):
        return "open"
    return "whether" if WHETHER_QUESTION.search(part) else "fact"


def _any_of(group: list[Rule]) -> Callable[[str], bool]:
    return lambda text: any(rule.needs(text) for rule in group)


@dataclass
class Concept:
    """One thing the question names: a word with its synonyms, and its parts for half credit."""

    full: set[str]  # any of these in a text: the concept is there
    partial: set[str]  # only one of these (个体 of 个体户): half of it is
    weight: float
    slot: bool = False  # next to the question word: what is asked

    def held(self, body: str, body_words: frozenset[str]) -> float:
        if any(_in(a, body, body_words) for a in self.full):
            return self.weight
        return 0.5 * self.weight if any(_in(a, body, body_words) for a in self.partial) else 0.0


def _in(word: str, body: str, body_words: frozenset[str]) -> bool:
    """A word counts inside a longer word ("收入" in 旅游总收入); a single character only where a word of
    the text begins with it ("水" in 水环境, not "过" in 通过 or "有" in 既有)."""
    if len(word) > 1:
        return word in body
    return any(w.startswith(word) for w in body_words)


@lru_cache(maxsize=4096)
def _words_of(body: str) -> frozenset[str]:
    return frozenset(words(body))


def _concepts(text: str, idf: Callable[[str], float], scale: float, translated: list[str] = ()) -> dict[str, Concept]:
    """The question's concepts: each word with the report terms the lexicon gives for it ("收入" or 可支配收入),
    weighted by idf; a lexicon phrase of several words ("旅游收入" → 旅游总收入) adds a concept of half weight,
    and so does each English word's translation. A word inside a longer one of the question (个体 in
    个体户) is part of that concept. The asked-for quantity ("多少亩") is the kind of answer, not a concept.
    """
    text = QUANTITY_ASKED.sub("，", text)
    slot = QUESTION_WORDS.search(text)
    near = set(words(text[: slot.start()])[-SLOT_WORDS:] + words(text[slot.end() :])[:SLOT_WORDS]) if slot else set()
    found = list(dict.fromkeys(words(text)))
    whole = [w for w in found if not any(w != other and w in other for other in found)]
    pieces = {w: {p for p in found if p != w and p in w} for w in whole}
    near |= {w for w in whole if near & pieces[w]}  # "网络平台" beside 哪些, though the window holds 网络 and 平台
    concepts = {w: Concept({w}, pieces[w], scale * idf(w) * _emphasis(w, near), w in near) for w in whole}
    for name in (normalize(n) for n in _QUOTED.findall(text)):
        # A quoted name ("“一件事一次办”的办件量") is one thing, not three words that each weigh as much as 办件量.
        pieces = [w for w in whole if w in name]
        if len(pieces) > 1:
            members = [concepts.pop(w) for w in pieces]
            concepts[name] = Concept({name}, set(pieces), max(c.weight for c in members), any(c.slot for c in members))
    for phrase, terms in [*expansion_groups(text), *((t, [t]) for t in translated)]:
        phrase = normalize(phrase)
        if phrase in concepts:
            concepts[phrase].full.update(normalize(t) for t in terms)
        else:
            weight = 0.5 * scale * max((idf(w) for w in words(" ".join([phrase, *terms]))), default=0.0)
            concepts[phrase] = Concept({phrase, *(normalize(t) for t in terms)}, set(), weight)
    return {key: concept for key, concept in concepts.items() if concept.weight > 0}


def _emphasis(word: str, near: set[str]) -> float:
    if CHANGE_ASKED.fullmatch(word):
        return CHANGE_WEIGHT
    return SLOT_WEIGHT if word in near else 1.0


def _coverage(concepts: dict[str, Concept]) -> Callable[[str], float]:
    """The share of the concepts' weight a text holds."""
    held = _held(concepts)
    return lambda text: sum(held(text).values())


def _held(concepts: dict[str, Concept]) -> Callable[[str], dict[str, float]]:
    """Each concept a text holds, with its share of the concepts' weight."""
    total = sum(concept.weight for concept in concepts.values())

    def held(text: str) -> dict[str, float]:
        body = normalize(text)
        body_words = _words_of(body)
        shares = {key: concept.held(body, body_words) / total for key, concept in concepts.items()} if total else {}
        return {key: share for key, share in shares.items() if share > 0}

    return held
