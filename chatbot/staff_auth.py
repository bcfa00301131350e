"""The staff password: a salted scrypt hash in the settings, a constant-time check, and backoff.

UI-free. The operator makes the hash once (`python -m chatbot hash-password`) and sets
`CHATBOT_STAFF_PASSWORD_HASH`; the plain password is never stored. The hash names its own
algorithm and parameters (`scrypt$n=16384,r=8,p=1$<salt>$<key>`, base64 without padding), so
the cost can be raised later without breaking hashes already deployed.

Guessing is slowed twice: each browser session, and the whole process (an attacker can open
many sessions), waits twice as long after every failure past the first few. While a wait runs,
even the right password is refused, or the wait would tell a guess apart.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import threading
import time
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

SCHEME = "scrypt"
N, R, P = 2**14, 8, 1
SALT_BYTES, KEY_BYTES = 16, 32
_MAXMEM = 64 * 1024 * 1024


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _derive(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=length)


def hash_password(password: str) -> str:
    """A self-describing scrypt hash of `password` with a fresh random salt."""
    if not password:
        raise ValueError("the password is empty")
    salt = os.urandom(SALT_BYTES)
    key = _derive(password, salt, N, R, P, KEY_BYTES)
    return f"{SCHEME}$n={N},r={R},p={P}${_b64(salt)}${_b64(key)}"


def parse_hash(encoded: str) -> tuple[bytes, int, int, int, bytes]:
    """(salt, n, r, p, key) of a hash made by `hash_password`; ValueError if it is not one."""
    scheme, params, salt, key = encoded.strip().split("$")
    if scheme != SCHEME:
        raise ValueError(f"unknown password hash scheme '{scheme}'")
    values = dict(item.split("=", 1) for item in params.split(","))
    n, r, p = int(values["n"]), int(values["r"]), int(values["p"])
    if n < 2**10 or n & (n - 1) or not 1 <= r <= 64 or not 1 <= p <= 16:
        raise ValueError("password hash parameters out of range")
    return _unb64(salt), n, r, p, _unb64(key)


def check_hash(encoded: str) -> None:
    """Raise ValueError with the reason if `encoded` is not a usable hash (for settings validation)."""
    try:
        parse_hash(encoded)
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"CHATBOT_STAFF_PASSWORD_HASH is not a hash made by `python -m chatbot hash-password` ({exc})") from None


def verify_password(password: str, encoded: str) -> bool:
    """Whether `password` matches the hash, compared in constant time."""
    try:
        salt, n, r, p, key = parse_hash(encoded)
    except (ValueError, KeyError, TypeError):
        logger.error("the staff password hash is malformed; staff login is refused")
        return False
    candidate = _derive(password, salt, n, r, p, len(key))
    return hmac.compare_digest(candidate, key)


@dataclass
class Backoff:
    """Exponential delay after failed attempts: `free` failures cost nothing, then 1, 2, 4 … s up to `cap`."""

    free: int = 3
    base: float = 1.0
    cap: float = 300.0
    failures: int = 0
    until: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def wait(self, now: float) -> float:
        """Seconds left before the next attempt is heard (0 when it may go ahead)."""
        with self._lock:
            return max(0.0, self.until - now)

    def fail(self, now: float) -> None:
        with self._lock:
            self.failures += 1
            extra = self.failures - self.free
            if extra > 0:
                self.until = now + min(self.cap, self.base * 2 ** (extra - 1))

    def reset(self) -> None:
        with self._lock:
            self.failures, self.until = 0, 0.0


@dataclass
class LoginResult:
    ok: bool
    wait_seconds: float = 0.0


def attempt_login(password: str, encoded: str, *, session: Backoff, process: Backoff, now: float | None = None) -> LoginResult:
    """Check a password under both backoffs; while either is waiting, nothing is checked."""
    now = time.monotonic() if now is None else now
    wait = max(session.wait(now), process.wait(now))
    if wait > 0:
        return LoginResult(False, wait)
    if verify_password(password, encoded):
        session.reset()
        process.reset()
        return LoginResult(True)
    session.fail(now)
    process.fail(now)
    logger.warning("failed staff login (session failures: %d, process failures: %d)", session.failures, process.failures)
    return LoginResult(False, max(session.wait(now), process.wait(now)))


__all__ = ["Backoff", "LoginResult", "attempt_login", "check_hash", "hash_password", "verify_password"]
