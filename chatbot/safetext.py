"""Control characters out of text that reaches a terminal or a page.

A document, a metadata file or a file name can carry ANSI escape sequences
(`ESC [ 2 J`, `ESC ] ... BEL`) or other C0/C1 controls. Printed raw they move
the cursor, recolour or clear a terminal, or retitle its window. Ingest
strips them from document text at load; the CLI strips them from everything
it prints, so an older store cannot inject them either.
"""

from __future__ import annotations

import re

# ESC-introduced sequences: CSI (ESC [ ... final byte), OSC/DCS/PM/APC/SOS strings (only when
# terminated by BEL or ESC \ within one line, so an unterminated one cannot swallow the text
# after it), and two-byte escapes (ESC + one character). The 8-bit forms are covered too.
_ESCAPE_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d-\x9f])[^\x07\x1b\x9c\n]{0,512}(?:\x07|\x1b\\|\x9c)"
    r"|\x1b[ -~]?"
)
# C0 controls except tab and newline, DEL, C1 controls, and the bidirectional overrides and
# isolates that make a terminal show text in another order than it is stored.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_LINE_BREAKS = re.compile(r"\r\n?|[\x0b\x0c\x85\u2028\u2029]")


def strip_controls(text: str) -> str:
    """Text without escape sequences or control characters; keeps newline and tab.

    Carriage returns, form feeds and Unicode line separators become newlines first, so a
    CRLF file or a PDF page break keeps its line structure.
    """
    text = _LINE_BREAKS.sub("\n", text)
    return _CONTROL.sub("", _ESCAPE_SEQUENCE.sub("", text))


def escape_controls(text: str) -> str:
    """A name shown on one line: every control character (newline included) as a visible escape."""
    return re.sub(
        r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]",
        lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}",
        text,
    )
