"""Feedback keeps little and not for long; staff export and purge it from the CLI."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from chatbot import cli, feedback
from chatbot.feedback import FeedbackStore, open_feedback_store
from chatbot.settings import Settings, get_settings
from chatbot.types import Answer

REAL_NOW = feedback._now
ANSWER = Answer(question="q", standalone_question="q", answer="增长7.5%左右[1]。", refused=False, backend="extractive")


def history(turns: int) -> list[dict]:
    return [{"role": role, "content": f"{role} {i} 电话13800000000"} for i in range(turns) for role in ("user", "assistant")]


def days_ago(monkeypatch: pytest.MonkeyPatch, days: float) -> None:
    stamp = (datetime.now(timezone.utc) - timedelta(days=days)).isoformat(timespec="seconds")
    monkeypatch.setattr(feedback, "_now", lambda: stamp)


def questions(store: FeedbackStore) -> list[str]:
    return [row["question"] for row in store.rows()]


@pytest.mark.parametrize("window, kept", [(2, 4), (1, 2), (0, 0)])
def test_a_rated_turn_keeps_only_a_bounded_window_of_context(tmp_path: Path, window: int, kept: int) -> None:
    store = FeedbackStore(tmp_path, context_turns=window)
    store.add(rating=0, question="今年GDP增长目标是多少？", answer=ANSWER, history=history(30), turn_id="t")
    stored = json.loads(store.rows()[0]["history"])
    assert len(stored) == kept
    if kept:
        assert stored[-1]["content"].startswith("assistant 29") and stored[0]["content"].startswith(f"user {30 - window}")
    item = json.loads(store.export_jsonl()[0])
    assert len(item["history"]) == kept


def test_the_settings_default_window_is_two_turns(isolated_data_dir: Path) -> None:
    store = open_feedback_store(get_settings())
    store.add(rating=1, question="q", answer=ANSWER, history=history(10))
    assert len(json.loads(store.rows()[0]["history"])) == 4
    assert store.retention_days == Settings().feedback_retention_days == 90


def test_rows_past_retention_are_deleted_when_the_store_opens(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = FeedbackStore(tmp_path)
    days_ago(monkeypatch, 40)
    store.add(rating=0, question="old, with a phone number 13800000000", answer=ANSWER)
    days_ago(monkeypatch, 5)
    store.add(rating=1, question="recent", answer=ANSWER)
    assert questions(FeedbackStore(tmp_path)) == ["old, with a phone number 13800000000", "recent"]  # no retention: kept
    assert questions(FeedbackStore(tmp_path, retention_days=30)) == ["recent"]
    assert questions(FeedbackStore(tmp_path)) == ["recent"]  # really deleted, not hidden


def test_retention_is_enforced_periodically_in_a_long_running_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = FeedbackStore(tmp_path, retention_days=30)
    days_ago(monkeypatch, 31)
    store.add(rating=0, question="written 31 days ago", answer=ANSWER)  # within the hour of the last purge: kept
    monkeypatch.setattr(feedback, "_now", REAL_NOW)
    assert questions(store) == ["written 31 days ago"]
    clock = [1_000_000.0]
    monkeypatch.setattr(feedback.time, "monotonic", lambda: clock[0])
    store._purged_at = clock[0]
    clock[0] += feedback.PURGE_EVERY_SECONDS + 1  # an hour later, the next write purges
    store.add(rating=1, question="today", answer=ANSWER)
    assert questions(store) == ["today"]


def test_purge_older_than_and_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = FeedbackStore(tmp_path)
    for days, question in ((20, "a"), (10, "b"), (0, "c")):
        days_ago(monkeypatch, days)
        store.add(rating=1, question=question, answer=ANSWER)
    assert store.purge(older_than_days=15) == 1 and questions(store) == ["b", "c"]
    assert store.purge() == 2 and questions(store) == []


# --- the CLI ------------------------------------------------------------------------------
def seed(monkeypatch: pytest.MonkeyPatch) -> FeedbackStore:
    store = open_feedback_store(get_settings())
    days_ago(monkeypatch, 12)
    store.add(rating=0, question="older", answer=ANSWER, comment="不对")
    days_ago(monkeypatch, 1)
    store.add(rating=1, question="newer", answer=ANSWER)
    monkeypatch.setattr(feedback, "_now", REAL_NOW)
    return store


def test_cli_feedback_export_to_stdout_and_file(isolated_data_dir: Path, monkeypatch, capsys, tmp_path: Path) -> None:
    seed(monkeypatch)
    assert cli.main(["feedback", "export"]) == 0
    lines = capsys.readouterr().out.splitlines()
    items = [json.loads(line) for line in lines]
    assert [i["question"] for i in items] == ["older", "newer"]
    assert items[0]["feedback"]["comment"] == "不对" and "needs_review" in items[0]["tags"]
    out = tmp_path / "fb.jsonl"
    assert cli.main(["feedback", "export", "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8").splitlines() == lines
    assert "2 feedback items written" in capsys.readouterr().err


def test_cli_feedback_purge(isolated_data_dir: Path, monkeypatch, capsys) -> None:
    seed(monkeypatch)
    assert cli.main(["feedback", "purge", "--older-than", "7"]) == 0
    assert capsys.readouterr().out.strip() == "1 feedback rows deleted"
    assert questions(FeedbackStore(isolated_data_dir)) == ["newer"]
    assert cli.main(["feedback", "purge", "--all"]) == 0
    assert questions(FeedbackStore(isolated_data_dir)) == []
    for argv in (["feedback", "purge"], ["feedback", "purge", "--all", "--older-than", "3"], ["feedback", "purge", "--older-than", "-1"]):
        with pytest.raises(SystemExit) as exit_info:
            cli.main(argv)
        assert exit_info.value.code == 2
        assert "Traceback" not in capsys.readouterr().err


def test_cli_hash_password_reads_stdin_and_prints_a_hash(monkeypatch, capsys) -> None:
    from chatbot.staff_auth import verify_password

    monkeypatch.setattr("sys.stdin", io.StringIO("a long staff password\n"))
    assert cli.main(["hash-password"]) == 0
    encoded = capsys.readouterr().out.strip()
    assert encoded.startswith("scrypt$n=16384,r=8,p=1$") and "a long staff password" not in encoded
    assert verify_password("a long staff password", encoded) and not verify_password("a long staff passwort", encoded)
    monkeypatch.setenv("CHATBOT_STAFF_PASSWORD_HASH", encoded)
    assert Settings().staff_password_hash.get_secret_value() == encoded
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert cli.main(["hash-password"]) == 2
    assert "at least 12 characters" in capsys.readouterr().err
