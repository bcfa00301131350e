"""Shared fixtures: an isolated data folder per test, and one store built per session."""

from __future__ import annotations

import gc
import os
import shutil
import sys
import threading
from pathlib import Path

import pytest

from chatbot.settings import Settings, get_settings

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "seeds" / "zhangjiajie_2023_government_work_report_p2.txt"

_CHATBOT_ENV = [k for k in os.environ if k.startswith(("CHATBOT_", "CHROMA_", "OPENAI_", "OLLAMA_"))]


@pytest.fixture(autouse=True)
def isolated_data_dir(tmp_path, monkeypatch):
    """Every test gets its own data folder and no settings from the developer's shell."""
    for key in _CHATBOT_ENV:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("CHATBOT_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield tmp_path / "data"
    get_settings.cache_clear()


def _broken_connection(exc: BaseException | None) -> bool:
    import httpx
    import openai

    return isinstance(exc, (openai.APIConnectionError, httpx.TransportError))


@pytest.fixture(autouse=True)
def collect_cut_streams():
    """Finish each test's abandoned model calls and collect its garbage at its own end.

    A test whose fake model server cuts or stalls a stream leaves an answer worker running
    (the deadline abandoned it) and LangChain's upstream generators suspended; finished or
    collected later, they re-raise the broken connection as "exception ignored" in whichever
    test happens to run then. A broken connection is what such a test set up, so it is dropped
    here; any other unraisable exception still fails the test that caused it.
    """
    yield
    previous = sys.unraisablehook

    def hook(unraisable) -> None:  # noqa: ANN001 - sys.UnraisableHookArgs
        if not _broken_connection(unraisable.exc_value):
            previous(unraisable)

    sys.unraisablehook = hook
    try:
        for worker in [t for t in threading.enumerate() if t.name == "answer-worker"]:
            worker.join(timeout=30)
        gc.collect()
    finally:
        sys.unraisablehook = previous


@pytest.fixture(scope="session")
def built_store(tmp_path_factory) -> Path:
    """The seeds ingested once with the real offline embedder; tests copy it."""
    from ingest.pipeline import ingest

    data = tmp_path_factory.mktemp("store") / "data"
    ingest([ROOT / "seeds"], Settings(data_dir=data), progress=False)
    return data


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory):
    """A store built once from seeds/ in a temporary data dir, for the whole session (the web-app tests)."""
    path = tmp_path_factory.mktemp("ui-store")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CHATBOT_DATA_DIR", str(path))
        mp.setenv("CHATBOT_BACKEND", "extractive")
        get_settings.cache_clear()
        from chatbot.launch import open_chatbot

        open_chatbot()  # ingests seeds/ (~10 s) so that each AppTest finds a ready store
        yield path
    get_settings.cache_clear()


@pytest.fixture
def store_copy(built_store, isolated_data_dir, monkeypatch) -> Path:
    shutil.copytree(built_store, isolated_data_dir)
    return isolated_data_dir


@pytest.fixture(scope="session")
def shared_bot(built_store):
    """A read-only Chatbot over the session store (do not ingest into it)."""
    from chatbot.core import Chatbot

    return Chatbot(Settings(data_dir=built_store))


_OPEN_BOTS: list = []


def track(bot):
    """Close this Chatbot after the test: LLM clients and Chroma HTTP clients hold sockets."""
    _OPEN_BOTS.append(bot)
    return bot


@pytest.fixture(autouse=True)
def close_tracked_bots():
    yield
    while _OPEN_BOTS:
        _OPEN_BOTS.pop().close()
