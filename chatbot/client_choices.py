"""What a visitor or an API client may choose: the operator's list of backends and models.

A visitor never types a base URL, a key or a free model name: those belong to the
operator's settings. `CHATBOT_PUBLIC_BACKENDS` lists the allowed choices as
`backend[:model]` (the model part may itself contain colons, as Ollama's tags do:
`ollama:qwen2.5:7b`). The offline `extractive` answer is always among them.
"""

from __future__ import annotations

from dataclasses import dataclass

OFFLINE = "extractive"
_KNOWN = ("extractive", "openai", "ollama")


@dataclass(frozen=True)
class BackendChoice:
    backend: str
    model: str | None = None

    @property
    def label(self) -> str:
        """How the choice is named to clients: `extractive`, `openai:gpt-4o-mini`."""
        return f"{self.backend}:{self.model}" if self.model else self.backend


def parse_choice(text: str) -> BackendChoice:
    backend, _, model = text.strip().partition(":")
    backend, model = backend.strip().lower(), model.strip()
    if backend not in _KNOWN:
        raise ValueError(f"unknown backend '{backend}' in CHATBOT_PUBLIC_BACKENDS; use one of: {', '.join(_KNOWN)}")
    if backend == OFFLINE and model:
        raise ValueError("the extractive backend takes no model")
    return BackendChoice(backend, model or None)


def parse_choices(text: str) -> list[BackendChoice]:
    """The operator's list, offline answer first, without repeats."""
    choices = [BackendChoice(OFFLINE)]
    for part in text.split(","):
        if part.strip():
            choice = parse_choice(part)
            if choice not in choices:
                choices.append(choice)
    return choices


def find_choice(label: str, choices: list[BackendChoice]) -> BackendChoice | None:
    """The allowed choice a client named (`openai` matches `openai` or the only `openai:*`), or None."""
    wanted = label.strip()
    for choice in choices:
        if choice.label == wanted:
            return choice
    same_backend = [c for c in choices if c.backend == wanted]
    return same_backend[0] if len(same_backend) == 1 else None
