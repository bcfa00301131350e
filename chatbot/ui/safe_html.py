"""HTML for highlighted passages, built only from `html.escape`d text. UI-free.

Nothing from the model or the documents reaches the browser as markup: every
untrusted string goes through `html.escape` here, and the only tags are the
fixed ones written in this module.
"""

from __future__ import annotations

import html
import re

from chatbot.safetext import strip_controls
from chatbot.types import Passage

HIT_ID = "zjj-cited"
DOC_ID = "zjj-doc"

_WS = re.compile(r"\s+")
_TRIM = "。！？；;.!?，, \n\t“”\"'"


def esc(text: object) -> str:
    return html.escape(strip_controls(str(text)), quote=True)


def find_quote(text: str, quote: str) -> tuple[int, int] | None:
    """Where `quote` is in `text` (tolerating whitespace and end punctuation), or None."""
    if not quote or not text:
        return None
    for candidate in (quote, quote.strip(), quote.strip().strip(_TRIM)):
        if candidate:
            i = text.find(candidate)
            if i >= 0:
                return i, i + len(candidate)
    # whitespace-insensitive: map squashed positions back to the original
    squashed_quote = _WS.sub("", quote).strip(_TRIM)
    if not squashed_quote:
        return None
    positions = [i for i, ch in enumerate(text) if not ch.isspace()]
    squashed = "".join(text[i] for i in positions)
    j = squashed.find(squashed_quote)
    if j < 0:
        return None
    return positions[j], positions[j + len(squashed_quote) - 1] + 1


def highlight(text: str, quote: str, *, mark_id: str | None = None, focus: str = "") -> str:
    """`text` escaped, with `quote` wrapped in <mark> (if it is found) and `focus` emphasised inside it."""
    span = find_quote(text, quote)
    if span is None:
        return esc(text)
    start, end = span
    id_attr = f' id="{esc(mark_id)}"' if mark_id else ""
    return (
        esc(text[:start])
        + f'<mark{id_attr} style="background:#ffe58f;color:inherit;padding:0 .1em;border-radius:2px">'
        + _emphasise(text[start:end], focus)
        + "</mark>"
        + esc(text[end:])
    )


def _emphasise(quote: str, focus: str) -> str:
    """`quote` escaped, with the answer's own clause (`focus`, if it is inside) in bold on a deeper yellow."""
    span = find_quote(quote, focus) if focus and focus.strip() != quote.strip() else None
    if span is None:
        return esc(quote)
    start, end = span
    return (
        esc(quote[:start])
        + '<strong style="background:#fadb14;color:inherit">'
        + esc(quote[start:end])
        + "</strong>"
        + esc(quote[end:])
    )


_MARKERS = re.compile(r"\[\d+\]")


def answer_focus(quote: str, answer_sentences: list[str]) -> str:
    """The answer's own words inside the cited sentence: the first answer sentence citing it that the quote
    holds (its [n] markers left out), a clause of the quote when the answer gave one; "" when none is inside."""
    for sentence in answer_sentences:
        words = _MARKERS.sub("", sentence).strip().strip(_TRIM)
        if words and find_quote(quote, words):
            return words
    return ""


def passage_html(text: str, quote: str, focus: str = "") -> str:
    """A citation card's passage: the chunk text with the cited sentence highlighted, the answering clause in bold."""
    return (
        '<div style="font-size:0.95rem;line-height:1.75;word-break:break-word;overflow-wrap:anywhere">'
        + highlight(text, quote, focus=focus)
        + "</div>"
    )


def document_html(chunks: list[Passage], cited_chunk_id: str, quote: str, *, title: str = "", label: str = "") -> str:
    """The whole document in reading order; the cited chunk boxed, its quote marked and anchored.

    The scrolling box is a labelled, focusable region, so keyboard users can scroll it too.
    """
    aria = f' aria-label="{esc(label or title)}"' if (label or title) else ""
    parts = [
        f'<div id="{DOC_ID}" role="region" tabindex="0"{aria} style="max-height:65vh;overflow-y:auto;padding:0 .5rem;'
        'line-height:1.8;font-size:0.97rem;word-break:break-word;overflow-wrap:anywhere">'
    ]
    if title:
        parts.append(f'<h3 style="margin:.2rem 0 .8rem 0">{esc(title)}</h3>')
    last_section, last_end, open_paragraph = None, None, False
    for chunk in chunks:
        # Chunks that continue each other in the source (a long sentence cut at a clause end)
        # flow in one paragraph, as printed; a new section or a gap starts a new paragraph.
        continues = chunk.section == last_section and last_end is not None and chunk.start == last_end
        if not continues and open_paragraph:
            parts.append("</p>")
            open_paragraph = False
        if chunk.section and chunk.section != last_section:
            parts.append(f'<p style="margin:1rem 0 .3rem 0;color:#4b5058;font-weight:600;font-size:.9rem">{esc(chunk.section)}</p>')
        last_section, last_end = chunk.section, chunk.end
        if not open_paragraph:
            parts.append('<p style="margin:.3rem 0">')
            open_paragraph = True
        if chunk.chunk_id == cited_chunk_id:
            body = highlight(chunk.text, quote, mark_id=HIT_ID)
            anchor = "" if f'id="{HIT_ID}"' in body else f' id="{HIT_ID}"'
            parts.append(
                f'<span{anchor} style="background:#fffbe6;box-shadow:inset 0 -2px 0 #faad14;padding:.1rem 0">{body}</span>'
            )
        else:
            parts.append(esc(chunk.text))
    if open_paragraph:
        parts.append("</p>")
    parts.append("</div>")
    return "".join(parts)


# Fixed script (no untrusted text in it): scroll the cited passage into view.
# Its text must not contain "<" followed by a word character: the frontend's
# DOMPurify drops such a <script> as an mXSS attempt.
SCROLL_SCRIPT = (
    "<script>(function(){var n=0;function go(){var el=document.getElementById('" + HIT_ID + "');"
    "if(el){el.scrollIntoView({block:'center'});}else if(20 > n++){setTimeout(go,100);}}"
    "setTimeout(go,150);})();</script>"
)
