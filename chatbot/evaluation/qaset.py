"""Read a QA set (JSONL). A broken line is reported with its number; the rest still run."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chatbot.types import Message


class QAItem(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    question: str
    answer: str | None = None
    evidence: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    answerable: bool
    history: list[Message] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)


@dataclass
class QASet:
    items: list[QAItem]
    errors: list[str] = field(default_factory=list)


def load_qa(path: Path, split: str | None = None) -> QASet:
    items: list[QAItem] = []
    errors: list[str] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        from chatbot.errors import InputError

        raise InputError(f"Cannot read the QA file {path}: {exc}") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = QAItem.model_validate(json.loads(line))
        except json.JSONDecodeError as exc:
            errors.append(f"{path}:{number}: not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            errors.append(f"{path}:{number}: {problems}")
            continue
        if split and getattr(item, "split", None) != split:
            continue
        items.append(item)
    return QASet(items, errors)
