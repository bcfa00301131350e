"""Does each row of the question-shape table earn its place, and does a tuned constant generalise?

`python -m chatbot.evaluation.ablation --qa tests/data/qa.jsonl --split tune` evaluates the
split once with every row of `chatbot.question.rules.RULES`, then once without each row, and
prints the change in refusal precision, recall and accuracy and in keyword accuracy. A row
whose removal costs nothing (or helps) does not earn its place.

`--cross-validate MIN_COVERAGE=0,0.03,0.06` instead estimates how a constant of the extractive
answerer (`chatbot.answer.extractive`) generalises: the split is evaluated once per value, then in
each of `--folds` folds the value is chosen on the other folds (most correct refusal decisions,
then most keyword hits, then the value nearest the current one) and scored on the held-out fold.
The held-out rows together give the cross-validated figures; a split nearly saturated by tuning
cannot choose a mechanism any other way.

Retrieval does not depend on the rules or the constants, so its results are computed once and
reused. Run it on the tuning split only.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from chatbot.answer import extractive
from chatbot.evaluation.metrics import summarize
from chatbot.evaluation.run import evaluate
from chatbot.question import rules as table


def _scores(report: dict) -> dict[str, float]:
    refusal, answer = report["refusal"], report["answer"]
    return {"precision": refusal["precision"] or 0.0, "recall": refusal["recall"] or 0.0,
            "accuracy": refusal["accuracy"] or 0.0, "keywords": answer["keyword_accuracy"] or 0.0}


def _cached(bot):  # noqa: ANN001, ANN202 - a Chatbot
    """`bot` with its search memoised: every evaluation of the split retrieves the same passages."""
    search = lru_cache(maxsize=None)(
        lambda q, h, k, mode, where: bot.retriever.search(q, k, mode=mode, where=json.loads(where), context=h))
    bot.search = lambda standalone, history, k, *, mode="hybrid", where=None: search(  # type: ignore[method-assign]
        standalone, next((m.content for m in reversed(history) if m.role == "user"), None), k, mode, json.dumps(where))
    return bot


def _open(bot):  # noqa: ANN001, ANN202
    from chatbot.launch import open_chatbot

    return _cached(bot or open_chatbot())


def ablate(path: Path, split: str, bot=None) -> dict[str, dict[str, float]]:  # noqa: ANN001 - a Chatbot
    """{"all": scores, row name: scores without that row, ...}."""
    bot = _open(bot)
    full = table.RULES
    out = {"all": _scores(evaluate(path, split=split, progress=False, bot=bot))}
    try:
        for row in full:
            table.RULES = tuple(r for r in full if r is not row)
            out[row.name] = _scores(evaluate(path, split=split, progress=False, bot=bot))
    finally:
        table.RULES = full
    return out


def folds_of(rows: list[dict], folds: int, seed: int = 0) -> dict[str, int]:
    """Each item's fold, stratified: answerable and unanswerable items are dealt out separately."""
    rng = random.Random(seed)
    fold: dict[str, int] = {}
    for answerable in (True, False):
        ids = sorted(r["id"] for r in rows if r["answerable"] == answerable)
        rng.shuffle(ids)
        fold.update({item: i % folds for i, item in enumerate(ids)})
    return fold


def _objective(rows: list[dict]) -> tuple[int, int]:
    """Correct refusal decisions, then keyword hits: what a value is chosen for on the training folds."""
    return (sum(r["answerable"] != r["refused"] for r in rows),
            sum(bool(r["keywords_ok"]) for r in rows if r["answerable"] and r["keywords"]))


def choose_by_folds(runs: dict[float, list[dict]], current: float, folds: int = 5, seed: int = 0) -> tuple[list[float], list[dict]]:
    """`runs`: the split's item rows for each candidate value (same items, same order).

    Returns the value chosen in each fold (on the other folds) and the held-out rows under it."""
    values = sorted(runs)
    fold = folds_of(runs[values[0]], folds, seed)
    chosen: list[float] = []
    held_out: list[dict] = []
    for k in range(folds):
        def train(value: float, k: int = k) -> list[dict]:
            return [r for r in runs[value] if fold[r["id"]] != k]

        best = max(values, key=lambda v: (_objective(train(v)), -abs(v - current)))
        chosen.append(best)
        held_out += [r for r in runs[best] if fold[r["id"]] == k]
    return chosen, held_out


def cross_validate(path: Path, split: str, name: str, values: list[float], *, folds: int = 5, seeds: int = 1,
                   bot=None, progress: Callable[[str], None] | None = None) -> dict:  # noqa: ANN001
    """The constant `chatbot.answer.extractive.<name>`: its current figures and cross-validated ones."""
    if not isinstance(getattr(extractive, name, None), float):
        raise ValueError(f"chatbot.answer.extractive has no numeric constant {name}")
    bot = _open(bot)
    current = getattr(extractive, name)
    runs: dict[float, list[dict]] = {}
    try:
        for value in sorted(set(values) | {current}):
            setattr(extractive, name, value)
            runs[value] = evaluate(path, split=split, progress=False, bot=bot)["items"]
            if progress:
                progress(f"{name}={value}: {_scores(summarize(runs[value]))}")
    finally:
        setattr(extractive, name, current)
    out = {"constant": name, "current": {"value": current, **_scores(summarize(runs[current]))}, "folds": []}
    for seed in range(seeds):
        chosen, held_out = choose_by_folds(runs, current, folds, seed)
        out["folds"].append({"seed": seed, "chosen": chosen, **_scores(summarize(held_out))})
    return out


def _constant(spec: str) -> tuple[str, list[float]]:
    name, _, values = spec.partition("=")
    try:
        return name.strip(), [float(v) for v in values.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected NAME=v1,v2,..., got {spec!r}") from None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qa", type=Path, required=True)
    parser.add_argument("--split", default="tune")
    parser.add_argument("--cross-validate", type=_constant, metavar="NAME=v1,v2,...",
                        help="a constant of chatbot.answer.extractive and the values to choose from")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=1, help="fold assignments to average over")
    args = parser.parse_args()
    if args.cross_validate:
        name, values = args.cross_validate
        try:
            result = cross_validate(args.qa, args.split, name, values, folds=args.folds, seeds=args.seeds, progress=print)
        except ValueError as exc:
            parser.error(str(exc))
        print(json.dumps(result))
        return 0
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
