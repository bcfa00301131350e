"""`GET /healthz`: is the store readable, how many documents, can each offered backend be reached.

It answers without a key (for load balancers), so it says nothing an outsider could use: no
host, path, key or error text, only booleans, counts and the offered model labels. Results are
kept for `TTL_SECONDS`, so calling it often never hammers the store or a model server.
"""

from __future__ import annotations

import logging
import threading
import time

from chatbot.client_choices import BackendChoice
from chatbot.core import Chatbot

logger = logging.getLogger(__name__)

TTL_SECONDS = 15.0


class HealthCheck:
    def __init__(self, bot: Chatbot, choices: list[BackendChoice]) -> None:
        self.bot = bot
        self.choices = choices
        self._lock = threading.Lock()
        self._report: dict | None = None
        self._at = 0.0

    def report(self) -> dict:
        """The cached report, refreshed when older than TTL_SECONDS (blocking: run it in a thread)."""
        with self._lock:
            if self._report is None or time.monotonic() - self._at > TTL_SECONDS:
                self._report = self._check()
                self._at = time.monotonic()
            return self._report

    def _check(self) -> dict:
        store = {"ok": False, "documents": 0, "chunks": 0}
        try:
            self.bot.retriever.store.manifest_version()  # touches the store itself, not the cached index
            self.bot.retriever.refresh()
            store = {"ok": True, "documents": len(self.bot.retriever.documents), "chunks": len(self.bot.retriever)}
        except Exception:  # noqa: BLE001 - reported as not ok; the detail goes to the log
            logger.warning("health: the store cannot be read", exc_info=True)
        backends = [{"model": choice.label, "reachable": self._reachable(choice)} for choice in self.choices]
        return {"status": "ok" if store["ok"] else "error", "store": store, "backends": backends}

    def _reachable(self, choice: BackendChoice) -> bool:
        try:
            return bool(self.bot.backend(choice.backend, choice.model).health().reachable)
        except Exception:  # noqa: BLE001 - reported as unreachable; the detail goes to the log
            logger.warning("health: backend %s failed its check", choice.label, exc_info=True)
            return False
