"""Small text helpers shared by ingest and the chatbot: sentences, figures, language."""

from __future__ import annotations

import re
import unicodedata

_SENTENCE = re.compile(r"[^。！？；!?]+(?:[。！？；!?]+[”’」』）)》】]*|$)|[。！？；!?]+[”’」』）)》】]*")
_EN_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\[])")

_MULTIPLIERS = {"万": 1e4, "亿": 1e8, "千": 1e3, "百": 1e2, "thousand": 1e3, "million": 1e6, "billion": 1e9}
_FIGURE = re.compile(
    r"(?<![\d.])(\d+(?:,\d{3})*(?:\.\d+)?)\s*(%|％|percent|per cent|个百分点)?\s*(万|亿|千|thousand|million|billion)?",
    re.I,
)


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Spans of sentences, split after 。！？； (closing quotes stay with their sentence)."""
    spans = [(m.start(), m.end()) for m in _SENTENCE.finditer(text) if m.group().strip()]
    out: list[tuple[int, int]] = []
    for start, end in spans:  # English text: also split after ". " before a capital
        cursor = start
        for m in _EN_SENTENCE.finditer(text, start, end):
            out.append((cursor, m.start()))
            cursor = m.end()
        out.append((cursor, end))
    return [(s, e) for s, e in out if text[s:e].strip()]



def figures(text: str) -> list[tuple[float, bool, str]]:
    """Numbers in a text as (value, is_percent, as written), with 万/亿 and widths normalised.

    "1130万元" → 11300000.0; "7.5%" and "7.5％" → (7.5, True); "0.113亿" → 11300000.0.
    """
    return [(value, percent, written) for value, percent, written, _, _ in figure_spans(unicodedata.normalize("NFKC", text))]


def figure_spans(norm: str) -> list[tuple[float, bool, str, int, int]]:
    """`figures` with where each one is: (value, is_percent, as written, start, end) in `norm`,
    a text already NFKC-normalised (offsets refer to it)."""
    out: list[tuple[float, bool, str, int, int]] = []
    for m in _FIGURE.finditer(norm):
        number, percent, mult = m.group(1), m.group(2), m.group(3)
        value = float(number.replace(",", ""))
        if mult:
            value *= _MULTIPLIERS[mult.lower()]
        written = m.group(0).strip()
        out.append((round(value, 6), bool(percent), written, m.start(), m.start() + len(m.group(0).rstrip())))
    return out


def is_english(text: str) -> bool:
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return False
    ascii_letters = sum(1 for ch in letters if ch.isascii())
    return ascii_letters / len(letters) > 0.6


def compact(text: str) -> str:
    """All whitespace removed; how evidence and quotes are compared."""
    return re.sub(r"\s+", "", text)
