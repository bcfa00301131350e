"""Exceptions of the core. The CLI and the UI translate them at the edge.

    ChatbotError                 every error a user may see; `str()` is the message
    ├── InputError               the question or a parameter is not acceptable
    ├── DocumentError            a file to ingest cannot be read or decoded
    ├── StoreError               the store is missing, busy, or built differently
    │   ├── StoreNotReadyError   nothing ingested yet
    │   ├── EmbedderMismatchError
    │   └── IngestLockedError    another ingest holds the lock
    ├── EmbedderError            the embedder cannot run
    └── BackendError             an LLM backend failed (carries the backend name)
        ├── BackendUnavailableError  unreachable, timeout
        ├── BackendAuthError         401/403
        ├── BackendModelError        404: model unknown or not pulled
        ├── BackendRateLimitError    429
        ├── BackendServerError       5xx
        └── BackendStreamError       the stream broke mid-answer
"""

from __future__ import annotations


class ChatbotError(Exception):
    """Base class: the message is meant for the user, in plain words."""


class InputError(ChatbotError):
    pass


class DocumentError(ChatbotError):
    pass


class StoreError(ChatbotError):
    pass


class StoreNotReadyError(StoreError):
    pass


class EmbedderMismatchError(StoreError):
    pass


class IngestLockedError(StoreError):
    pass


class EmbedderError(ChatbotError):
    pass


class BackendError(ChatbotError):
    def __init__(self, backend: str, message: str, *, fix: str = "") -> None:
        self.backend = backend
        self.fix = fix
        text = f"[{backend}] {message}"
        if fix:
            text += f" {fix}"
        super().__init__(text)


class BackendUnavailableError(BackendError):
    pass


class BackendAuthError(BackendError):
    pass


class BackendModelError(BackendError):
    pass


class BackendRateLimitError(BackendError):
    pass


class BackendServerError(BackendError):
    pass


class BackendStreamError(BackendError):
    pass
