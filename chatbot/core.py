"""The chatbot core: question (+history) → condense → guard → retrieve → answer → verify → Answer.

UI-free. The CLI, the Streamlit app, the HTTP API and the evaluation all call
`Chatbot`. `stream()` yields events as the answer is produced; `ask()` collects them.

Every answerer (the offline one or a model) sits behind one contract
(`chatbot.answer.contract`). The steps that make an answer trustworthy happen here,
once, whatever answered: the model's rewrite of a follow-up is checked, instructions
inside the question are removed, one deadline covers the whole answer, model calls are
capped across the process, every sentence is verified, a model's refusal is recognised
by structure, and the single fallback to the offline answer lives in `_fallback`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from chatbot.answer import Answerer, AnswerRequest, Draft, get_answerer
from chatbot.answer.backends import Backend
from chatbot.answer.deadline import Deadline, DeadlineExceeded, within
from chatbot.answer.extractive import refusal_text
from chatbot.answer.notices import FALLBACK_NOTICES, about_replaced
from chatbot.answer.outline import outline_answer
from chatbot.answer.verify import Verification, verify, without_closing_commentary
from chatbot.answer.verify.on_question import figures_alone, off_question, partial_list, shares_nothing_with
from chatbot.errors import BackendError, InputError
from chatbot.question.guard import strip_instructions
from chatbot.question.query import condense, normalize_question, resolve_relative_years
from chatbot.question.rewrite import trustworthy_rewrite
from chatbot.question.scope import other_city_message, out_of_scope
from chatbot.retrieve.embedders import Embedder, get_embedder
from chatbot.retrieve.retriever import Mode, Retriever
from chatbot.retrieve.store import ingest_running
from chatbot.settings import Settings, get_settings
from chatbot.textutil import is_english
from chatbot.types import Answer, Message, Passage

logger = logging.getLogger(__name__)

SUPPORTED_SHARE = 0.5  # below it, a model's answer is replaced by the offline one
# The on-question verdicts the offline answer refuses on (chatbot.answer.verify.on_question): it repeats
# the question, adds nothing to it, or lacks the kind of thing asked. Chosen on `tune` by cross-validation
# (5 folds x 5 seeds: every fold's best set); "elsewhere" is left out: it refused an answerable item there.
OFFLINE_REFUSES = frozenset({"echo", "nothing_new", "kind"})


def _offline_verdict(offline: Draft, result: Verification, request: AnswerRequest) -> str | None:
    """Why a model's answer that passed its own checks still gives way to the offline answer, or None.

    * `no_evidence`: the offline answer, reading the same passages, refuses. A small model quotes the
      sentence nearest to a question the report does not answer, and every word of it checks out.
    * `other_evidence`: the offline answer answers, and the model's answer shares none of its own
      content with it: the two quoted different things (`shares_nothing_with`).
    * `figure_alone`: the model's answer is bare figures, which say nothing of what they count
      (`figures_alone`); the offline answer quotes them in their sentence.
    * `partial_list`: asked for the members of something, the model named some of those the offline
      answer enumerates and left others out (`partial_list`).
    """
    if offline.refused:
        return "no_evidence"
    if shares_nothing_with(request.question, result.sentences, offline.text):
        return "other_evidence"
    if figures_alone(result.sentences):
        return "figure_alone"
    if partial_list(request.question, result.sentences, offline.text):
        return "partial_list"
    return None


@dataclass
class Event:
    """kind: "standalone" (the rewritten question), "passages", "token", "notice",
    "reset" (the tokens streamed so far are withdrawn; the tokens that follow replace them),
    "answer" (the finished, checked `Answer`, always last)."""

    kind: Literal["standalone", "passages", "token", "notice", "reset", "answer"]
    data: object


@dataclass
class _Slot:
    """One of the process's model-call slots, released once: by the answer, or by a worker
    the deadline abandoned (it still holds the server busy until it stops)."""

    semaphore: threading.BoundedSemaphore | None
    handed_off: bool = False
    _released: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def release(self) -> None:
        with self._lock:
            if self.semaphore is not None and not self._released:
                self._released = True
                self.semaphore.release()


@dataclass
class _Progress:
    """What one answer has done so far, for the final Answer."""

    warnings: list[str] = field(default_factory=list)
    streamed: bool = False
    shown: str = ""  # the text streamed so far
    fallback: bool = False
    fallback_reason: str | None = None  # busy | backend_error | empty | uncited | unsupported | injected | off_question | other_evidence | figure_alone | partial_list | no_evidence
    rewritten_by: str = "none"


class Chatbot:
    def __init__(self, settings: Settings | None = None, *, embedder: Embedder | None = None, retriever: Retriever | None = None) -> None:
        self.settings = settings or get_settings()
        self.embedder = embedder or get_embedder(self.settings)
        self.retriever = retriever or Retriever(self.settings, self.embedder)
        self._owns_retriever = retriever is None  # a retriever handed in is its owner's to close
        self._answerers: dict[tuple[str, str | None], Answerer] = {}
        self._lock = threading.Lock()
        self._model_slots = threading.BoundedSemaphore(self.settings.max_concurrent_model_calls)
        self._offline = get_answerer("extractive", self.settings)

    # --- validation -------------------------------------------------------
    def validate(self, question: object, k: int | None, history: list | None) -> tuple[str, int, list[Message]]:
        if not isinstance(question, str):
            raise InputError("The question must be text.")
        text = normalize_question(question)
        if not text:
            raise InputError("请输入一个问题。 (The question is empty.)")
        limit = self.settings.max_question_chars
        if len(text) > limit:
            raise InputError(
                f"问题太长（{len(text)} 字），请缩短到 {limit} 字以内。 (The question has {len(text)} characters; the limit is {limit}.)"
            )
        k = self.settings.top_k if k is None else k
        if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= self.settings.max_top_k:
            raise InputError(f"k must be a whole number from 1 to {self.settings.max_top_k}.")
        messages: list[Message] = []
        if history is not None and not isinstance(history, (list, tuple)):
            raise InputError('History must be a list of {"role": "user"|"assistant", "content": str} objects.')
        for item in history or []:
            try:
                message = item if isinstance(item, Message) else Message.model_validate(item)
            except Exception as exc:  # noqa: BLE001 - pydantic's error is for developers
                raise InputError(
                    'History must be a list of {"role": "user"|"assistant", "content": str} objects.'
                ) from exc
            messages.append(Message(role=message.role, content=normalize_question(message.content)[: limit * 4]))
        return text, k, messages[-2 * self.settings.max_history_turns :] if self.settings.max_history_turns else []

    def _base_year(self, question: str) -> int | None:
        """The year 今年 means in this question: see chatbot/reports.py base_year."""
        from chatbot.reports import base_year

        return base_year(question, self.retriever.documents, self.settings.report_year)

    def answerer(self, name: str | None = None, model: str | None = None) -> Answerer:
        """The answerer for a backend name (InputError for an unknown one), built once."""
        key = (name or self.settings.backend, model)
        if key[0] == "extractive":
            return self._offline
        with self._lock:
            if key not in self._answerers:
                self._answerers[key] = get_answerer(key[0], self.settings, model)
            return self._answerers[key]

    def backend(self, name: str | None = None, model: str | None = None) -> Backend:
        """The transport behind an answerer: its health check, its chat model (the judge)."""
        return self.answerer(name, model).backend  # type: ignore[attr-defined]

    def close(self) -> None:
        with self._lock:
            for answerer in self._answerers.values():
                answerer.close()
            self._answerers.clear()
        close_store = getattr(self.retriever.store, "close", None)
        if close_store is not None and self._owns_retriever:
            close_store()

    # --- answering --------------------------------------------------------
    def retrieve(
        self, question: str, k: int, *, mode: Mode = "hybrid", where: dict | None = None, context: str | None = None
    ) -> list[Passage]:
        return self.retriever.search(question, k, mode=mode, where=where, context=context)

    def search(
        self, standalone: str, history: list[Message], k: int, *, mode: Mode = "hybrid", where: dict | None = None
    ) -> list[Passage]:
        """The passages for a standalone question within a conversation.

        The previous question is a BM25 hint at half weight: a follow-up the rules could not
        rewrite ("从中央和省里争取到多少？" after a question on science funding) still
        leans on its topic, and a question that names a new topic outweighs it.
        """
        previous = next((m.content for m in reversed(history) if m.role == "user"), None)
        return self.retrieve(standalone, k, mode=mode, where=where, context=previous)

    def stream(
        self,
        question: str,
        history: list | None = None,
        *,
        k: int | None = None,
        backend: str | None = None,
        model: str | None = None,
        mode: Mode = "hybrid",
        where: dict | None = None,
    ) -> Iterator[Event]:
        started = time.perf_counter()
        deadline = Deadline(self.settings.request_timeout)
        text, k, messages = self.validate(question, k, history)
        progress = _Progress()
        chosen = self.answerer(backend, model)  # an unknown name is the caller's InputError
        slot = self._take_slot(chosen)
        if slot is None:
            progress.warnings.append(
                "很多人正在提问，这次先给出离线答案。Many questions are being answered right now; this answer comes from the offline answerer."
            )
            yield Event("notice", progress.warnings[-1])
            chosen, progress.fallback, progress.fallback_reason, slot = self._offline, True, "busy", _Slot(None)
        try:
            if ingest_running(self.settings.data_dir):
                progress.warnings.append("An ingest is running; answers come from the last complete ingest.")
            standalone = yield from self._condense(chosen, text, messages, deadline, slot, progress)
            guarded = strip_instructions(standalone)
            if guarded.removed and guarded.question:
                progress.warnings.append("问题中的指令已被忽略，只回答了问题本身。An instruction inside the question was ignored.")
            standalone = resolve_relative_years(guarded.question or standalone, self._base_year(guarded.question or standalone))
            yield Event("standalone", standalone)
            if where is None:  # many reports: a question naming a city/year searches that report only
                from chatbot.question.routing import describe, route

                where = route(standalone, self.retriever.documents)
                if where:
                    progress.warnings.append(describe(where))
                    yield Event("notice", progress.warnings[-1])
            # A question about the report's own structure is answered from its heading tree, by any backend.
            outline = outline_answer(standalone, self.retriever.documents, self.retriever.document_chunks, where)
            passages = outline.passages if outline else self.search(standalone, messages, k, mode=mode, where=where)
            yield Event("passages", passages)
            request = AnswerRequest(standalone, passages, messages, self.retriever.idf, self.retriever.expansion_terms(standalone))

            scope = "injection" if guarded.removed and not guarded.question else out_of_scope(standalone, self.retriever.documents, passages)
            checked: Verification | None = None
            if scope:
                draft = Draft(self._scope_message(scope, standalone, passages), refused=True, reason=scope)
                yield from self._show(draft.text, progress)
            elif outline:
                draft = Draft(outline.text)
                yield from self._show(draft.text, progress)
            else:
                draft, checked = yield from self._draft(chosen, request, deadline, slot, progress)
            if checked is None:
                # a scope refusal or an outline is the core's own answer, judged as the offline answer is
                author = self._offline if scope or outline else chosen
                draft, checked = yield from self._check(author, draft, verify(draft.text, passages, request.question), request, progress)
            result = checked
            refused = draft.refused
        finally:
            if not slot.handed_off:
                slot.release()

        progress.warnings.extend(w for w in result.warnings if w not in progress.warnings)
        answer = Answer(
            question=text,
            standalone_question=standalone,
            answer=_cap(result.answer or refusal_text(standalone, "not_covered"), self.settings.max_answer_chars, progress.warnings),
            refused=refused,
            backend=chosen.name,
            model=chosen.model,
            fallback=progress.fallback,
            fallback_reason=progress.fallback_reason,
            rewritten_by=progress.rewritten_by,  # type: ignore[arg-type]
            citations=result.citations,
            sentences=result.sentences,
            contexts=passages,
            warnings=progress.warnings,
            latency_ms=(time.perf_counter() - started) * 1000,
        )
        yield Event("answer", answer)

    # --- the steps --------------------------------------------------------
    def _condense(
        self, chosen: Answerer, text: str, messages: list[Message], deadline: Deadline, slot: _Slot, progress: _Progress
    ) -> Iterator[Event]:
        """The standalone question: the model's rewrite when it keeps the user's own words, else the rules'."""
        by_rules = condense(text, messages)
        if by_rules != text:
            progress.rewritten_by = "rules"
        if not messages:
            return by_rules
        try:
            rewrite = "".join(self._within(lambda: chosen.rewrite(text, messages), deadline, slot, chosen.name)).strip()
        except BackendError as exc:
            progress.warnings.append(f"{exc} The question was rewritten without the model.")
            yield Event("notice", progress.warnings[-1])
            return by_rules
        rewrite = rewrite.splitlines()[0].strip() if rewrite else ""
        if rewrite and trustworthy_rewrite(text, rewrite, messages, by_rules):
            progress.rewritten_by = "model"
            return normalize_question(rewrite)
        if rewrite:
            logger.info("model rewrite %r of %r dropped the user's words; using the rules' %r", rewrite, text, by_rules)
        return by_rules

    def _draft(
        self, chosen: Answerer, request: AnswerRequest, deadline: Deadline, slot: _Slot, progress: _Progress
    ) -> Iterator[Event]:
        """The answerer's draft, streamed as tokens, and None; any failure falls back to the offline
        answer, which comes already checked: (its draft, its verification)."""
        draft: Draft | None = None
        try:
            for piece in self._within(lambda: chosen.answer(request), deadline, slot, chosen.name):
                if isinstance(piece, Draft):
                    draft = piece
                elif piece:
                    progress.streamed = True
                    progress.shown += piece
                    yield Event("token", piece)
            if draft is None or not draft.text.strip():
                raise BackendError(chosen.name, "The model returned an empty answer.")
            return draft, None
        except BackendError as exc:
            return (yield from self._fallback(chosen, request, progress, "backend_error", f"{exc} Showing the offline extractive answer instead."))
        except Exception:  # noqa: BLE001 - a bug in one answerer must not cost the user the answer
            logger.exception("answerer %s failed", chosen.name)
            return (yield from self._fallback(
                chosen, request, progress, "backend_error", f"[{chosen.name}] The answer failed. Showing the offline extractive answer instead."
            ))

    def _within(self, source, deadline: Deadline, slot: _Slot, name: str) -> Iterator:  # noqa: ANN001
        """A model call's pieces under the whole-answer deadline (none is started once it has passed)."""
        try:
            if deadline.expired:
                raise DeadlineExceeded
            yield from within(source, deadline, on_abandoned_finish=slot.release)
        except DeadlineExceeded:
            slot.handed_off = True  # the abandoned worker releases the slot when it stops
            raise BackendError(
                name, f"The answer took longer than {deadline.seconds:g} s.", fix="Try again later."
            ) from None

    def _check(
        self, chosen: Answerer, draft: Draft, result: Verification, request: AnswerRequest, progress: _Progress
    ) -> Iterator[Event]:
        """Every draft, judged by structure whoever wrote it.

        A refusal (the answerer's own, e.g. a model's NO_ANSWER line, or an offline answer that is
        empty or cites nothing after checking) is shown as a refusal. A model's answer is replaced by the
        checked offline answer, which refuses by itself when the passages hold no answer, when it fails its
        own checks (`_model_verdict`), or when it passes them but the offline answer, reading the same
        passages, disagrees (`_offline_verdict`). A kept answer loses its closing commentary: trailing
        sentences that cite nothing and that no passage supports ("因此……确实有可能回暖。")."""
        if draft.refused or chosen is self._offline or progress.fallback:
            return (yield from self._settle(draft, result, request, progress))
        offline: tuple[Draft, Verification] | None = None
        reason = self._model_verdict(result, request)
        if reason is None:
            offline = self._offline_answer(request)
            reason = _offline_verdict(offline[0], result, request)
            if reason is None:
                return draft, without_closing_commentary(result, request.passages, request.question)
        logger.info("answer of %s replaced by the offline answer (%s) for %r", chosen.name, reason, request.question)
        if reason in ("injected", "unsupported"):  # the flags that say why stay with the notice, marked as the replaced answer's
            progress.warnings.extend(about_replaced(w) for w in result.warnings if about_replaced(w) not in progress.warnings)
        return (yield from self._fallback(chosen, request, progress, reason, FALLBACK_NOTICES[reason], offline))

    @staticmethod
    def _model_verdict(result: Verification, request: AnswerRequest) -> str | None:
        """Why a model's checked answer cannot stand by itself, or None: it says nothing checkable ("[1] [2]",
        "水[1]"); it cites nothing even after the checker attached the passages that clearly support its
        sentences; it repeats a planted instruction; it is mostly unsupported; or it quotes the passages on
        something other than what was asked (chatbot.answer.verify.on_question)."""
        if result.empty or not result.says_something:
            return "empty"
        if not result.cited_any:
            return "uncited"
        if result.injected:
            return "injected"
        if result.supported_share < SUPPORTED_SHARE:
            return "unsupported"
        off = off_question(request.question, result.sentences, request.passages, request.idf, request.terms)
        if off is not None:
            logger.info("off the question (%s): %s", off.kind, off.detail[:120])
            return "off_question"
        return None

    def _settle(self, draft: Draft, result: Verification, request: AnswerRequest, progress: _Progress) -> Iterator[Event]:
        """A refusal, or the offline answer as the answerer chosen (or when all model slots are busy), made final."""
        draft, result = self._offline_checked(draft, result, request)
        yield from self._show(draft.text, progress)
        return draft, result

    def _offline_answer(self, request: AnswerRequest) -> tuple[Draft, Verification]:
        draft = next(piece for piece in self._offline.answer(request) if isinstance(piece, Draft))
        return self._offline_checked(draft, verify(draft.text, request.passages, request.question), request)

    def _offline_checked(self, draft: Draft, result: Verification, request: AnswerRequest) -> tuple[Draft, Verification]:
        """The offline answer is the last resort and keeps its flags, but it refuses when it cites
        nothing after checking, or when the on-question check finds it does not answer
        (`_offline_on_question`)."""
        if not draft.refused and result.cited_any:
            draft = self._offline_on_question(draft, result, request)
        if not draft.refused and not result.cited_any:
            logger.info("offline answer is empty or cites nothing after checking: a refusal")
            draft = Draft(refusal_text(request.question, "not_covered"), refused=True, reason="cites_nothing")
        return draft, (verify(draft.text, request.passages, request.question) if draft.refused else result)

    def _show(self, text: str, progress: _Progress) -> Iterator[Event]:
        """Make `text` what the reader sees: withdraw what was streamed if it differs."""
        if progress.shown.strip() == text.strip():
            return
        if progress.streamed:
            yield Event("reset", None)
        yield Event("token", text)
        progress.streamed, progress.shown = True, text

    def _fallback(
        self, chosen: Answerer, request: AnswerRequest, progress: _Progress, reason: str, notice: str,
        offline: tuple[Draft, Verification] | None = None,
    ) -> Iterator[Event]:
        """The one fallback: the checked offline answer (`offline`, when already made) replaces whatever
        was streamed, with a notice saying why. Returns the offline draft and its verification."""
        if chosen is self._offline:
            raise RuntimeError(notice)  # the offline answerer itself failed: a bug, not a backend outage
        logger.warning("falling back to the offline answer: %s", notice)
        progress.warnings.append(notice)
        progress.fallback, progress.fallback_reason = True, reason
        yield Event("notice", notice)
        draft, result = offline or self._offline_answer(request)
        yield from self._show(draft.text, progress)
        return draft, result

    def _offline_on_question(self, draft: Draft, result: Verification, request: AnswerRequest) -> Draft:
        """The offline answer, or a refusal when the on-question check finds it repeats the question,
        adds nothing to it or lacks the kind of thing asked (`OFFLINE_REFUSES`): the offline answerer
        quotes its best-matching sentence, which for a question the report does not answer is often one
        that merely shares its words. A refusal then says what is missing (no name, no figure)."""
        off = off_question(request.question, result.sentences, request.passages, request.idf, request.terms)
        if off is None or off.kind not in OFFLINE_REFUSES:
            return draft
        logger.info("offline answer does not answer %r (%s): a refusal", request.question, off.kind)
        return Draft(refusal_text(request.question, off.reason), refused=True, reason=off.reason)

    def _take_slot(self, chosen: Answerer) -> _Slot | None:
        """A model-call slot for answerers that call a model (None when all are taken)."""
        if not chosen.calls_model:
            return _Slot(None)
        return _Slot(self._model_slots) if self._model_slots.acquire(blocking=False) else None

    def _scope_message(self, scope: str, question: str, passages: list[Passage]) -> str:
        if scope == "other_city":
            return other_city_message(question, self.retriever.documents, passages, is_english(question))
        return refusal_text(question, scope)

    def ask(self, question: str, history: list | None = None, **kwargs: object) -> Answer:
        for event in self.stream(question, history, **kwargs):  # type: ignore[arg-type]
            if event.kind == "answer":
                return event.data  # type: ignore[return-value]
        raise RuntimeError("the answer stream ended without an answer")  # pragma: no cover


def _cap(text: str, limit: int, warnings: list[str]) -> str:
    if len(text) <= limit:
        return text
    warnings.append(f"The answer was cut at {limit} characters.")
    cut = text[:limit]
    # end on a sentence, and never inside a citation marker such as "[1"
    boundary = max(cut.rfind(mark) for mark in "。！？；.!?")
    if boundary >= limit // 2:
        cut = cut[: boundary + 1]
    elif "[" in cut[-4:]:
        cut = cut[: cut.rfind("[")]
    return cut + "…"
