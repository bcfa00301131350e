"""Durable 👍/👎 feedback on answers, in SQLite; UI-free.

One row per answered turn (`turn_id` is unique: changing the thumb or adding a
comment updates the row). `export_jsonl` turns the rows into lines in the
format of the QA set (`tests/data/qa.jsonl`) so that a bad answer becomes a
regression case:

- 👍 on an answer: `answer` is the bot's answer (without [n] markers),
  `evidence` the cited quotes, `keywords` the figures that are both in the
  answer and in the evidence, `answerable: true`.
- 👍 on a refusal: `answerable: false`, `answer: null`, no evidence.
- 👎: the bot's answer must not become the gold answer, so `answer: null`,
  `evidence: []`, `keywords: []` and `answerable: true` (most 👎 are wrong or
  missing answers to answerable questions) with the tag `needs_review`: a
  person fills in answer/evidence (or flips `answerable`) before the item
  goes into the QA set.

What the bot said, the user's comment and the rest live under one extra key,
`feedback`, to drop when the item is promoted (the QA set also needs a
`split`, which a reviewer assigns).

The people who rate answers write names, phone numbers and addresses into their
questions, so the store keeps as little as it can: the rated turn and a bounded
window of the conversation before it (`context_turns`), for `retention_days`
(older rows are deleted when the store opens and at most an hour later on the
next write). Only staff read it (the staff page, `python -m chatbot feedback`).
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable
from contextlib import closing
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from chatbot.export import strip_markers
from chatbot.types import Answer, Message

if TYPE_CHECKING:
    from chatbot.settings import Settings

logger = logging.getLogger(__name__)

FILENAME = "feedback.sqlite3"
UP, DOWN = 1, 0  # st.feedback("thumbs") values
PURGE_EVERY_SECONDS = 3600.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    turn_id TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    rating INTEGER NOT NULL CHECK (rating IN (0, 1)),
    comment TEXT,
    question TEXT NOT NULL,
    standalone_question TEXT,
    answer TEXT,
    refused INTEGER,
    backend TEXT,
    model TEXT,
    fallback INTEGER,
    citations TEXT NOT NULL DEFAULT '[]',
    history TEXT NOT NULL DEFAULT '[]',
    lang TEXT
)
"""
_FIGURE = re.compile(r"\d+(?:[.,]\d+)*\s*(?:%|‰|万亿元|亿元|万元|元|万人次|万人|人次|万吨|万亩|亩|公里|千米|万平方米|平方米|个|家|所|项|人|户|座|条|次|倍|位)?")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class FeedbackStore:
    """Feedback rows in `<data_dir>/feedback.sqlite3` (or the given file).

    `context_turns`: earlier user/assistant turns kept with a rated turn (None: all).
    `retention_days`: rows created longer ago are deleted (None: kept).
    """

    def __init__(self, path: Path | str, *, context_turns: int | None = None, retention_days: int | None = None) -> None:
        path = Path(path)
        if path.suffix == "" or path.is_dir():
            path = path / FILENAME
        self.path = path
        self.context_turns = context_turns
        self.retention_days = retention_days
        self._lock = threading.Lock()
        self._purged_at = float("-inf")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(_SCHEMA)
            conn.commit()
        self.purge_expired()

    def _connect(self) -> closing[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=10)
        conn.row_factory = sqlite3.Row
        return closing(conn)

    # --- writing ----------------------------------------------------------
    def add(
        self,
        *,
        rating: int,
        question: str,
        answer: Answer | None = None,
        history: Iterable[Message | dict] = (),
        comment: str | None = None,
        turn_id: str | None = None,
        lang: str | None = None,
    ) -> int:
        """Record (or update, for the same `turn_id`) a thumb and an optional comment; returns the row id."""
        if rating not in (UP, DOWN):
            raise ValueError("rating must be 1 (👍) or 0 (👎)")
        turn_id = turn_id or uuid.uuid4().hex
        hist = [m.model_dump() if isinstance(m, Message) else {"role": m["role"], "content": m["content"]} for m in history]
        if self.context_turns is not None:
            hist = hist[-2 * self.context_turns :] if self.context_turns else []
        citations = [c.model_dump() for c in answer.citations] if answer else []
        comment = (comment or "").strip() or None
        now = _now()
        row = {
            "turn_id": turn_id,
            "created_at": now,
            "updated_at": now,
            "rating": rating,
            "comment": comment,
            "question": question,
            "standalone_question": answer.standalone_question if answer else None,
            "answer": answer.answer if answer else None,
            "refused": int(answer.refused) if answer else None,
            "backend": answer.backend if answer else None,
            "model": answer.model if answer else None,
            "fallback": int(answer.fallback) if answer else None,
            "citations": json.dumps(citations, ensure_ascii=False),
            "history": json.dumps(hist, ensure_ascii=False),
            "lang": lang,
        }
        columns = ", ".join(row)
        marks = ", ".join(f":{k}" for k in row)
        with self._lock, self._connect() as conn:
            conn.execute(
                f"INSERT INTO feedback ({columns}) VALUES ({marks}) "
                "ON CONFLICT(turn_id) DO UPDATE SET rating=excluded.rating, updated_at=excluded.updated_at, "
                "comment=COALESCE(excluded.comment, feedback.comment)",
                row,
            )
            conn.commit()
            found = conn.execute("SELECT id FROM feedback WHERE turn_id = ?", (turn_id,)).fetchone()
        if time.monotonic() - self._purged_at >= PURGE_EVERY_SECONDS:
            self.purge_expired()
        return int(found["id"])

    # --- deleting ---------------------------------------------------------
    def purge_expired(self) -> int:
        """Delete the rows older than `retention_days`; returns how many went."""
        self._purged_at = time.monotonic()
        if self.retention_days is None:
            return 0
        removed = self.purge(older_than_days=self.retention_days)
        if removed:
            logger.info("deleted %d feedback rows older than %d days", removed, self.retention_days)
        return removed

    def purge(self, *, older_than_days: float | None = None) -> int:
        """Delete rows created more than `older_than_days` ago, or every row (None); returns how many."""
        with self._lock, self._connect() as conn:
            if older_than_days is None:
                cursor = conn.execute("DELETE FROM feedback")
            else:
                cutoff = (datetime.now(timezone.utc) - timedelta(days=older_than_days)).isoformat(timespec="seconds")
                cursor = conn.execute("DELETE FROM feedback WHERE created_at < ?", (cutoff,))
            conn.commit()
            return cursor.rowcount

    # --- reading ----------------------------------------------------------
    def rows(self, *, limit: int | None = None) -> list[dict]:
        """All rows, oldest first (or the newest `limit`, newest first)."""
        with self._connect() as conn:
            if limit is not None:
                return [dict(r) for r in conn.execute("SELECT * FROM feedback ORDER BY id DESC LIMIT ?", (limit,))]
            return [dict(r) for r in conn.execute("SELECT * FROM feedback ORDER BY id")]

    def __len__(self) -> int:
        with self._connect() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM feedback").fetchone()[0])

    def export_items(self) -> list[dict]:
        return [_qa_item(row) for row in self.rows()]

    def export_jsonl(self, path: Path | str | None = None) -> list[str]:
        """QA-set lines, one per feedback row; also written to `path` if given."""
        lines = [json.dumps(item, ensure_ascii=False) for item in self.export_items()]
        if path is not None:
            Path(path).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        return lines


def open_feedback_store(settings: Settings) -> FeedbackStore:
    """The feedback store under the settings' data dir, with their context window and retention."""
    return FeedbackStore(
        Path(settings.data_dir) / FILENAME,
        context_turns=settings.feedback_context_turns,
        retention_days=settings.feedback_retention_days,
    )


def _keywords(answer: str, evidence: list[str]) -> list[str]:
    joined = "".join(evidence)
    seen: list[str] = []
    for match in _FIGURE.finditer(answer):
        figure = match.group(0).strip()
        if figure and figure in joined and figure not in seen:
            seen.append(figure)
    return seen


def _qa_item(row: dict) -> dict:
    citations = json.loads(row["citations"] or "[]")
    history = json.loads(row["history"] or "[]")
    up = row["rating"] == UP
    refused = bool(row["refused"]) if row["refused"] is not None else row["answer"] is None
    tags = ["feedback", "thumbs_up" if up else "thumbs_down"]
    if history:
        tags.append("followup")
    if up and not refused:
        answer_text = strip_markers(row["answer"] or "")
        evidence = list(dict.fromkeys(c["quote"] for c in citations if c.get("quote")))
        item_answer, answerable, keywords = answer_text, True, _keywords(answer_text, evidence)
    elif up:
        item_answer, answerable, evidence, keywords = None, False, [], []
        tags.append("unanswerable")
    else:
        item_answer, answerable, evidence, keywords = None, True, [], []
        tags.append("needs_review")
    return {
        "id": f"fb{row['id']:04d}",
        "question": row["question"],
        "answer": item_answer,
        "evidence": evidence,
        "keywords": keywords,
        "answerable": answerable,
        "history": history,
        "tags": tags,
        "feedback": {
            "rating": "up" if up else "down",
            "comment": row["comment"],
            "bot_answer": row["answer"],
            "bot_refused": refused,
            "standalone_question": row["standalone_question"],
            "backend": row["backend"],
            "model": row["model"],
            "fallback": bool(row["fallback"]) if row["fallback"] is not None else None,
            "citations": citations,
            "turn_id": row["turn_id"],
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
            "lang": row["lang"],
        },
    }


__all__ = ["DOWN", "FILENAME", "UP", "FeedbackStore", "open_feedback_store"]
