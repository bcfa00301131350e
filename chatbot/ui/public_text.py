"""What a visitor may read of the core's notices and warnings. UI-free.

The core's messages are written for the operator: a backend failure names the
server's address and may carry part of its response body, a store error names
the data folder. Visitors get a plain sentence instead (the detail goes to the
server log), and any other notice loses URLs, host:port pairs, IP addresses and
file paths before it is shown.
"""

from __future__ import annotations

import re

from chatbot.answer.backends import BACKENDS
from chatbot.ui.strings import t

_BACKEND_ERROR = re.compile(r"^\s*\[(?:" + "|".join(map(re.escape, BACKENDS)) + r")\]")
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://\S+")
_HOST_PORT = re.compile(r"\b(?:localhost|[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*):\d{1,5}\b")
_IP = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")
_PATH = re.compile(r"(?:[A-Za-z]:)?(?:[\\/][\w.@~+-]+){2,}[\\/]?")
_HIDDEN = "…"
_TOO_SLOW = re.compile(r"took longer than|did not answer in time")


def redact(text: str) -> str:
    """`text` without URLs, host:port pairs, IP addresses or file paths."""
    for pattern in (_URL, _HOST_PORT, _IP, _PATH):
        text = pattern.sub(_HIDDEN, text)
    return text


def public_notice(text: str, lang: str) -> str:
    """A notice or warning as a visitor may see it: a backend failure becomes one plain sentence."""
    if _BACKEND_ERROR.match(text):
        return t(lang, "backend_too_slow" if _TOO_SLOW.search(text) else "backend_failed")
    return redact(text)


def public_notices(texts: list[str], lang: str) -> list[str]:
    """`public_notice` of each, without repeats, in order."""
    return list(dict.fromkeys(public_notice(text, lang) for text in texts))


__all__ = ["public_notice", "public_notices", "redact"]
