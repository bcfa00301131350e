"""Core benchmark: ingest time, warm query latency, peak RSS, retrieval quality side by side.

    python benchmarks/bench_core.py [--split holdout]

Prints figures; asserts nothing. The hybrid, BM25-only and dense-only rows are
computed on the same questions (the held-out split by default).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--split", default="holdout")
    parser.add_argument("--repeat", type=int, default=3, help="passes over the questions for latency")
    args = parser.parse_args()

    from chatbot.core import Chatbot
    from chatbot.evaluation.metrics import summarize
    from chatbot.evaluation.qaset import load_qa
    from chatbot.evaluation.run import retrieval_rows
    from chatbot.settings import Settings
    from ingest.pipeline import ingest

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))
        started = time.perf_counter()
        summary = ingest([ROOT / "seeds"], settings, progress=False)
        ingest_s = time.perf_counter() - started
        started = time.perf_counter()
        ingest([ROOT / "seeds"], settings, progress=False)
        reingest_s = time.perf_counter() - started
        bot = Chatbot(settings)
        items = load_qa(ROOT / "tests" / "data" / "qa.jsonl", args.split).items
        questions = [i.question for i in items if not i.history]
        for q in questions[:5]:  # warm up
            bot.ask(q)
        retrieve_ms, answer_ms = [], []
        for _ in range(args.repeat):
            for q in questions:
                # warm = models loaded; the query vector cache is emptied so every query is embedded
                bot.retriever._query_cache.clear()
                t = time.perf_counter()
                bot.retrieve(q, 5)
                retrieve_ms.append((time.perf_counter() - t) * 1000)
                bot.retriever._query_cache.clear()
                t = time.perf_counter()
                bot.ask(q)
                answer_ms.append((time.perf_counter() - t) * 1000)
        print(f"ingest: {ingest_s:.1f} s for {summary.chunks} chunks ({summary.tokens} tokens); re-ingest (no change): {reingest_s:.1f} s")
        print(f"chunk size: median {summary.median_chars:.0f} chars, max {summary.max_chars} chars")
        q = statistics.quantiles
        print(f"warm retrieval p50 {statistics.median(retrieve_ms):.1f} ms, p95 {q(retrieve_ms, n=20)[18]:.1f} ms (n={len(retrieve_ms)})")
        print(f"warm retrieval + extractive answer p50 {statistics.median(answer_ms):.1f} ms, p95 {q(answer_ms, n=20)[18]:.1f} ms")
        print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
        print(f"\nretrieval on the '{args.split}' split ({len(items)} items, answerable with evidence graded):")
        print(f"{'method':<8} {'hit@1':>6} {'hit@3':>6} {'hit@5':>6} {'mrr':>6}")
        for mode in ("bm25", "dense", "rrf", "hybrid"):
            m = summarize(retrieval_rows(bot, items, mode))["retrieval"]
            print(f"{mode:<8} {m['hit@1']:>6.3f} {m['hit@3']:>6.3f} {m['hit@5']:>6.3f} {m['mrr']:>6.3f}")


if __name__ == "__main__":
    main()
