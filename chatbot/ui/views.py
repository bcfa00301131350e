"""Streamlit pieces of the chat: a turn, an answer, its source cards, the full-text dialog, feedback.

Untrusted text (the question, the answer, passages, warnings) is shown either
through `escape_markdown` in Markdown or through `safe_html` (html.escape) in
`st.html`; `unsafe_allow_html` is never used.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import streamlit as st

from chatbot.answer.notices import is_information
from chatbot.answer.verify.reasons import reason_label
from chatbot.export import escape_markdown
from chatbot.feedback import FeedbackStore
from chatbot.types import Answer, Citation, Passage
from chatbot.ui.public_text import public_notices
from chatbot.ui.safe_html import SCROLL_SCRIPT, answer_focus, document_html, passage_html
from chatbot.ui.state import SessionState, Turn
from chatbot.ui.strings import t

logger = logging.getLogger("chatbot.app")

DocumentLoader = Callable[[str], tuple[str, list[Passage]]]  # source -> (title, chunks)


def page_label(page: int | None, lang: str) -> str:
    return t(lang, "page", page=page) if page is not None else ""


def answer_body_markdown(answer: Answer, lang: str) -> str:
    """The answer's sentences, escaped, with their [n] markers and an unverified badge."""
    if not answer.sentences:
        return escape_markdown(answer.answer)
    parts: list[str] = []
    for sentence in answer.sentences:
        text = escape_markdown(sentence.text)
        if not sentence.verified:  # the sentence itself is marked, not only the badge after it
            text = f":orange-background[{text}]"
        if sentence.citations:
            text += " " + " ".join(f"**\\[{n}\\]**" for n in sentence.citations)
        if not sentence.verified or sentence.unverified_figures:
            why = reason_label(sentence.reason, lang)
            sep = ": " if lang == "en" else "："
            text += f" :orange-badge[{t(lang, 'unverified')}{sep + escape_markdown(why) if why else ''}]"
        parts.append(text)
    return " ".join(parts)


def render_user(turn: Turn, lang: str, *, followup: bool) -> None:
    with st.chat_message("user"):
        st.markdown(escape_markdown(turn.question))
        render_standalone(turn, lang, followup=followup)


def render_standalone(turn: Turn, lang: str, *, followup: bool) -> None:
    """The rewritten standalone question, discreetly, under a follow-up whose wording it changed."""
    answer = turn.answer
    if followup and answer is not None and answer.standalone_question and answer.standalone_question != answer.question:
        by = t(lang, f"rewritten_by_{answer.rewritten_by}") if answer.rewritten_by in ("model", "rules") else ""
        st.caption(t(lang, "understood_as") + escape_markdown(answer.standalone_question) + by)


def render_turn(turn: Turn, session: SessionState, lang: str, docs: DocumentLoader, store: FeedbackStore | None) -> None:
    render_user(turn, lang, followup=bool(session.history(before=turn)))
    with st.chat_message("assistant"):
        render_answer(turn, session, lang, docs, store)


def render_answer(turn: Turn, session: SessionState, lang: str, docs: DocumentLoader, store: FeedbackStore | None) -> None:
    # staff read the core's own words; visitors read them without addresses, paths or bodies
    notices = turn.notices if session.staff else public_notices(turn.notices, lang)
    for notice in notices:  # why the checks replaced a model's answer is information; a failure is a warning
        if is_information(notice):
            st.info(escape_markdown(notice), icon=":material/info:")
        else:
            st.warning(escape_markdown(notice), icon=":material/warning:")
    if turn.error is not None:
        st.error(escape_markdown(turn.error), icon=":material/error:")
        if turn.rate_limited:
            st.button(t(lang, "ask_again"), key=f"again-{turn.id}", on_click=session.retry, args=(turn,), icon=":material/refresh:")
        return
    answer = turn.answer
    if answer is None:
        return
    if answer.refused:
        st.info(t(lang, "refused"), icon=":material/info:")
        st.caption(t(lang, "refused_detail") + escape_markdown(answer.answer))
        if answer.contexts:
            with st.expander(t(lang, "closest")):
                for passage in answer.contexts[:3]:
                    where = " · ".join(x for x in (passage.section, page_label(passage.page, lang)) if x)
                    st.caption(escape_markdown(where))
                    st.markdown(escape_markdown(passage.text))
    else:
        st.markdown(answer_body_markdown(answer, lang))
        figures = sorted({f for s in answer.sentences for f in s.unverified_figures})
        if any(not s.verified or s.unverified_figures for s in answer.sentences):
            st.caption(t(lang, "unverified_note", figures=escape_markdown("、".join(figures) or "—")))
        render_sources(turn, answer, lang, docs)
    shown = set(turn.notices)
    warnings = [w for w in answer.warnings if w not in shown and not any(w in n or n in w for n in shown)]
    for warning in warnings if session.staff else public_notices(warnings, lang):
        if warning not in notices:  # the replaced model answer's flags are about text no longer shown
            st.caption(("ⓘ " if is_information(warning) else "⚠ ") + escape_markdown(warning))
    model = f" / {answer.model}" if answer.model else ""
    meta = t(lang, "answer_meta", backend=answer.backend, model=model, ms=answer.latency_ms)
    if answer.fallback:
        meta += t(lang, "fallback_meta")
    st.caption(escape_markdown(meta))
    render_feedback(turn, session, lang, store)


def render_sources(turn: Turn, answer: Answer, lang: str, docs: DocumentLoader) -> None:
    if not answer.citations:
        return
    st.markdown(f"**{t(lang, 'sources')}**")
    contexts = {p.chunk_id: p for p in answer.contexts}
    for citation in answer.citations:
        with st.container(border=True, key=f"card-{turn.id}-{citation.n}"):
            render_card(turn, citation, contexts.get(citation.chunk_id), lang, docs)


def render_card(turn: Turn, citation: Citation, passage: Passage | None, lang: str, docs: DocumentLoader) -> None:
    where = " · ".join(x for x in (citation.section, page_label(citation.page, lang)) if x)
    st.markdown(f"**\\[{citation.n}\\]** " + escape_markdown(where))
    text = passage.text if passage is not None else citation.quote
    # the answer's own words for this citation (a clause of the quote, when the answer is one)
    citing = [s.text for s in turn.answer.sentences if citation.n in s.citations] if turn.answer else []
    st.html(passage_html(text, citation.quote, focus=answer_focus(citation.quote, citing)))
    if st.button(t(lang, "open_full"), key=f"open-{turn.id}-{citation.n}", icon=":material/menu_book:"):
        open_full_text(citation, lang, docs)


def open_full_text(citation: Citation, lang: str, docs: DocumentLoader) -> None:
    def body() -> None:
        try:
            title, chunks = docs(citation.source)
        except Exception:  # noqa: BLE001 - never crash the app over the full-text view
            logger.exception("cannot load the full text of %s", citation.source)
            st.error(t(lang, "error_generic"))
            return
        where = " · ".join(x for x in (citation.section, page_label(citation.page, lang)) if x)
        st.caption(escape_markdown(f"[{citation.n}] {where}") + " — " + t(lang, "full_text_caption"))
        # Every piece of document text inside is html.escape'd (safe_html); the script is a constant.
        st.html(document_html(chunks, citation.chunk_id, citation.quote, title=title, label=t(lang, "full_text_region")) + SCROLL_SCRIPT, unsafe_allow_javascript=True)

    st.dialog(t(lang, "full_text_title"), width="large")(body)()


def render_feedback(turn: Turn, session: SessionState, lang: str, store: FeedbackStore | None) -> None:
    if store is None or turn.answer is None:
        return
    rating = st.feedback("thumbs", key=f"fb-{turn.id}")
    if rating is not None and rating != turn.feedback:
        try:
            store.add(
                rating=int(rating),
                question=turn.question,
                answer=turn.answer,
                history=session.history(before=turn),
                turn_id=turn.id,
                lang=lang,
            )
            turn.feedback = int(rating)
        except Exception:  # noqa: BLE001
            logger.exception("cannot store feedback")
            st.error(t(lang, "error_generic"))
            return
    if turn.feedback is None:
        return
    st.caption(t(lang, "feedback_saved"))
    with st.form(key=f"fbform-{turn.id}", border=False, clear_on_submit=False):
        comment = st.text_input(t(lang, "comment"), key=f"fbc-{turn.id}", placeholder=t(lang, "comment_placeholder"), max_chars=2000)
        submitted = st.form_submit_button(t(lang, "save_comment"))
    if submitted and comment.strip():
        try:
            store.add(
                rating=turn.feedback,
                question=turn.question,
                answer=turn.answer,
                history=session.history(before=turn),
                turn_id=turn.id,
                comment=comment,
                lang=lang,
            )
            turn.comment_saved = True
        except Exception:  # noqa: BLE001
            logger.exception("cannot store the feedback comment")
            st.error(t(lang, "error_generic"))
    if turn.comment_saved:
        st.caption(t(lang, "comment_saved"))
