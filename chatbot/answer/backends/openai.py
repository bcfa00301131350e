"""OpenAI-compatible backend (OpenAI, DeepSeek, DashScope, vLLM, llama.cpp server) via langchain-openai."""

from __future__ import annotations

import logging

import httpx
import openai
from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, ConfigDict, Field

from chatbot.answer.backends._errors import address, from_status, scrub, stream_cut, unavailable
from chatbot.answer.backends.base import Health, LLMBackend
from chatbot.errors import BackendError

logger = logging.getLogger(__name__)


class OpenAIBackend(LLMBackend):
    name = "openai"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        temperature: float = Field(0.1, ge=0, le=2)
        max_tokens: int = Field(800, ge=16)

    def default_model(self) -> str | None:
        return self.settings.openai_model

    @property
    def where(self) -> str:
        """For the log only: the server's scheme, host and port."""
        return address(self.settings.openai_base_url or "https://api.openai.com")

    def _key(self) -> str:
        return self.settings.openai_api_key.get_secret_value() if self.settings.openai_api_key else "not-set"

    def _timeout(self) -> httpx.Timeout:
        return httpx.Timeout(self.settings.read_timeout, connect=self.settings.connect_timeout)

    def _http_client(self, timeout: httpx.Timeout) -> httpx.Client:
        """No redirects: the operator's key goes to the configured base URL and nowhere else
        (the openai client's own default follows them, re-sending the key and the body)."""
        return httpx.Client(timeout=timeout, follow_redirects=False)

    def _build_model(self) -> BaseChatModel:
        from langchain_openai import ChatOpenAI

        options = self.Options(temperature=self.settings.temperature, max_tokens=self.settings.max_output_tokens)
        compatible = bool(self.settings.openai_base_url)
        return ChatOpenAI(
            model=self.model,
            base_url=self.settings.openai_base_url,
            api_key=self._key(),  # type: ignore[arg-type]
            temperature=options.temperature,
            # langchain-openai sends the cap as max_completion_tokens, which OpenAI reads but
            # compatible servers (llama.cpp, older vLLM) ignore: send them the classic max_tokens.
            max_tokens=None if compatible else options.max_tokens,
            extra_body={"max_tokens": options.max_tokens} if compatible else None,
            timeout=self._timeout(),
            http_client=self._http_client(self._timeout()),
            max_retries=0,
            streaming=True,
        )

    def translate(self, exc: BaseException, *, started: bool) -> BackendError:
        cause = exc if isinstance(exc, openai.OpenAIError) else (exc.__cause__ or exc)
        if isinstance(cause, openai.APIStatusError):
            detail = scrub(str(getattr(cause, "message", "")), [self._key()])
            return from_status(self.name, cause.status_code, self.model, where=self.where, detail=detail)
        if isinstance(cause, openai.APITimeoutError):
            return unavailable(self.name, where=self.where, timeout=self.settings.read_timeout)
        if isinstance(cause, openai.APIConnectionError):
            return stream_cut(self.name, where=self.where) if started else unavailable(self.name, where=self.where)
        logger.warning("backend openai: unexpected %s: %s", type(exc).__name__, scrub(str(exc), [self._key()])[:200])
        return BackendError(self.name, f"Unexpected failure ({type(exc).__name__}).")

    def _close_model(self, model: BaseChatModel) -> None:
        model.root_client.close()  # type: ignore[attr-defined]

    def health(self) -> Health:
        timeout = httpx.Timeout(5.0, connect=2.0)
        client = openai.OpenAI(
            api_key=self._key(), base_url=self.settings.openai_base_url, timeout=timeout, max_retries=0,
            http_client=self._http_client(timeout),
        )
        try:
            models = [m.id for m in client.models.list()]
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            return Health(self.name, False, str(self.translate(exc, started=False)), self.model)
        finally:
            client.close()
        if models and self.model not in models:
            return Health(self.name, True, f"reachable, but the model '{self.model}' is not listed", self.model)
        return Health(self.name, True, "reachable", self.model)
