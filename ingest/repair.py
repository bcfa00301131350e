"""Repair text extracted from a newspaper PDF into clean paragraphs.

The print puts spaces between Chinese characters, breaks lines in the middle
of sentences (blank lines too), and adds page-continuation markers such as
◀◀（上接1版） and ▶▶（下转3版）. We remove the spaces except between two
Latin words, join the lines of a paragraph, drop the markers and keep the page
each paragraph is printed on.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_MARKER = re.compile(
    r"[◀▶◁▷←→]*\s*[（(]\s*(上\s*接|下\s*转|接\s*上|转\s*下)\s*(?:第\s*)?(\d+)\s*版\s*[）)]"
)
_SPACE_RUN = re.compile(r"[ \t\u3000\u00a0]+")
_ASCII_WORD = re.compile(r"[A-Za-z0-9]")
_TERMINAL = "。！？；…!?"
_CLOSERS = "”’」』）)》】"
HEADING_1 = re.compile(r"^[一二三四五六七八九十]{1,3}、")
HEADING_2 = re.compile(r"^[（(][一二三四五六七八九十]{1,3}[）)]")
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")


@dataclass
class Paragraph:
    text: str
    page: int | None
    heading_level: int = 0  # 0 = body text, 1 = 一、, 2 = （一）


def despace(line: str) -> str:
    """Drop spaces inside a line unless they separate two Latin words or numbers."""

    def keep_or_drop(match: re.Match[str]) -> str:
        before = line[match.start() - 1] if match.start() > 0 else ""
        after = line[match.end()] if match.end() < len(line) else ""
        if before and after and _ASCII_WORD.match(before) and _ASCII_WORD.match(after):
            return " "
        return ""

    return _SPACE_RUN.sub(keep_or_drop, line).strip()


def _join(left: str, right: str) -> str:
    if left and right and left[-1].isascii() and left[-1].isalpha() and right[0].isascii() and right[0].isalpha():
        return left + " " + right
    return left + right


def _ends_sentence(text: str) -> bool:
    stripped = text.rstrip(_CLOSERS)
    return bool(stripped) and stripped[-1] in _TERMINAL


def heading_level(text: str) -> int:
    if HEADING_1.match(text):
        return 1
    if HEADING_2.match(text):
        return 2
    return 0


def repair(pages: list[tuple[int | None, str]]) -> list[Paragraph]:
    """Turn raw pages into paragraphs of clean text, each with its page."""
    lines: list[tuple[str, int | None]] = []  # (clean line, page); "" = forced break
    blank_after: set[int] = set()  # indexes of lines followed by a blank line
    for start_page, raw in pages:
        page = start_page
        for raw_line in raw.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
            for marker in _MARKER.finditer(raw_line):
                kind, number = marker.group(1).replace(" ", ""), int(marker.group(2))
                if kind in ("上接", "接上") and page is None:
                    page = number + 1
                elif kind in ("下转", "转下"):
                    # what follows the marker in this file is printed on that page
                    lines.append(("", page))
                    page = number
            line = despace(_MARKER.sub("", raw_line))
            if line:
                lines.append((line, page))
            elif lines:
                blank_after.add(len(lines) - 1)
        lines.append(("", page))  # a new page of a PDF starts a new paragraph
    widths = [len(text) for text, _ in lines if text]
    width = statistics.median(widths) if widths else 0

    paragraphs: list[Paragraph] = []
    current: list[str] = []
    current_page: int | None = None

    def flush() -> None:
        if current:
            paragraphs.append(Paragraph("".join(current), current_page))
            current.clear()

    i = 0
    while i < len(lines):
        text, page = lines[i]
        if not text:  # forced break (page turn)
            flush()
            i += 1
            continue
        md = _MD_HEADING.match(text)
        level = heading_level(text)
        if md:
            flush()
            paragraphs.append(Paragraph(md.group(2).strip(), page, heading_level=min(len(md.group(1)), 2)))
            i += 1
            continue
        if level and (not current or _ends_sentence(current[-1]) or current[-1].endswith(("：", ":"))):
            flush()
            heading = text
            # A two-clause heading wraps onto a short last line with no full stop.
            if i + 1 < len(lines):
                nxt = lines[i + 1][0]
                if nxt and len(nxt) < 0.6 * width and not _ends_sentence(nxt) and not heading_level(nxt):
                    heading = _join(heading, nxt)
                    i += 1
            paragraphs.append(Paragraph(heading, page, heading_level=level))
            i += 1
            continue
        if not current:
            current_page = page
            current.append(text)
        else:
            current[-1] = _join(current[-1], text)
        # A line that ends a sentence well before the column edge, or before a
        # blank line, ends its paragraph. Blank lines elsewhere are print noise.
        if _ends_sentence(text) and (len(text) < 0.85 * width or i in blank_after):
            flush()
        i += 1
    flush()
    return paragraphs
