"""Record a model's answers once, replay them many times (a VCR cassette for chat models).

A real small model takes about 35 s per question on a shared 2-core machine, so re-scoring a
checker change over 60 questions live costs most of an hour. With `CHATBOT_RECORD_TO=FILE`, every
LLM backend appends each exchange to FILE (JSON lines: the exact prompt's key, the prompt, the
streamed pieces or the error). The `replay` backend (`CHATBOT_REPLAY_FROM=FILE`) then answers the
same prompts with the same pieces, instantly, through the same chain, so everything downstream of
the model (verification, fallback, metrics) runs for real on the recorded outputs.

The key is the exact prompt (every message's role and text): a retrieval or prompt change gives new
keys, and an unrecorded prompt is a BackendError saying so, never a made-up answer. Latencies
measured on a replay mean nothing; they come from the recording run.

This module is the cassette file (keys, recording, loading); the `replay` backend that answers from
it is `chatbot.answer.backends.replay`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from pathlib import Path
from typing import Any

from langchain_core.messages import BaseMessage

from chatbot.errors import InputError

logger = logging.getLogger(__name__)

_WRITE_LOCK = threading.Lock()


def prompt_messages(messages: list[BaseMessage]) -> list[dict[str, str]]:
    return [{"role": m.type, "content": m.content if isinstance(m.content, str) else json.dumps(m.content, ensure_ascii=False)}
            for m in messages]


def prompt_key(messages: list[dict[str, str]]) -> str:
    """The exact prompt's fingerprint: roles and texts, in order."""
    blob = json.dumps(messages, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def rendered_prompt(runnable: Any, inputs: Any) -> list[dict[str, str]] | None:
    """The messages a `prompt | model | parser` chain sends for `inputs` (None for another shape)."""
    from langchain_core.prompts import BasePromptTemplate

    first = getattr(runnable, "first", None)
    if not isinstance(first, BasePromptTemplate):
        return None
    return prompt_messages(first.invoke(inputs).to_messages())


def record(path: Path, *, backend: str, model: str | None, messages: list[dict[str, str]],
           pieces: list[str], error: str | None, seconds: float, ttft: float | None) -> None:
    """Append one exchange to the cassette (whole lines, so parallel answers never interleave)."""
    line = json.dumps({
        "key": prompt_key(messages), "backend": backend, "model": model, "messages": messages,
        "pieces": pieces, "error": error, "seconds": round(seconds, 3), "ttft": None if ttft is None else round(ttft, 3),
    }, ensure_ascii=False)
    with _WRITE_LOCK:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")


def load_cassette(path: Path) -> dict[str, dict]:
    """key → the last exchange recorded for it (a re-recording overrides an older take)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"Cannot read the replay cassette {path}: {exc.strerror or exc}.") from None
    tapes: dict[str, dict] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            tapes[entry["key"]] = entry
        except (ValueError, KeyError, TypeError):
            raise InputError(f"The replay cassette {path} has a broken line {number}.") from None
    return tapes
