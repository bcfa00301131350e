"""The staff password hash, its constant-time check, the login backoff, and the visitors' redaction."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from chatbot.ratelimit import SlidingWindow
from chatbot.settings import Settings
from chatbot.staff_auth import Backoff, attempt_login, hash_password, verify_password
from chatbot.ui.public_text import public_notice, redact

PASSWORD = "correct horse battery staple"


def test_hashes_are_salted_and_self_describing() -> None:
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)
    assert first != second  # a fresh salt each time
    scheme, params, salt, key = first.split("$")
    assert scheme == "scrypt" and params == "n=16384,r=8,p=1" and salt and key
    assert verify_password(PASSWORD, first) and verify_password(PASSWORD, second)
    assert not verify_password(PASSWORD + " ", first) and not verify_password("", first)


@pytest.mark.parametrize("bad", ["", "plain-password", "scrypt$n=3,r=8,p=1$AAAA$AAAA", "bcrypt$x$y$z", "scrypt$n=16384$AAAA$AAAA"])
def test_a_malformed_hash_refuses_every_password_and_fails_settings(bad: str, monkeypatch) -> None:
    assert not verify_password(PASSWORD, bad)
    if bad:
        monkeypatch.setenv("CHATBOT_STAFF_PASSWORD_HASH", bad)
        with pytest.raises(ValidationError, match="hash-password"):
            Settings()


def test_backoff_doubles_after_the_free_failures() -> None:
    backoff = Backoff(free=2, base=1.0, cap=10.0)
    waits = []
    for i in range(7):
        backoff.fail(now=100.0)
        waits.append(backoff.wait(now=100.0))
    assert waits == [0.0, 0.0, 1.0, 2.0, 4.0, 8.0, 10.0]
    assert backoff.wait(now=111.0) == 0.0
    backoff.reset()
    assert backoff.failures == 0 and backoff.wait(now=100.0) == 0.0


def test_during_a_wait_even_the_right_password_is_refused() -> None:
    encoded = hash_password(PASSWORD)
    session, process = Backoff(free=1), Backoff(free=100)
    assert attempt_login("wrong", encoded, session=session, process=process, now=0.0).wait_seconds == 0
    result = attempt_login("wrong", encoded, session=session, process=process, now=0.0)
    assert not result.ok and result.wait_seconds == 1.0
    refused = attempt_login(PASSWORD, encoded, session=session, process=process, now=0.5)
    assert not refused.ok and refused.wait_seconds == 0.5
    assert session.failures == 2  # a refused attempt is not counted, nor checked
    accepted = attempt_login(PASSWORD, encoded, session=session, process=process, now=1.0)
    assert accepted.ok and session.failures == 0 and process.failures == 0


def test_the_process_backoff_stops_a_guesser_with_fresh_sessions() -> None:
    encoded = hash_password(PASSWORD)
    process = Backoff(free=3)
    results = [attempt_login("guess", encoded, session=Backoff(), process=process, now=0.0) for _ in range(5)]
    assert [r.wait_seconds > 0 for r in results] == [False, False, False, True, True]
    assert not attempt_login(PASSWORD, encoded, session=Backoff(), process=process, now=0.0).ok


def test_sliding_window_counts_only_accepted_questions() -> None:
    window = SlidingWindow(limit=2, seconds=60)
    assert window.acquire(now=0) == 0 and window.acquire(now=10) == 0
    assert window.acquire(now=20) == 40 and window.acquire(now=30) == 30
    assert window.acquire(now=60) == 0  # the first has left the window
    assert window.acquire(now=61) == 9


@pytest.mark.parametrize(
    "text",
    [
        "Cannot reach http://user:pass@10.0.0.5:8000/v1 now.",
        "The Chroma server at chroma.internal:8000 refused the credentials.",
        "No store in /var/lib/zjj/data/chroma yet.",
        "Host 192.168.1.20 is down.",
    ],
)
def test_redaction_removes_addresses_and_paths(text: str) -> None:
    cleaned = redact(text)
    for secret in ("user:pass", "10.0.0.5", "8000", "chroma.internal", "/var/lib", "192.168"):
        assert secret not in cleaned, cleaned


def test_backend_errors_become_one_plain_sentence() -> None:
    notice = "[openai] the OpenAI-compatible server at http://x refused the request (HTTP 400): body of the response."
    assert public_notice(notice, "zh") == "所选的模型后端不可用，已改用离线摘录答案。"
    assert public_notice(notice, "en").startswith("The chosen model backend failed")
    assert public_notice("An ingest is running; answers come from the last complete ingest.", "en").startswith("An ingest")
