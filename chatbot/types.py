"""The values the core hands to the CLI, the UI and the evaluation."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Message(BaseModel):
    role: Literal["user", "assistant"]
    content: str


class Passage(BaseModel):
    """One retrieved chunk, with where it comes from and why it ranked."""

    chunk_id: str
    text: str
    score: float
    source: str
    section: str
    page: int | None = None
    start: int = 0
    end: int = 0
    title: str = ""
    city: str | None = None
    year: int | None = None
    index: int = 0
    signals: dict[str, float] = Field(default_factory=dict)


class Citation(BaseModel):
    n: int
    chunk_id: str
    source: str
    section: str
    page: int | None
    quote: str


class AnswerSentence(BaseModel):
    """One sentence of an answer as checked by chatbot.answer.verify.

    `reason` says why it is not verified: figure, year, name, place, organisation,
    unsupported, uncited or injected (None when verified). `added_citations` are the
    markers the checker attached itself to a sentence the answer left uncited.
    """

    text: str
    citations: list[int] = Field(default_factory=list)
    verified: bool = True
    reason: str | None = None
    unverified_figures: list[str] = Field(default_factory=list)
    added_citations: list[int] = Field(default_factory=list)


class Answer(BaseModel):
    question: str
    standalone_question: str
    answer: str
    refused: bool
    backend: str
    model: str | None = None
    fallback: bool = False
    # why the offline answer replaced the chosen backend's: busy (model-call cap), backend_error,
    # empty (the model's answer says nothing checkable: "[1] [2]"), uncited (it cites no passage, even after the checker attached the ones that clearly
    # support it), unsupported (most of the model's answer failed the checks), injected (it repeated a
    # planted instruction), off_question (it quotes the report on something else), other_evidence (it passed
    # those checks, but shares nothing with the offline answer from the same passages), figure_alone (it passed
    # them, but is a bare figure, "17384处", that does not say what it counts), partial_list (asked for a
    # list, it names some of the members the offline answer quotes and leaves others out), no_evidence (it passed
    # those checks, but the offline answer, reading the same passages, refuses: the answer is withheld)
    fallback_reason: Literal["busy", "backend_error", "empty", "uncited", "unsupported", "injected", "off_question",
                             "other_evidence", "figure_alone", "partial_list", "no_evidence"] | None = None
    rewritten_by: Literal["none", "rules", "model"] = "none"  # who made a follow-up standalone
    citations: list[Citation] = Field(default_factory=list)
    sentences: list[AnswerSentence] = Field(default_factory=list)
    contexts: list[Passage] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    latency_ms: float = 0.0

    def to_json_dict(self) -> dict:
        data = self.model_dump(mode="json")
        data["contexts"] = [
            {
                "chunk_id": p.chunk_id,
                "text": p.text,
                "score": round(p.score, 6),
                "source": p.source,
                "section": p.section,
                "page": p.page,
                "start": p.start,
                "end": p.end,
            }
            for p in self.contexts
        ]
        return data
