"""Check an answer against the passages it cites.

Each sentence's [n] markers are parsed; a marker that points at no passage is
removed and reported. Every figure in a sentence (numbers, percentages,
amounts with 万/亿, in either width) must appear, with the same value, in a
passage that sentence cites; otherwise the sentence is unverified. A sentence
that repeats an instruction planted in a passage is flagged as injected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from chatbot.query import looks_like_injection
from chatbot.textutil import compact, figures, split_sentences
from chatbot.types import AnswerSentence, Citation, Passage

_MARKER = re.compile(r"\s*[\[【［]\s*(\d{1,3}(?:\s*[,，、]\s*\d{1,3})*)\s*[\]】］]")


@dataclass
class Verification:
    answer: str
    sentences: list[AnswerSentence]
    citations: list[Citation]
    warnings: list[str] = field(default_factory=list)
    injected: bool = False

    @property
    def verified(self) -> bool:
        return all(s.verified for s in self.sentences)


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


def verify(answer: str, passages: list[Passage]) -> Verification:
    warnings: list[str] = []
    planted = planted_instructions(passages)
    out_sentences: list[AnswerSentence] = []
    cited_numbers: list[int] = []
    injected = False
    bad_markers: set[int] = set()

    clean_parts: list[str] = []
    for start, end in split_sentences(answer):
        raw = answer[start:end]
        numbers: list[int] = []
        for m in _MARKER.finditer(raw):
            for n in re.split(r"[,，、]", m.group(1)):
                n_int = int(n)
                if 1 <= n_int <= len(passages):
                    if n_int not in numbers:
                        numbers.append(n_int)
                else:
                    bad_markers.add(n_int)
        body = _MARKER.sub("", raw).strip()
        # markers after the closing punctuation belong to this sentence
        if not body:
            if out_sentences and numbers:
                for n in numbers:
                    if n not in out_sentences[-1].citations:
                        out_sentences[-1].citations.append(n)
            continue
        cited_text = "".join(passages[n - 1].text for n in numbers)
        cited_figures = {(v, pct) for v, pct, _ in figures(cited_text)}
        missing = [w for v, pct, w in figures(body) if (v, pct) not in cited_figures]
        sentence = AnswerSentence(text=body, citations=numbers, verified=not missing, unverified_figures=missing)
        if any(_repeats(body, instruction) for instruction in planted):
            injected = True
            sentence.verified = False
        out_sentences.append(sentence)
        cited_numbers.extend(n for n in numbers if n not in cited_numbers)

    for s in out_sentences:
        marker = "".join(f"[{n}]" for n in s.citations)
        clean_parts.append(_attach(s.text, marker))
    if bad_markers:
        warnings.append(
            "Removed citation marker(s) " + ", ".join(f"[{n}]" for n in sorted(bad_markers))
            + f": the answer had only {len(passages)} passage(s)."
        )
    unverified = [s for s in out_sentences if s.unverified_figures]
    if unverified:
        figs = sorted({f for s in unverified for f in s.unverified_figures})
        warnings.append("Figures not found in the cited passages: " + ", ".join(figs) + ". Check them against the sources.")
    if injected:
        warnings.append("The answer repeats an instruction planted in a document; it was not trusted.")
    citations = [
        Citation(
            n=n,
            chunk_id=passages[n - 1].chunk_id,
            source=passages[n - 1].source,
            section=passages[n - 1].section,
            page=passages[n - 1].page,
            quote=_quote(out_sentences, n, passages[n - 1]),
        )
        for n in sorted(cited_numbers)
    ]
    return Verification("".join(clean_parts), out_sentences, citations, warnings, injected)


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
    best, best_overlap = passage.text, -1
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
