"""Translate client exceptions into BackendError subclasses with a fix for the user.

Messages never echo the server's text for auth failures (it may contain the key),
and any configured secret is scrubbed from what is kept.
"""

from __future__ import annotations

from chatbot.errors import (
    BackendAuthError,
    BackendError,
    BackendModelError,
    BackendRateLimitError,
    BackendServerError,
    BackendStreamError,
    BackendUnavailableError,
)


def scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def from_status(name: str, status: int, where: str, model: str | None, detail: str = "") -> BackendError:
    if status in (401, 403):
        return BackendAuthError(name, f"{where} rejected the credentials (HTTP {status}).", fix=_AUTH_FIX.get(name, ""))
    if status == 404:
        return BackendModelError(name, f"The model '{model}' is unknown at {where} (HTTP 404).", fix=_MODEL_FIX.get(name, "").format(model=model))
    if status == 429:
        return BackendRateLimitError(name, f"{where} is rate-limiting requests (HTTP 429).", fix="Wait a moment and ask again, or raise your quota.")
    if status >= 500:
        return BackendServerError(name, f"{where} had an internal error (HTTP {status}).", fix="Try again later or check the server's logs.")
    return BackendError(name, f"{where} refused the request (HTTP {status}){': ' + detail if detail else ''}.")


def unavailable(name: str, where: str, *, timeout: float | None = None) -> BackendError:
    if timeout:
        return BackendUnavailableError(
            name, f"{where} did not answer in time ({timeout:g} s).", fix="Check the server, or raise CHATBOT_READ_TIMEOUT."
        )
    return BackendUnavailableError(name, f"Cannot reach {where}.", fix=_REACH_FIX.get(name, ""))


def stream_cut(name: str, where: str) -> BackendError:
    return BackendStreamError(name, f"The answer stream from {where} broke off mid-answer.", fix="Ask again; if it repeats, check the server.")


_AUTH_FIX = {"openai": "Check OPENAI_API_KEY.", "ollama": "Check the proxy in front of Ollama."}
_MODEL_FIX = {"openai": "Check CHATBOT_MODEL / CHATBOT_OPENAI_MODEL.", "ollama": "Run: ollama pull {model}"}
_REACH_FIX = {"openai": "Check OPENAI_BASE_URL and that the server is running.", "ollama": "Start Ollama (ollama serve) or check OLLAMA_HOST."}
