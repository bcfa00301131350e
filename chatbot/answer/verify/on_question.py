"""Does a checked answer answer the question? (The support check cannot tell.)

A sentence copied from a passage is supported, yet it may be about something else: after
"五大区域公用品牌有哪些？" → "那“五小”呢？", a small model lists the 五大 again; asked what mines must
achieve, it quotes the next sentence of the passage. Every word is in the report; none answers.

How, for every backend (the core calls `off_question` on a model's answer that passed the support check):
  * what is asked is read as the offline answerer reads it (chatbot.answer.asked): the question's
    concepts (words with their report synonyms, idf-weighted, the words beside the question word
    weighing more, the words a follow-up carries over from the earlier question far less);
  * each answer sentence's *own* content (its content bigrams and figures that the question does
    not already hold: words copied from the question prove nothing) is located in the passages:
    its source is the passage sentence(s) holding most of it;
  * the answer is off the question when, for every part asked, its sources cover the question's
    concepts much worse than the passage sentence that covers them best (`TOPIC_RATIO`), while
    that best sentence clearly addresses the question (`TOPIC_MIN`): the passages hold the answer
    and the model quoted something else; or when the sources hold almost none of the question's
    concepts (`ADDRESS_MIN`) while a passage sentence holds some (`ADDRESS_TOPIC_MIN`): "unaddressed";
  * an answer that adds nothing to the question ("水[1]" to "水呢？") or repeats its question
    ("…的案子破了没[1]。") answers nothing either; nor does one without the kind of thing asked while a
    passage sentence has it: a name (哪个市) answered with figures only, a place (哪些地方, "which city")
    answered without one, or a kind of figure (the rules table of chatbot.question.rules: money,
    people, a distance, a date, a rate) absent from the answer.
An answer whose content cannot be located (a paraphrase) is left to the support check; an English
question is compared through translations too rough for the rest, so only the kind of figure it asks
("how many people", "what percent": the rules table's English patterns) and a place it asks for are
judged, on an answer that quotes the report in Chinese (synthetic tune sentences: off-topic caught 1165 → 1203 of 1528, answers to
unanswerable items 397 → 402 of 623, gold and evidence sentences flagged 11 → 11 of 209).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from chatbot.answer.asked import what_is_asked
from chatbot.answer.verify import claimed_text
from chatbot.answer.verify.names import candidates
from chatbot.answer.verify.text import clause_spans, content_units, squash, tag
from chatbot.question.query import FOLLOWUP_START
from chatbot.question.routing import passage_city_names
from chatbot.question.rules import rules
from chatbot.question.vocabulary import LIST_QUESTION, QUESTION_WORDS, WHETHER_QUESTION
from chatbot.textutil import figure_spans, is_english, split_sentences
from chatbot.types import AnswerSentence, Passage

# Tuned on a recorded tune sample of Qwen2.5-Coder-0.5B answers (see chatbot/answer/backends/cassette.py).
TOPIC_RATIO = 0.5  # the answer's sources must cover this share of what the best passage sentence covers
# ... judged only when that best sentence covers this much of the question. 0.5 → 0.3 on tune (verbatim
# quotes of another sentence of the same passages: 241 → 284 of 394 caught; gold answers called off the
# question: 3 → 5 of ~200, both everyday-word questions: "晚上…逛" for 夜经济).
TOPIC_MIN = 0.3
# Below TOPIC_MIN the passages address the question less clearly, yet an answer whose sources hold almost
# none of it (ADDRESS_MIN) does not address it at all ("unaddressed"). Chosen on tune by 5-fold cross-validation
# (5 seeds; the most wrong sentences caught with no right one lost on the training folds): ADDRESS_TOPIC_MIN
# 0.2 and ADDRESS_MIN 0.05 in 19 of 25 folds. Synthetic tune sentences: other sentences of the retrieved
# passages caught 1068 -> 1165 of 1528, sentences answering unanswerable items 331 -> 397 of 623, gold
# answers called off the question 11 -> 11 of 193.
ADDRESS_TOPIC_MIN = 0.2
ADDRESS_MIN = 0.05
_JOINS_LISTS = re.compile(r"[和及与“”\"]|以及")  # a piece that ends one enumeration and begins another
SOURCE_SHARE = 0.6  # a passage sentence holding this share of a sentence's own content is its source
MARGIN = 8  # characters either side of the quoted stretch where its label stands
ECHO_MIN = 6  # characters of the question an answer sentence repeats, with a question word, to be an echo

_CARRIED = re.compile(r"（上文：.*）$")
_MARKERS = re.compile(r"\[\d+\]")
# Asks for a name (哪个市, 是谁): an answer whose own content is figures only ("排名第2位") gives none.
_NAME_ASKED = re.compile(r"哪(?:一|个|座|家|所|位|一个)?(?:市|县|区|城市|地方|企业|公司|单位|学校|医院|景区|村|部门|人)|是谁|叫什么")
_QUOTED = re.compile(r"[“\"‘'「『]([^”\"’'」』]{1,20})[”\"’'」』]")
# Asks for a place (哪个区, 哪些地方, "which city"): an answer that names none gives none. 哪里 and "where"
# are left out: they ask for places of every kind ("去哪里查" → a website).
_PLACE_ASKED = re.compile(
    r"哪(?:一|个|座|些|几个|几)?个?(?:市|县|区|城市|区县|县区|地方|地区|乡镇|镇|乡|村|省|国家|景区)"
    r"|\bwhich\s+(?:cit(?:y|ies)|count(?:y|ies)|districts?|towns?|villages?|regions?|places?|provinces?|countries)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class OffQuestion:
    """Why an answer does not answer: `kind` "elsewhere" (it quotes a passage sentence about something
    else), "unaddressed" (its sources hold almost nothing of the question), "nothing_new" (it only repeats the question's words), "echo" (it repeats the question) or
    "kind" (it lacks the kind of thing asked). `reason` is the refusal message's key
    (chatbot.question.rules.MESSAGES) for an answerer that refuses instead of answering off the question."""

    kind: str
    detail: str
    reason: str = "not_covered"


def off_question(question: str, sentences: list[AnswerSentence], passages: list[Passage],
                 idf: Callable[[str], float], terms: list[str]) -> OffQuestion | None:
    """None when the answer answers, as far as the passages can tell; else why not."""
    if not passages:
        return None
    if is_english(question):  # only the kind asked, on an answer written in the report's words
        return _english_kind(question, sentences, passages)
    own = FOLLOWUP_START.sub("", _CARRIED.sub("", question))
    asked_text = squash(own)
    claims = [s for s in sentences if s.verified and s.citations]
    if not claims:
        return None
    echo = next((s.text for s in claims if _echoes(s.text, asked_text)), None)
    if echo is not None:
        return OffQuestion("echo", echo)
    news = [(s, _new_content(s.text, asked_text)) for s in claims]
    if not any(units or figures for _, (units, figures) in news):
        return OffQuestion("nothing_new", "".join(s.text for s in claims))
    if _NAME_ASKED.search(own) and not any(units for _, (units, _) in news):
        return OffQuestion("kind", "".join(s.text for s in claims), "no_name")  # a name asked, only figures given
    if (missing_kind := _kind_verdict(own, "".join(s.text for s in claims), passages)) is not None:
        return missing_kind
    if (no_place := _place_verdict(own, "".join(s.text for s in claims), passages)) is not None:
        return no_place
    candidates = [(squash(p.text[a:b]), squash(p.section)) for p in passages for a, b in split_sentences(p.text)]
    clauses: list[str] = []
    windows: list[str] = []
    for sentence, (units, figures) in news:
        found = _sources(units + figures, _all_units(sentence.text), candidates)
        if found is None:
            return None  # not located (a paraphrase): the support check's business
        clauses += [clause for clause, _ in found]
        windows += [window for _, window in found]
    labels = [label for label in _quoted(own) if any(label in text for text, _ in candidates)]
    missing = [label for label in labels if not any(label in window for window in windows)]
    if missing and _beside_another_label(windows, labels):
        return OffQuestion("elsewhere", "、".join(missing))
    asked = what_is_asked(question, idf, terms, [])
    if asked.translated:
        return None
    source_text = "".join(dict.fromkeys(clauses))
    kind = "elsewhere"
    for part in asked.parts:
        best = max(part.coverage(section + text) for text, section in candidates)
        covered = part.coverage(source_text)
        if best >= TOPIC_MIN and covered < TOPIC_RATIO * best:
            continue  # the passages clearly address this part, and the answer quotes something else
        if best >= ADDRESS_TOPIC_MIN and covered < ADDRESS_MIN:
            kind = "unaddressed"  # (best < TOPIC_MIN here: a clear best with covered < 0.05 failed above)
            continue  # the passages address it somewhat; the answer's sources not at all
        return None
    return OffQuestion(kind, "".join(s.text for s in claims))


def shares_nothing_with(question: str, sentences: list[AnswerSentence], reference: str) -> bool:
    """True when the answer's own content (its words and figures beyond the question's) is there and
    none of it is in `reference`, the offline answer to the same question from the same passages:
    the two answerers quoted different things. A model's paraphrase of a sentence the answer's
    locating cannot find ("抓住政策机遇" for 抢抓政策机遇) escapes `off_question`; this does not. An English
    question holds no Chinese words, so there the answer's whole content is compared (tune, honest-quoting
    fake: 2 English answers changed, 1 wrong → right, 1 wrong → wrong)."""
    asked = squash(FOLLOWUP_START.sub("", _CARRIED.sub("", question)))
    own = [piece for s in sentences if s.verified and s.citations for units, figures in [_new_content(s.text, asked)]
           for piece in units + figures]
    target = squash(_MARKERS.sub("", reference))
    return bool(own) and not any(piece in target for piece in own)


def figures_alone(sentences: list[AnswerSentence]) -> bool:
    """True when the answer's checked sentences are bare figures ("17384处[1]", "42.9%[1]"): nothing says
    what a figure is, so the figure check matched its value only and could not place it, and the
    reader cannot tell what it counts, nor whether it is all that was asked."""
    kept = [claimed_text(_MARKERS.sub("", s.text)) for s in sentences if s.verified and s.citations]
    return bool(kept) and all(figure_spans(text) and not content_units(tag(text)) for text in kept)


def partial_list(question: str, sentences: list[AnswerSentence], reference: str) -> list[str]:
    """The members a list answer leaves out: the question asks for the members of something ("有哪些",
    "分别是"), `reference` (the offline answer from the same passages) enumerates them, and the answer names
    some of that enumeration but not all ("九院十街、溪布街等" for "大庸古城、七十二奇楼、…、九院十街、溪布街等"):
    every member is true, and the reader believes the list complete. Only members between two 、 are
    compared, and a run of them ends at one joining two lists ("…葛根“五大”区域公用品牌和菊花芯柚"):
    the first and last items carry the clause's verb and what the items share. Empty when nothing is left out."""
    if not LIST_QUESTION.search(question):
        return []
    said = squash("".join(_MARKERS.sub("", s.text) for s in sentences if s.verified and s.citations))
    asked = squash(question)
    for run in member_runs(_MARKERS.sub("", reference)):
        named = [m for m in run if m in said or m in asked]
        # what the question names that the members taken (two or more) all have (高速 in "炉慈高速、张官高速"):
        # the members without it are not what was asked ("500千伏输变电工程" beside the 高速 asked for)
        kind = [asked[i : i + 2] for i in range(len(asked) - 1) if len(named) > 1 and all(asked[i : i + 2] in m for m in named)]
        left_out = [m for m in run if m not in named and all(k in m for k in kind)]
        if named and left_out:
            return left_out
    return []


def member_runs(text: str) -> list[list[str]]:
    """The runs of members between two 、 in each clause of `text` ("A、B、C、D": B and C)."""
    runs: list[list[str]] = []
    for clause in re.split(r"[，。；：！？,;:!?\n]", text):
        pieces = clause.split("、")
        run: list[str] = []
        for piece in pieces[1:-1]:
            member = squash(piece)
            if _JOINS_LISTS.search(piece) or len(member) < 2:
                runs, run = runs + [run], []
            else:
                run.append(member)
        runs.append(run)
    return [run for run in runs if run]


def _english_kind(question: str, sentences: list[AnswerSentence], passages: list[Passage]) -> OffQuestion | None:
    """An English question's kind of figure (the rules table's English patterns: "how many people",
    "what percent") missing from an answer that quotes the report in Chinese (an English answer's units,
    "yuan", "people", are not the table's: it is not judged)."""
    claims = [s for s in sentences if s.verified and s.citations]
    text = "".join(s.text for s in claims)
    if not claims or is_english(text):
        return None
    return _kind_verdict(question, text, passages) or _place_verdict(question, text, passages)


def _kind_verdict(question: str, answer: str, passages: list[Passage]) -> OffQuestion | None:
    """The "kind" verdict when the answer lacks the kind of figure the question asks (the rules table:
    an amount of money, a number of people, a distance, a date, a rate, any figure) and a passage
    sentence has it; its reason is the first such row's refusal message. Else None."""
    asked = [rule for rule in rules("select") if rule.matches(question)]  # as the offline answerer reads them
    asked = asked + [rule for rule in rules("alternative") if rule.matches(question)] if asked else [
        rule for rule in rules("fallback") if rule.matches(question)]
    if not asked or any(rule.needs(answer) for rule in asked):
        return None
    if not any(rule.needs(p.text[a:b]) for p in passages for a, b in split_sentences(p.text) for rule in asked):
        return None
    return OffQuestion("kind", ", ".join(rule.name for rule in asked), asked[0].reason)


def _place_verdict(question: str, answer: str, passages: list[Passage]) -> OffQuestion | None:
    """The "kind" verdict when the question asks for a place (哪个区, "which city") and the answer names
    none beyond the question's own and the report's city, while the passages name one: "……在工业和红色
    文化方面有共同的合作" to "which city…", "在全市……清零" to 哪些地方. A place is what the name check
    reads as one (chatbot.answer.verify.names: jieba's place tag, a place suffix; 全市 and 全省 are not),
    or a word the passages list beside one ("丽江、牡丹江、铜仁": 铜仁, which jieba tags a plain noun)."""
    if not _PLACE_ASKED.search(question):
        return None
    known = passage_city_names(passages) | {question}
    listed = {word for p in passages for a, b in split_sentences(p.text) for word in _places(p.text[a:b])}
    listed = {word for word in listed if not any(word in text for text in known)}
    if not listed:
        return None
    if any(word in answer for word in listed) or any(word not in "".join(known) for word in _places(answer)):
        return None
    return OffQuestion("kind", "place", "no_name")


def _places(text: str) -> set[str]:
    """The places `text` names, and the members of an enumeration one of whose members is a place
    ("A、B、C": the last word before the first 、, the pieces between, the first word after the last)."""
    tokens = tag(text)
    places = {name.text for name in candidates(tokens) if name.kind == "place"}
    for clause in re.split(r"[，。；：！？,;:!?\n]", text):
        pieces = clause.split("、")
        if len(pieces) < 2:
            continue
        first, last = tag(pieces[0]), tag(pieces[-1])
        members = [squash(piece) for piece in pieces[1:-1]]
        members += [token.word for token in first[-1:] + last[:1]]
        members = [m for m in members if len(m) >= 2 and not _JOINS_LISTS.search(m)]
        if any(m in places or any(name.kind == "place" for name in candidates(tag(m))) for m in members):
            places |= set(members)
    return places


def _quoted(question: str) -> list[str]:
    """The question's quoted terms (“五小”, "1053"): labels that name exactly one thing of the report."""
    return [squash(m.group(1)) for m in _QUOTED.finditer(question) if len(m.group(1).strip()) >= 2]


def _beside_another_label(windows: list[str], asked: list[str]) -> bool:
    """A window holds a quoted label other than those asked (nor a piece of one: “一次办” in “一件事一次办”):
    the answer quotes what that label names (“五大” beside 某地大鲵、某县葛根). A terse answer far from
    every label ("武陵源区" asked by “医保快递”, eight characters on) is not at another one."""
    others = {squash(m.group(1)) for window in windows for m in _QUOTED.finditer(window)}
    return any(not any(other in label or label in other for label in asked) for other in others)


def _echoes(sentence: str, asked: str) -> bool:
    """The sentence asks again what the question asked ("侵害未成年人的案子破了没")."""
    body = squash(_MARKERS.sub("", sentence)).rstrip("。！？；.!?;")
    if not (QUESTION_WORDS.search(body) or WHETHER_QUESTION.search(body)):
        return False
    return any(body[i : i + ECHO_MIN] in asked for i in range(max(0, len(body) - ECHO_MIN + 1)))


def _new_content(sentence: str, asked: str) -> tuple[list[str], list[str]]:
    """The sentence's content bigrams and figures that the question does not hold (its framing,
    "根据表格中的信息，", is how it is told: 表格 and 信息 are nothing new)."""
    norm = claimed_text(_MARKERS.sub("", sentence))
    units = [u for u in content_units(tag(norm)) if u not in asked]
    figures = [squash(written) for _, _, written, _, _ in figure_spans(norm)]
    return units, [f for f in figures if f not in asked]


def _sources(wanted: list[str], anchors: list[str], candidates: list[tuple[str, str]]) -> list[tuple[str, str]] | None:
    """Where a sentence's own content (`wanted`) stands in the passages. In each passage sentence holding
    most of it, the shortest stretch holding every piece of the answer sentence found there (`anchors`:
    its words shared with the question too, so "固定资产投资增长8%左右" is read at 固定资产投资, not at
    the first 8% of the sentence); from it: the clauses it spans, with the sentence's lead before a colon
    and the section title (what they are about), and the stretch with `MARGIN` characters either side (a list's label stands right next to
    it: "…某地大鲵、某县葛根“五大”…" is not the list “五小” labels, further on)."""
    if not wanted:
        return []
    scored = [(sum(1 for u in wanted if u in text) / len(wanted), text, section) for text, section in candidates]
    top = max(share for share, _, _ in scored)
    if top < SOURCE_SHARE:
        return None
    out = []
    for share, text, section in scored:
        if share < top:
            continue
        first, last = _shortest_stretch(text, [u for u in dict.fromkeys(wanted + anchors) if u in text])
        clauses = [text[a:b] for a, b in clause_spans(text) if b > first and a < last]
        lead = text.find(":")  # "今年主要预期目标是：…" governs every clause after it
        if 0 <= lead < first:
            clauses.insert(0, text[:lead])
        out.append((section + "".join(clauses), text[max(0, first - MARGIN) : last + MARGIN]))
    return out


def _shortest_stretch(text: str, pieces: list[str]) -> tuple[int, int]:
    """The shortest (start, end) of `text` holding every one of `pieces` (each occurs in it)."""
    hits = sorted((m.start(), m.start() + len(piece), piece) for piece in pieces for m in re.finditer(re.escape(piece), text))
    best = (0, len(text))
    held: dict[str, int] = {}
    left = 0
    for right, (_, end, piece) in enumerate(hits):
        held[piece] = held.get(piece, 0) + 1
        while len(held) == len(pieces):
            start, _, first_piece = hits[left]
            stop = max(e for _, e, _ in hits[left : right + 1])
            if stop - start < best[1] - best[0]:
                best = (start, stop)
            held[first_piece] -= 1
            if not held[first_piece]:
                del held[first_piece]
            left += 1
    return best


def _all_units(sentence: str) -> list[str]:
    norm = unicodedata.normalize("NFKC", _MARKERS.sub("", sentence))
    return content_units(tag(norm)) + [squash(written) for _, _, written, _, _ in figure_spans(norm)]
