"""Judgements an answer adds that its passages do not make.

A small model likes to grade what it quotes: "地区生产总值增长7.5%左右，位居全省前列", "这一增速在全省
算高的", "目标已经提前完成", "成效显著". Every other word of such a sentence is in the passage, so the
share of supported words passes; the grade is the claim a reader takes away, and the report does not
make it. A judgement is supported when the cited passages (text or heading path) hold its key word
(显著 in "显著提升" supports "成效显著"); else the sentence is flagged `judgement`.

The phrases are the grades of rank, pace, size and completion; intensifiers alone (十分, 非常) are not
judged, nor is an English sentence (the passages are Chinese: words cannot be compared).
"""

from __future__ import annotations

import re

# (pattern, key words: any of them in the passages supports the judgement)
_JUDGEMENTS: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = tuple(
    (re.compile(pattern), keys)
    for pattern, keys in (
        (r"(?:位居|位列|居于|处于|走在)[^，。；]{0,4}前列", ("前列",)),
        (r"名列前茅", ("前茅", "前列")),
        (r"(?:遥遥|处于|保持|全省|全国)?领先", ("领先",)),
        (r"第一梯队", ("第一梯队",)),
        (r"提前[^，。；]{0,6}完成", ("提前",)),
        (r"超额完成", ("超额",)),
        (r"(?:成效|效果|成绩|进步|提升|增长|改善)?显著", ("显著",)),
        (r"大幅(?:度)?", ("大幅",)),
        (r"(?:高|低|快|慢)于全(?:省|国)(?:平均)?(?:水平)?", ("高于", "低于", "快于", "慢于")),
        (r"在全(?:省|国|市)(?:都)?(?:算|属于|算是)(?:比较|相当|很)?(?:高|低|快|慢|好|多|少)", ("全省排名", "全省第", "全国排名", "全国第", "前列")),
        (r"(?:全省|全国|全市)(?:最高|最低|最快|最好|最多|第一)", ("最高", "最低", "最快", "最好", "最多", "第一")),
        (r"(?:十分|非常|特别)?(?:突出|卓越|优异|亮眼)", ("突出", "卓越", "优异", "亮眼")),
        (r"圆满完成", ("圆满",)),
    )
)


def added_judgements(sentence: str, haystack: str) -> list[str]:
    """The judgement phrases of `sentence` (NFKC, without markers) whose key words `haystack` (the cited
    passages, squashed) does not hold."""
    out = []
    for pattern, keys in _JUDGEMENTS:
        for m in pattern.finditer(sentence):
            if not any(key in haystack for key in keys):
                out.append(m.group())
    return list(dict.fromkeys(out))


__all__ = ["added_judgements"]
