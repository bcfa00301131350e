"""What verification costs per answer: the extractive answers of the tune split, checked again.

    CHATBOT_DATA_DIR=... python scripts/verify_cost.py      # needs an ingested store
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chatbot.answer.verify import verify  # noqa: E402
from chatbot.launch import open_chatbot  # noqa: E402


def main() -> int:
    bot = open_chatbot()
    rows = [json.loads(line) for line in (ROOT / "tests" / "data" / "qa.jsonl").read_text(encoding="utf-8").splitlines()]
    costs, verified = [], 0
    for row in (r for r in rows if r["split"] == "tune"):
        answer = bot.ask(row["question"], row.get("history") or [])
        started = time.perf_counter()
        result = verify(answer.answer, answer.contexts)
        costs.append((time.perf_counter() - started) * 1000)
        verified += result.verified
    costs.sort()
    print(f"{len(costs)} extractive answers, {verified} fully verified")
    print(f"verify: p50 {statistics.median(costs):.2f} ms, p95 {costs[int(0.95 * len(costs))]:.2f} ms, max {costs[-1]:.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
