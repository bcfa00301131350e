"""The text shown while an answer streams; UI-free.

The core may withdraw what it streamed (`Event("reset", None)`: a model's answer
replaced by the checked offline answer); the withdrawn words must leave the
screen at once, not linger until the final answer is drawn.
"""

from __future__ import annotations

from dataclasses import dataclass

from chatbot.core import Event


@dataclass
class StreamedText:
    text: str = ""

    def feed(self, event: Event) -> bool:
        """Take a "token" or "reset" event; True if the text on screen must change."""
        if event.kind == "token":
            self.text += str(event.data)
            return True
        if event.kind == "reset":
            self.text = ""
            return True
        return False
