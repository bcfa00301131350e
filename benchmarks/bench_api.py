"""API load benchmark: 20 concurrent clients x 10 questions against `python -m chatbot serve`.

    python benchmarks/bench_api.py [--clients 20] [--questions 10] [--rounds 2]

The server runs as its own process (extractive backend, one shared Chatbot) over a temporary
store with the seeds; every client is the official `openai` client with its own conversation
(one follow-up each, sent as `messages`). In the same run, the same scripts go through the
in-process `Chatbot.ask` (serially and with as many threads), so the printed ratios are the
API's cost over calling the core directly. Prints p50/p95, errors (must be 0), answers that
differ from the serial API run (must be 0; also those differing from the in-process answers),
and the server's RSS at start, after the serial run (its caches filled) and after each round
(memory must stay flat from round to round). The serial runs fill the query caches of the core
and of the server alike, so serial compares with serial and concurrent with concurrent.

OpenMP: OMP_WAIT_POLICY=passive for both processes unless set (see bench_load.py).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "passive")

import argparse  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from collections.abc import Callable  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

import httpx  # noqa: E402
from _common import free_port, pct, rss_mb  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

ROOT = Path(__file__).resolve().parents[1]
BENCH_KEY = "bench-key-not-secret"

Row = tuple[str, float, "str | None", str]  # question, ms, error, answer
Asker = Callable[[str, list[dict]], str]


def build_scripts(clients: int, questions: int) -> list[list[str]]:
    """Each client's questions, in order, with one follow-up in the middle (as bench_load.py)."""
    from chatbot.evaluation.qaset import load_qa

    items = [i for i in load_qa(ROOT / "tests" / "data" / "qa.jsonl").items if not i.history]
    followups = ["那固定资产投资呢？", "那社会消费品零售总额呢？", "这个目标比去年高吗？"]
    scripts = []
    for c in range(clients):
        qs = [items[(c * questions + j) % len(items)].question for j in range(questions)]
        qs[questions // 2] = followups[c % len(followups)]
        scripts.append(qs)
    return scripts


def run_script(questions: list[str], ask: Asker) -> list[Row]:
    history: list[dict] = []
    rows = []
    for q in questions:
        t = time.perf_counter()
        try:
            text, error = ask(q, history), None
            history += [{"role": "user", "content": q}, {"role": "assistant", "content": text}]
        except Exception:  # noqa: BLE001 - counted and printed
            text, error = "", traceback.format_exc(limit=3)
        rows.append((q, (time.perf_counter() - t) * 1000, error, text))
    return rows


def run_all(scripts: list[list[str]], make_asker: Callable[[], Asker], threads: int) -> tuple[list[list[Row]], float]:
    """Every script, `threads` at a time (1: serially); each script gets its own asker (client)."""
    t = time.perf_counter()
    if threads == 1:
        asker = make_asker()
        results = [run_script(qs, asker) for qs in scripts]
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            results = list(pool.map(lambda qs: run_script(qs, make_asker()), scripts))
    return results, time.perf_counter() - t


def summary(name: str, results: list[list[Row]], wall: float) -> tuple[float, float]:
    ms = [row[1] for rows in results for row in rows]
    errors = [row for rows in results for row in rows if row[2]]
    p50, p95 = statistics.median(ms), pct(ms, 95)
    print(f"{name}: {len(ms)} answers in {wall:.1f} s ({len(ms) / wall:.1f}/s); p50 {p50:.0f} ms, p95 {p95:.0f} ms, "
          f"max {max(ms):.0f} ms; errors {len(errors)}")
    for row in errors[:3]:
        print(f"  error on {row[0]!r}:\n{row[2]}", file=sys.stderr)
    return p50, p95


def differing(a: list[list[Row]], b: list[list[Row]]) -> int:
    return sum(1 for x, y in zip(a, b) for r, s in zip(x, y) if r[3] != s[3])


def start_server(data_dir: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "CHATBOT_DATA_DIR": str(data_dir), "CHATBOT_API_KEYS": BENCH_KEY, "CHATBOT_API_RATE_LIMIT": "100000"}
    proc = subprocess.Popen([sys.executable, "-m", "chatbot", "serve", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise SystemExit("the server did not become healthy in 120 s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--questions", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    import openai

    from chatbot.core import Chatbot
    from chatbot.settings import Settings
    from ingest.pipeline import ingest

    scripts = build_scripts(args.clients, args.questions)
    print(f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')} cpus={os.cpu_count()} "
          f"CHATBOT_API_MAX_CONCURRENT={os.environ.get('CHATBOT_API_MAX_CONCURRENT', '(default 8)')}")
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        data = Path(tmp) / "data"
        ingest([ROOT / "seeds"], Settings(data_dir=data), progress=False)

        bot = Chatbot(Settings(data_dir=data))
        in_process = lambda: lambda q, history: bot.ask(q, history).answer  # noqa: E731
        run_all(scripts[:2], in_process, 1)  # warm-up
        core_serial, wall = run_all(scripts, in_process, 1)
        core_serial_p = summary("in-process Chatbot.ask, serial", core_serial, wall)
        core_conc, wall = run_all(scripts, in_process, args.clients)
        core_conc_p = summary(f"in-process Chatbot.ask, {args.clients} threads", core_conc, wall)
        bot.close()

        port = free_port()
        server = start_server(data, port)
        try:
            def api_client() -> Asker:
                client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=BENCH_KEY, max_retries=0, timeout=300)

                def ask(q: str, history: list[dict]) -> str:
                    reply = client.chat.completions.create(model="extractive", messages=[*history, {"role": "user", "content": q}])
                    return reply.choices[0].message.content or ""

                return ask

            run_all(scripts[:2], api_client, 1)  # warm-up
            start_rss = rss_mb(server.pid)
            api_serial, wall = run_all(scripts, api_client, 1)
            api_serial_p = summary("API, 1 client", api_serial, wall)
            print(f"  answers differing from the in-process answers: {differing(api_serial, core_serial)}")
            rss = [rss_mb(server.pid)]
            for r in range(args.rounds):
                api_conc, wall = run_all(scripts, api_client, args.clients)
                api_conc_p = summary(f"API round {r + 1}, {args.clients} concurrent clients x {args.questions} questions", api_conc, wall)
                rss.append(rss_mb(server.pid))
                print(f"  answers differing from the serial API run: {differing(api_conc, api_serial)}")
            print(f"server RSS: start {start_rss:.0f} MB, after the serial run {rss[0]:.0f} MB, after each round "
                  + " / ".join(f"{v:.0f}" for v in rss[1:]) + " MB")
            print(f"ratio API / in-process, serial:     p50 {api_serial_p[0] / core_serial_p[0]:.2f}x, p95 {api_serial_p[1] / core_serial_p[1]:.2f}x")
            print(f"ratio API / in-process, concurrent: p50 {api_conc_p[0] / core_conc_p[0]:.2f}x, p95 {api_conc_p[1] / core_conc_p[1]:.2f}x")
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()


if __name__ == "__main__":
    main()
