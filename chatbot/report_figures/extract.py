"""The figures one passage gives: what each measures, its value and unit, the year, target or result.

General rules over the text, never a list of one report's figures or sentences:

- the numbers are `chatbot.textutil.figure_spans`, the parser the claim checker uses (万/亿 applied,
  widths normalised), so a row's value is the value the checker compares;
- a number needs a unit (a percent or a measure word after it, or the unit of the list or range it
  belongs to: "第2、第8位", "500—1000亩"); years, numbers inside quotation marks (names:
  “1053”标准), codes beside Latin letters (5G, 5A) and bare numbers (a hotline) are not figures;
- the indicator is the clause before the number, from the clause start or the previous figure,
  without the relation word ("增长", "达", "控制在"), which is kept apart; a clause that only
  says "增长197.3%" measures what the figure before it measured;
- "A、B分别增长x%、y%" pairs subjects and values in order; one value for several subjects is one
  row per subject, several values for one subject share it;
- kind: the heading path's top-level part (a review is results, a plan is targets), else the
  sentence's own plan/result words (chatbot.question.vocabulary), else its year against the report's;
  a "是…之一" statement is a fact (neither);
- year: the heading path's, else the sentence's (今年/去年 read against the report's year), else
  the report's year for a target and the year before for a result.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass

from chatbot.answer.verify.figures import year_spans
from chatbot.question.query import resolve_relative_years
from chatbot.question.vocabulary import PLAN_TITLE, PLAN_WORDS, RESULT_WORDS, REVIEW_TITLE, YEAR_CN
from chatbot.textutil import figure_spans, split_sentences

KINDS = ("target", "result", "fact")

# Measure words, longest first (a general vocabulary of Chinese units, not one report's).
_UNITS = sorted(
    """个百分点 平方公里 平方米 立方米 公里 千米 米 公顷 亩 吨 千克 公斤 元 美元 人次 户次 人 户 家 所 处 件 枚 名 位 项 条 座
    个 套 台 辆 间 张 本 部 场 次 批 只 头 棵 株 倍 分钟 小时 天 日 年 个月 月 周 岁 连升 连涨 连降 床 张床 栋 宗""".split(),
    key=len,
    reverse=True,
)
_UNIT = re.compile("|".join(re.escape(u) for u in _UNITS))
_LIST_LINK = re.compile(r"\s*[、—–~～至到-]\s*第?\s*$")
_CLAUSE_BREAK = "，,；;。：:！？!?\n"
_OPEN_QUOTES, _CLOSE_QUOTES = "“「『《\"", "”」』》\""
# Words between a subject and its number: kept as the row's relation, not its indicator.
_RELATIONS = [
    "分别", "同比", "比上年", "累计", "增长", "下降", "上升", "增加", "减少", "提高", "降低", "达到", "达", "控制在", "控制",
    "位居", "居", "排名", "排", "实现", "完成", "为", "是", "占", "至", "到", "约", "近", "超过", "突破", "共", "合计", "的", "了",
]
_LEADING = re.compile(r"^(?:全年|全市|今年|去年|其中|并|且|和|与|及)+")
_QUALIFIER = re.compile(r"左右|以上|以内|以下|之内|上下|多|余")
_TAIL = re.compile(r"[“「『]?([\u4e00-\u9fff]+)")
_TAIL_STOP = re.compile(r"和|及|与|并|全部|均|等|分别|之一")
_FACT = re.compile(r"是.{0,40}之一")


@dataclass
class FigureRow:
    """One figure of one passage. `value` is normalised (万/亿 applied) in `unit`; `written` is as printed."""

    indicator: str
    relation: str
    value: float
    unit: str
    written: str
    qualifier: str  # 左右, 以上, 以内 … ("" for an exact figure)
    year: int | None
    kind: str
    source: str
    section: str
    chunk_id: str
    sentence: str  # verbatim from the passage
    clause: str  # verbatim: the sentence's words from the clause start up to the figure (highlighted in the passage)
    claim: str  # what the claim checker verifies against the passage: the figure with its words, in reading order

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Number:
    value: float
    percent: bool
    written: str
    start: int
    end: int
    unit: str = ""
    rank: bool = False
    qualifier: str = ""  # 左右, 以上, 以内 …: how exact the figure is
    unit_len: int = 0  # characters of the unit written right after the number (0: a percent, or borrowed from its list)

    @property
    def after(self) -> int:
        """Where the figure's words end: after its unit and qualifier."""
        return self.end + self.unit_len + len(self.qualifier)


def _in_quotes(text: str, at: int) -> bool:
    opened = sum(text.count(q, 0, at) for q in _OPEN_QUOTES if q != '"')
    closed = sum(text.count(q, 0, at) for q in _CLOSE_QUOTES if q != '"')
    return opened > closed or text.count('"', 0, at) % 2 == 1


def _numbers(sentence: str) -> list[_Number]:
    """The sentence's figures with their units; numbers that are not figures are left out."""
    years = {s for _, s, _ in year_spans(sentence)}
    found: list[_Number] = []
    for value, percent, written, start, end in figure_spans(sentence):
        number = _Number(value, percent, written, start, end, rank=sentence[max(0, start - 1) : start] == "第")
        if percent:
            number.unit = "个百分点" if written.endswith("个百分点") else "%"
        else:
            unit = _UNIT.match(sentence, end)
            number.unit = unit.group() if unit else ""
            number.unit_len = len(number.unit)
        qualifier = _QUALIFIER.match(sentence, end + number.unit_len)
        number.qualifier = qualifier.group() if qualifier else ""
        before, after = sentence[max(0, start - 1) : start], sentence[end : end + 1]
        if re.match(r"[A-Za-z·.]", after) or re.match(r"[A-Za-z·]", before) or _in_quotes(sentence, start):
            continue
        if start in years and number.unit in ("", "年"):
            continue
        found.append(number)
    # a list or a range shares the unit written after its last member: "第2、第8位", "500—1000亩"
    for i in range(len(found) - 2, -1, -1):
        this, nxt = found[i], found[i + 1]
        if not this.unit and _LIST_LINK.match(sentence[this.end : nxt.start]) and nxt.unit:
            this.unit, this.rank = nxt.unit, this.rank or nxt.rank
    return [n for n in found if n.unit]


def _strip_relation(phrase: str) -> tuple[str, str]:
    """("民生支出占一般公共预算支出", "的") from "民生支出占一般公共预算支出的"."""
    relation = ""
    changed = True
    while changed and phrase:
        changed = False
        for word in _RELATIONS:
            if phrase.endswith(word):
                phrase, relation = phrase[: -len(word)], word + relation
                changed = True
                break
    return phrase, relation


def _clean(phrase: str) -> str:
    phrase = phrase.strip(" 、，,“”\"（）()")
    stripped = _LEADING.sub("", phrase)
    return stripped if len(stripped) >= 2 else phrase


def _han_len(text: str) -> int:
    return sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")


def _subjects(phrase: str) -> list[str]:
    """The subjects of a 、-list before 分别 ("A、B分别"); elliptical short items take the first item's head."""
    items = [_clean(p) for p in re.split(r"[、和及与]", phrase) if _clean(p)]
    if len(items) < 2:
        return [_clean(phrase)]
    first = items[0]
    out = [first]
    for item in items[1:]:
        if _han_len(item) <= 4 and _han_len(first) > _han_len(item) and item[:2] not in first:
            head = _head_of(first)
            out.append(head + item if head else item)
        else:
            out.append(item)
    return out


def _head_of(phrase: str) -> str:
    """All of `phrase` but its last word ("安全生产事故" of "安全生产事故起数")."""
    from chatbot.answer.verify.text import tag  # jieba: loaded only when a list needs it

    tokens = tag(phrase)
    return "".join(t.word for t in tokens[:-1]) if len(tokens) > 1 else ""


def _section_kind(section: str) -> str | None:
    top = section.split(" › ")[0] if section else ""
    if REVIEW_TITLE.search(top):
        return "result"
    if PLAN_TITLE.search(top):
        return "target"
    return None


def _year_of(section: str, sentence: str, report_year: int | None) -> int | None:
    for text in (section, resolve_relative_years(sentence, report_year) if report_year else sentence):
        match = YEAR_CN.search(text)
        if match:
            return int(match.group(1))
    return None


def _kind(section: str, sentence: str, year: int | None, report_year: int | None) -> str:
    if _FACT.search(sentence):
        return "fact"
    by_section = _section_kind(section)
    if by_section:
        return by_section
    if PLAN_WORDS.search(sentence) and not RESULT_WORDS.search(sentence):
        return "target"
    if RESULT_WORDS.search(sentence):
        return "result"
    if year and report_year:
        return "result" if year < report_year else "target"
    return "target"


def extract(text: str, *, section: str = "", source: str = "", chunk_id: str = "", report_year: int | None = None) -> list[FigureRow]:
    """Every figure of one passage, in reading order."""
    rows: list[FigureRow] = []
    for s_start, s_end in split_sentences(text):
        original = text[s_start:s_end]
        sentence = unicodedata.normalize("NFKC", original)
        if len(sentence) != len(original):  # offsets would not map back: quote the normalised text
            original = sentence
        numbers = _numbers(sentence)
        if not numbers:
            continue
        year = _year_of(section, sentence, report_year)
        kind = _kind(section, sentence, year, report_year)
        if year is None and report_year:
            year = report_year - 1 if kind == "result" else report_year
        rows.extend(_sentence_rows(sentence, original, numbers, year, kind, section, source, chunk_id))
    return rows


def _tail(sentence: str, number: _Number, next_start: int) -> tuple[str, int]:
    """What a number counts when the noun follows it ("17个重点领域安全隐患排查", "9枚金牌"), and where it ends.

    Nothing when the words run into the next number: they are that figure's subject."""
    at = number.after
    words = _TAIL.match(sentence, at)
    if not words:
        return "", at
    text = _TAIL_STOP.split(words.group(1))[0]
    if words.end() >= next_start and len(text) == len(words.group(1)):
        return "", at
    text, _ = _strip_relation(text)
    return (text, words.start(1) + len(text)) if _han_len(text) >= 2 else ("", at)


def _sentence_rows(sentence: str, original: str, numbers: list[_Number], year, kind, section, source, chunk_id) -> list[FigureRow]:
    rows: list[FigureRow] = []
    previous: tuple[str, int] | None = None  # (subject, end) of the figure before, in this sentence
    i = 0
    while i < len(numbers):
        group = [numbers[i]]  # values listed together: "6.5%、7%", "第2、第8位", "500—1000亩"
        while i + len(group) < len(numbers) and _LIST_LINK.match(sentence[group[-1].end : numbers[i + len(group)].start]):
            group.append(numbers[i + len(group)])
        i += len(group)
        first, last = group[0], group[-1]
        next_start = numbers[i].start if i < len(numbers) else len(sentence)
        counted, counted_end = _tail(sentence, last, next_start)
        clause_start = max((sentence.rfind(ch, 0, first.start) for ch in _CLAUSE_BREAK), default=-1) + 1
        prefix_start = max(clause_start, previous[1] if previous else 0)
        prefix = sentence[prefix_start : first.start - (1 if first.rank else 0)]
        listed = previous is not None and prefix_start == previous[1] and prefix.startswith("、")
        phrase, relation = _strip_relation(prefix.strip())
        if "分别" in relation or "分别" in phrase:
            subjects = _subjects(phrase.replace("分别", ""))
        else:
            subjects = [_clean(phrase)] if _han_len(phrase) >= 2 else []
        if listed and len(subjects) == 1 and _han_len(subjects[0]) <= 3:  # "粮食栽播192.65万亩、产量64.5万吨"
            subjects = [_head_of(previous[0]) + subjects[0]]
        if not subjects and not counted:  # "…1130万元，增长197.3%": the subject is the previous figure's
            subjects = [previous[0]] if previous else ["—"]
        subjects = subjects or [""]
        if len(subjects) == len(group):
            pairs = list(zip(subjects, group))
        elif len(group) == 1:
            pairs = [(s, first) for s in subjects]
        else:
            pairs = [("、".join(subjects), n) for n in group]
        for subject, number in pairs:
            written = ("第" if number.rank else "") + number.written + ("" if number.percent else number.unit)
            rows.append(
                FigureRow(
                    indicator=subject + ("…" if subject and counted else "") + counted,
                    relation=relation,
                    value=number.value,
                    unit=number.unit,
                    written=written,
                    qualifier=number.qualifier,
                    year=year,
                    kind=kind,
                    source=source,
                    section=section,
                    chunk_id=chunk_id,
                    sentence=original.strip(),
                    clause=original[clause_start : number.after].strip(),
                    claim=(f"{year}年" if year else "") + subject + relation + written + number.qualifier + counted,
                )
            )
        previous = ("、".join(subjects) if len(group) == 1 else subjects[0]) or counted, max(counted_end, last.after)
    return rows


__all__ = ["KINDS", "FigureRow", "extract"]
