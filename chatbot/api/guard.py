"""Who may call, how often, and how much they may send.

- Bearer keys (`CHATBOT_API_KEYS`) are compared with `hmac.compare_digest` against every
  key, without stopping at the first match, so the time taken says nothing about any key.
- The rate limit is a sliding one-minute window per key (per client address when the server
  runs without keys); the identity kept is the key's position, never the key. Failed key
  attempts count per client address as well, so guessing keys is throttled too.
- The body is read with a byte budget: a `Content-Length` over it is refused before reading,
  and a body that turns out longer than announced (or is chunked) is cut off as it arrives.
"""

from __future__ import annotations

import hmac
import threading
import time

from starlette.requests import Request

from chatbot.api.errors import ApiError
from chatbot.ratelimit import SlidingWindow

WINDOW_SECONDS = 60.0


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def authorize(request: Request, keys: list[str]) -> str:
    """The caller's identity for the rate limit; 401 unless the bearer key is one of `keys`."""
    if not keys:
        return f"addr:{client_address(request)}"
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(
            401,
            "Missing API key: send it in an Authorization header as `Bearer KEY`.",
            code="missing_api_key",
            headers={"WWW-Authenticate": "Bearer"},
        )
    given = token.strip().encode("utf-8")
    matched = -1
    for index, key in enumerate(keys):  # every key is compared: no early exit
        if hmac.compare_digest(given, key.encode("utf-8")):
            matched = index
    if matched < 0:
        raise ApiError(401, "Incorrect API key.", code="invalid_api_key", headers={"WWW-Authenticate": "Bearer"})
    return f"key:{matched}"


class RateLimiter:
    """At most `per_minute` requests per identity in any 60-second window (one `SlidingWindow` each)."""

    def __init__(self, per_minute: int, *, clock=time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._seen: dict[str, SlidingWindow] = {}
        self._lock = threading.Lock()
        self._pruned_at = clock()

    def check(self, identity: str) -> None:
        now = self._clock()
        with self._lock:
            self._forget_idle(now)
            window = self._seen.setdefault(identity, SlidingWindow(self.per_minute, WINDOW_SECONDS))
            retry = window.acquire(now)
        if retry:
            raise ApiError(
                429,
                f"Rate limit reached: {self.per_minute} requests per minute. Try again in {retry:.0f} s.",
                code="rate_limit_exceeded",
                headers={"Retry-After": f"{retry:.0f}"},
            )

    def _forget_idle(self, now: float) -> None:
        """Once a window, drop identities idle for a window, so many client addresses cannot grow memory."""
        if now - self._pruned_at < WINDOW_SECONDS:
            return
        self._pruned_at = now
        idle = [who for who, window in self._seen.items() if window.idle_since(now) >= WINDOW_SECONDS]
        for who in idle:
            del self._seen[who]


def _too_large(limit: int) -> ApiError:
    return ApiError(413, f"The request body is larger than {limit} bytes.", code="request_too_large")


async def read_limited_body(request: Request, limit: int) -> bytes:
    """The body, or 413 as soon as it is known to exceed `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise _too_large(limit)
        except ValueError:
            raise ApiError(400, "Content-Length is not a number.", code="invalid_request") from None
    received = bytearray()
    async for piece in request.stream():
        received += piece
        if len(received) > limit:
            raise _too_large(limit)
    return bytes(received)
