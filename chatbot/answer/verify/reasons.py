"""What each reason of an unverified sentence means, in a few words, for the CLI and the UI."""

from __future__ import annotations

# reason -> (Chinese, English)
LABELS = {
    "figure": ("数字与出处不符", "figure not in the source"),
    "year": ("年份与出处不符", "year not in the source"),
    "name": ("人名或职务未见于出处", "name not in the source"),
    "place": ("地名未见于出处", "place not in the source"),
    "organisation": ("机构或项目未见于出处", "organisation not in the source"),
    "unsupported": ("出处不支持这句话", "not supported by the source"),
    "judgement": ("出处没有这样的评价", "a judgement the source does not make"),
    "uncited": ("未注明出处", "no source"),
    "injected": ("重复了文档中的指令", "repeats a planted instruction"),
}


def reason_label(reason: str | None, lang: str = "zh") -> str:
    """A short label for a reason ("" for None); English when lang is "en"."""
    if not reason:
        return ""
    chinese, english = LABELS.get(reason, (reason, reason))
    return english if lang == "en" else chinese
