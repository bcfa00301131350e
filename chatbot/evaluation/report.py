"""Write report.json, report.md and a PNG chart of the scores by tag."""

from __future__ import annotations

import json
from pathlib import Path


def _fmt(value: object) -> str:
    return "–" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def markdown(report: dict) -> str:
    lines = [
        "# Evaluation report",
        "",
        f"QA file `{report.get('qa_file')}`, split `{report.get('split') or 'all'}`, {report['n']} items, "
        f"backend `{report.get('backend')}`, k={report.get('k')}.",
        "",
        "| group | metric | value |",
        "|---|---|---|",
    ]
    for group in ("retrieval", "answer", "refusal", "latency_ms"):
        for metric, value in report[group].items():
            lines.append(f"| {group} | {metric} | {_fmt(value)} |")
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
    misses = [r for r in report.get("items", []) if (r["answerable"] and not r.get("keywords_ok")) or (r["answerable"] == r.get("refused"))]
    if misses:
        lines += ["", "## Items to look at", "", "| id | question | expected | refused | answer |", "|---|---|---|---|---|"]
        for r in misses:
            answer = (r.get("answer") or "").replace("|", "\\|").replace("\n", " ")[:80]
            expected = ", ".join(r["keywords"]) if r["answerable"] else "(refuse)"
            lines.append(f"| {r['id']} | {r['question'].replace('|', '/')} | {expected} | {r.get('refused')} | {answer} |")
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
