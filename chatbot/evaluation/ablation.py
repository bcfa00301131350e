"""Does each row of the question-shape table earn its place? Remove it and measure.

`python -m chatbot.evaluation.ablation --qa tests/data/qa.jsonl --split tune` evaluates the
split once with every row of `chatbot.question.rules.RULES`, then once without each row, and
prints the change in refusal precision, recall and accuracy and in keyword accuracy. A row
whose removal costs nothing (or helps) does not earn its place. Retrieval does not depend on
the rules, so its results are computed once and reused. Run it on the tuning split only.
"""

from __future__ import annotations

import argparse
import json
from functools import lru_cache
from pathlib import Path

from chatbot.answer import rules as table
from chatbot.evaluation.run import evaluate


def _scores(report: dict) -> dict[str, float]:
    refusal, answer = report["refusal"], report["answer"]
    return {"precision": refusal["precision"] or 0.0, "recall": refusal["recall"] or 0.0,
            "accuracy": refusal["accuracy"] or 0.0, "keywords": answer["keyword_accuracy"] or 0.0}


def ablate(path: Path, split: str, bot=None) -> dict[str, dict[str, float]]:  # noqa: ANN001 - a Chatbot
    """{"all": scores, row name: scores without that row, ...}."""
    from chatbot.launch import open_chatbot

    bot = bot or open_chatbot()
    search = lru_cache(maxsize=None)(
        lambda q, h, k, mode, where: bot.retriever.search(q, k, mode=mode, where=json.loads(where), context=h))
    bot.search = lambda standalone, history, k, *, mode="hybrid", where=None: search(  # type: ignore[method-assign]
        standalone, next((m.content for m in reversed(history) if m.role == "user"), None), k, mode, json.dumps(where))
    full = table.RULES
    out = {"all": _scores(evaluate(path, split=split, progress=False, bot=bot))}
    try:
        for row in full:
            table.RULES = tuple(r for r in full if r is not row)
            out[row.name] = _scores(evaluate(path, split=split, progress=False, bot=bot))
    finally:
        table.RULES = full
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qa", type=Path, required=True)
    parser.add_argument("--split", default="tune")
    args = parser.parse_args()
    results = ablate(args.qa, args.split)
    base = results["all"]
    print(json.dumps({"all": base}))
    for name, scores in results.items():
        if name != "all":
            delta = {key: round(scores[key] - base[key], 4) for key in base}
            print(f"without {name:12s} {json.dumps(delta)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
