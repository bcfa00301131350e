"""The staff page, behind the password whose hash is `CHATBOT_STAFF_PASSWORD_HASH`.

Staff may try any backend, model, URL and key for their own session (a URL they
type is used only with a key they type, never with the operator's key), see the
store and every backend's health in detail, and review, export and purge the
visitors' feedback. Failed logins back off per session and per process.
"""

from __future__ import annotations

import logging
import math
from urllib.parse import urlsplit

import streamlit as st

from chatbot.answer.backends import BACKENDS
from chatbot.export import escape_markdown
from chatbot.feedback import FeedbackStore
from chatbot.settings import Settings, get_settings
from chatbot.staff_auth import attempt_login
from chatbot.ui.resources import _staff_health, feedback_store, load_chatbot, login_backoff, staff_health
from chatbot.ui.state import SessionState, StaffBackend, get_session
from chatbot.ui.strings import t

logger = logging.getLogger(__name__)
RECENT_ROWS = 50


def login(session: SessionState, encoded: str, lang: str) -> None:
    with st.form("staff_login", border=False):
        password = st.text_input(t(lang, "staff_password"), type="password", key="w_staff_password")
        submitted = st.form_submit_button(t(lang, "staff_login"))
    if not submitted:
        return
    result = attempt_login(password, encoded, session=session.login_backoff, process=login_backoff())
    if result.ok:
        session.staff = True
        logger.info("staff login")
        st.rerun()
    elif result.wait_seconds > 0:
        st.warning(t(lang, "staff_wait", seconds=math.ceil(result.wait_seconds)), icon=":material/timer:")
    else:
        st.error(t(lang, "staff_wrong"))


def own_backend(session: SessionState, settings: Settings, lang: str) -> None:
    st.subheader(t(lang, "staff_my_backend"))
    names = list(BACKENDS)
    with st.form("staff_backend", border=True):
        backend = st.selectbox(t(lang, "backend"), names, key="w_staff_backend")
        model = st.text_input(t(lang, "model"), key="w_staff_model").strip()
        base_url = st.text_input(t(lang, "base_url"), key="w_staff_url", help=t(lang, "staff_url_help")).strip()
        api_key = st.text_input(t(lang, "api_key"), type="password", key="w_staff_key").strip()
        st.caption(t(lang, "staff_url_help"))
        use = st.form_submit_button(t(lang, "staff_use_backend"))
    if use:
        if base_url and (urlsplit(base_url).scheme not in ("http", "https") or not urlsplit(base_url).hostname):
            st.error("http:// or https:// URL expected.")
        else:
            session.staff_backend = StaffBackend(backend, model, base_url, api_key)
    own = session.staff_backend
    if own is not None:
        st.caption(escape_markdown(t(lang, "staff_backend_active", backend=own.backend, model=own.model, url=own.base_url)))
        state, detail = staff_health(str(settings.data_dir), own)
        st.caption(t(lang, f"status_detail_{state}", detail=escape_markdown(detail)))
        if st.button(t(lang, "staff_clear_backend"), key="w_staff_clear"):
            session.staff_backend = None
            st.rerun()


def health(settings: Settings, lang: str) -> None:
    st.subheader(t(lang, "staff_health"))
    if st.button(t(lang, "staff_recheck"), key="w_staff_recheck", icon=":material/refresh:"):
        _staff_health.clear()
    configured = [StaffBackend(name) for name in BACKENDS]
    configured += [StaffBackend(c.backend, c.model or "") for c in settings.public_choices if c.model]
    for choice in configured:
        state, detail = staff_health(str(settings.data_dir), choice)
        name = f"{choice.backend}:{choice.model}" if choice.model else choice.backend
        st.caption(f"**{escape_markdown(name)}** " + t(lang, f"status_detail_{state}", detail=escape_markdown(detail)))


def store_details(settings: Settings, lang: str) -> None:
    st.subheader(t(lang, "staff_store"))
    where = f"Chroma {settings.chroma_host}:{settings.chroma_port}" if settings.uses_chroma_server else str(settings.data_dir)
    st.caption(escape_markdown(t(lang, "staff_store_where", where=where)))
    try:
        bot = load_chatbot(str(settings.data_dir))
    except Exception as exc:  # noqa: BLE001 - staff see the detail visitors do not
        st.error(escape_markdown(f"{type(exc).__name__}: {exc}"))
        return
    st.caption(t(lang, "store_chunks", n=len(bot.retriever)) + " · " + t(lang, "store_embedder", id=escape_markdown(bot.embedder.id)))
    rows = [
        {"source": source, "title": meta.get("title"), "city": meta.get("city"), "year": meta.get("year")}
        for source, meta in bot.retriever.documents.items()
    ]
    st.dataframe(rows, hide_index=True, width="stretch")


def feedback(settings: Settings, lang: str) -> None:
    st.subheader(t(lang, "staff_feedback"))
    try:
        store: FeedbackStore = feedback_store(str(settings.data_dir))
    except Exception as exc:  # noqa: BLE001
        st.error(escape_markdown(f"{type(exc).__name__}: {exc}"))
        return
    st.caption(t(lang, "feedback_count", n=len(store), days=settings.feedback_retention_days))
    st.download_button(
        t(lang, "export_feedback"), data=lambda: "".join(line + "\n" for line in store.export_jsonl()),
        file_name="feedback_qa.jsonl", mime="application/jsonl", key="w_staff_export", icon=":material/download:",
        on_click="ignore",
    )
    recent = [
        {"created_at": r["created_at"], "rating": "👍" if r["rating"] else "👎", "question": r["question"], "comment": r["comment"], "answer": r["answer"]}
        for r in store.rows(limit=RECENT_ROWS)
    ]
    with st.expander(t(lang, "recent_feedback")):
        st.dataframe(recent, hide_index=True, width="stretch")
    with st.form("staff_purge_old", border=False):
        days = st.number_input(t(lang, "purge_older"), min_value=0, max_value=3650, value=settings.feedback_retention_days, key="w_staff_days")
        if st.form_submit_button(t(lang, "purge_older_button")):
            st.success(t(lang, "purged", n=store.purge(older_than_days=days)))
    with st.form("staff_purge_all", border=False):
        sure = st.checkbox(t(lang, "purge_all_confirm"), key="w_staff_sure")
        if st.form_submit_button(t(lang, "purge_all_button"), type="primary") and sure:
            st.success(t(lang, "purged", n=store.purge()))


def main() -> None:
    session = get_session()
    settings = get_settings()
    lang = session.lang
    st.title(t(lang, "staff_title"))
    if settings.staff_password_hash is None:  # the page is not in the navigation then; never reached
        return
    if not session.staff:
        login(session, settings.staff_password_hash.get_secret_value(), lang)
        return
    if st.button(t(lang, "staff_logout"), key="w_staff_logout", icon=":material/logout:"):
        session.staff, session.staff_backend = False, None
        st.rerun()
    own_backend(session, settings, lang)
    health(settings, lang)
    store_details(settings, lang)
    feedback(settings, lang)
