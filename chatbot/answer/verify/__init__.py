"""Check an answer, sentence by sentence, against the passages it cites.

Every answer (any backend) goes through `verify`. For each sentence:

- its [n] markers are parsed; a marker that points at no passage is removed (and reported when a
  sentence fails: otherwise the reader never sees it);
- a sentence that is, whitespace aside, a verbatim piece of a cited passage is verified at
  once (the extractive answer: cheap, and always 100% verified);
- otherwise each claim is checked against the cited passages, and the first failure names
  the reason: `figure` (a value absent, or given there for something else), `year`, `name`
  (a person or a title), `place`, `organisation`, `unsupported` (most of its content words
  are absent), `judgement` (a grade such as 位居前列 or 显著 that the passages do not give),
  `injected` (it repeats an instruction planted in a passage);
- a sentence without a marker gets the passage that clearly supports it (the marker is added
  and recorded in `added_citations`), or is flagged `uncited`;
- a sentence saying the report does not cover something claims nothing and needs no source.

`Verification` also tells the core what it needs to decide: the share of the answer that is
supported, whether anything is cited, whether the answer is empty or only a refusal.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from chatbot.answer.verify.figures import PassageFigures, check_figures, miscounted, unsupported_years, year_spans
from chatbot.answer.verify.judgements import added_judgements
from chatbot.answer.verify.names import unsupported_names
from chatbot.answer.verify.references import plain_references
from chatbot.answer.verify.text import clause_spans, content_units, share_present, squash, tag
from chatbot.question.query import looks_like_injection
from chatbot.textutil import compact, figure_spans, is_english, split_sentences
from chatbot.types import AnswerSentence, Citation, Passage

# Tuned on the tune portion of tests/data/claims.jsonl (python scripts/claims_report.py --tune).
SUPPORT_MIN = 0.6  # share of a sentence's content units the cited passages must contain
CLAUSE_SUPPORT_MIN = 0.5  # ... and of each clause with at least CLAUSE_MIN_UNITS units
CLAUSE_MIN_UNITS = 3
ATTACH_MIN = 0.6  # an uncited sentence gets a passage's marker when that passage supports this share

REASONS = ("injected", "figure", "year", "name", "place", "organisation", "unsupported", "judgement", "uncited")

_MARKER = re.compile(r"\s*[\[【［]\s*(\d{1,3}(?:\s*[,，、]\s*\d{1,3})*)\s*[\]】］]")
_BULLET = re.compile(r"^\s*(?:[-*•·]|\d{1,2}[.、)）](?!\d)|[（(]\d{1,2}[)）])\s*")
# A list begun inside a sentence, after its lead's colon: "…有以下新动作：1. **深化医疗改革**：…". The
# item's number is how the answer is laid out, not a figure (real Qwen answers on tune were flagged for it).
_INLINE_BULLET = re.compile(r"(?<=[：:])\s*(?:\d{1,2}[.、)）](?!\d)|[（(]\d{1,2}[)）])\s*")
# The items after the first of such a list, numbered on from it with no line break between them:
# "…包括：1. 高端康养设施、度假酒店2. 火森林、温泉" (the 2 is layout as well).
_ITEM_NUMBER = re.compile(r"(?<![\d.])\s*(?:(\d{1,2})[.、)）](?!\d)|[（(](\d{1,2})[)）])\s*")
_FRAMING = re.compile(
    r"^(?:according to the (?:government work )?report[:,]?\s*|(?:根据|按照|据)(?:政府工作)?报告(?:内容)?[，,：:]?|"
    r"(?:根据|按照|依据|据|从)[^，,：:。！？]{0,12}?(?:报告|材料|资料|信息|内容|表格|段落|文本|原文|上文|以上|文件)"
    r"(?:中|里|的|所述|来看|可知|显示)*(?:信息|内容)?(?:来看|可知)?[，,：:]|"
    r"(?:政府工作)?报告(?:中|里)?(?:提到|指出|显示|表示|写道)[，,：:]?)",
    re.I,
)  # "根据报告，" "根据表格中的信息，" "根据第2版的报告，": how the answer is told, not what it claims
_DECLINES = re.compile(
    r"没有找到|没有提到|未提及|未提到|没有涉及|没有给出|没有列出|没有说明|没有具体|没有相关|没有关于|并未|未找到|无法回答|不提供|只能回答|只根据|实时信息|"
    r"does not (?:cover|mention|say|list|give|provide)|not covered|no information|gives no|names no|says nothing|only answer|"
    r"has no current|answer from the government work report only",
    re.I,
)


@dataclass
class Verification:
    answer: str
    sentences: list[AnswerSentence]
    citations: list[Citation]
    warnings: list[str] = field(default_factory=list)
    injected: bool = False
    says_something: bool = True  # some sentence claims something checkable (a content word or a figure)

    @property
    def verified(self) -> bool:
        return all(s.verified for s in self.sentences)

    @property
    def empty(self) -> bool:
        """Nothing left after checking (no sentence at all)."""
        return not self.sentences

    @property
    def cited_any(self) -> bool:
        """At least one sentence cites a passage (markers the checker added count)."""
        return any(s.citations for s in self.sentences)

    @property
    def refusal(self) -> bool:
        """Every sentence says the report does not cover something; nothing is claimed."""
        return bool(self.sentences) and all(declines(s.text) and not s.citations for s in self.sentences)

    @property
    def supported_share(self) -> float:
        """Characters of verified sentences over all characters (1.0 for an empty answer)."""
        total = sum(len(s.text) for s in self.sentences)
        return sum(len(s.text) for s in self.sentences if s.verified) / total if total else 1.0

    @property
    def reasons(self) -> list[str]:
        """The reasons of the unverified sentences, each once, in order."""
        return list(dict.fromkeys(s.reason for s in self.sentences if s.reason))


def claimed_text(sentence: str) -> str:
    """What the sentence claims, NFKC-normalised: without its list bullet, bold marks and framing
    ("根据表格中的信息，"): how an answer is told is neither checked against the passages nor new content."""
    unbulleted = _without_item_numbers(_BULLET.sub("", sentence.replace("**", "")))
    return unicodedata.normalize("NFKC", _FRAMING.sub("", unbulleted))


def _without_item_numbers(text: str) -> str:
    """`text` without the numbers of a list laid out inside it: the first item's after a colon, and
    those that count on from it (2, 3, …), each in order; any other number is a figure and stays."""
    first = _INLINE_BULLET.search(text)
    if not first:
        return text
    digits = re.search(r"\d+", first.group())
    expected = int(digits.group()) + 1 if digits else 2
    pieces, cursor = [text[: first.start()]], first.end()
    for m in _ITEM_NUMBER.finditer(text, first.end()):
        if int(m.group(1) or m.group(2)) != expected:
            continue
        pieces += [text[cursor : m.start()], "；"]
        cursor, expected = m.end(), expected + 1
    return "".join(pieces) + text[cursor:]


def declines(sentence: str) -> bool:
    """The sentence says the report does not cover something (a refusal claims nothing)."""
    return bool(_DECLINES.search(sentence))


def planted_instructions(passages: list[Passage]) -> list[str]:
    """Sentences of the passages that read like instructions to a model."""
    planted = [p.text[s:e] for p in passages for s, e in split_sentences(p.text) if looks_like_injection(p.text[s:e])]
    planted += [part for p in passages for part in p.section.split(" › ") if looks_like_injection(part)]
    return planted


def _repeats(sentence: str, instruction: str, min_len: int = 8) -> bool:
    a, b = compact(sentence), compact(instruction)
    if len(a) < min_len or len(b) < min_len:
        return bool(a) and a in b
    return any(a[i : i + min_len] in b for i in range(len(a) - min_len + 1))


@dataclass
class _Outcome:
    reason: str | None
    figures: list[str]
    share: float
    detail: list[str] = field(default_factory=list)  # the names or years behind the reason


class _Checker:
    """The passages of one answer, prepared once, and the checks of one sentence against some of them."""

    def __init__(self, passages: list[Passage]) -> None:
        self.passages = passages
        self.texts = [squash(p.text) for p in passages]
        self.contexts = [squash(p.text + p.section) for p in passages]
        self._figures: dict[int, PassageFigures] = {}
        self.year = next((p.year for p in passages if p.year), None)
        self.city = next((p.city for p in passages if p.city), None)

    def figures_of(self, n: int) -> PassageFigures:
        if n not in self._figures:
            self._figures[n] = PassageFigures.of(self.passages[n - 1])
        return self._figures[n]

    def own_units(self, units: list[str]) -> list[str]:
        """The units that say something: not those of the report's own city (its metadata), which
        every passage is about whether it names it or not: in a 岳阳 report, "岳阳跟怀化是积极对接的" is
        not half supported because 岳阳 stands in the passage)."""
        return [u for u in units if not (self.city and u in self.city)]

    def verbatim(self, body: str, numbers: list[int]) -> bool:
        core = squash(_FRAMING.sub("", body)).rstrip("。！？；.!?;")
        return bool(core) and any(core in self.contexts[n - 1] for n in numbers)

    def check_lead_in(self, norm: str, tokens, numbers: list[int], asked: str, introduced: list[int]) -> _Outcome | None:
        """A list's lead-in ("买期房怕烂尾，政府有以下说法：") that restates the question: every word of
        it is in the question or in the passages the items it introduces cite, and its figures, years
        and names are theirs. It then needs no marker of its own; otherwise None."""
        outcome = self.check(norm, tokens, sorted(set(numbers) | set(introduced)), asked)
        return None if outcome.reason else outcome

    def check(self, norm: str, tokens, numbers: list[int], asked: str = "") -> _Outcome:
        """The first claim of the sentence the cited passages do not support. `asked` (squashed) is the
        question, given only for a list's lead-in (`check_lead_in`)."""
        english = is_english(norm)
        cited = [self.figures_of(n) for n in numbers]
        years = year_spans(norm)
        bad_figures = check_figures(norm, None if english else tokens, cited, years=years) + miscounted(norm, cited)
        if bad_figures:
            return _Outcome("figure", bad_figures, 0.0)
        bad_years = unsupported_years(norm, cited, self.year)
        if bad_years:
            return _Outcome("year", [], 0.0, bad_years)
        if english:  # names and words cannot be compared across languages; figures and years were
            return _Outcome(None, [], 1.0)
        haystack = "".join(self.contexts[n - 1] for n in numbers)
        names = unsupported_names(tokens, haystack, self.city)
        if names:
            kinds = {n.kind for n in names}  # a title or a person is the strongest sign of invention
            kind = next(k for k in ("name", "place", "organisation") if k in kinds)
            return _Outcome(kind, [], 0.0, [n.text for n in names])
        units = self.own_units(content_units(tokens))
        share = share_present(units, haystack + asked)
        clause_shares = [
            share_present(u, haystack + asked)
            for u in (self.own_units(content_units(tokens, s, e)) for s, e in clause_spans(norm))
            if len(u) >= CLAUSE_MIN_UNITS
        ]
        if asked and share < 1.0:
            return _Outcome("unsupported", [], share)  # a lead-in says nothing of its own
        if share < SUPPORT_MIN or (clause_shares and min(clause_shares) < CLAUSE_SUPPORT_MIN):
            return _Outcome("unsupported", [], share)
        judged = added_judgements(norm, haystack)
        if judged:  # a grade the passages do not give ("位居全省前列"), the rest of the sentence theirs
            return _Outcome("judgement", [], share, judged)
        return _Outcome(None, [], share)


def _markers(raw: str, count: int) -> tuple[list[int], set[int]]:
    numbers: list[int] = []
    bad: set[int] = set()
    for m in _MARKER.finditer(raw):
        for n in re.split(r"[,，、]", m.group(1)):
            n_int = int(n)
            if 1 <= n_int <= count:
                if n_int not in numbers:
                    numbers.append(n_int)
            else:
                bad.add(n_int)
    return numbers, bad


def _check_sentence(checker: _Checker, body: str, numbers: list[int]) -> tuple[AnswerSentence, _Outcome | None]:
    sentence = AnswerSentence(text=body, citations=list(numbers))
    if declines(body) and not numbers:
        return sentence, None
    if numbers and checker.verbatim(body, numbers):
        return sentence, None
    norm = claimed_text(body) or body
    tokens = tag(norm)
    if numbers:
        outcome = checker.check(norm, tokens, numbers)
    else:
        outcome = _attach_source(checker, body, norm, tokens, sentence)
    if outcome.reason:
        sentence.verified, sentence.reason = False, outcome.reason
        sentence.unverified_figures = outcome.figures
    return sentence, outcome


def _attach_source(checker: _Checker, body: str, norm: str, tokens, sentence: AnswerSentence) -> _Outcome:
    """Give an uncited sentence the passage that clearly supports it, or say why none does."""
    every = list(range(1, len(checker.passages) + 1))
    if not every:
        return _Outcome("uncited", [], 0.0)
    verbatim = [n for n in every if checker.verbatim(body, [n])]
    if verbatim:
        best = verbatim[:1]
    else:
        outcomes = [(checker.check(norm, tokens, [n]), n) for n in every]
        passing = [(o.share, -n) for o, n in outcomes if o.reason is None and o.share >= ATTACH_MIN]
        if not passing:
            if not content_units(tokens) and not any(o.reason for o, _ in outcomes):
                return _Outcome(None, [], 1.0)  # says nothing checkable ("以下是相关内容：")
            overall = checker.check(norm, tokens, every)
            return overall if overall.reason and overall.reason != "unsupported" else _Outcome("uncited", [], overall.share)
        best = [-max(passing)[1]]
    sentence.citations = best
    sentence.added_citations = list(best)
    return _Outcome(None, [], 1.0)


def _restating_lead_in(checker: _Checker, sentences: list[AnswerSentence], i: int, asked: str) -> _Outcome | None:
    """Sentence i, a list's lead-in that the support check flagged, passed when it restates the question
    (`_Checker.check_lead_in`) before the cited sentences that follow it; else None."""
    lead = sentences[i]
    introduced = sorted({n for s in sentences[i + 1 :] for n in s.citations})
    if lead.reason not in ("unsupported", "uncited") or not introduced:
        return None
    norm = claimed_text(lead.text) or lead.text
    outcome = checker.check_lead_in(norm, tag(norm), lead.citations, asked, introduced)
    if outcome:
        lead.verified, lead.reason, lead.unverified_figures = True, None, []
    return outcome


def _warnings(sentences: list[AnswerSentence], details: dict[str, list[str]], bad_markers: set[int], count: int) -> list[str]:
    out: list[str] = []
    # A marker naming no passage is removed, and its sentence checked as uncited. When every sentence
    # then stands on a real passage, the reader never sees the bad marker: nothing to warn about.
    if bad_markers and not all(s.verified for s in sentences):
        out.append(
            "Removed citation marker(s) " + ", ".join(f"[{n}]" for n in sorted(bad_markers))
            + f": the answer had only {count} passage(s)."
        )
    figs = list(dict.fromkeys(f for s in sentences for f in s.unverified_figures))
    if figs:
        out.append("Figures not found in the cited passages (数字与引用段落不符): " + ", ".join(figs) + ". Check them against the sources.")
    labels = {
        "year": "Years the cited passages do not give (年份与引用段落不符): ",
        "name": "Names or posts the cited passages do not mention (人名或职务未见于引用段落): ",
        "place": "Places the cited passages do not mention (地名未见于引用段落): ",
        "organisation": "Organisations or projects the cited passages do not mention (机构或项目未见于引用段落): ",
        "judgement": "Judgements the cited passages do not make (引用段落没有这样的评价): ",
    }
    for reason, label in labels.items():
        if details.get(reason):
            out.append(label + ", ".join(dict.fromkeys(details[reason])) + ".")
    for reason, text in (
        ("unsupported", "sentence(s) not supported by the passages they cite (内容未得到引用段落支持)."),
        ("uncited", "sentence(s) cite no passage and none supports them (未注明出处)."),
    ):
        count_reason = sum(1 for s in sentences if s.reason == reason)
        if count_reason:
            out.append(f"{count_reason} {text}")
    if any(s.reason == "injected" for s in sentences):
        out.append("The answer repeats an instruction planted in a document; it was not trusted.")
    return out


def verify(answer: str, passages: list[Passage], question: str = "") -> Verification:
    """Check `answer` against `passages` (numbered [1]..[k] in this order).

    `question`, when given, is what the answer answers. A list's lead-in, a sentence that ends in a
    colon before cited sentences ("买期房怕烂尾，政府有以下说法："), often restates the question: it
    passes when each of its words is in the question or in the passages its items cite
    (`_Checker.check_lead_in`). A lead-in that says anything of its own ("陈能宽是农业领域的科学家，主要
    成就包括：") is checked as any sentence is."""
    planted = planted_instructions(passages)
    answer = plain_references(answer, passages)
    checker = _Checker(passages)
    out_sentences: list[AnswerSentence] = []
    details: dict[str, list[str]] = {}
    bad_markers: set[int] = set()
    outcomes: list[_Outcome | None] = []
    late: set[int] = set()  # sentences whose markers came after their closing punctuation
    heading: list[int] = []  # markers alone on a line, before the text they head ("[1]\n正文。")
    lead_ins: list[int] = []  # sentences ending in a colon, before others
    for start, end, alone in _sentence_spans(answer):
        raw = answer[start:end]
        numbers, bad = _markers(raw, len(passages))
        bad_markers |= bad
        body = _MARKER.sub("", raw).strip()
        if body and not _BULLET.sub("", body).strip(" .、)）"):  # a list number alone on its line ("2.")
            body = ""
        if body and heading:
            numbers, heading = list(dict.fromkeys(heading + numbers)), []
        if not body and alone:
            heading = numbers
            continue
        if not body:  # markers after the closing punctuation belong to the sentence before
            if out_sentences and numbers and out_sentences[-1].reason != "injected":
                late.add(len(out_sentences) - 1)
                previous = out_sentences[-1]
                if previous.added_citations:
                    previous.citations, previous.added_citations = [], []
                previous.citations += [n for n in numbers if n not in previous.citations]
            continue
        if any(_repeats(body, instruction) for instruction in planted):
            out_sentences.append(AnswerSentence(text=body, citations=numbers, verified=False, reason="injected"))
            outcomes.append(None)
            continue
        if body.endswith(("：", ":")):
            lead_ins.append(len(out_sentences))
        sentence, outcome = _check_sentence(checker, body, numbers)
        outcomes.append(outcome)
        out_sentences.append(sentence)
    for i in sorted(late):  # checked again, now against the markers that came late
        out_sentences[i], outcomes[i] = _check_sentence(checker, out_sentences[i].text, out_sentences[i].citations)
    for i in lead_ins if question else []:
        outcomes[i] = _restating_lead_in(checker, out_sentences, i, squash(question)) or outcomes[i]
    for outcome in outcomes:
        if outcome and outcome.reason and outcome.detail:
            details.setdefault(outcome.reason, []).extend(outcome.detail)
    injected = any(s.reason == "injected" for s in out_sentences)
    text = "".join(_attach(s.text, "".join(f"[{n}]" for n in s.citations)) for s in out_sentences)
    cited = sorted({n for s in out_sentences for n in s.citations})
    citations = [
        Citation(
            n=n,
            chunk_id=passages[n - 1].chunk_id,
            source=passages[n - 1].source,
            section=passages[n - 1].section,
            page=passages[n - 1].page,
            quote=_quote(out_sentences, n, passages[n - 1]),
        )
        for n in cited
    ]
    warnings = _warnings(out_sentences, details, bad_markers, len(passages))
    says_something = any(_claims_something(s.text) for s in out_sentences if not declines(s.text))
    return Verification(text, out_sentences, citations, warnings, injected, says_something)


def without_closing_commentary(result: Verification, passages: list[Passage], question: str = "") -> Verification:
    """The answer without its closing commentary: the sentences after its last cited one that cite
    nothing and that no passage supports (reason `uncited`: a model's "因此……" or "这些项目在实施过程中……").
    They claim nothing a reader could check; the answer before them stands on its sources. A sentence
    flagged for a figure, year, name or planted instruction is never dropped: those stay flagged."""
    last_cited = max((i for i, s in enumerate(result.sentences) if s.verified and s.citations), default=None)
    if last_cited is None:
        return result
    tail = result.sentences[last_cited + 1 :]
    if not tail or any(s.reason != "uncited" for s in tail):
        return result
    if not all(s.verified for s in result.sentences[: last_cited + 1]):
        return result  # the reader is warned anyway; the commentary stays visible with its flag
    kept = "".join(_attach(s.text, "".join(f"[{n}]" for n in s.citations)) for s in result.sentences[: last_cited + 1])
    return verify(kept, passages, question)


def _claims_something(sentence: str) -> bool:
    """The sentence has a content word or a figure ("水", "是的" and "以下是相关内容：" have neither)."""
    norm = claimed_text(sentence)
    return bool(figure_spans(norm)) or bool(content_units(tag(norm))) or (is_english(norm) and len(norm.split()) >= 3)


def _sentence_spans(answer: str) -> list[tuple[int, int, bool]]:
    """(start, end, alone): sentences, and a line break ends one too (a model's list items often
    end without 。). `alone`: the sentence is a whole line and text follows on a later line."""
    spans: list[tuple[int, int, bool]] = []
    lines = [m for m in re.finditer(r"[^\n]+", answer) if m.group().strip()]
    for i, line in enumerate(lines):
        pieces = split_sentences(line.group())
        whole = len(pieces) == 1 and i + 1 < len(lines)
        spans += [(line.start() + s, line.start() + e, whole) for s, e in pieces]
    return spans


def _attach(text: str, marker: str) -> str:
    """Put the marker before the closing punctuation: 增长7.5%左右[1]。"""
    if not marker:
        return text
    m = re.search(r"[。！？；.!?;]+[”’」』）)》】]*$", text)
    if m:
        return text[: m.start()] + marker + text[m.start() :]
    return text + marker


def _quote(sentences: list[AnswerSentence], n: int, passage: Passage) -> str:
    """The passage sentence that best supports what cites it, verbatim from the source."""
    citing = "".join(s.text for s in sentences if n in s.citations)
    best, best_overlap = passage.text, -1.0
    target = set(compact(citing))
    for start, end in split_sentences(passage.text):
        candidate = passage.text[start:end]
        if looks_like_injection(candidate):
            continue
        overlap = len(set(compact(candidate)) & target) / (len(set(compact(candidate))) or 1)
        if compact(candidate) and compact(candidate) in compact(citing):
            overlap += 1.0
        if overlap > best_overlap:
            best, best_overlap = candidate, overlap
    return best


__all__ = ["REASONS", "Verification", "claimed_text", "declines", "planted_instructions", "verify", "without_closing_commentary"]
