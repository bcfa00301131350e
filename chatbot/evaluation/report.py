"""Write report.json, report.md and a PNG chart of the scores by tag."""

from __future__ import annotations

import json
from pathlib import Path

from chatbot.evaluation.metrics import flagged, wrong

GROUPS = ("retrieval", "answer", "refusal", "safety", "latency_ms", "ttft_ms")


def _fmt(value: object) -> str:
    return "–" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def _cell(text: str, limit: int | None = None) -> str:
    return text.replace("|", "\\|").replace("\n", " ")[:limit]


def side_by_side(runs: dict) -> list[str]:
    """One column per backend run on the same items (eval --compare)."""
    if not runs:
        return []
    labels = list(runs)
    lines = ["", "## Backends side by side (same items)", "",
             "| group | metric | " + " | ".join(f"`{label}`" for label in labels) + " |",
             "|---|---|" + "---|" * len(labels)]
    for group in GROUPS:
        for metric in runs[labels[0]].get(group, {}):
            values = [_fmt(runs[label].get(group, {}).get(metric)) for label in labels]
            lines.append(f"| {group} | {metric} | " + " | ".join(values) + " |")
    lines.append("| run | seconds | " + " | ".join(_fmt(runs[label].get("seconds")) for label in labels) + " |")
    return lines


def markdown(report: dict) -> str:
    lines = [
        "# Evaluation report",
        "",
        f"QA file `{report.get('qa_file')}`, split `{report.get('split') or 'all'}`, {report['n']} items, "
        f"backend `{report.get('backend')}`, model `{report.get('model')}`, k={report.get('k')}, {report.get('seconds')} s.",
        "",
        "| group | metric | value |",
        "|---|---|---|",
    ]
    for group in GROUPS:
        for metric, value in report.get(group, {}).items():
            lines.append(f"| {group} | {metric} | {_fmt(value)} |")
    lines += side_by_side(report.get("compare") or {})
    if report.get("baselines"):
        lines += ["", "## Retrieval baselines (same items)", "", "| method | hit@1 | hit@3 | hit@5 | mrr |", "|---|---|---|---|---|"]
        for mode, m in report["baselines"].items():
            lines.append(f"| {mode} | {_fmt(m['hit@1'])} | {_fmt(m['hit@3'])} | {_fmt(m['hit@5'])} | {_fmt(m['mrr'])} |")
    if report.get("chunk_ablation"):
        lines += ["", "## Chunk-size ablation (hybrid retrieval)", "", "| budget (tokens) | chunks | median chars | max chars | hit@1 | hit@5 | mrr |", "|---|---|---|---|---|---|---|"]
        for budget, m in report["chunk_ablation"].items():
            lines.append(f"| {budget} | {m['chunks']} | {_fmt(m['median_chars'])} | {m['max_chars']} | {_fmt(m['hit@1'])} | {_fmt(m['hit@5'])} | {_fmt(m['mrr'])} |")
    lines += ["", "## By tag", "", "| tag | n | hit@1 | hit@5 | keyword acc. | refusal acc. |", "|---|---|---|---|---|---|"]
    for tag, m in report.get("by_tag", {}).items():
        lines.append(f"| {tag} | {m['n']} | {_fmt(m['retrieval']['hit@1'])} | {_fmt(m['retrieval']['hit@5'])} | {_fmt(m['answer']['keyword_accuracy'])} | {_fmt(m['refusal']['accuracy'])} |")
    judge = report.get("judge") or {}
    lines += ["", "## LLM judge", ""]
    if "skipped" in judge:
        lines.append(f"Skipped: {judge['skipped']}")
    else:
        lines.append(f"Judge `{judge['backend']}` / `{judge['model']}` on {judge['n']} answers: "
                     f"faithfulness {_fmt(judge['faithfulness'])}, answer relevancy {_fmt(judge['answer_relevancy'])}.")
        lines += [f"- failed: {f}" for f in judge["failures"][:20]]
    unflagged = [r for r in report.get("items", []) if wrong(r) and not flagged(r)]
    if unflagged:
        lines += ["", "## Unflagged wrong answers", "",
                  "Answers to unanswerable questions, or missing a keyword, shown with no warning, unverified sentence or fallback.",
                  "", "| id | question | expected | answer |", "|---|---|---|---|"]
        for r in unflagged:
            expected = ", ".join(r["keywords"]) if r["answerable"] else "(refuse)"
            lines.append(f"| {r['id']} | {_cell(r['question'])} | {expected} | {_cell(r.get('answer') or '', 80)} |")
    misses = [r for r in report.get("items", []) if (r["answerable"] and not r.get("keywords_ok")) or (r["answerable"] == r.get("refused"))]
    if misses:
        lines += ["", "## Items to look at", "", "| id | question | expected | refused | answer |", "|---|---|---|---|---|"]
        for r in misses:
            expected = ", ".join(r["keywords"]) if r["answerable"] else "(refuse)"
            lines.append(f"| {r['id']} | {_cell(r['question'])} | {expected} | {r.get('refused')} | {_cell(r.get('answer') or '', 80)} |")
    if report.get("skipped_lines"):
        lines += ["", "## Skipped lines", ""] + [f"- {e}" for e in report["skipped_lines"]]
    return "\n".join(lines) + "\n"


def chart(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tags = list(report.get("by_tag", {}))
    hit1 = [report["by_tag"][t]["retrieval"]["hit@1"] or 0 for t in tags]
    kw = [report["by_tag"][t]["answer"]["keyword_accuracy"] or 0 for t in tags]
    ref = [report["by_tag"][t]["refusal"]["accuracy"] or 0 for t in tags]
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(tags) + 2), 4))
    xs = range(len(tags))
    width = 0.27
    ax.bar([x - width for x in xs], hit1, width, label="hit@1")
    ax.bar(list(xs), kw, width, label="keyword accuracy")
    ax.bar([x + width for x in xs], ref, width, label="refusal accuracy")
    ax.set_xticks(list(xs), tags, rotation=45, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_title(f"Scores by tag (n={report['n']}, backend={report.get('backend')})")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_reports(report: dict, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "report.json", out / "report.md", out / "scores_by_tag.png"]
    paths[0].write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    paths[1].write_text(markdown(report), encoding="utf-8")
    chart(report, paths[2])
    return paths
