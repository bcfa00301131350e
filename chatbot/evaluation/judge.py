"""An LLM judge: faithfulness and answer relevancy, from prompts/judge.md.

Runs only when an LLM backend is configured; otherwise the report says it was
skipped rather than inventing a number.
"""

from __future__ import annotations

import json
import logging
import re

from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from chatbot.answer.backends.base import LLMBackend
from chatbot.answer.llm import format_passages, load_prompt
from chatbot.core import Chatbot
from chatbot.evaluation.metrics import mean
from chatbot.types import Passage

logger = logging.getLogger(__name__)
_JSON = re.compile(r"\{.*\}", re.S)


def pick_judge(bot: Chatbot, name: str | None) -> LLMBackend | None:
    """The named backend, else the configured one, if it is an LLM."""
    for candidate in (name, bot.settings.backend):
        if candidate:
            backend = bot.backend(candidate)
            if isinstance(backend, LLMBackend):
                return backend
    return None


def parse_scores(text: str) -> dict[str, float] | None:
    match = _JSON.search(text)
    if not match:
        return None
    try:
        data = json.loads(match.group())
        scores = {key: float(data[key]) for key in ("faithfulness", "relevancy")}
    except (ValueError, KeyError, TypeError):
        return None
    if not all(0.0 <= v <= 1.0 for v in scores.values()):
        return None
    return scores


def judge_rows(bot: Chatbot, rows: list[dict], *, backend: str | None = None) -> dict:
    judge = pick_judge(bot, backend)
    if judge is None:
        return {"skipped": "no LLM backend is configured (set CHATBOT_BACKEND or pass --judge-backend openai|ollama)"}
    prompt = ChatPromptTemplate.from_template(load_prompt("judge.md"))
    runnable = prompt | judge.chat_model() | StrOutputParser()
    faithfulness, relevancy, failures = [], [], []
    for row in rows:
        if not row.get("answer") or row.get("error"):
            continue
        passages = [Passage.model_validate(p) for p in row.get("contexts", [])]
        try:
            text = runnable.invoke(
                {"question": row["question"], "passages": format_passages(passages), "answer": row["answer"]}
            )
        except Exception as exc:  # noqa: BLE001 - one failed item must not stop the report
            error = judge.translate(exc, started=False)
            failures.append(f"{row['id']}: {error}")
            if len(failures) >= 3 and not faithfulness:
                break  # the judge is down; don't time out on every item
            continue
        scores = parse_scores(text)
        if scores is None:
            failures.append(f"{row['id']}: the judge's reply was not the expected JSON")
            continue
        row["judge"] = scores
        faithfulness.append(scores["faithfulness"])
        relevancy.append(scores["relevancy"])
    return {
        "backend": judge.name,
        "model": judge.model,
        "n": len(faithfulness),
        "faithfulness": mean(faithfulness),
        "answer_relevancy": mean(relevancy),
        "failures": failures,
    }
