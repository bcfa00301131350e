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


@dataclass
class SessionState:
    turns: list[Turn] = field(default_factory=list)
    pending_question: str | None = None
    lang: str = "zh"
    backend: str = "extractive"
    model: str = ""
    base_url: str = ""
    api_key: str = ""
    top_k: int = 5
    conversation: int = 0  # bumped by "new conversation"

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

    def new_conversation(self) -> None:
        self.turns.clear()
        self.pending_question = None
        self.conversation += 1

    def ask(self, question: str) -> None:
        self.pending_question = question

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
