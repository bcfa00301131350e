"""Translate client exceptions into BackendError subclasses with a fix for the user.

What a user sees names the backend and the kind of failure, never the server's
address, a response body or a key: visitors of the public app read these messages.
The details (address, status, a scrubbed piece of the body) go to the server log.
"""

from __future__ import annotations

import logging

import httpx

from chatbot.errors import (
    BackendAuthError,
    BackendError,
    BackendModelError,
    BackendRateLimitError,
    BackendServerError,
    BackendStreamError,
    BackendUnavailableError,
)

logger = logging.getLogger(__name__)
SERVER = "the model server"


def scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def address(url: str | None) -> str:
    """scheme://host:port of a configured URL for the log, without userinfo, path or query."""
    if not url:
        return "(default)"
    try:
        parsed = httpx.URL(url)
    except Exception:  # noqa: BLE001 - an unparseable setting is logged as such
        return "(unparseable URL)"
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}"


def from_status(name: str, status: int, model: str | None, *, where: str = "", detail: str = "") -> BackendError:
    logger.warning("backend %s: HTTP %s from %s%s", name, status, where or SERVER, f": {detail[:200]}" if detail else "")
    if status in (401, 403):
        return BackendAuthError(name, f"{SERVER.capitalize()} rejected the credentials (HTTP {status}).", fix=_AUTH_FIX.get(name, ""))
    if status == 404:
        return BackendModelError(name, f"The model '{model}' is unknown to {SERVER} (HTTP 404).", fix=_MODEL_FIX.get(name, "").format(model=model))
    if status == 429:
        return BackendRateLimitError(name, f"{SERVER.capitalize()} is rate-limiting requests (HTTP 429).", fix="Wait a moment and ask again.")
    if status >= 500:
        return BackendServerError(name, f"{SERVER.capitalize()} had an internal error (HTTP {status}).", fix="Try again later.")
    if 300 <= status < 400:
        return BackendError(name, f"{SERVER.capitalize()} answered with a redirect (HTTP {status}), which is not followed.")
    return BackendError(name, f"{SERVER.capitalize()} refused the request (HTTP {status}).")


def unavailable(name: str, *, where: str = "", timeout: float | None = None) -> BackendError:
    logger.warning("backend %s: %s %s", name, "no answer in time from" if timeout else "cannot reach", where or SERVER)
    if timeout:
        return BackendUnavailableError(
            name, f"{SERVER.capitalize()} did not answer in time ({timeout:g} s).", fix="Try again later; the operator may raise CHATBOT_READ_TIMEOUT."
        )
    return BackendUnavailableError(name, f"Cannot reach {SERVER}.", fix=_REACH_FIX.get(name, ""))


def stream_cut(name: str, *, where: str = "") -> BackendError:
    logger.warning("backend %s: the stream from %s broke off", name, where or SERVER)
    return BackendStreamError(name, f"The answer stream from {SERVER} broke off mid-answer.", fix="Ask again.")


_AUTH_FIX = {"openai": "The operator should check OPENAI_API_KEY.", "ollama": "The operator should check the proxy in front of Ollama."}
_MODEL_FIX = {"openai": "The operator should check CHATBOT_MODEL / CHATBOT_OPENAI_MODEL.", "ollama": "The operator should run: ollama pull {model}"}
_REACH_FIX = {"openai": "The operator should check OPENAI_BASE_URL and the server.", "ollama": "The operator should start Ollama or check OLLAMA_HOST."}
