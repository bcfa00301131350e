"""What a model writes about the numbered passages rather than from them, made plain before checking.

Small models often name a passage in words instead of a marker ("根据 Passage 3，…",
"据段落2：") and copy the label the prompt puts above each passage
("[2] (二、2023年工作安排 › …，第2版)"). Left as they are, "3" and "第2版" read as
figures the passages do not give, and a correct answer is flagged. A named passage
becomes its [n] marker; a copied label is removed (it claims nothing).
"""

from __future__ import annotations

import re

from chatbot.types import Passage

_NAMED = re.compile(
    r"(?:(?:根据|依据|据|参见|参考|见|来自|according\s+to|from|see|in)\s*)?(?:the\s+)?"
    r"(?:(?:passage|段落|材料|资料)\s*[\[【(（]?\s*(\d{1,2})\s*[\]】)）]?|第\s*(\d{1,2})\s*(?:段|个段落|段材料|条材料))"
    r"(?:\s*(?:中|里|所述|所示|提到|可知|显示|指出|说|写道|mentions|says|states))?\s*[，,：:]?",
    re.I,
)
_RULE = re.compile(r"(?:根据|依据|据|参见|见)\s*第\s*(\d{1,2})\s*条(?:材料|内容)?(?:中|里|所述)?\s*[，,：:]?")  # "根据第1条，"


def labels(passages: list[Passage]) -> list[str]:
    """The labels the prompt writes above the passages, as a model may copy them (with and without page)."""
    out: list[str] = []
    for p in passages:
        page = f"，第{p.page}版" if p.page else ""
        for inner in (f"{p.section}{page}", p.section):
            if inner:
                out += [f"({inner})", f"（{inner}）"]
    return sorted(set(out), key=len, reverse=True)


def plain_references(answer: str, passages: list[Passage]) -> str:
    """`answer` with each passage named in words turned into its marker and copied labels removed."""
    for label in labels(passages):
        answer = answer.replace(label, "")
    answer = _RULE.sub(lambda m: f"[{m.group(1)}]", answer)
    return _NAMED.sub(lambda m: f"[{m.group(1) or m.group(2)}]", answer)
