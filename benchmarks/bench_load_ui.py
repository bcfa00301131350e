"""UI load benchmark: N browser sessions x Q questions against a running Streamlit server.

    python benchmarks/bench_load_ui.py [--sessions 20] [--questions 10] [--timeout 120] [--budget 780] [--no-check]

What it does, all on 127.0.0.1 and in a temporary data folder:

1. `python -m ingest` into a fresh CHATBOT_DATA_DIR (the seeds);
2. `streamlit run chatbot/app.py --server.port <free> --server.headless true` with that
   environment, and waits for `/_stcore/health`;
3. one headless Debian chromium (playwright async API), one browser context per session, so
   each is its own Streamlit session (own websocket, own `SessionState`); every session opens
   the page, and once all are loaded they ask their questions in sequence, all concurrently;
4. per question, latency from pressing Enter to the answer being complete: the session's
   n-th assistant message carries the answer's meta caption ("后端：…") or an error box, the
   chat input is enabled again (it is disabled while the script runs: submit_mode="disable")
   and the status widget no longer shows a running script. Citation cards are counted;
5. errors: timeouts, Streamlit exception boxes (`stException`), `st.error` boxes in the answer,
   assistant messages with no answer, connection-lost banners, uncaught page errors;
6. RSS (VmRSS of the server process and its descendants) when the server is idle, when every
   session has loaded the page (chatbot loaded), after each 25% of the questions, and at the end.
   Memory is called flat when it grows < 10% from the 25% sample to the end;
7. unless --no-check, every answer shown is compared with a serial in-process `Chatbot.ask`
   of the same question and session history (a cross-session or thread-safety symptom), and
   the CPU time of the server and of the browser is reported (on a small machine the browser
   is the heavier load, which inflates the UI latency).

Questions: the items of tests/data/qa.jsonl with no history, session s asking items
s*Q .. s*Q+Q-1 (wrapping). Each session keeps its own conversation, as a person would, so
later questions are asked with that session's history (the app condenses follow-ups).

Bounded: each question waits at most --timeout s; the question phase stops at --budget s
(questions not asked by then are reported, not silently dropped); the server and the browser
are stopped in `finally` (also on Ctrl-C / SIGTERM).

OpenMP: the server gets OMP_WAIT_POLICY=passive unless set (see bench_load.py for why).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from _common import free_port, pct  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]
PLACEHOLDER = "输入你的问题"
META_PREFIX = "后端："  # t("zh", "answer_meta"): shown under every answer, refused ones included
REFUSED = "报告中没有相关内容。"

# State of the page after the n-th question (n = argument): null while it is not complete,
# else what the n-th assistant message holds.
DONE_JS = r"""
(n) => {
  const msgs = [...document.querySelectorAll('[data-testid="stChatMessage"]')]
    .filter(m => m.querySelector('[data-testid="stChatMessageAvatarAssistant"]'));
  const exc = document.querySelectorAll('[data-testid="stException"]').length;
  const conn = document.querySelector('[data-testid="stConnectionStatus"]');
  const connText = conn ? conn.innerText : '';
  if (msgs.length < n) {
    return exc ? {state: 'exception', exc, text: '', cards: 0, errors: 0} : null;
  }
  const last = msgs[n - 1];
  const text = last.innerText || '';
  const users = [...document.querySelectorAll('[data-testid="stChatMessage"]')]
    .filter(m => m.querySelector('[data-testid="stChatMessageAvatarUser"]'));
  const user = users.length >= n ? (users[n - 1].innerText || '') : '';
  const errors = last.querySelectorAll('[data-testid="stAlertContentError"]').length;
  const hasMeta = text.includes('__META__');
  const ta = document.querySelector('[data-testid="stChatInputTextArea"]');
  const status = document.querySelector('[data-testid="stStatusWidget"]');
  const running = !!(status && status.querySelector('[data-testid="stStatusWidgetRunningIcon"], [data-testid="stStatusWidgetRunningManIcon"]'))
    || !!(status && /Stop|Running/.test(status.innerText || ''));
  if (!(hasMeta || errors || exc)) return null;
  if (!ta || ta.disabled || running) return null;
  return {
    state: 'done', exc, errors, hasMeta, conn: connText,
    cards: last.querySelectorAll('[class*="st-key-card-"]').length,
    refused: text.includes('__REFUSED__'),
    text: text.slice(0, 8000), user: user.slice(0, 2000),
  };
}
""".replace("__META__", META_PREFIX).replace("__REFUSED__", REFUSED)

# What is on the page now (after a timeout): to say why.
SNAPSHOT_JS = r"""
(n) => {
  const msgs = [...document.querySelectorAll('[data-testid="stChatMessage"]')]
    .filter(m => m.querySelector('[data-testid="stChatMessageAvatarAssistant"]'));
  const ta = document.querySelector('[data-testid="stChatInputTextArea"]');
  const status = document.querySelector('[data-testid="stStatusWidget"]');
  const conn = document.querySelector('[data-testid="stConnectionStatus"]');
  const exc = [...document.querySelectorAll('[data-testid="stException"]')].map(e => e.innerText.slice(0, 600));
  return {assistant: msgs.length, want: n, input_disabled: ta ? ta.disabled : null,
          status: status ? status.innerText : null, conn: conn ? conn.innerText : null, exceptions: exc,
          last: msgs.length ? (msgs[msgs.length - 1].innerText || '').slice(0, 300) : ''};
}
"""


# --- process helpers ----------------------------------------------------------
def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                stat = handle.read()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may contain spaces/parentheses, split after the last ')'
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def tree_rss_mb(pid: int) -> float:
    """VmRSS of `pid` and all its descendants, in MB (0 if it is gone)."""
    tree = _children()
    total_kb, todo, seen = 0, [pid], set()
    while todo and len(seen) < 10_000:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            with open(f"/proc/{p}/status") as handle:
                for line in handle:
                    if line.startswith("VmRSS:"):
                        total_kb += int(line.split()[1])
                        break
        except OSError:
            pass
        todo.extend(tree.get(p, []))
    return total_kb / 1024


def tree_pids(pid: int) -> set[int]:
    tree, out, todo = _children(), set(), [pid]
    while todo and len(out) < 10_000:
        p = todo.pop()
        if p not in out:
            out.add(p)
            todo.extend(tree.get(p, []))
    return out


def cpu_seconds(pids: set[int]) -> float:
    """CPU time of these live processes and of their reaped children, in s."""
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            # utime, stime, cutime, cstime (stat fields 14-17): the c* part holds reaped children,
            # e.g. the renderers of closed browser contexts
            total += sum(int(x) for x in fields[11:15])
        except (OSError, IndexError, ValueError):
            pass
    return total / os.sysconf("SC_CLK_TCK")


def cpu_split(server_pid: int) -> tuple[float, float]:
    """(CPU s of the server tree, CPU s of this benchmark's other descendants: playwright driver + chromium)."""
    server = tree_pids(server_pid)
    mine = tree_pids(os.getpid()) - server - {os.getpid()}
    return cpu_seconds(server), cpu_seconds(mine)


def stop_process(proc: subprocess.Popen | None) -> None:
    """SIGTERM the process group we started (start_new_session=True), then SIGKILL it."""
    if proc is None or proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("streamlit did not start:\n" + log.read_text(encoding="utf-8", errors="replace")[-3000:])
        time.sleep(0.3)


# --- results ----------------------------------------------------------------------
@dataclass
class Result:
    session: int
    index: int
    question: str
    latency_ms: float | None = None
    server_ms: float | None = None  # the "· N 毫秒" of the meta caption: the chain's own latency
    error: str | None = None
    cards: int = 0
    refused: bool = False
    ui_text: str = ""  # the assistant message as shown (innerText)
    ui_user: str = ""  # the user message as shown
    fresh: bool = True  # asked in the session's first Streamlit session (no reload before it)


@dataclass
class Run:
    total: int
    pid: int
    results: list[Result] = field(default_factory=list)
    rss: list[tuple[str, float]] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    marks: list[int] = field(default_factory=list)
    cpu_start: tuple[float, float] = (0.0, 0.0)
    cpu_end: tuple[float, float] = (0.0, 0.0)
    differing: list[tuple[Result, str]] = field(default_factory=list)

    def record(self, result: Result) -> None:
        self.results.append(result)
        done = len(self.results)
        while self.marks and done >= self.marks[0]:
            mark = self.marks.pop(0)
            self.rss.append((f"{round(100 * mark / self.total)}% ({done} q)", tree_rss_mb(self.pid)))


_MS = re.compile(r"·\s*([\d,.]+)\s*毫秒")


async def run_session(browser, url: str, s: int, questions: list[str], run: Run, loaded: asyncio.Event,
                      counter: dict, args: argparse.Namespace, deadline: float) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    try:
        page = await context.new_page()
        page.on("pageerror", lambda exc: run.page_errors.append(f"session {s}: {exc}"))
        box = page.get_by_placeholder(PLACEHOLDER, exact=False)
        try:
            await page.goto(url, timeout=args.timeout * 1000)
            await box.wait_for(timeout=args.timeout * 1000)
        except Exception as exc:  # noqa: BLE001 - the whole session counts as failed
            for j, q in enumerate(questions):
                run.record(Result(s, j, q, error=f"page did not load: {type(exc).__name__}: {str(exc)[:200]}"))
            return
        finally:
            counter["loaded"] += 1
            if counter["loaded"] >= counter["sessions"]:
                loaded.set()
        await asyncio.wait_for(loaded.wait(), timeout=max(1.0, deadline - time.monotonic()))
        offset = 0  # questions asked before the last reload (a reload starts a new Streamlit session)
        for j, q in enumerate(questions):
            if time.monotonic() > deadline:
                run.record(Result(s, j, q, error="not asked: benchmark budget exhausted"))
                continue
            result = Result(s, j, q)
            t0 = time.perf_counter()
            try:
                await box.fill(q, timeout=args.timeout * 1000)
                await box.press("Enter", timeout=args.timeout * 1000)
                remaining = max(1.0, min(args.timeout, deadline + args.timeout - time.monotonic()))
                handle = await page.wait_for_function(DONE_JS, arg=j + 1 - offset, polling=100, timeout=remaining * 1000)
                state = await handle.json_value()
                result.latency_ms = (time.perf_counter() - t0) * 1000
                result.cards, result.refused = int(state.get("cards") or 0), bool(state.get("refused"))
                result.ui_text, result.ui_user, result.fresh = state.get("text") or "", state.get("user") or "", offset == 0
                match = _MS.search(result.ui_text)
                if match:
                    result.server_ms = float(match.group(1).replace(",", ""))
                if state.get("state") == "exception" or state.get("exc"):
                    result.error = "Streamlit exception box on the page"
                elif state.get("errors"):
                    result.error = "error box in the answer: " + (state.get("text") or "")[:200].replace("\n", " ")
                elif not state.get("hasMeta"):
                    result.error = "assistant message without an answer"
                elif not result.refused and result.cards == 0:
                    result.error = "answer without citation cards"
                if state.get("conn"):
                    result.error = (result.error or "") + f" [connection banner: {state['conn'][:80]}]"
            except Exception as exc:  # noqa: BLE001 - timeouts and driver errors are counted
                result.latency_ms = (time.perf_counter() - t0) * 1000
                try:
                    snap = await page.evaluate(SNAPSHOT_JS, j + 1 - offset)
                except Exception:  # noqa: BLE001
                    snap = {}
                result.error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}; page: {json.dumps(snap, ensure_ascii=False)[:600]}"
            run.record(result)
            if result.error and (result.latency_ms is None or result.error.startswith(("Timeout", "Error", "TargetClosed"))
                                 or "exception" in result.error):
                # the page is in an unknown state: reload it (a new Streamlit session) and go on
                try:
                    await page.reload(timeout=args.timeout * 1000)
                    await box.wait_for(timeout=args.timeout * 1000)
                    offset = j + 1
                except Exception:  # noqa: BLE001
                    for k in range(j + 1, len(questions)):
                        run.record(Result(s, k, questions[k], error="not asked: page lost after an error"))
                    return
    finally:
        try:
            await asyncio.wait_for(context.close(), timeout=30)
        except Exception:  # noqa: BLE001
            pass


async def drive(url: str, scripts: list[list[str]], run: Run, args: argparse.Namespace) -> float:
    """Runs every session; returns the wall time of the question phase (s)."""
    from playwright.async_api import async_playwright

    deadline = time.monotonic() + args.budget
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            t_load = time.perf_counter()
            loaded = asyncio.Event()
            counter = {"loaded": 0, "sessions": len(scripts)}
            timing: dict[str, float] = {}

            async def mark_loaded() -> None:
                await loaded.wait()
                run.rss.append(("all pages loaded", tree_rss_mb(run.pid)))
                timing["start"] = time.perf_counter()
                run.cpu_start = cpu_split(run.pid)
                print(f"{len(scripts)} pages loaded in {timing['start'] - t_load:.1f} s; asking", flush=True)

            marker = asyncio.create_task(mark_loaded())
            tasks = [asyncio.create_task(run_session(browser, url, s, qs, run, loaded, counter, args, deadline))
                     for s, qs in enumerate(scripts)]
            hard_stop = args.budget + 2 * args.timeout + 60
            done, pending = await asyncio.wait(tasks, timeout=hard_stop)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=30)
                print(f"hard stop: {len(pending)} session(s) cancelled after {hard_stop:.0f} s", file=sys.stderr)
            for task in done:
                if task.exception() is not None:
                    print(f"session task failed: {task.exception()!r}", file=sys.stderr)
            marker.cancel()
            run.cpu_end = cpu_split(run.pid)
            return time.perf_counter() - timing.get("start", time.perf_counter())
        finally:
            try:
                await asyncio.wait_for(browser.close(), timeout=30)
            except Exception:  # noqa: BLE001
                pass


_NORM = re.compile(r"[\s\u2060\\*]+")


def norm(text: str) -> str:
    return _NORM.sub("", text)


def reference_answers(scripts: list[list[str]], data_dir: Path) -> tuple[list[list[object]], float]:
    """Each session's answers from one in-process Chatbot, serially, with the same per-session history."""
    from chatbot.core import Chatbot
    from chatbot.settings import Settings

    bot = Chatbot(Settings(data_dir=data_dir, backend="extractive"))
    t = time.perf_counter()
    try:
        out = []
        for questions in scripts:
            history: list[dict] = []
            answers = []
            for q in questions:
                answer = bot.ask(q, history)
                answers.append(answer)
                history += [{"role": "user", "content": q}, {"role": "assistant", "content": answer.answer}]
            out.append(answers)
        return out, time.perf_counter() - t
    finally:
        bot.close()


def compare(run: Run, reference: list[list[object]]) -> None:
    """What each browser showed against the serial answer to the same question and history."""
    for r in run.results:
        if r.error or not r.fresh:
            continue
        ref = reference[r.session][r.index]
        shown = norm(r.ui_text)
        if norm(r.question) not in norm(r.ui_user):
            run.differing.append((r, f"the user message shows {r.ui_user[:80]!r}"))
        elif ref.refused != r.refused:
            run.differing.append((r, f"refused in the UI: {r.refused}, serially: {ref.refused}"))
        elif ref.refused:
            if norm(ref.answer) not in shown:
                run.differing.append((r, f"refusal text differs: serial {ref.answer[:80]!r}"))
        else:
            missing = [x.text for x in ref.sentences if norm(x.text) not in shown]
            if missing:
                run.differing.append((r, f"{len(missing)}/{len(ref.sentences)} serial sentence(s) not shown, e.g. {missing[0][:80]!r}"))
            elif r.cards != len(ref.citations):
                run.differing.append((r, f"{r.cards} citation cards, serially {len(ref.citations)} citations"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--questions", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds one question (or a page load) may take")
    parser.add_argument("--budget", type=float, default=780.0, help="seconds for the whole question phase")
    parser.add_argument("--no-check", action="store_true", help="skip comparing the answers with a serial in-process run")
    parser.add_argument("--keep-log", action="store_true", help="print the server log's tail at the end")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing", file=sys.stderr)
        return 2
    if args.sessions < 1 or args.questions < 1:
        parser.error("--sessions and --questions must be >= 1")

    def on_term(signum, frame):  # noqa: ANN001, ARG001 - run the finally blocks on SIGTERM too
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)

    from chatbot.evaluation.qaset import load_qa

    items = [i for i in load_qa(ROOT / "tests" / "data" / "qa.jsonl").items if not i.history]
    scripts = [[items[(s * args.questions + j) % len(items)].question for j in range(args.questions)] for s in range(args.sessions)]
    total = args.sessions * args.questions

    proc: subprocess.Popen | None = None
    t_all = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-load-ui-") as tmp:
        data_dir, log_path = Path(tmp) / "data", Path(tmp) / "streamlit.log"
        env = {**os.environ, "CHATBOT_DATA_DIR": str(data_dir), "CHATBOT_BACKEND": "extractive", "PYTHONWARNINGS": "ignore"}
        env.setdefault("OMP_WAIT_POLICY", "passive")
        print(f"sessions={args.sessions} questions/session={args.questions} ({total} questions from {len(items)} qa items without history) "
              f"timeout={args.timeout:.0f}s budget={args.budget:.0f}s cpus={os.cpu_count()} OMP_WAIT_POLICY={env['OMP_WAIT_POLICY']}", flush=True)
        log = log_path.open("w")
        try:
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "ingest", "--quiet"], cwd=ROOT, env=env, check=True, timeout=300)
            print(f"ingest: {time.perf_counter() - t:.1f} s", flush=True)
            reference = None
            if not args.no_check:
                reference, ref_s = reference_answers(scripts, data_dir)
                print(f"serial reference answers (in-process Chatbot, same histories): {total} in {ref_s:.1f} s", flush=True)
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            proc = subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", "chatbot/app.py", "--server.port", str(port), "--server.headless", "true",
                 "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
            t = time.perf_counter()
            wait_healthy(url, proc, log_path, timeout=90)
            print(f"streamlit up on {url} (pid {proc.pid}) in {time.perf_counter() - t:.1f} s", flush=True)

            run = Run(total=total, pid=proc.pid, marks=[max(1, round(total * f)) for f in (0.25, 0.5, 0.75, 1.0)])
            run.rss.append(("server idle", tree_rss_mb(proc.pid)))
            wall = asyncio.run(drive(url, scripts, run, args))
            time.sleep(2)
            run.rss.append(("end (sessions closed)", tree_rss_mb(proc.pid)))
            if reference is not None:
                compare(run, reference)
            report(run, wall, args, checked=reference is not None)
            server_alive = proc.poll() is None
            log.flush()
            text = log_path.read_text(encoding="utf-8", errors="replace")
            tracebacks = text.count("Traceback (most recent call last)")
            print(f"server alive at the end: {server_alive}; tracebacks in the server log: {tracebacks}")
            if tracebacks or args.keep_log:
                print("--- server log (tail) ---\n" + text[-4000:])
            errors = sum(1 for r in run.results if r.error)
            return 0 if errors == 0 and not run.differing and server_alive else 1
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130
        finally:
            stop_process(proc)
            log.close()
            print(f"total run time {time.perf_counter() - t_all:.1f} s; server stopped", flush=True)


def report(run: Run, wall: float, args: argparse.Namespace, *, checked: bool) -> None:
    results = sorted(run.results, key=lambda r: (r.session, r.index))
    ok = [r for r in results if r.error is None and r.latency_ms is not None]
    errors = [r for r in results if r.error]
    lat = [r.latency_ms for r in ok]
    server = [r.server_ms for r in ok if r.server_ms is not None]
    print(f"\n== {args.sessions} sessions x {args.questions} questions: {len(results)} recorded, {len(ok)} answered ok, "
          f"{sum(r.refused for r in ok)} refused (not errors), {len(errors)} errors")
    if lat:
        print(f"UI latency (Enter -> answer complete, input enabled): p50 {statistics.median(lat):.0f} ms, p95 {pct(lat, 95):.0f} ms, "
              f"max {max(lat):.0f} ms, mean {statistics.fmean(lat):.0f} ms")
    if server:
        print(f"server-side chain latency (meta caption): p50 {statistics.median(server):.0f} ms, p95 {pct(server, 95):.0f} ms, max {max(server):.0f} ms")
    print(f"question phase wall time {wall:.1f} s; throughput {len(ok) / wall if wall > 0 else 0:.2f} answers/s")
    kinds: dict[str, int] = {}
    for r in errors:
        key = re.sub(r"\d+", "N", r.error.split(";")[0])[:90]
        kinds[key] = kinds.get(key, 0) + 1
    print(f"errors: {len(errors)}" + "".join(f"\n  {n} x {k}" for k, n in sorted(kinds.items(), key=lambda kv: -kv[1])))
    for r in errors[:5]:
        print(f"  e.g. session {r.session} q{r.index + 1} {r.question!r}: {r.error}")
    if checked:
        compared = sum(1 for r in results if not r.error and r.fresh)
        print(f"answers differing from the serial in-process answer (same question and history): {len(run.differing)} of {compared} compared")
        for r, why in run.differing[:5]:
            print(f"  session {r.session} q{r.index + 1} {r.question!r}: {why}")
    (s0, b0), (s1, b1) = run.cpu_start, run.cpu_end
    if wall > 0:
        print(f"CPU during the question phase: server {s1 - s0:.0f} s ({(s1 - s0) / wall:.2f} cores), "
              f"chromium + playwright {b1 - b0:.0f} s ({(b1 - b0) / wall:.2f} cores), of {os.cpu_count()} cores")
    print(f"uncaught page errors in the browser: {len(run.page_errors)}" + "".join(f"\n  {e[:200]}" for e in run.page_errors[:3]))
    print("server RSS (process + children): " + "; ".join(f"{label} {mb:.0f} MB" for label, mb in run.rss))
    by_label = dict(run.rss)
    marks = [(label, mb) for label, mb in run.rss if "% (" in label]  # the 25/50/75/100% samples
    if len(marks) >= 2:
        (l0, base), (l1, last) = marks[0], marks[-1]
        growth = (last - base) / base * 100
        print(f"memory {'flat' if growth < 10 else 'NOT flat'} (threshold 10%): {growth:+.1f}% from the first-round sample "
              f"{l0} {base:.0f} MB to {l1} {last:.0f} MB; after closing the sessions {by_label.get('end (sessions closed)', 0):.0f} MB")
    else:
        print("memory: too few samples to judge (fewer than 2 of the 25/50/75/100% samples were reached)")


if __name__ == "__main__":
    sys.exit(main())
