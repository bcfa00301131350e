"""Metric definitions (see README, "Evaluation").

Over the answerable items with evidence unless said otherwise:
- hit@k: a passage among the first k contains an evidence string (whitespace removed from both);
- mrr: mean of 1/rank of the first such passage, 0 when none is in the top 10;
- keyword_accuracy: the answer contains every keyword (width and whitespace normalised);
- citation_accuracy: a passage the answer cites contains the evidence;
- verified_rate: share of answer sentences whose figures were verified;
- refusal: positive class "unanswerable", predicted by `refused`, over all items.
"""

from __future__ import annotations

import statistics
import unicodedata

from chatbot.textutil import compact


def norm(text: str) -> str:
    return compact(unicodedata.normalize("NFKC", text)).lower()


def evidence_rank(passage_texts: list[str], evidence: list[str], depth: int = 10) -> int | None:
    wanted = [compact(e) for e in evidence if compact(e)]
    for rank, text in enumerate(passage_texts[:depth], start=1):
        body = compact(text)
        if any(e in body for e in wanted):
            return rank
    return None


def keywords_ok(answer: str, keywords: list[str]) -> bool:
    body = norm(answer)
    return all(norm(k) in body for k in keywords)


def mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 4) if values else None


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return round(ordered[index], 2)


def summarize(rows: list[dict]) -> dict:
    """rows: per-item results from the runner."""
    graded = [r for r in rows if r["answerable"] and r["evidence"]]
    ranks = [r["rank"] for r in graded]
    answerable = [r for r in rows if r["answerable"]]
    sentences = [v for r in graded for v in r["sentence_verified"]]
    tp = sum(1 for r in rows if not r["answerable"] and r["refused"])
    fp = sum(1 for r in rows if r["answerable"] and r["refused"])
    fn = sum(1 for r in rows if not r["answerable"] and not r["refused"])
    correct = sum(1 for r in rows if r["answerable"] != r["refused"])
    latencies = [r["latency_ms"] for r in rows if r.get("latency_ms") is not None]
    return {
        "n": len(rows),
        "retrieval": {
            "hit@1": mean([1.0 if r is not None and r <= 1 else 0.0 for r in ranks]),
            "hit@3": mean([1.0 if r is not None and r <= 3 else 0.0 for r in ranks]),
            "hit@5": mean([1.0 if r is not None and r <= 5 else 0.0 for r in ranks]),
            "mrr": mean([1.0 / r if r else 0.0 for r in ranks]),
        },
        "answer": {
            "keyword_accuracy": mean([1.0 if r["keywords_ok"] else 0.0 for r in answerable if r["keywords"]]),
            "citation_accuracy": mean([1.0 if r["citation_ok"] else 0.0 for r in graded]),
            "verified_rate": mean([1.0 if v else 0.0 for v in sentences]),
        },
        "refusal": {
            "precision": round(tp / (tp + fp), 4) if tp + fp else None,
            "recall": round(tp / (tp + fn), 4) if tp + fn else None,
            "accuracy": round(correct / len(rows), 4) if rows else None,
        },
        "latency_ms": {"p50": percentile(latencies, 0.5), "p95": percentile(latencies, 0.95)},
    }
