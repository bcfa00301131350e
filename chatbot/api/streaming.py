"""One answer of the shared core, driven from the event loop without blocking it.

`Chatbot.stream` is a sync generator: each step runs in Starlette's threadpool
(`run_in_threadpool`), so one `Chatbot` serves every request at once and tokens pass through
as the backend produces them (nothing is buffered). An answer holds one of
`CHATBOT_API_MAX_CONCURRENT` slots from its first step until its generator is closed.

The request deadline (`CHATBOT_API_TIMEOUT`) is checked at every step: a step already running
in a thread cannot be interrupted, so a timeout takes effect when that step returns; then the
generator is closed, which closes the model's stream too.

A `reset` event ("the tokens streamed so far are withdrawn") cannot retract what a client has
already received: the stream sends `RESET_SEPARATOR`, then the replacement, and the last chunk's
`answer` and `fallback: true` carry the final answer. A fallback answer that the core did not
stream as tokens is sent the same way at the end.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator

import anyio
from starlette.concurrency import run_in_threadpool

from chatbot.api.errors import INTERNAL, ApiError
from chatbot.api.schemas import RESET_SEPARATOR, chunk_body, extras
from chatbot.client_choices import BackendChoice
from chatbot.core import Chatbot, Event
from chatbot.errors import ChatbotError, InputError, StoreError
from chatbot.types import Answer, Message

logger = logging.getLogger(__name__)

_END = object()


def _step(events: Iterator[Event]) -> object:
    return next(events, _END)  # StopIteration must not cross the thread boundary


def _translate(exc: BaseException) -> ApiError:
    """The core's exceptions as client errors; only InputError's text (written for users) is passed on."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, InputError):
        return ApiError(400, str(exc), param="messages", code="invalid_question")
    if isinstance(exc, StoreError):
        logger.error("store unavailable: %s", exc)
        return ApiError(503, "The document store is not available. The error was logged.", code="store_unavailable")
    if isinstance(exc, ChatbotError):
        logger.error("answer failed: %s", exc)
        return ApiError(503, "The answer could not be produced. The error was logged.", code="answer_failed")
    logger.error("unexpected error while answering", exc_info=exc)
    return INTERNAL


class AnswerRun:
    """The events of one answer, each step in the threadpool, within the request's deadline."""

    def __init__(self, events: Iterator[Event], deadline: float, timeout: float, release) -> None:
        self._events = events
        self._deadline = deadline
        self._timeout = timeout
        self._release = release
        self._closed = False

    async def next(self) -> Event | None:
        """The next event, None at the end; raises ApiError only."""
        remaining = self._deadline - time.monotonic()
        item: object = None
        if remaining > 0:
            with anyio.move_on_after(remaining):
                try:
                    item = await run_in_threadpool(_step, self._events)
                except Exception as exc:  # noqa: BLE001 - translated for the client, logged
                    raise _translate(exc) from None
        if item is None:
            raise ApiError(504, f"The answer took longer than {self._timeout:g} s.", code="timeout")
        return None if item is _END else item  # type: ignore[return-value]

    async def close(self) -> None:
        """Close the generator (stopping a model stream) and free the slot; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        with anyio.CancelScope(shield=True):
            try:
                await run_in_threadpool(self._events.close)
            except Exception:  # noqa: BLE001 - closing must never fail a response
                logger.warning("closing an answer stream failed", exc_info=True)
            finally:
                self._release()


class Answerer:
    """The process's one Chatbot, shared by every request, with a cap on answers at once."""

    def __init__(self, bot: Chatbot, *, max_concurrent: int, timeout: float) -> None:
        self.bot = bot
        self.timeout = timeout
        self._slots = asyncio.Semaphore(max_concurrent)

    async def start(self, question: str, history: list[Message], choice: BackendChoice) -> AnswerRun:
        """A running answer holding a slot; 503 if none frees up within the timeout."""
        deadline = time.monotonic() + self.timeout
        acquired = False
        with anyio.move_on_after(self.timeout):
            await self._slots.acquire()  # a cancelled acquire gives its permit back itself
            acquired = True
        if not acquired:
            raise ApiError(
                503, "The server is busy; try again shortly.", code="server_busy", headers={"Retry-After": "5"}
            )
        events = self.bot.stream(question, history, backend=choice.backend, model=choice.model)
        return AnswerRun(events, deadline, self.timeout, self._slots.release)


async def collect(run: AnswerRun) -> Answer:
    """Every event of a run, for a non-streamed reply: the final Answer."""
    answer: Answer | None = None
    try:
        while (event := await run.next()) is not None:
            if event.kind == "answer":
                answer = event.data  # type: ignore[assignment]
    finally:
        await run.close()
    if answer is None:
        logger.error("the answer stream ended without an answer")
        raise INTERNAL
    return answer


def sse(data: dict | str) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return f"data: {text}\n\n".encode("utf-8")


async def stream_chunks(
    run: AnswerRun, first: Event | None, completion_id: str, label: str, *, with_contexts: bool, usage_of
) -> AsyncIterator[bytes]:
    """Server-sent `chat.completion.chunk`s as the answer is produced, the extras last, then [DONE].

    `usage_of(answer)` gives the usage object for the last chunk. An error after the first byte
    can no longer change the status: it is sent as an OpenAI error event and the stream ends.
    """
    created = int(time.time())

    def chunk(delta: dict, finish: str | None = None) -> dict:
        return chunk_body(completion_id, created, label, delta, finish)

    answer: Answer | None = None
    since_reset: list[str] = []  # text sent since the last separator (or the start)
    withdrawn = False  # text was sent and then withdrawn: a separator must precede what follows
    try:
        yield sse(chunk({"role": "assistant", "content": ""}))
        event = first
        while event is not None:
            if event.kind == "token" and event.data:
                piece = str(event.data)
                if withdrawn:
                    piece, withdrawn = RESET_SEPARATOR + piece, False
                since_reset.append(piece)
                yield sse(chunk({"content": piece}))
            elif event.kind == "reset" and since_reset:
                since_reset.clear()
                withdrawn = True
            elif event.kind == "answer":
                answer = event.data  # type: ignore[assignment]
            event = await run.next()
        if answer is None:
            logger.error("the answer stream ended without an answer")
            raise INTERNAL
        streamed = "".join(since_reset).removeprefix(RESET_SEPARATOR).strip()
        if streamed != answer.answer.strip() and (answer.fallback or withdrawn or not streamed):
            # the model's text was replaced without a reset, or the replacement was never streamed
            sent_before = withdrawn or bool(streamed)
            yield sse(chunk({"content": (RESET_SEPARATOR if sent_before else "") + answer.answer}))
        final = chunk({}, "stop")
        final["usage"] = usage_of(answer)
        final.update(extras(answer, with_contexts=with_contexts))
        yield sse(final)
        yield sse("[DONE]")
    except ApiError as exc:
        yield sse(exc.body())
    except Exception as exc:  # noqa: BLE001 - after the first byte the error goes in the stream
        yield sse(_translate(exc).body())
    finally:
        await run.close()
