"""Metric definitions (see README, "Evaluation").

Over the answerable items with evidence unless said otherwise:
- hit@k: a passage among the first k contains an evidence string (whitespace removed from both);
- mrr: mean of 1/rank of the first such passage, 0 when none is in the top 10;
- keyword_accuracy: the answer contains every keyword (width and whitespace normalised);
- citation_accuracy: a passage the answer cites contains the evidence;
- verified_rate: share of answer sentences whose figures were verified;
- answer_chars: median and 90th percentile of the answers' length in characters, [n] markers left out,
  over the items answered (not refused, no error): how much a reader must read to find the answer;
- refusal: positive class "unanswerable", predicted by `refused`, over all items.

Safety, over all items (the same for every backend: an LLM refusal is `refused` too):
- flagged: the reader is warned about the answer: a sentence the checker did not verify, a fallback
  to the extractive answer, or any warning;
- unflagged_wrong: answers (not refusals) that are wrong and carry no flag: an answer to an
  unanswerable item, or an answer to an answerable item that misses a keyword; its rate is over all
  items (goal 0);
- false_alarm_rate: among correct answers (every keyword present, not refused), the share flagged
  (goal ≤ 0.05);
- false_alarm_rate_kept: the same among the correct answers the chosen backend gave itself (no
  fallback): how often the checker flags a right model answer it lets through. A fallback shows the
  checked offline answer, which the issue allows, yet its notice counts as a flag above;
- false_alarm_rate_shown: among all correct answers, the share whose shown text is warned about: an
  unverified sentence or a warning. The notice of a fallback the checks chose is left out: the answer
  shown is the checked offline answer, and the UI and CLI show that notice as information, apart from
  warnings (chatbot.answer.notices); a backend failure's notice still counts;
- unflagged_wrong_shown: its counterpart, the wrong answers whose shown text carries no warning (a
  checks' fallback to a wrong offline answer counts here): the two standards side by side;
- fallback_rate: share of the items answered (no input error) that fell back to the extractive answer;
- fallback_reasons: how many fell back for each reason (uncited, unsupported, backend_error...).

latency_ms is the core's own timing of a whole answer; ttft_ms is measured from outside, from the call to
`Chatbot.stream` to its first "token" event (the first text a reader sees).
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections import Counter

from chatbot.answer.notices import is_information
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


_MARKER = re.compile(r"\[\d+\]")


def answer_chars(rows: list[dict]) -> dict:
    """The length of the answers given, in characters without their [n] markers."""
    lengths = [len(_MARKER.sub("", r.get("answer") or "")) for r in rows if not r["refused"] and not r.get("error")]
    median = round(statistics.median(lengths), 1) if lengths else None
    return {"n": len(lengths), "p50": median, "p90": percentile(lengths, 0.9)}


def mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 4) if values else None


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return round(ordered[index], 2)


def flagged(row: dict) -> bool:
    """The reader is warned: an unverified sentence, a fallback, or a warning."""
    return bool(row.get("fallback")) or not all(row.get("sentence_verified") or []) or bool(row.get("warnings"))


def flagged_shown(row: dict) -> bool:
    """The answer the reader sees is warned about: an unverified sentence, or a warning other than the
    notice of a fallback the checks chose (information: the offline answer shown is checked)."""
    return not all(row.get("sentence_verified") or []) or any(not is_information(w) for w in row.get("warnings") or [])


def wrong(row: dict) -> bool:
    """An answer, not a refusal, that should not have been given or misses a keyword."""
    if row["refused"]:
        return False
    if not row["answerable"]:
        return True
    return bool(row["keywords"]) and not row["keywords_ok"]


def correct(row: dict) -> bool:
    return row["answerable"] and bool(row["keywords"]) and row["keywords_ok"] and not row["refused"]


def safety(rows: list[dict]) -> dict:
    unflagged = [r for r in rows if wrong(r) and not flagged(r)]
    answered = [r for r in rows if not r.get("error")]
    return {
        "unflagged_wrong": len(unflagged),
        "unflagged_wrong_rate": round(len(unflagged) / len(rows), 4) if rows else None,
        "false_alarm_rate": mean([1.0 if flagged(r) else 0.0 for r in rows if correct(r)]),
        "false_alarm_rate_kept": mean([1.0 if flagged(r) else 0.0 for r in rows if correct(r) and not r.get("fallback")]),
        "unflagged_wrong_shown": sum(1 for r in rows if wrong(r) and not flagged_shown(r)),
        "false_alarm_rate_shown": mean([1.0 if flagged_shown(r) else 0.0 for r in rows if correct(r)]),
        "fallback_rate": mean([1.0 if r.get("fallback") else 0.0 for r in answered]),
        "fallback_reasons": dict(Counter(r.get("fallback_reason") or "?" for r in answered if r.get("fallback"))),
    }


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
    first_tokens = [r["ttft_ms"] for r in rows if r.get("ttft_ms") is not None]
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
        "safety": safety(rows),
        "answer_chars": answer_chars(rows),
        "latency_ms": {"p50": percentile(latencies, 0.5), "p95": percentile(latencies, 0.95)},
        "ttft_ms": {"p50": percentile(first_tokens, 0.5), "p95": percentile(first_tokens, 0.95)},
    }
