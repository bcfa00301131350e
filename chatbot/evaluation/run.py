"""`python -m chatbot eval`: run a QA set through the chatbot and write reports."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

from tqdm import tqdm

from chatbot.core import Chatbot
from chatbot.errors import ChatbotError
from chatbot.evaluation.metrics import compact, evidence_rank, flagged, keywords_ok, summarize
from chatbot.evaluation.qaset import QAItem, load_qa
from chatbot.evaluation.report import write_reports
from chatbot.launch import open_chatbot
from chatbot.settings import Settings, get_settings
from chatbot.types import Answer

logger = logging.getLogger(__name__)

RANK_DEPTH = 10


def timed_answer(bot: Chatbot, item: QAItem, *, k: int, backend: str | None, model: str | None) -> tuple[Answer, float | None]:
    """The answer, and the milliseconds from the call to `stream` to its first "token" event (what a
    reader waits before text appears; it includes condensing a follow-up with the LLM)."""
    started = time.perf_counter()
    first_token = None
    for event in bot.stream(item.question, [m.model_dump() for m in item.history], k=k, backend=backend, model=model):
        if event.kind == "token" and first_token is None:
            first_token = (time.perf_counter() - started) * 1000
        elif event.kind == "answer":
            return event.data, first_token  # type: ignore[return-value]
    raise RuntimeError("the answer stream ended without an answer")  # pragma: no cover


def run_item(bot: Chatbot, item: QAItem, *, k: int, backend: str | None, model: str | None) -> dict:
    row: dict = {
        "id": item.id, "question": item.question, "answerable": item.answerable, "evidence": item.evidence,
        "keywords": item.keywords, "tags": item.tags, "split": getattr(item, "split", None),
    }
    try:
        answer, first_token = timed_answer(bot, item, k=k, backend=backend, model=model)
    except ChatbotError as exc:
        row.update(error=str(exc), refused=True, rank=None, keywords_ok=False, citation_ok=False,
                   sentence_verified=[], answer="", latency_ms=None, ttft_ms=None)
        return row
    ranked = bot.search(answer.standalone_question, item.history, RANK_DEPTH)
    cited = {c.chunk_id for c in answer.citations}
    cited_texts = [p.text for p in answer.contexts if p.chunk_id in cited]
    wanted = [compact(e) for e in item.evidence]
    row.update(
        answer=answer.answer,
        standalone_question=answer.standalone_question,
        refused=answer.refused,
        fallback=answer.fallback,
        fallback_reason=answer.fallback_reason,
        rank=evidence_rank([p.text for p in ranked], item.evidence, RANK_DEPTH),
        keywords_ok=keywords_ok(answer.answer, item.keywords) and not answer.refused,
        citation_ok=any(e in compact(t) for t in cited_texts for e in wanted),
        sentence_verified=[s.verified for s in answer.sentences],
        unverified=[s.text for s in answer.sentences if not s.verified],
        unverified_reasons=[s.reason for s in answer.sentences if not s.verified],
        warnings=answer.warnings,
        latency_ms=round(answer.latency_ms, 2),
        ttft_ms=round(first_token, 2) if first_token is not None else None,
        top_chunks=[p.chunk_id for p in ranked[:5]],
        contexts=[{"chunk_id": p.chunk_id, "text": p.text, "score": p.score, "source": p.source, "section": p.section, "page": p.page}
                  for p in answer.contexts],
    )
    row["flagged"] = flagged(row)
    return row


def retrieval_rows(bot: Chatbot, items: list[QAItem], mode: str) -> list[dict]:
    """Retrieval-only rows for a baseline: ranking metrics, no answers."""
    from chatbot.question.query import condense, resolve_relative_years
    from chatbot.reports import base_year

    rows = []
    for item in items:
        if not (item.answerable and item.evidence):
            continue
        question = resolve_relative_years(condense(item.question, item.history), base_year(item.question, bot.retriever.documents, bot.settings.report_year))
        ranked = bot.search(question, item.history, RANK_DEPTH, mode=mode)  # type: ignore[arg-type]
        rows.append({"answerable": True, "evidence": item.evidence, "rank": evidence_rank([p.text for p in ranked], item.evidence, RANK_DEPTH),
                     "keywords": [], "keywords_ok": False, "citation_ok": False, "sentence_verified": [], "refused": False})
    return rows


def chunk_ablation(items: list[QAItem], budgets: list[int], settings: Settings, progress: bool) -> dict:
    from ingest.pipeline import ingest

    out: dict = {}
    for budget in budgets:
        with tempfile.TemporaryDirectory(prefix=f"ablation-{budget}-") as tmp:
            local = settings.model_copy(update={"data_dir": Path(tmp), "chunk_tokens": budget, "chroma_host": None})
            summary = ingest([settings.seeds_dir], local, progress=False)
            bot = Chatbot(local)
            rows = retrieval_rows(bot, items, "hybrid")
            out[str(budget)] = {
                "chunks": summary.chunks, "median_chars": summary.median_chars, "max_chars": summary.max_chars,
                **summarize(rows)["retrieval"],
            }
            if progress:
                print(f"  chunk budget {budget}: {out[str(budget)]}", file=sys.stderr)
    return out


def by_tag(rows: list[dict]) -> dict:
    tags = sorted({t for r in rows for t in r["tags"]})
    return {tag: summarize([r for r in rows if tag in r["tags"]]) for tag in tags}


def parse_backend(spec: str) -> tuple[str, str | None]:
    """"openai:qwen" → ("openai", "qwen"); "extractive" → ("extractive", None)."""
    name, _, model = spec.partition(":")
    return name.strip(), model.strip() or None


def run_backend(bot: Chatbot, items: list[QAItem], *, k: int, backend: str | None, model: str | None, progress: bool) -> dict:
    """Every item through one backend: the summary, by tag, items, and the wall time."""
    started = time.perf_counter()
    chosen = bot.backend(backend, model)
    rows = [run_item(bot, item, k=k, backend=backend, model=model)
            for item in tqdm(items, desc=f"eval {chosen.name}", unit="q", disable=not progress)]
    report = summarize(rows)
    report.update(backend=chosen.name, model=chosen.model, seconds=round(time.perf_counter() - started, 1),
                  by_tag=by_tag(rows), items=rows)
    return report


def _comparable(run: dict, *, items: bool) -> dict:
    """One backend's entry under report["compare"]: its summary (the main backend's items are already
    in report["items"])."""
    return {key: value for key, value in run.items() if key != "by_tag" and (items or key != "items")}


def evaluate(path: Path, *, k: int = 5, backend: str | None = None, model: str | None = None, split: str | None = None,
             baselines: bool = False, chunk_sizes: list[int] | None = None, judge: bool = False, judge_backend: str | None = None,
             compare: list[str] | None = None, progress: bool = True, bot: Chatbot | None = None) -> dict:
    """compare: more backends ("extractive", "openai:qwen") run on the same items; their summaries go
    under report["compare"], keyed "backend/model", with the main backend's first."""
    qa = load_qa(path, split)
    for error in qa.errors:
        print(f"warning: skipped {error}", file=sys.stderr)
    bot = bot or open_chatbot()
    report = run_backend(bot, qa.items, k=k, backend=backend, model=model, progress=progress)
    report.update(qa_file=str(path), split=split, k=k, skipped_lines=qa.errors)
    if compare:
        runs = [report] + [run_backend(bot, qa.items, k=k, backend=name, model=other, progress=progress)
                           for name, other in map(parse_backend, compare)]
        report["compare"] = {f"{r['backend']}/{r['model']}": _comparable(r, items=r is not report) for r in runs}
    if baselines:
        report["baselines"] = {mode: summarize(retrieval_rows(bot, qa.items, mode))["retrieval"] for mode in ("bm25", "dense", "rrf", "hybrid")}
    if chunk_sizes:
        report["chunk_ablation"] = chunk_ablation(qa.items, chunk_sizes, bot.settings, progress)
    if judge:
        from chatbot.evaluation.judge import judge_rows

        report["judge"] = judge_rows(bot, report["items"], backend=judge_backend or backend)
    else:
        report["judge"] = {"skipped": "no LLM judge requested (use --judge with an LLM backend)"}
    return report


def run_cli(args: argparse.Namespace) -> int:
    sizes = [int(s) for s in args.chunk_sizes.split(",")] if args.chunk_sizes else None
    get_settings()
    report = evaluate(args.qa, k=args.k, backend=args.backend, model=args.model, split=args.split, baselines=args.baselines,
                      chunk_sizes=sizes, judge=args.judge, judge_backend=args.judge_backend, compare=args.compare,
                      progress=not args.quiet)
    paths = write_reports(report, args.out)
    print(json.dumps({key: report[key] for key in ("n", "retrieval", "answer", "answer_chars", "refusal", "safety", "latency_ms", "ttft_ms")}, ensure_ascii=False))
    if "baselines" in report:
        print(json.dumps({"baselines": report["baselines"]}, ensure_ascii=False))
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0
