"""Local Ollama backend via langchain-ollama."""

from __future__ import annotations

import logging

import httpx
from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, ConfigDict, Field

from chatbot.answer.backends._errors import address, from_status, stream_cut, unavailable
from chatbot.answer.backends.base import Health, LLMBackend
from chatbot.errors import BackendError

logger = logging.getLogger(__name__)


class OllamaBackend(LLMBackend):
    name = "ollama"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        temperature: float = Field(0.1, ge=0, le=2)
        num_predict: int = Field(800, ge=16)

    def default_model(self) -> str | None:
        return self.settings.ollama_model

    @property
    def where(self) -> str:
        """For the log only: the server's scheme, host and port."""
        return address(self.settings.ollama_host)

    def _url(self, path: str) -> httpx.URL:
        """An API path on the configured host: the host's own path, query and fragment never
        change which endpoint is asked (a trailing '#' once made the health check GET any path)."""
        return httpx.URL(self.settings.ollama_host).copy_with(path=path, query=None, fragment=None)

    def _build_model(self) -> BaseChatModel:
        from langchain_ollama import ChatOllama

        options = self.Options(temperature=self.settings.temperature, num_predict=self.settings.max_output_tokens)
        return ChatOllama(
            model=self.model,
            base_url=self.settings.ollama_host,
            temperature=options.temperature,
            num_predict=options.num_predict,
            client_kwargs={
                "timeout": httpx.Timeout(self.settings.read_timeout, connect=self.settings.connect_timeout),
                "follow_redirects": False,
            },
        )

    def translate(self, exc: BaseException, *, started: bool) -> BackendError:
        import ollama

        if isinstance(exc, ollama.ResponseError):
            return from_status(self.name, exc.status_code, self.model, where=self.where, detail=str(exc.error))
        if isinstance(exc, httpx.TimeoutException):
            return unavailable(self.name, where=self.where, timeout=self.settings.read_timeout)
        if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)) or (started and isinstance(exc, (httpx.HTTPError, ConnectionError))):
            return stream_cut(self.name, where=self.where)
        if isinstance(exc, (httpx.HTTPError, ConnectionError, OSError)):
            return unavailable(self.name, where=self.where)
        logger.warning("backend ollama: unexpected %s: %s", type(exc).__name__, str(exc)[:200])
        return BackendError(self.name, f"Unexpected failure ({type(exc).__name__}).")

    def _close_model(self, model: BaseChatModel) -> None:
        client = model._client  # type: ignore[attr-defined]
        if client is not None:
            client._client.close()

    def health(self) -> Health:
        try:
            response = httpx.get(self._url("/api/tags"), timeout=httpx.Timeout(5.0, connect=2.0), follow_redirects=False)
            response.raise_for_status()
            names = [m.get("name", "") for m in response.json().get("models", [])]
        except httpx.HTTPStatusError as exc:
            return Health(self.name, False, str(from_status(self.name, exc.response.status_code, self.model, where=self.where)), self.model)
        except (httpx.HTTPError, ValueError) as exc:
            return Health(self.name, False, str(self.translate(exc, started=False)), self.model)
        wanted = self.model if ":" in (self.model or "") else f"{self.model}:latest"
        if wanted not in names:
            return Health(self.name, False, f"reachable, but the model is not pulled. Run: ollama pull {self.model}", self.model)
        return Health(self.name, True, "reachable", self.model)
