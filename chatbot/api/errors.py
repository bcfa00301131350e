"""OpenAI-style error objects, and the handlers that make them the only errors a client sees.

Every error body is `{"error": {"message", "type", "param", "code"}}`, the shape the `openai`
client parses into `APIStatusError` subclasses. Messages are written here or come from the
core's `InputError` (written for users); an unexpected exception gets a generic message and
its details go to the log only: no traceback, host, path or key ever reaches a client.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)

# status → OpenAI's error type for it
_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
    500: "server_error",
    503: "server_error",
    504: "server_error",
}


class ApiError(Exception):
    """An error answered with its status and an OpenAI-style body."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.headers = headers or {}

    def body(self) -> dict:
        return error_body(self.status, self.message, code=self.code, param=self.param)

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def error_body(status: int, message: str, *, code: str | None = None, param: str | None = None) -> dict:
    return {"error": {"message": message, "type": _TYPES.get(status, "server_error"), "param": param, "code": code}}


INTERNAL = ApiError(500, "The server could not answer this request. The error was logged.", code="internal_error")


def install_error_handlers(app: FastAPI) -> None:
    async def on_api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return exc.response()

    async def on_http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # unknown paths (404) and wrong methods (405): Starlette's own text is safe but not OpenAI-shaped
        message = {404: "Unknown path.", 405: "Method not allowed on this path."}.get(exc.status_code, str(exc.detail))
        return JSONResponse(error_body(exc.status_code, message), status_code=exc.status_code, headers=exc.headers)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return INTERNAL.response()

    app.add_exception_handler(ApiError, on_api_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, on_http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, on_unexpected)
