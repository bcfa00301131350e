"""The one typed accessor for per-session state.

All app data of a browser session lives in a single `SessionState` object
stored under one key of `st.session_state`; nothing else in the app reads or
writes `st.session_state` directly (widgets only use keys for their identity,
and their values are copied in here from their return values).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import streamlit as st

from chatbot.ratelimit import SlidingWindow
from chatbot.staff_auth import Backoff
from chatbot.types import Answer, Message

_KEY = "_zjj_session"


@dataclass
class Turn:
    question: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    answer: Answer | None = None
    notices: list[str] = field(default_factory=list)
    error: str | None = None
    feedback: int | None = None  # what was stored: 1 👍, 0 👎
    comment_saved: bool = False
    rate_limited: bool = False  # refused for asking too fast: the question is kept to ask again


@dataclass(frozen=True)
class StaffBackend:
    """A backend a staff member tries for their own session. A typed URL goes only with a typed key."""

    backend: str
    model: str = ""
    base_url: str = ""
    api_key: str = ""


@dataclass
class SessionState:
    turns: list[Turn] = field(default_factory=list)
    pending_question: str | None = None
    lang: str = "zh"
    large_text: bool = False  # the large-text mode, switched from the chat page
    choice: str = "extractive"  # the label of one of the operator's public choices
    top_k: int = 5
    conversation: int = 0  # bumped by "new conversation"
    questions: SlidingWindow | None = None  # questions per minute, made with the setting on first use
    # staff only
    staff: bool = False
    staff_backend: StaffBackend | None = None
    login_backoff: Backoff = field(default_factory=Backoff)

    def keep_last(self, limit: int) -> None:
        """Drop the oldest turns beyond `limit`."""
        if len(self.turns) > limit:
            del self.turns[: len(self.turns) - limit]

    def history(self, before: Turn | None = None) -> list[Message]:
        """user/assistant messages of the answered turns (before `before`, if given)."""
        messages: list[Message] = []
        for turn in self.turns:
            if turn is before:
                break
            if turn.answer is None:
                continue
            messages.append(Message(role="user", content=turn.question))
            messages.append(Message(role="assistant", content=turn.answer.answer))
        return messages

    def toggle_large_text(self) -> None:
        self.large_text = not self.large_text

    def new_conversation(self) -> None:
        self.turns.clear()
        self.pending_question = None
        self.conversation += 1

    def ask(self, question: str) -> None:
        self.pending_question = question

    def retry(self, turn: Turn) -> None:
        """Ask a refused turn's question again, in place of the refused turn."""
        if turn in self.turns:
            self.turns.remove(turn)
        self.pending_question = turn.question

    def take_pending(self) -> str | None:
        question, self.pending_question = self.pending_question, None
        return question


def get_session() -> SessionState:
    """This browser session's state (created on first use)."""
    state = st.session_state.get(_KEY)
    if not isinstance(state, SessionState):
        state = SessionState()
        st.session_state[_KEY] = state
    return state
