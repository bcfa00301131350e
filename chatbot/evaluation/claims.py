"""Score the sentence checker (chatbot.answer.verify) on the labelled claims set.

tests/data/claims.jsonl (built by scripts/build_claims.py) holds answer sentences labelled
faithful or with the kind of lie they tell; claims_passages.jsonl holds the passages they
cite. For each lie kind: recall (the sentence is flagged) and the share flagged with a fitting
reason; for faithful sentences: the false-alarm rate; for each reason: its precision (the
share of sentences given that reason that are lies).
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from chatbot.answer.verify import verify
from chatbot.types import Passage

DATA = Path(__file__).resolve().parents[2] / "tests" / "data"


def load(split: str | None = None, data: Path = DATA) -> list[tuple[dict, list[Passage]]]:
    """(row, its passages in citation order) for the rows of `split` (None: all)."""
    passages = {}
    for line in (data / "claims_passages.jsonl").read_text(encoding="utf-8").splitlines():
        p = json.loads(line)
        passages[p["chunk_id"]] = Passage(
            chunk_id=p["chunk_id"], text=p["text"], score=1.0, source=p["source"], section=p["section"],
            year=p.get("year"), city=p.get("city"), title=p.get("title", ""),
        )
    rows = [json.loads(line) for line in (data / "claims.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(r, [passages[c] for c in r["passages"]]) for r in rows if split is None or r["split"] == split]


@dataclass
class KindScore:
    n: int = 0
    flagged: int = 0
    right_reason: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.flagged / self.n if self.n else 0.0


@dataclass
class ClaimsReport:
    kinds: dict[str, KindScore]
    reasons: dict[str, tuple[int, int]]  # reason -> (given, given to a lie)
    ms_per_sentence: float

    @property
    def false_alarm_rate(self) -> float:
        faithful = self.kinds.get("faithful")
        return faithful.recall if faithful else 0.0

    def table(self) -> str:
        lines = ["| kind | n | flagged (recall) | right reason |", "|---|---|---|---|"]
        for kind, s in sorted(self.kinds.items(), key=lambda kv: (kv[0] == "faithful", kv[0])):
            label = "faithful (false alarms)" if kind == "faithful" else kind
            reason = "" if kind == "faithful" else f"{s.right_reason / s.n:.3f}" if s.n else ""
            lines.append(f"| {label} | {s.n} | {s.flagged} ({s.recall:.3f}) | {reason} |")
        lines += ["", "| reason | given | precision (share given to lies) |", "|---|---|---|"]
        for reason, (given, to_lies) in sorted(self.reasons.items()):
            lines.append(f"| {reason} | {given} | {to_lies / given:.3f} |")
        return "\n".join(lines)


def score(split: str | None, data: Path = DATA) -> ClaimsReport:
    kinds: dict[str, KindScore] = defaultdict(KindScore)
    reasons: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    rows = load(split, data)
    started = time.perf_counter()
    for row, passages in rows:
        result = verify(row["sentence"], passages)
        flagged = [s for s in result.sentences if not s.verified]
        s = kinds[row["kind"]]
        s.n += 1
        if flagged:
            s.flagged += 1
            if any(f.reason in row["expected_reasons"] for f in flagged):
                s.right_reason += 1
        elif row["label"] == "lie":
            s.misses.append(row["id"])
        if row["label"] == "faithful" and flagged:
            s.misses.append(f"{row['id']}:{flagged[0].reason}")
        for f in flagged:
            reasons[f.reason or "?"][0] += 1
            reasons[f.reason or "?"][1] += row["label"] == "lie"
    elapsed = (time.perf_counter() - started) * 1000
    return ClaimsReport(dict(kinds), {k: (v[0], v[1]) for k, v in reasons.items()}, elapsed / max(1, len(rows)))
