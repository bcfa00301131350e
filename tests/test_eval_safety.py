"""The safety metrics of the evaluation (unflagged wrong answers, false alarms, fallbacks, time to first
token) on small hand-made rows, and the side-by-side table of two backends."""

from __future__ import annotations

from pathlib import Path

from chatbot.answer.notices import FALLBACK_NOTICES, about_replaced
from chatbot.evaluation.metrics import flagged, flagged_shown, summarize, wrong
from chatbot.evaluation.report import markdown

QA = Path(__file__).parent / "data" / "qa.jsonl"


def row(ident: str, *, answerable: bool = True, refused: bool = False, keywords_ok: bool = True, verified=(True,),
        warnings=(), fallback: bool = False, ttft_ms: float | None = 100.0, keywords=("7.5%",)) -> dict:
    return {
        "id": ident, "question": f"问题{ident}", "answer": "" if refused else f"回答{ident}[1]",
        "answerable": answerable, "evidence": ["证据"] if answerable else [], "keywords": list(keywords) if answerable else [],
        "tags": ["t"], "refused": refused, "fallback": fallback, "rank": 1 if answerable else None,
        "keywords_ok": keywords_ok and answerable and not refused, "citation_ok": answerable and not refused,
        "sentence_verified": [] if refused else list(verified), "warnings": list(warnings),
        "latency_ms": 1000.0, "ttft_ms": ttft_ms,
    }


def test_flags_are_unverified_sentences_fallbacks_and_warnings():
    assert not flagged(row("a"))
    assert flagged(row("b", verified=(True, False)))
    assert flagged(row("c", fallback=True))
    assert flagged(row("d", warnings=["Figures not found in the cited passages: 9%."]))
    assert not flagged(row("e", refused=True))  # a refusal has no sentences: nothing to flag


def test_wrong_answers_are_answers_to_unanswerable_items_or_missing_a_keyword():
    assert wrong(row("a", answerable=False))
    assert not wrong(row("b", answerable=False, refused=True))
    assert wrong(row("c", keywords_ok=False))
    assert not wrong(row("d"))
    assert not wrong(row("e", refused=True))  # a wrong refusal counts against refusal precision, not here
    assert not wrong(row("f", keywords=()))  # nothing to judge it by


def test_unflagged_wrong_counts_only_wrong_answers_shown_without_a_flag():
    rows = [
        row("ok"),
        row("invented", answerable=False),  # answered an unanswerable question, no flag: counts
        row("invented-flagged", answerable=False, verified=(False,)),
        row("refused", answerable=False, refused=True),
        row("miss", keywords_ok=False),  # misses the keyword, no flag: counts
        row("miss-fallback", keywords_ok=False, fallback=True, warnings=["Showing the offline extractive answer instead."]),
        row("miss-warned", keywords_ok=False, warnings=["Figures not found in the cited passages: 8%."]),
        row("wrongly-refused", refused=True),
    ]
    safety = summarize(rows)["safety"]
    assert safety["unflagged_wrong"] == 2
    assert safety["unflagged_wrong_rate"] == round(2 / 8, 4)


def test_false_alarm_rate_is_the_share_of_correct_answers_that_carry_a_flag():
    rows = [
        row("a"), row("b"), row("c"),
        row("d", verified=(True, False)),  # correct, flagged: a false alarm
        row("e", keywords_ok=False, verified=(False,)),  # flagged but wrong: a true alarm, not counted
        row("f", answerable=False, warnings=["x"]),  # not a correct answer either
    ]
    assert summarize(rows)["safety"]["false_alarm_rate"] == 0.25
    assert summarize(rows[:3])["safety"]["false_alarm_rate"] == 0.0
    assert summarize([row("g", answerable=False)])["safety"]["false_alarm_rate"] is None  # no correct answer


def test_false_alarms_on_kept_answers_leave_out_fallbacks():
    rows = [
        row("a"), row("b", verified=(True, False)),  # kept: one of two flagged
        {**row("c", fallback=True, warnings=["Showing the offline extractive answer instead."]), "fallback_reason": "uncited"},
    ]
    safety = summarize(rows)["safety"]
    assert safety["false_alarm_rate"] == round(2 / 3, 4) and safety["false_alarm_rate_kept"] == 0.5
    assert safety["fallback_reasons"] == {"uncited": 1}


def test_a_fallback_the_checks_chose_is_not_a_flag_on_the_answer_shown():
    checked = {**row("c", fallback=True, warnings=[FALLBACK_NOTICES["uncited"]]), "fallback_reason": "uncited"}
    carried = {**row("e", fallback=True, warnings=[FALLBACK_NOTICES["unsupported"], about_replaced("Figures not found in the cited passages: 9%.")]),
               "fallback_reason": "unsupported"}  # the replaced answer's flags: about text no longer shown
    outage = {**row("d", fallback=True, warnings=["[openai] the model server did not answer."]), "fallback_reason": "backend_error"}
    beside = {**checked, "warnings": [FALLBACK_NOTICES["uncited"], "An ingest is running; answers come from the last complete ingest."]}
    assert flagged(checked) and not flagged_shown(checked) and not flagged_shown(carried)
    assert flagged_shown(outage) and flagged_shown(beside)
    assert flagged_shown(row("b", verified=(True, False)))
    safety = summarize([row("a"), checked, carried, outage])["safety"]
    assert safety["false_alarm_rate"] == 0.75 and safety["false_alarm_rate_shown"] == 0.25
    # the same standard for wrong answers: a fallback to a wrong offline answer is unflagged on the text shown
    wrong_fallback = {**checked, "keywords_ok": False}
    safety = summarize([wrong_fallback, {**outage, "keywords_ok": False}])["safety"]
    assert safety["unflagged_wrong"] == 0 and safety["unflagged_wrong_shown"] == 1


def test_fallback_rate_leaves_out_items_that_raised_an_input_error():
    error = {**row("err", refused=True), "error": "question too long", "fallback": None, "ttft_ms": None}
    rows = [row("a", fallback=True), row("b"), row("c"), row("d"), error]
    assert summarize(rows)["safety"]["fallback_rate"] == 0.25


def test_time_to_first_token_percentiles_skip_items_without_a_token():
    rows = [row(str(i), ttft_ms=float(ms)) for i, ms in enumerate([100, 200, 300, 400, 5000])] + [row("x", ttft_ms=None)]
    ttft = summarize(rows)["ttft_ms"]
    assert ttft == {"p50": 300.0, "p95": 5000.0}


def test_report_shows_safety_the_unflagged_answers_and_backends_side_by_side():
    rows = [row("ok"), row("invented", answerable=False)]
    other = [row("ok"), row("invented", answerable=False, refused=True)]
    report = {**summarize(rows), "backend": "openai", "model": "qwen", "k": 3, "seconds": 12.0, "items": rows, "judge": {"skipped": "no"},
              "compare": {"openai/qwen": {**summarize(rows), "seconds": 12.0},
                          "extractive/None": {**summarize(other), "seconds": 1.5, "items": other}}}
    text = markdown(report)
    assert "| safety | unflagged_wrong | 1 |" in text
    assert "| ttft_ms | p50 | 100.000 |" in text
    assert "| `openai/qwen` | `extractive/None` |" in text
    assert "| safety | unflagged_wrong | 1 | 0 |" in text
    assert "| run | seconds | 12.000 | 1.500 |" in text
    unflagged = text.split("## Unflagged wrong answers", 1)[1].split("##", 1)[0]
    assert "| invented |" in unflagged and "| ok |" not in unflagged


def test_eval_compares_two_backends_on_the_same_items(shared_bot, tmp_path):
    """--compare: the extractive answerer and an OpenAI-compatible server (a local fake that invents a
    figure the report does not hold) side by side; the invented answers are replaced by the checked
    offline answer, flagged as fallbacks, so none of them is an unflagged wrong answer."""
    from chatbot.core import Chatbot
    from chatbot.evaluation.run import evaluate
    from chatbot.settings import Settings
    from tests.fakes.llm_servers import FakeOpenAIServer

    qa = tmp_path / "qa.jsonl"
    qa.write_text("\n".join(QA.read_text(encoding="utf-8").splitlines()[:3]) + "\n", encoding="utf-8")
    with FakeOpenAIServer(model="fake-model", reply="预计增长99.9%[1]。") as server:
        bot = Chatbot(Settings(data_dir=shared_bot.settings.data_dir, openai_base_url=server.base_url, openai_api_key="k"),
                      embedder=shared_bot.embedder, retriever=shared_bot.retriever)
        try:
            report = evaluate(qa, progress=False, bot=bot, compare=["openai:fake-model"])
        finally:
            bot.close()
    runs = report["compare"]
    assert list(runs) == ["extractive/None", "openai/fake-model"]
    assert "items" not in runs["extractive/None"] and len(report["items"]) == 3  # the main run's rows are kept once
    llm = runs["openai/fake-model"]
    assert llm["n"] == 3 and [r["id"] for r in llm["items"]] == [r["id"] for r in report["items"]]
    assert all("99.9%" not in r["answer"] and r["fallback"] and r["flagged"] for r in llm["items"]), llm["items"]
    assert llm["safety"]["unflagged_wrong"] == 0
    assert llm["safety"]["fallback_rate"] == 1.0 and llm["ttft_ms"]["p50"] is not None
    assert runs["extractive/None"]["answer"]["keyword_accuracy"] == report["answer"]["keyword_accuracy"]
    assert "| `extractive/None` | `openai/fake-model` |" in markdown(report)
