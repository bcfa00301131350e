"""Streamlit chat UI: `streamlit run chatbot/app.py`.

Streamlit lives only here and in `chatbot/ui/`. The Chatbot (embedder, store,
indexes) is loaded once per process with `st.cache_resource` and shared
read-only; each browser session keeps its own conversation in `SessionState`.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

# `streamlit run chatbot/app.py` puts chatbot/ itself first on sys.path, where
# chatbot/types.py would shadow the standard library's `types`: use the project root.
_HERE = Path(__file__).resolve().parent
_ROOT = _HERE.parent
sys.path[:] = [p for p in sys.path if Path(os.path.abspath(p or ".")) != _HERE]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

import streamlit as st  # noqa: E402

from chatbot.backends import BACKENDS, get_backend  # noqa: E402
from chatbot.core import Chatbot, Event, open_chatbot  # noqa: E402
from chatbot.errors import ChatbotError, InputError  # noqa: E402
from chatbot.export import conversation_markdown, escape_markdown  # noqa: E402
from chatbot.feedback import FeedbackStore  # noqa: E402
from chatbot.settings import get_settings  # noqa: E402
from chatbot.types import Answer, Passage  # noqa: E402
from chatbot.ui.state import SessionState, Turn, get_session  # noqa: E402
from chatbot.ui.strings import EXAMPLES, LANGS, report_heading, t  # noqa: E402
from chatbot.ui.views import render_answer, render_standalone, render_turn  # noqa: E402

logger = logging.getLogger("chatbot.app")


# --- shared resources -------------------------------------------------------
@st.cache_resource(show_spinner=False)
def load_chatbot(data_dir: str) -> Chatbot:
    """The process-wide Chatbot for this data dir (ingests the seeds on a fresh install)."""
    settings = get_settings()
    if str(settings.data_dir) != data_dir:
        settings = settings.model_copy(update={"data_dir": Path(data_dir)})
    return open_chatbot(settings)


@st.cache_resource(show_spinner=False, max_entries=32)
def chatbot_for(data_dir: str, backend: str, base_url: str, api_key: str) -> Chatbot:
    """A Chatbot whose settings carry the base URL/key chosen in the UI (same embedder and indexes)."""
    base = load_chatbot(data_dir)
    update: dict[str, object] = {}
    if backend == "openai":
        if base_url:
            update["openai_base_url"] = base_url
        if api_key:
            from pydantic import SecretStr

            update["openai_api_key"] = SecretStr(api_key)
    elif backend == "ollama" and base_url:
        update["ollama_host"] = base_url
    if not update:
        return base
    return Chatbot(base.settings.model_copy(update=update), embedder=base.embedder, retriever=base.retriever)


@st.cache_resource(show_spinner=False)
def feedback_store(data_dir: str) -> FeedbackStore:
    return FeedbackStore(Path(data_dir))


@st.cache_data(ttl=15, show_spinner=False)
def backend_health(data_dir: str, backend: str, model: str, base_url: str, api_key: str) -> tuple[str, str]:
    """("ok" | "down" | "na", detail) for the sidebar status; re-checked every 15 s."""
    try:
        bot = chatbot_for(data_dir, backend, base_url, api_key)
        health = get_backend(backend, bot.settings, model or None).health()
    except ImportError as exc:
        return "na", str(exc)
    except ChatbotError as exc:
        return "down", str(exc)
    except Exception as exc:  # noqa: BLE001 - a status line must never crash the page
        logger.exception("health check of %s failed", backend)
        return "down", type(exc).__name__
    detail = health.detail + (f" ({health.model})" if health.model else "")
    return ("ok" if health.reachable else "down"), detail


# --- sidebar ----------------------------------------------------------------
def default_model(backend: str) -> str:
    settings = get_settings()
    if backend == "openai":
        return settings.model or settings.openai_model
    if backend == "ollama":
        return settings.model or settings.ollama_model
    return ""


def default_url(backend: str) -> str:
    settings = get_settings()
    if backend == "openai":
        return settings.openai_base_url or ""
    if backend == "ollama":
        return settings.ollama_host
    return ""


def sidebar(session: SessionState, bot: Chatbot | None) -> None:
    settings = get_settings()
    with st.sidebar:
        session.lang = st.radio(
            t("zh", "language"), list(LANGS), format_func=LANGS.__getitem__, horizontal=True, key="w_lang",
            index=list(LANGS).index(session.lang),
        )
        lang = session.lang
        if st.button(t(lang, "new_chat"), key="w_new", icon=":material/add_comment:", width="stretch"):
            session.new_conversation()

        st.subheader(t(lang, "examples"))
        for i, example in enumerate(EXAMPLES):
            st.button(example, key=f"w_ex_{i}", on_click=session.ask, args=(example,), width="stretch")

        st.subheader(t(lang, "settings"))
        names = list(BACKENDS)
        session.backend = st.selectbox(
            t(lang, "backend"), names, index=names.index(session.backend) if session.backend in names else 0,
            format_func=lambda name: t(lang, f"backend_{name}") if name in ("extractive", "openai", "ollama") else name,
            key="w_backend",
        )
        if session.backend != "extractive":
            session.model = st.text_input(t(lang, "model"), value=default_model(session.backend), key=f"w_model_{session.backend}").strip()
            session.base_url = st.text_input(t(lang, "base_url"), value=default_url(session.backend), key=f"w_url_{session.backend}").strip()
            if session.backend == "openai":
                session.api_key = st.text_input(t(lang, "api_key"), type="password", key="w_api_key").strip()
            else:
                session.api_key = ""
        else:
            session.model, session.base_url, session.api_key = "", "", ""
        state, detail = backend_health(str(settings.data_dir), session.backend, session.model, session.base_url, session.api_key)
        st.caption(t(lang, f"status_{state}", detail=escape_markdown(detail)))
        session.top_k = st.slider(t(lang, "top_k"), 1, settings.max_top_k, value=min(settings.top_k, settings.max_top_k), key="w_top_k")

        st.subheader(t(lang, "store"))
        if bot is not None:
            docs = bot.retriever.documents
            st.caption(t(lang, "store_docs", n=len(docs)))
            for meta in docs.values():
                title = meta.get("title") if lang == "zh" else (meta.get("title_en") or meta.get("title"))
                st.caption("· " + escape_markdown(str(title or "")))
            st.caption(t(lang, "store_chunks", n=len(bot.retriever)))
            st.caption(t(lang, "store_embedder", id=escape_markdown(bot.embedder.id)))

        turns = [(turn.question, turn.answer) for turn in session.turns if turn.error is None]
        st.download_button(
            t(lang, "export_chat"), file_name="conversation.md",
            data=conversation_markdown(turns, lang=lang, title=report_heading(lang, bot.retriever.documents if bot else {})[0]),
            mime="text/markdown", key="w_export_chat", icon=":material/download:", disabled=not turns, width="stretch",
        )
        try:
            store = feedback_store(str(settings.data_dir))
            lines = store.export_jsonl()
            st.caption(t(lang, "feedback_count", n=len(lines)))
            st.download_button(
                t(lang, "export_feedback"), data="".join(line + "\n" for line in lines), file_name="feedback_qa.jsonl",
                mime="application/jsonl", key="w_export_feedback", icon=":material/download:", disabled=not lines, width="stretch",
            )
        except Exception:  # noqa: BLE001
            logger.exception("cannot read the feedback store")


# --- asking -----------------------------------------------------------------
def run_stream(bot: Chatbot, turn: Turn, session: SessionState, backend: str, model: str | None) -> None:
    """Stream one answer into the current container; fills turn.answer / turn.notices."""
    history = session.history()
    events = bot.stream(turn.question, history, k=session.top_k, backend=backend, model=model)

    def tokens():
        for event in events:
            if event.kind == "token":
                yield escape_markdown(str(event.data))
            else:
                collect(event)

    def collect(event: Event) -> None:
        if event.kind == "notice":
            turn.notices.append(str(event.data))
        elif event.kind == "answer" and isinstance(event.data, Answer):
            turn.answer = event.data

    placeholder = st.empty()
    with placeholder.container():
        with st.spinner(t(session.lang, "thinking"), show_time=False):
            st.write_stream(tokens())
    placeholder.empty()


def ask(bot_for_backend: Chatbot, base_bot: Chatbot, question: str, session: SessionState, docs, store) -> None:  # noqa: ANN001
    lang = session.lang
    turn = Turn(question=question)
    followup = bool(session.history())
    with st.chat_message("user"):
        st.markdown(escape_markdown(question))
        standalone_slot = st.empty()
    with st.chat_message("assistant"):
        try:
            base_bot.validate(question, session.top_k, session.history())
        except InputError as exc:
            turn.error = str(exc)
        else:
            use_llm = session.backend != "extractive"
            try:
                run_stream(bot_for_backend, turn, session, session.backend, session.model or None)
            except InputError as exc:
                turn.error = str(exc)
            except Exception as exc:  # noqa: BLE001 - ChatbotError or a bug: never crash the page
                if isinstance(exc, ChatbotError):
                    logger.warning("answering failed: %s", exc)
                    message = str(exc)
                else:
                    logger.exception("answering failed")
                    message = t(lang, "backend_unavailable", backend=session.backend, detail=type(exc).__name__)
                if use_llm and turn.answer is None:
                    # the LLM backend is missing or broke outside the core's own fallback: answer offline
                    if isinstance(exc, ImportError):
                        message = t(lang, "backend_unavailable", backend=session.backend, detail=str(exc))
                    turn.notices.append(message)
                    try:
                        run_stream(base_bot, turn, session, "extractive", None)
                        if turn.answer is not None:
                            turn.answer = turn.answer.model_copy(update={"fallback": True})
                    except ChatbotError as again:
                        turn.error = str(again)
                    except Exception:  # noqa: BLE001
                        logger.exception("the extractive fallback failed too")
                        turn.error = t(lang, "error_generic")
                else:
                    turn.error = message if isinstance(exc, ChatbotError) else t(lang, "error_generic")
            if turn.answer is None and turn.error is None:
                turn.error = t(lang, "error_generic")
        session.turns.append(turn)
        render_answer(turn, session, lang, docs, store)
    with standalone_slot.container():
        render_standalone(turn, lang, followup=followup)


def document_loader(bot: Chatbot):  # noqa: ANN201
    def load(source: str) -> tuple[str, list[Passage]]:
        meta = bot.retriever.documents.get(source, {})
        return str(meta.get("title") or source), bot.retriever.document_chunks(source)

    return load


def main() -> None:
    st.set_page_config(page_title=t("zh", "page_title"), page_icon="📄", layout="centered")
    session = get_session()
    settings = get_settings()
    data_dir = str(settings.data_dir)

    bot: Chatbot | None = None
    error: str | None = None
    try:
        with st.spinner(t(session.lang, "loading")):
            bot = load_chatbot(data_dir)
    except ChatbotError as exc:
        error = str(exc)
    except Exception as exc:  # noqa: BLE001
        logger.exception("cannot load the chatbot")
        error = type(exc).__name__

    sidebar(session, bot)
    lang = session.lang
    heading, intro = report_heading(lang, bot.retriever.documents if bot is not None else {})
    st.title(escape_markdown(heading))
    if bot is None:
        st.error(t(lang, "store_error", error=escape_markdown(error or "")))
        return
    try:
        store: FeedbackStore | None = feedback_store(data_dir)
    except Exception:  # noqa: BLE001
        logger.exception("cannot open the feedback store")
        store = None
    docs = document_loader(bot)

    if not session.turns:
        st.caption(escape_markdown(intro))
    for turn in session.turns:
        render_turn(turn, session, lang, docs, store)

    prompt = st.chat_input(t(lang, "placeholder"), key="w_chat", max_chars=settings.max_question_chars * 4, submit_mode="disable")
    question = prompt if prompt else session.take_pending()
    if question:
        try:
            llm_bot = chatbot_for(data_dir, session.backend, session.base_url, session.api_key)
        except Exception:  # noqa: BLE001
            logger.exception("cannot configure backend %s", session.backend)
            llm_bot = bot
        ask(llm_bot, bot, question, session, docs, store)


main()
