"""The chat-completions request as the API reads it, and the bodies it sends back.

A request's `messages` are a conversation: the last user message is the question, earlier
user/assistant turns are its history (so follow-ups are condensed as in the UI). System and
developer messages are ignored: the server's prompts are its own. Fields this server does not
use (`temperature`, `max_tokens`, `n`, tools, ...) are accepted and ignored, so standard clients
need no special settings; a client can never choose a base URL or a model server.

Responses carry the standard fields plus the `ask --json` fields beside them (`citations`,
`sentences`, `standalone_question`, `refused`, `fallback`, `warnings`, `answer`, `backend`,
`latency_ms`; `contexts` only when the request says `"contexts": true`). The core's own
`question` and `model` keys are left out: `model` is the standard field here.
"""

from __future__ import annotations

import time
import uuid

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chatbot.api.errors import ApiError
from chatbot.client_choices import BackendChoice, find_choice
from chatbot.tokens import count_tokens
from chatbot.types import Answer, Message

# Sent before the replacement when a streamed model answer is withdrawn (see streaming.py).
RESET_SEPARATOR = "\n\n——更正 / corrected——\n\n"

_OMITTED = ("question", "model", "contexts")


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict] | None = None

    def text(self) -> str:
        """The text of the message; multi-part content keeps its text parts only."""
        if isinstance(self.content, str):
            return self.content
        if not self.content:
            return ""
        return "".join(str(part.get("text", "")) for part in self.content if part.get("type") == "text")


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # temperature, max_tokens, n, ...: accepted, unused

    model: str | None = None
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    contexts: bool = False


def parse_request(body: bytes) -> ChatCompletionRequest:
    """The request, or 400 with one line naming the first wrong field."""
    try:
        return ChatCompletionRequest.model_validate_json(body or b"{}")
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ())) or None
        if first.get("type") == "json_invalid":
            raise ApiError(400, "The request body is not valid JSON.", code="invalid_json") from None
        raise ApiError(400, f"Invalid request: {where}: {first.get('msg')}", param=where, code="invalid_request") from None


def resolve_model(name: str | None, choices: list[BackendChoice]) -> BackendChoice:
    """The operator's choice the client named (the first one when none is named), or 404."""
    if not name:
        return choices[0]
    choice = find_choice(name, choices)
    if choice is None:
        offered = ", ".join(c.label for c in choices)
        raise ApiError(
            404,
            f"The model '{name[:100]}' does not exist or is not offered here. Available: {offered}.",
            param="model",
            code="model_not_found",
        )
    return choice


def conversation(messages: list[ChatMessage], max_messages: int) -> tuple[str, list[Message]]:
    """(question, history) from the last `max_messages` messages."""
    turns = [m for m in messages[-max_messages:] if m.role in ("user", "assistant")]
    if not turns or turns[-1].role != "user":
        raise ApiError(400, "The last message must be the user's question.", param="messages", code="invalid_messages")
    history = [Message(role=m.role, content=_without_withdrawn(m.text())) for m in turns[:-1]]  # type: ignore[arg-type]
    return turns[-1].text(), history


def _without_withdrawn(text: str) -> str:
    """A streamed assistant turn that was corrected: only the text after the last separator counts."""
    return text.rsplit(RESET_SEPARATOR.strip(), 1)[-1].strip() if RESET_SEPARATOR.strip() in text else text


def new_completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def extras(answer: Answer, *, with_contexts: bool) -> dict:
    """The `ask --json` fields that ride beside the standard ones."""
    data = answer.to_json_dict()
    contexts = data["contexts"]
    for key in _OMITTED:
        data.pop(key, None)
    if with_contexts:
        data["contexts"] = contexts
    return data


def usage(question: str, history: list[Message], answer_text: str) -> dict:
    """Tokens of what the client sent and got (cl100k), not of the passages the server added."""
    prompt = count_tokens(question) + sum(count_tokens(m.content) for m in history)
    completion = count_tokens(answer_text)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def completion_body(completion_id: str, label: str, answer: Answer, usage_: dict, *, with_contexts: bool) -> dict:
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": label,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer.answer, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": usage_,
        **extras(answer, with_contexts=with_contexts),
    }


def chunk_body(completion_id: str, created: int, label: str, delta: dict, finish_reason: str | None = None) -> dict:
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": label,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
    }


def models_body(choices: list[BackendChoice]) -> dict:
    return {
        "object": "list",
        "data": [{"id": c.label, "object": "model", "created": 0, "owned_by": "chatbot"} for c in choices],
    }
