"""Every row of the question-shape table, on the question it must catch and one it must leave alone,
and on a sentence that supports it and one that does not."""

from __future__ import annotations

import pytest

from chatbot.question.rules import MESSAGES, RULES, rules
from chatbot.question.scope import out_of_scope

STAGES = {"scope", "select", "alternative", "fallback", "check"}


@pytest.mark.parametrize("rule", RULES, ids=[rule.name for rule in RULES])
def test_row_catches_its_example_and_not_its_counterexample(rule):
    assert rule.stage in STAGES and rule.reason in MESSAGES
    assert rule.matches(rule.example), rule.example
    assert not rule.matches(rule.counter), rule.counter


@pytest.mark.parametrize("rule", [r for r in RULES if r.stage != "scope"], ids=lambda rule: rule.name)
def test_row_needs_what_its_supporting_sentence_has(rule):
    assert rule.needs(rule.supported), rule.supported
    assert not rule.needs(rule.unsupported), rule.unsupported


@pytest.mark.parametrize("rule", rules("scope"), ids=lambda rule: rule.name)
def test_scope_rows_refuse_the_question_alone(rule):
    own = {"r.txt": {"city": "张家界", "year": 2023}}
    assert out_of_scope(rule.example, own, []) == rule.reason
    assert out_of_scope(rule.counter, own, []) is None


def test_row_names_are_unique_and_dropped_rows_stay_dropped():
    names = [rule.name for rule in RULES]
    assert len(names) == len(set(names))
    # measured on tune: removing them changed nothing, so they are not in the table
    assert not {"visits", "area", "volume", "power", "who"} & set(names)
