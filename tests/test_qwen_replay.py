"""The model path's checks on a real model's answers, as a threshold test that needs no model.

Qwen2.5-Coder-0.5B-Instruct (Q4_K_M, llama.cpp, temperature 0, k=3) answered a random sample of 60
`tune` items (tests/data/qwen_tune_ids.txt, seed 20261204) once; `scripts/record_qwen_tune.sh` recorded
every exchange in tests/data/qwen_tune.cassette.jsonl. (When the rewrite check began to require the
context the rules carry, five follow-ups got new prompts; those five were recorded again the same way,
and entries no replay reaches were pruned.) Here the `replay` backend answers from that
cassette, so today's condense, guard, checks, fallback and refusal run on real model output in every CI
run. The cassette is keyed by the exact prompt: a change to the prompts or to retrieval makes the
recorded answers unreachable, and the test says so (re-record; README, "Recorded model answers").

A second recording, of 120 other tune items (tests/data/qwen_tune2_ids.txt, seed 20261205, made the same
way with the checks of `09d4f90`), is replayed under the same gates, with unflagged wrong answers allowed
in proportion (1 per 60 items). When it was recorded, today's gates failed on it: 7 unflagged wrong, keyword
accuracy 0.872; the checks added for it (other_evidence, figure_alone, Chinese-numeral counts) brought that
to 2 and 0.930.

A third recording holds the 103 tune items the first two left out (tests/data/qwen_tune3_ids.txt, made the
same way with the checks of `62b4324`). The checks of that day gave 3 unflagged wrong; the list checks added
for it (partial_list, lead-ins) give 2 (q077 names one of two measures; q342 says 连涨了18年 for 18连升,
right but not in the keyword's words), keyword accuracy 0.942.

Right answers must not be warned about: at most 5% of the correct answers may carry a warning on the text
shown (`false_alarm_rate_shown`; today 0.0, 0.013 and 0.031).

The gate is the recording's figures when it was made, on tune (holdout is reported in closing notes only).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatbot.core import Chatbot
from chatbot.evaluation.run import evaluate
from chatbot.settings import Settings
from tests.conftest import track

DATA = Path(__file__).parent / "data"
GATE = {"refusal_recall": 0.8, "refusal_precision": 0.8, "keyword_accuracy": 0.85, "false_alarms_shown": 0.05}


@pytest.mark.parametrize("ids, cassette, size, unflagged_wrong_allowed", [
    ("qwen_tune_ids.txt", "qwen_tune.cassette.jsonl", 60, 1),
    ("qwen_tune2_ids.txt", "qwen_tune2.cassette.jsonl", 120, 2),
    ("qwen_tune3_ids.txt", "qwen_tune3.cassette.jsonl", 103, 2),
])
def test_the_checks_hold_on_recorded_qwen_answers(shared_bot, tmp_path, ids, cassette, size, unflagged_wrong_allowed):
    wanted = DATA.joinpath(ids).read_text(encoding="utf-8").split()
    rows = {json.loads(line)["id"]: line for line in DATA.joinpath("qa.jsonl").read_text(encoding="utf-8").splitlines()}
    sample = tmp_path / "sample.jsonl"
    sample.write_text("\n".join(rows[i] for i in wanted) + "\n", encoding="utf-8")
    bot = track(Chatbot(Settings(data_dir=shared_bot.settings.data_dir, replay_from=DATA / cassette),
                        embedder=shared_bot.embedder, retriever=shared_bot.retriever))
    report = evaluate(sample, k=3, backend="replay", model="qwen", split="tune", progress=False, bot=bot)

    assert report["n"] == len(wanted) == size
    unrecorded = [r["id"] for r in report["items"] if any("not recorded" in w for w in r["warnings"])]
    assert not unrecorded, (f"the prompts changed since the recording; re-record: QWEN_TUNE_IDS=tests/data/{ids} "
                             f"QWEN_TUNE_CASSETTE=tests/data/{cassette} bash scripts/record_qwen_tune.sh ({unrecorded})")
    assert report["refusal"]["recall"] >= GATE["refusal_recall"]
    assert report["refusal"]["precision"] >= GATE["refusal_precision"]
    assert report["answer"]["keyword_accuracy"] >= GATE["keyword_accuracy"]
    assert report["safety"]["unflagged_wrong"] <= unflagged_wrong_allowed
    # right answers are not warned about (the issue's goal): notices of the checks' fallbacks are information
    assert report["safety"]["false_alarm_rate_shown"] <= GATE["false_alarms_shown"]
    # the model's own answers are the ones kept: not every item fell back to the offline answer
    assert sum(not r["fallback"] and not r["refused"] for r in report["items"]) >= 10
