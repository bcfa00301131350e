"""The figures table as aligned plain text for a terminal (CJK characters count two columns)."""

from __future__ import annotations

import unicodedata

from chatbot.report_figures.table import TableRow

KIND_LABELS = {"target": "目标 target", "result": "完成 result", "fact": "情况 fact"}
_HEADERS = ("报告 report", "年份 year", "类型 kind", "指标 indicator", "数值 value", "章节 section")
_MAX_INDICATOR = 28
_MAX_SECTION = 24


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _cut(text: str, limit: int) -> str:
    if width(text) <= limit:
        return text
    out = ""
    for ch in text:
        if width(out + ch) > limit - 1:
            return out + "…"
        out += ch
    return out


def value_text(row: TableRow) -> str:
    """"7.5% 左右", "1130万元", "第2位"."""
    return row.written + (f" {row.qualifier}" if row.qualifier else "")


def last_heading(section: str) -> str:
    return section.split(" › ")[-1] if section else ""


def text_table(rows: list[TableRow]) -> str:
    cells = [
        (
            row.report,
            str(row.year or ""),
            KIND_LABELS.get(row.kind, row.kind),
            _cut((row.indicator + row.relation).replace("\n", " "), _MAX_INDICATOR),
            value_text(row) + ("" if row.verified else f" ⚠ {row.reason}"),
            _cut(last_heading(row.section), _MAX_SECTION),
        )
        for row in rows
    ]
    widths = [max([width(h)] + [width(c[i]) for c in cells]) for i, h in enumerate(_HEADERS)]

    def line(values) -> str:  # noqa: ANN001
        return "  ".join(v + " " * (w - width(v)) for v, w in zip(values, widths)).rstrip()

    return "\n".join([line(_HEADERS), line(["-" * w for w in widths]), *(line(c) for c in cells)])
