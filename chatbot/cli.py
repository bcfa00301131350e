"""Command line: `python -m chatbot ask|chat|eval|backends|serve`. A thin layer over the core."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from chatbot.errors import ChatbotError
from chatbot.settings import get_settings
from chatbot.types import Answer, Message
from chatbot.verify.reasons import reason_label


def _print_answer(answer: Answer, out=sys.stdout) -> None:
    print(answer.answer, file=out)
    if answer.standalone_question != answer.question:
        print(f"  (理解为 / understood as: {answer.standalone_question})", file=out)
    for sentence in answer.sentences:
        if not sentence.verified:
            why = f" ({reason_label(sentence.reason)} / {reason_label(sentence.reason, 'en')})" if sentence.reason else ""
            print(f"  ⚠ 未核实 / unverified{why}: {sentence.text}", file=out)
    for c in answer.citations:
        page = f"，第{c.page}版" if c.page else ""
        print(f"  [{c.n}] {c.section}{page}：{c.quote}", file=out)
    for warning in answer.warnings:
        print(f"  ! {warning}", file=out)


def _load_history(path: Path | None) -> list[dict]:
    if path is None:
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ChatbotError(f"Cannot read the history file {path}: {exc}") from exc
    if not isinstance(data, list):
        raise ChatbotError(f'{path}: history must be a JSON list of {{"role", "content"}} objects.')
    return data


def cmd_ask(args: argparse.Namespace) -> int:
    from chatbot.core import open_chatbot

    bot = open_chatbot(progress=not args.json)
    where = {key: value for key, value in (("city", args.city), ("year", args.year), ("source", args.source)) if value is not None}
    answer = bot.ask(args.question, _load_history(args.history), k=args.k, backend=args.backend, model=args.model, where=where or None)
    if args.json:
        print(json.dumps(answer.to_json_dict(), ensure_ascii=False, indent=2))
    else:
        _print_answer(answer)
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from chatbot.core import open_chatbot
    from chatbot.ui.strings import report_heading, t

    bot = open_chatbot(progress=True)
    history: list[Message] = []
    print(t("zh", "chat_banner", heading=report_heading("zh", bot.retriever.documents)[0]))
    while True:
        try:
            question = input("\n你> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not question:
            return 0
        if question == "/new":
            history.clear()
            print("（新对话）")
            continue
        try:
            answer = bot.ask(question, history, k=args.k, backend=args.backend, model=args.model)
        except ChatbotError as exc:
            print(f"! {exc}")
            continue
        print("答> ", end="")
        _print_answer(answer)
        history += [Message(role="user", content=question), Message(role="assistant", content=answer.answer)]


def cmd_backends(args: argparse.Namespace) -> int:
    from chatbot.backends import BACKENDS, get_backend

    settings = get_settings()
    for name in BACKENDS:
        try:
            health = get_backend(name, settings).health()
            status = "reachable" if health.reachable else "unreachable"
            model = f" model={health.model}" if health.model else ""
            print(f"{name:<11} {status:<12}{model} — {health.detail}")
        except ChatbotError as exc:
            print(f"{name:<11} unavailable  — {exc}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from chatbot.api.server import serve

    return serve(args.host, args.port)


def cmd_eval(args: argparse.Namespace) -> int:
    from chatbot.evaluation.run import run_cli

    return run_cli(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m chatbot", description="Q&A over the government work reports in the store.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log to stderr")
    sub = parser.add_subparsers(dest="command", required=True)

    ask = sub.add_parser("ask", help="answer one question")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="print the answer as one JSON object")
    ask.add_argument("--k", type=int, default=None, help="passages to retrieve")
    ask.add_argument("--backend", default=None, help="extractive (default), openai or ollama")
    ask.add_argument("--model", default=None)
    ask.add_argument("--history", type=Path, default=None, help='JSON file: [{"role": "user"|"assistant", "content": "..."}]')
    ask.add_argument("--city", default=None, help="only the report of this city (as written in its .meta.json)")
    ask.add_argument("--year", type=int, default=None, help="only the report of this year")
    ask.add_argument("--source", default=None, help="only this source file (its file name)")
    ask.set_defaults(func=cmd_ask)

    chat = sub.add_parser("chat", help="a terminal conversation that keeps history")
    chat.add_argument("--k", type=int, default=None)
    chat.add_argument("--backend", default=None)
    chat.add_argument("--model", default=None)
    chat.set_defaults(func=cmd_chat)

    backends = sub.add_parser("backends", help="list backends and whether they can be reached")
    backends.set_defaults(func=cmd_backends)

    srv = sub.add_parser("serve", help="an OpenAI-compatible chat-completions API over HTTP")
    srv.add_argument("--host", default="127.0.0.1", help="address to bind (non-loopback needs CHATBOT_API_KEYS)")
    srv.add_argument("--port", type=int, default=8000)
    srv.set_defaults(func=cmd_serve)

    ev = sub.add_parser("eval", help="score a QA set; writes report.json, report.md and a chart")
    ev.add_argument("--qa", type=Path, required=True)
    ev.add_argument("--backend", default=None)
    ev.add_argument("--model", default=None)
    ev.add_argument("--k", type=int, default=5)
    ev.add_argument("--out", type=Path, default=Path("eval-out"))
    ev.add_argument("--split", default=None, help="only items whose 'split' field has this value (e.g. holdout)")
    ev.add_argument("--baselines", action="store_true", help="also score BM25-only, dense-only and RRF retrieval side by side")
    ev.add_argument("--chunk-sizes", default=None, help="comma-separated token budgets for a chunk-size ablation, e.g. 96,192,384")
    ev.add_argument("--judge", action="store_true", help="score faithfulness and answer relevancy with an LLM judge")
    ev.add_argument("--judge-backend", default=None, help="LLM backend for the judge (default: --backend, else CHATBOT_BACKEND)")
    ev.add_argument("--quiet", action="store_true")
    ev.set_defaults(func=cmd_eval)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except ChatbotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
