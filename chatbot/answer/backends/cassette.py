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
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from chatbot.answer.backends.base import Health, LLMBackend
from chatbot.errors import BackendError, InputError

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


class CassetteChatModel(BaseChatModel):
    """A chat model that answers only the prompts it was recorded on."""

    tapes: dict[str, dict]
    backend_name: str = "replay"

    @property
    def _llm_type(self) -> str:
        return "cassette"

    def _tape(self, messages: list[BaseMessage]) -> dict:
        tape = self.tapes.get(prompt_key(prompt_messages(messages)))
        if tape is None:
            raise BackendError(self.backend_name, "This prompt was not recorded.", fix="Record it with CHATBOT_RECORD_TO first.")
        if tape.get("error"):
            raise BackendError(self.backend_name, f"(recorded failure) {tape['error']}")
        return tape

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        text = "".join(self._tape(messages)["pieces"])
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        for piece in self._tape(messages)["pieces"]:
            yield ChatGenerationChunk(message=AIMessageChunk(content=piece))


class ReplayBackend(LLMBackend):
    """`--backend replay`: the recorded answers of CHATBOT_REPLAY_FROM, for re-scoring checker changes."""

    name = "replay"
    recordable = False  # replaying into the same cassette would only copy it

    def default_model(self) -> str | None:
        return "cassette"

    def _path(self) -> Path:
        if self.settings.replay_from is None:
            raise BackendError(self.name, "No cassette to replay.", fix="Set CHATBOT_REPLAY_FROM to a file recorded with CHATBOT_RECORD_TO.")
        return self.settings.replay_from

    def _build_model(self) -> BaseChatModel:
        try:
            tapes = load_cassette(self._path())
        except InputError as exc:
            raise BackendError(self.name, str(exc)) from None
        return CassetteChatModel(tapes=tapes, backend_name=self.name)

    def _close_model(self, model: BaseChatModel) -> None:
        """Nothing to close: the cassette is read into memory once."""

    def translate(self, exc: BaseException, *, started: bool) -> BackendError:
        return BackendError(self.name, f"Unexpected failure ({type(exc).__name__}).")

    def health(self) -> Health:
        try:
            tapes = load_cassette(self._path())
        except (InputError, BackendError) as exc:
            return Health(self.name, False, str(exc), self.model)
        return Health(self.name, True, f"{len(tapes)} recorded prompts", self.model)
