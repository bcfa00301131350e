"""Command line: `python -m chatbot ask|chat|eval|backends|serve|hash-password|feedback|figures`. A thin layer over the core."""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from pathlib import Path

from pydantic import ValidationError

from chatbot.answer.notices import is_information
from chatbot.answer.verify.reasons import reason_label
from chatbot.errors import ChatbotError
from chatbot.safetext import escape_controls, strip_controls
from chatbot.settings import get_settings
from chatbot.types import Answer, Message


def _say(text: object, out=None, **kwargs) -> None:
    """Print with control characters removed: an answer, a quote or a warning comes from a
    document or a model, and an escape sequence in it must not reach the terminal."""
    print(strip_controls(str(text)), file=out or sys.stdout, **kwargs)


def _json_out(data: dict | list) -> str:
    """JSON escapes C0 controls itself; C1 (U+0080-U+009F, 8-bit escapes to some terminals) and
    DEL it leaves raw with ensure_ascii=False, so escape them too. The data stays the same."""
    text = json.dumps(data, ensure_ascii=False, indent=2)
    return re.sub(r"[\x7f-\x9f\u202a-\u202e\u2066-\u2069]", lambda m: f"\\u{ord(m.group()):04x}", text)


def _print_answer(answer: Answer, out=None) -> None:
    _say(answer.answer, out)
    if answer.standalone_question != answer.question:
        by = {"model": "，由模型改写 / rewritten by the model", "rules": "，按规则改写 / rewritten by rules"}.get(answer.rewritten_by, "")
        _say(f"  (理解为 / understood as: {answer.standalone_question}{by})", out)
    for sentence in answer.sentences:
        if not sentence.verified:
            why = f" ({reason_label(sentence.reason)} / {reason_label(sentence.reason, 'en')})" if sentence.reason else ""
            _say(f"  ⚠ 未核实 / unverified{why}: {sentence.text}", out)
    for c in answer.citations:
        page = f"，第{c.page}版" if c.page else ""
        _say(f"  [{c.n}] {c.section}{page}：{c.quote}", out)
    for warning in answer.warnings:  # a fallback the checks chose is information, not a warning
        _say(f"  {'i' if is_information(warning) else '!'} {warning}", out)


_HISTORY_SHAPE = 'history must be a JSON list of {"role": "user"|"assistant", "content": "..."} objects'


def _load_history(path: Path | None) -> list[dict]:
    """The --history file, checked: one clear line for an unreadable, malformed or wrongly shaped file."""
    if path is None:
        return []
    shown = escape_controls(str(path))
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except RecursionError:
        raise ChatbotError(f"{shown}: the history JSON is nested too deeply; {_HISTORY_SHAPE}.") from None
    except OSError as exc:
        raise ChatbotError(f"Cannot read the history file {shown}: {exc.strerror or exc}.") from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise ChatbotError(f"{shown}: not valid JSON ({escape_controls(str(exc))}); {_HISTORY_SHAPE}.") from None
    if not isinstance(data, list):
        raise ChatbotError(f"{shown}: {_HISTORY_SHAPE}.")
    for i, item in enumerate(data):
        try:
            Message.model_validate(item, strict=True)
        except ValidationError:
            raise ChatbotError(f"{shown}: item {i} is not a {{\"role\", \"content\"}} object; {_HISTORY_SHAPE}.") from None
    return data


def cmd_ask(args: argparse.Namespace) -> int:
    from chatbot.launch import open_chatbot

    history = _load_history(args.history)  # a bad file fails before the store is opened
    bot = open_chatbot(progress=not args.json)
    where = {key: value for key, value in (("city", args.city), ("year", args.year), ("source", args.source)) if value is not None}
    answer = bot.ask(args.question, history, k=args.k, backend=args.backend, model=args.model, where=where or None)
    if args.json:
        print(_json_out(answer.to_json_dict()))
    else:
        _print_answer(answer)
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from chatbot.launch import open_chatbot
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
            _say(f"! {exc}")
            continue
        _say("答> ", end="")
        _print_answer(answer)
        history += [Message(role="user", content=question), Message(role="assistant", content=answer.answer)]


def cmd_backends(args: argparse.Namespace) -> int:
    from chatbot.answer.backends import BACKENDS, get_backend

    settings = get_settings()
    for name in BACKENDS:
        try:
            health = get_backend(name, settings).health()
            status = "reachable" if health.reachable else "unreachable"
            model = f" model={health.model}" if health.model else ""
            _say(f"{name:<11} {status:<12}{model} — {health.detail}")
        except ChatbotError as exc:
            _say(f"{name:<11} unavailable  — {exc}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from chatbot.api.server import serve

    return serve(args.host, args.port)


def cmd_hash_password(args: argparse.Namespace) -> int:
    """Print the hash for CHATBOT_STAFF_PASSWORD_HASH; the password is read without echo (or from stdin)."""
    from chatbot.staff_auth import hash_password

    if sys.stdin.isatty():
        import getpass

        password = getpass.getpass("Staff password: ")
        if getpass.getpass("Again: ") != password:
            raise ChatbotError("The two passwords differ; nothing was printed.")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < args.min_length:
        raise ChatbotError(f"The password needs at least {args.min_length} characters.")
    print(hash_password(password))
    return 0


def cmd_feedback_export(args: argparse.Namespace) -> int:
    from chatbot.feedback import open_feedback_store

    store = open_feedback_store(get_settings())
    if args.out is None:
        for line in store.export_jsonl():
            print(line)
    else:
        try:
            lines = store.export_jsonl(args.out)
        except OSError as exc:
            raise ChatbotError(f"Cannot write {args.out}: {exc.strerror or exc}") from exc
        print(f"{len(lines)} feedback items written to {args.out}", file=sys.stderr)
    return 0


def cmd_feedback_purge(args: argparse.Namespace) -> int:
    from chatbot.feedback import open_feedback_store

    removed = open_feedback_store(get_settings()).purge(older_than_days=None if args.all else args.older_than)
    print(f"{removed} feedback rows deleted")
    return 0


def cmd_figures(args: argparse.Namespace) -> int:
    from chatbot.report_figures.render import text_table
    from chatbot.report_figures.table import load_table

    rows = load_table(get_settings())
    shown = [r for r in rows if r.verified or args.all]
    if args.json:
        print(_json_out([r.to_dict() for r in shown]))
        return 0
    _say(text_table(shown))
    hidden = len(rows) - len(shown)
    _say(f"{len(shown)} figures" + (f"; {hidden} not confirmed by the claim checker are hidden (--all shows them)" if hidden else ""), sys.stderr)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from chatbot.evaluation.run import run_cli

    return run_cli(args)


def _days(text: str) -> float:
    try:
        days = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of days") from None
    if not days >= 0:
        raise argparse.ArgumentTypeError("the number of days must be 0 or more")
    return days


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
    ask.add_argument("--source", default=None, help="only this document: its file name, or its path inside the ingested folder (sub/NAME.txt)")
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

    hashing = sub.add_parser("hash-password", help="print the hash to set as CHATBOT_STAFF_PASSWORD_HASH")
    hashing.add_argument("--min-length", type=int, default=12, help="refuse shorter passwords (default 12)")
    hashing.set_defaults(func=cmd_hash_password)

    feedback = sub.add_parser("feedback", help="export or purge the visitors' feedback (staff only)")
    feedback_sub = feedback.add_subparsers(dest="feedback_command", required=True)
    export = feedback_sub.add_parser("export", help="the feedback as QA-set JSONL lines")
    export.add_argument("--out", type=Path, default=None, help="write to this file (default: standard output)")
    export.set_defaults(func=cmd_feedback_export)
    purge = feedback_sub.add_parser("purge", help="delete feedback")
    which = purge.add_mutually_exclusive_group(required=True)
    which.add_argument("--older-than", type=_days, metavar="DAYS", help="rows created more than DAYS days ago")
    which.add_argument("--all", action="store_true", help="every row")
    purge.set_defaults(func=cmd_feedback_purge)

    figures = sub.add_parser("figures", help="every figure of the stored reports (targets and results), checked against its passage")
    figures.add_argument("--json", action="store_true", help="print a JSON list of rows")
    figures.add_argument("--all", action="store_true", help="also the rows the claim checker does not confirm (flagged)")
    figures.set_defaults(func=cmd_figures)

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
    ev.add_argument("--compare", action="append", default=None, metavar="BACKEND[:MODEL]",
                    help="also run this backend on the same items and report both side by side (repeatable), e.g. extractive")
    ev.add_argument("--quiet", action="store_true")
    ev.set_defaults(func=cmd_eval)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except ChatbotError as exc:
        _say(f"error: {exc}", sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception:  # noqa: BLE001 - a bug: one line for the user, the traceback in the log
        logging.getLogger("chatbot.cli").exception("unexpected error")
        _say("error: an internal error occurred; run with -v for details.", sys.stderr)
        return 1
