"""Opening a ready `Chatbot` for an entry point (CLI, Streamlit, HTTP API, evaluation).

On a fresh install the store is empty; the entry points that a newcomer starts first ingest
the seeds then. This lives here, at the edge, so that the core never imports `ingest`:
data flows from ingest into the store, and the core only reads the store.
"""

from __future__ import annotations

import logging

from chatbot.core import Chatbot
from chatbot.errors import StoreNotReadyError
from chatbot.retrieve.embedders import get_embedder
from chatbot.settings import Settings, get_settings

logger = logging.getLogger(__name__)


def open_chatbot(settings: Settings | None = None, *, auto_ingest: bool = True, progress: bool = False,
                 serves_visitors: bool = False) -> Chatbot:
    """A ready Chatbot; on a fresh install (no store yet) the seeds are ingested first.

    `serves_visitors`: the web app and the HTTP API pass it. They never record model exchanges,
    whatever the environment says: CHATBOT_RECORD_TO is a developer's aid, and a cassette holds
    every visitor's question verbatim.
    """
    settings = settings or get_settings()
    if serves_visitors:
        settings = without_recording(settings)
    embedder = get_embedder(settings)
    try:
        return Chatbot(settings, embedder=embedder)
    except StoreNotReadyError:
        if not auto_ingest or not settings.seeds_dir.is_dir():
            raise
        from ingest.pipeline import ingest

        logger.warning("no store yet: ingesting %s", settings.seeds_dir)
        ingest([settings.seeds_dir], settings, progress=progress, embedder=embedder)
        return Chatbot(settings, embedder=embedder)


def without_recording(settings: Settings) -> Settings:
    """The settings with CHATBOT_RECORD_TO switched off (logged once per call), for an edge that serves visitors."""
    if settings.record_to is None:
        return settings
    logger.warning("CHATBOT_RECORD_TO is ignored here: the web app and the HTTP API never record visitors' questions")
    return settings.model_copy(update={"record_to": None})
