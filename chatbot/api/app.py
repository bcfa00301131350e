"""The FastAPI app: `POST /v1/chat/completions`, `GET /v1/models`, `GET /healthz`.

`create_app(bot)` wires one shared `Chatbot` to the endpoints; the limits, keys and offered
models come from the bot's settings. Order of checks for the API endpoints: key (401), rate
limit (429), body size (413), request shape and question (400), model (404), free slot (503),
deadline (504).
"""

from __future__ import annotations

import logging

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from chatbot.api.errors import ApiError, install_error_handlers
from chatbot.api.guard import RateLimiter, authorize, client_address, read_limited_body
from chatbot.api.health import HealthCheck
from chatbot.api.schemas import (
    completion_body,
    conversation,
    models_body,
    new_completion_id,
    parse_request,
    resolve_model,
    usage,
)
from chatbot.api.streaming import Answerer, collect, stream_chunks
from chatbot.core import Chatbot
from chatbot.errors import InputError
from chatbot.settings import Settings

logger = logging.getLogger(__name__)


def create_app(bot: Chatbot, settings: Settings | None = None) -> FastAPI:
    """The API over `bot`; `settings` (default: the bot's) set keys, limits and offered models."""
    settings = settings or bot.settings
    keys = settings.api_key_list
    choices = settings.public_choices
    limiter = RateLimiter(settings.api_rate_limit)
    answerer = Answerer(bot, max_concurrent=settings.api_max_concurrent, timeout=settings.api_timeout)
    health = HealthCheck(bot, choices)

    app = FastAPI(title="Work-report chatbot API", docs_url=None, redoc_url=None, openapi_url=None)
    install_error_handlers(app)

    def caller(request: Request) -> str:
        try:
            identity = authorize(request, keys)
        except ApiError:
            # failed attempts count per address too, so keys cannot be guessed at network speed
            limiter.check(f"failed:{client_address(request)}")
            raise
        limiter.check(identity)
        return identity

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        report = await run_in_threadpool(health.report)
        return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)

    @app.get("/v1/models", dependencies=[Depends(caller)])
    async def models() -> JSONResponse:
        return JSONResponse(models_body(choices))

    @app.post("/v1/chat/completions", dependencies=[Depends(caller)])
    async def chat_completions(request: Request):
        body = parse_request(await read_limited_body(request, settings.api_max_body_bytes))
        choice = resolve_model(body.model, choices)
        question, history = conversation(body.messages, settings.api_max_messages)
        try:
            bot.validate(question, None, history)  # cheap: a bad question never takes a slot
        except InputError as exc:
            raise ApiError(400, str(exc), param="messages", code="invalid_question") from None
        completion_id = new_completion_id()
        run = await answerer.start(question, history, choice)
        if not body.stream:
            answer = await collect(run)
            return JSONResponse(
                completion_body(
                    completion_id, choice.label, answer, usage(question, history, answer.answer), with_contexts=body.contexts
                )
            )
        try:
            first = await run.next()  # errors before the first byte keep their status
        except BaseException:
            await run.close()
            raise
        chunks = stream_chunks(
            run,
            first,
            completion_id,
            choice.label,
            with_contexts=body.contexts,
            usage_of=lambda answer: usage(question, history, answer.answer),
        )
        return StreamingResponse(
            chunks,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            background=BackgroundTask(run.close),  # also frees the slot if the body never starts
        )

    return app
