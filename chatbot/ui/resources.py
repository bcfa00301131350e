"""Process-wide resources of the web app, each built once (`st.cache_resource`) or cached briefly.

Nothing here takes an address, a key or a model name from a visitor: the public
Chatbot and the public health checks use the operator's settings and the
operator's list of choices only. A staff member's own backend (a URL and a key
they typed) gets its own Chatbot, keyed by what they typed.
"""

from __future__ import annotations

import logging
from pathlib import Path

import streamlit as st
from pydantic import SecretStr

from chatbot.answer.backends import get_backend
from chatbot.client_choices import BackendChoice
from chatbot.core import Chatbot
from chatbot.errors import ChatbotError
from chatbot.feedback import FeedbackStore, open_feedback_store
from chatbot.launch import open_chatbot
from chatbot.settings import Settings, get_settings
from chatbot.staff_auth import Backoff
from chatbot.ui.state import StaffBackend

logger = logging.getLogger(__name__)

PUBLIC_HEALTH_SECONDS = 60
STAFF_HEALTH_SECONDS = 15


def settings_for(data_dir: str) -> Settings:
    settings = get_settings()
    if str(settings.data_dir) != data_dir:
        settings = settings.model_copy(update={"data_dir": Path(data_dir)})
    return settings


@st.cache_resource(show_spinner=False)
def load_chatbot(data_dir: str) -> Chatbot:
    """The process-wide Chatbot for this data dir (ingests the seeds on a fresh install)."""
    return open_chatbot(settings_for(data_dir), serves_visitors=True)


@st.cache_resource(show_spinner=False)
def feedback_store(data_dir: str) -> FeedbackStore:
    """Opening it deletes the rows past the retention period."""
    return open_feedback_store(settings_for(data_dir))


@st.cache_resource(show_spinner=False)
def login_backoff() -> Backoff:
    """Failed staff logins across every session of this process."""
    return Backoff(free=10)


@st.cache_resource(show_spinner=False)
def note_staff_page_off() -> bool:
    """Logged once per process: the staff page needs CHATBOT_STAFF_PASSWORD_HASH."""
    logger.warning("CHATBOT_STAFF_PASSWORD_HASH is not set: the web app has no staff page (python -m chatbot hash-password)")
    return True


@st.cache_data(ttl=PUBLIC_HEALTH_SECONDS, show_spinner=False)
def public_health(data_dir: str, label: str) -> bool:
    """Whether one of the operator's choices answers; cached per choice, so visitors cannot add checks."""
    settings = settings_for(data_dir)
    choice = next((c for c in settings.public_choices if c.label == label), None)
    if choice is None:
        return False
    try:
        health = get_backend(choice.backend, settings, choice.model).health()
    except Exception as exc:  # noqa: BLE001 - a status line must never crash the page
        logger.warning("health check of %s failed: %s", label, exc)
        return False
    if not health.reachable:
        logger.warning("backend %s is unavailable: %s", label, health.detail)
    return health.reachable


def staff_settings(base: Settings, choice: StaffBackend) -> Settings:
    """The operator's settings with a staff member's URL and key: a typed URL never gets the operator's key."""
    update: dict[str, object] = {}
    if choice.backend == "openai":
        if choice.base_url:
            update["openai_base_url"] = choice.base_url
            update["openai_api_key"] = SecretStr(choice.api_key) if choice.api_key else None
        elif choice.api_key:
            update["openai_api_key"] = SecretStr(choice.api_key)
    elif choice.backend == "ollama" and choice.base_url:
        update["ollama_host"] = choice.base_url
    return base.model_copy(update=update) if update else base


def staff_chatbot(data_dir: str, choice: StaffBackend) -> Chatbot:
    """A Chatbot for a staff member's own backend (same embedder and indexes as the public one)."""
    return _staff_chatbot(data_dir, choice.backend, choice.model, choice.base_url, choice.api_key)


@st.cache_resource(show_spinner=False, max_entries=8)
def _staff_chatbot(data_dir: str, backend: str, model: str, base_url: str, api_key: str) -> Chatbot:
    choice = StaffBackend(backend, model, base_url, api_key)
    base = load_chatbot(data_dir)
    settings = staff_settings(base.settings, choice)
    if settings is base.settings:
        return base
    return Chatbot(settings, embedder=base.embedder, retriever=base.retriever)


def staff_health(data_dir: str, choice: StaffBackend) -> tuple[str, str]:
    """("ok" | "down" | "na", detail) of a backend, for staff only; re-checked every 15 s."""
    return _staff_health(data_dir, choice.backend, choice.model, choice.base_url, choice.api_key)


@st.cache_data(ttl=STAFF_HEALTH_SECONDS, show_spinner=False)
def _staff_health(data_dir: str, backend: str, model: str, base_url: str, api_key: str) -> tuple[str, str]:
    choice = StaffBackend(backend, model, base_url, api_key)
    try:
        settings = staff_settings(settings_for(data_dir), choice)
        health = get_backend(choice.backend, settings, choice.model or None).health()
    except ImportError as exc:
        return "na", str(exc)
    except ChatbotError as exc:
        return "down", str(exc)
    except Exception as exc:  # noqa: BLE001
        logger.exception("health check of %s failed", choice.backend)
        return "down", type(exc).__name__
    detail = health.detail + (f" ({health.model})" if health.model else "")
    return ("ok" if health.reachable else "down"), detail


def public_choice(settings: Settings, label: str) -> BackendChoice:
    """The operator's choice with this label, or the offline answer."""
    return next((c for c in settings.public_choices if c.label == label), settings.public_choices[0])
