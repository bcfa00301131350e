"""The public chat page: visitors ask; the operator's settings decide everything else.

A visitor picks at most one of the operator's choices (`CHATBOT_PUBLIC_BACKENDS`);
there is no field for a URL, a key or a model name, so the server never connects
anywhere a browser named. Messages shown to visitors carry no addresses, paths,
response bodies or stack traces (`public_text`); the detail goes to the server log.
"""

from __future__ import annotations

import logging

import streamlit as st

from chatbot.core import Chatbot
from chatbot.errors import ChatbotError, InputError, StoreNotReadyError
from chatbot.export import conversation_markdown, escape_markdown
from chatbot.feedback import FeedbackStore
from chatbot.ratelimit import SlidingWindow
from chatbot.settings import Settings, get_settings
from chatbot.types import Answer, Passage
from chatbot.ui.resources import feedback_store, load_chatbot, public_choice, public_health, staff_chatbot
from chatbot.ui.state import SessionState, Turn, get_session
from chatbot.ui.streaming import StreamedText
from chatbot.ui.strings import EXAMPLES, LANGS, report_heading, t
from chatbot.ui.views import render_answer, render_standalone, render_turn

logger = logging.getLogger(__name__)


def choice_label(label: str, lang: str) -> str:
    """How one of the operator's choices is named in the sidebar."""
    backend, _, model = label.partition(":")
    name = t(lang, f"backend_{backend}")
    return t(lang, "choice_model", backend=name, model=model) if model else name


def sidebar(session: SessionState, bot: Chatbot | None, settings: Settings) -> None:
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
        if session.staff and session.staff_backend is not None:
            own = session.staff_backend
            st.caption(escape_markdown(t(lang, "staff_backend_active", backend=own.backend, model=own.model, url=own.base_url)))
        else:
            labels = [choice.label for choice in settings.public_choices]
            if len(labels) > 1:
                session.choice = st.selectbox(
                    t(lang, "backend"), labels, index=labels.index(session.choice) if session.choice in labels else 0,
                    format_func=lambda label: choice_label(label, lang), key="w_choice",
                )
            else:
                session.choice = labels[0]
            if public_choice(settings, session.choice).backend != "extractive":
                up = public_health(str(settings.data_dir), session.choice)
                st.caption(t(lang, "status_ok" if up else "status_down"))
        session.top_k = st.slider(t(lang, "top_k"), 1, settings.max_top_k, value=min(settings.top_k, settings.max_top_k), key="w_top_k")

        if bot is not None:
            st.subheader(t(lang, "store"))
            for meta in bot.retriever.documents.values():
                title = meta.get("title") if lang == "zh" else (meta.get("title_en") or meta.get("title"))
                st.caption("· " + escape_markdown(str(title or "")))

        turns = [(turn.question, turn.answer) for turn in session.turns if turn.error is None]
        st.download_button(
            t(lang, "export_chat"), file_name="conversation.md",
            data=conversation_markdown(turns, lang=lang, title=report_heading(lang, bot.retriever.documents if bot else {})[0]),
            mime="text/markdown", key="w_export_chat", icon=":material/download:", disabled=not turns, width="stretch",
        )


def run_stream(bot: Chatbot, turn: Turn, session: SessionState, backend: str, model: str | None) -> None:
    """Stream one answer into the current container; fills turn.answer / turn.notices."""
    events = bot.stream(turn.question, session.history(), k=session.top_k, backend=backend, model=model)
    shown = StreamedText()
    slot = st.empty()
    with st.spinner(t(session.lang, "thinking"), show_time=False):
        for event in events:
            if shown.feed(event):
                if shown.text:
                    slot.markdown(escape_markdown(shown.text))
                else:
                    slot.empty()
            elif event.kind == "notice":
                turn.notices.append(str(event.data))
            elif event.kind == "answer" and isinstance(event.data, Answer):
                turn.answer = event.data
    slot.empty()


def answer_into(turn: Turn, bot: Chatbot, session: SessionState, backend: str, model: str | None) -> None:
    """Fill `turn` with an answer or a one-line error; never raises."""
    lang = session.lang
    try:
        run_stream(bot, turn, session, backend, model)
    except InputError as exc:
        turn.error = str(exc)
    except ChatbotError as exc:
        logger.warning("answering failed: %s", exc)
        turn.error = str(exc) if session.staff else t(lang, "error_generic")
    except Exception:  # noqa: BLE001 - a bug must not crash the page
        logger.exception("answering failed")
        turn.error = t(lang, "error_generic")
    if turn.answer is None and turn.error is None:
        turn.error = t(lang, "error_generic")


def ask(bot: Chatbot, backend: str, model: str | None, question: str, session: SessionState, settings: Settings, docs, store) -> None:  # noqa: ANN001
    lang = session.lang
    turn = Turn(question=question)
    followup = bool(session.history())
    with st.chat_message("user"):
        st.markdown(escape_markdown(question))
        standalone_slot = st.empty()
    with st.chat_message("assistant"):
        if session.questions is None:
            session.questions = SlidingWindow(settings.session_questions_per_minute)
        wait = session.questions.acquire()
        if wait:
            turn.error, turn.rate_limited = t(lang, "rate_limited", seconds=int(wait)), True
        else:
            answer_into(turn, bot, session, backend, model)
        session.turns.append(turn)
        session.keep_last(settings.max_session_turns)
        render_answer(turn, session, lang, docs, store)
    with standalone_slot.container():
        render_standalone(turn, lang, followup=followup)


def document_loader(bot: Chatbot):  # noqa: ANN201
    def load(source: str) -> tuple[str, list[Passage]]:
        meta = bot.retriever.documents.get(source, {})
        return str(meta.get("title") or source), bot.retriever.document_chunks(source)

    return load


def answering_bot(bot: Chatbot, session: SessionState, settings: Settings) -> tuple[Chatbot, str, str | None]:
    """The Chatbot, backend and model for this session: a staff member's own, or an operator's choice."""
    own = session.staff_backend if session.staff else None
    if own is not None:
        try:
            return staff_chatbot(str(settings.data_dir), own), own.backend, own.model or None
        except Exception:  # noqa: BLE001
            logger.exception("cannot configure the staff backend %s", own.backend)
    choice = public_choice(settings, session.choice)
    return bot, choice.backend, choice.model


def main() -> None:
    session = get_session()
    settings = get_settings()
    data_dir = str(settings.data_dir)

    bot: Chatbot | None = None
    empty = False  # no report ingested: say how to add one
    try:
        with st.spinner(t(session.lang, "loading")):
            bot = load_chatbot(data_dir)
    except Exception as exc:  # noqa: BLE001 - the detail (paths, hosts) is for the log and the staff page
        empty = isinstance(exc, StoreNotReadyError)
        logger.exception("cannot load the chatbot")

    sidebar(session, bot, settings)
    lang = session.lang
    heading, intro = report_heading(lang, bot.retriever.documents if bot is not None else {})  # from the reports' metadata
    st.title(escape_markdown(heading))
    st.toggle(t(lang, "large_text"), value=session.large_text, key="w_large", on_change=session.toggle_large_text)
    if bot is None:
        st.error(intro if empty else t(lang, "store_error"))
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
        answering, backend, model = answering_bot(bot, session, settings)
        ask(answering, backend, model, question, session, settings, docs, store)
