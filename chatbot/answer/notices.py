"""What the reader is told when the offline answer replaces a model's, by `fallback_reason`.

These notices are information, not warnings. The answer shown after one is the offline answer,
checked like any other; the notice (and the replaced answer's flags it carries) says why the
model's was not shown. A warning says something about the text the reader sees (a sentence not
supported, a backend that failed), so the UI and the CLI show these apart from warnings. Shown as
warnings, they stood on 39 of 43 correct answers of a small model (holdout) and taught readers to
skip every warning.
"""

from __future__ import annotations

FALLBACK_NOTICES = {
    "empty": "模型没有给出实际内容，改为显示离线答案。"
             "The model's answer says nothing checkable; showing the offline extractive answer instead.",
    "uncited": "模型答案没有注明出处，报告原文中也找不到明确支持它的段落，改为显示离线答案。"
               "The model's answer cites no passage and no passage clearly supports it; showing the offline extractive answer instead.",
    "injected": "Showing the offline extractive answer instead.",
    "unsupported": "模型答案的大部分内容在报告原文中找不到依据，改为显示离线答案。"
                   "Most of the model's answer is not supported by the cited passages; showing the offline extractive answer instead.",
    "off_question": "模型答案引用的原文说的不是所问的内容，改为显示离线答案。"
                    "The model's answer quotes the report on something other than what was asked; showing the offline extractive answer instead.",
    "other_evidence": "模型答案引用的原文与所问内容对不上，改为显示离线答案。"
                      "The model's answer quotes the report on something other than what the offline answer finds for this "
                      "question; showing the offline extractive answer instead.",
    "figure_alone": "模型答案只有数字，没有说明它指的是什么，改为显示离线答案中的原文。"
                    "The model's answer is a bare figure that does not say what it counts; showing the offline "
                    "extractive answer, which quotes it in its sentence, instead.",
    "partial_list": "模型答案只列出了报告所列的一部分，改为显示离线答案中的完整原文。"
                    "The model's answer names only some of the items the report lists; showing the offline "
                    "extractive answer, which quotes the whole list, instead.",
    "no_evidence": "在检索到的原文中找不到这个问题的答案，模型的回答不予显示。"
                   "The retrieved passages hold no answer to this question; the model's answer is withheld.",
}


CHECK_NOTICES = frozenset(FALLBACK_NOTICES.values())
# Marks a flag of the model answer a fallback replaced, kept so the reader and tools see why: it is about
# text no longer shown, so it is information too.
REPLACED = "（已替换的模型答案 / replaced model answer）"


def about_replaced(warning: str) -> str:
    """A flag of the replaced model answer, marked as such."""
    return warning if warning.startswith(REPLACED) else REPLACED + warning


def is_information(text: str) -> bool:
    """True for what explains a fallback the checks chose (its notice, the replaced answer's flags), not a
    warning about the text shown."""
    return text in CHECK_NOTICES or text.startswith(REPLACED)


__all__ = ["CHECK_NOTICES", "FALLBACK_NOTICES", "REPLACED", "about_replaced", "is_information"]
