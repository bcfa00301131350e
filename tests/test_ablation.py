"""The ablation tool: rows removed one at a time, and a constant chosen by cross-validation."""

from __future__ import annotations

import json

import pytest

from chatbot.answer import extractive
from chatbot.core import Chatbot
from chatbot.evaluation.ablation import ablate, choose_by_folds, cross_validate, folds_of
from chatbot.question import rules as table
from chatbot.settings import Settings
from tests.conftest import track


def _row(item: str, answerable: bool, refused: bool) -> dict:
    return {"id": item, "answerable": answerable, "refused": refused, "keywords": ["x"],
            "keywords_ok": answerable and not refused}


def _runs(refused_by_value: dict[float, set[str]], items: dict[str, bool]) -> dict[float, list[dict]]:
    return {value: [_row(item, answerable, item in refused) for item, answerable in items.items()]
            for value, refused in refused_by_value.items()}


ITEMS = {**{f"a{i}": True for i in range(10)}, **{f"u{i}": False for i in range(5)}}


def test_folds_are_stratified():
    fold = folds_of([{"id": item, "answerable": answerable} for item, answerable in ITEMS.items()], 5)
    for k in range(5):
        members = [item for item, f in fold.items() if f == k]
        assert sum(item.startswith("a") for item in members) == 2 and sum(item.startswith("u") for item in members) == 1


def test_a_value_better_on_every_fold_is_chosen_in_every_fold():
    # 0.0 refuses every unanswerable item and nothing else; 0.1 refuses everything
    runs = _runs({0.0: {f"u{i}" for i in range(5)}, 0.1: set(ITEMS)}, ITEMS)
    chosen, held_out = choose_by_folds(runs, current=0.1)
    assert chosen == [0.0] * 5
    assert sorted(r["id"] for r in held_out) == sorted(ITEMS)
    assert not [r for r in held_out if r["answerable"] and r["refused"]]


def test_a_value_that_wins_by_one_item_does_not_carry_it_in_its_own_fold():
    # 0.1 catches one more unanswerable item (u0) than the current value, and nothing else differs:
    # in the fold that holds u0 out, the training folds see no gain, so the current value stays there
    runs = _runs({0.0: {"u1", "u2"}, 0.1: {"u0", "u1", "u2"}}, ITEMS)
    chosen, held_out = choose_by_folds(runs, current=0.0)
    assert chosen.count(0.0) == 1 and chosen.count(0.1) == 4
    assert not next(r for r in held_out if r["id"] == "u0")["refused"]


@pytest.fixture
def tiny_qa(tmp_path):
    path = tmp_path / "qa.jsonl"
    items = [
        {"id": "t1", "question": "2023年地区生产总值的增长目标是多少？", "evidence": ["地区生产总值增长7.5%左右"],
         "keywords": ["7.5%"], "answerable": True, "split": "tune"},
        {"id": "t2", "question": "张石铁路总投资多少？", "answerable": False, "split": "tune"},
        {"id": "t3", "question": "这条不在这个划分里", "answerable": False, "split": "holdout"},
    ]
    path.write_text("\n".join(json.dumps(item, ensure_ascii=False) for item in items), encoding="utf-8")
    return path


def test_cross_validate_evaluates_each_value_and_restores_the_constant(built_store, tiny_qa):
    bot = track(Chatbot(Settings(data_dir=built_store)))
    current = extractive.MIN_COVERAGE
    result = cross_validate(tiny_qa, "tune", "MIN_COVERAGE", [0.0, 0.9], folds=2, bot=bot)
    assert extractive.MIN_COVERAGE == current
    assert result["current"] == {"value": current, "precision": 1.0, "recall": 1.0, "accuracy": 1.0, "keywords": 1.0}
    # a floor of 0.9 refuses the answerable question: no training fold chooses it
    assert 0.9 not in result["folds"][0]["chosen"]
    with pytest.raises(ValueError, match="no numeric constant"):
        cross_validate(tiny_qa, "tune", "NO_SUCH", [0.0], bot=bot)


def test_ablate_measures_the_table_without_each_row(built_store, tiny_qa):
    bot = track(Chatbot(Settings(data_dir=built_store)))
    full = table.RULES
    results = ablate(tiny_qa, "tune", bot=bot)
    assert table.RULES is full
    assert set(results) == {"all", *(row.name for row in full)}
    assert results["all"]["recall"] == 1.0
    # the money row alone refuses "总投资多少" when the report names the project but no amount
    assert results["money"]["recall"] == 0.0
