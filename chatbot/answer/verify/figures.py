"""Figures and years of an answer sentence, checked against the passages it cites.

A figure must be in a cited passage with the same value (widths, 万/亿 and
percent normalised) *and in the right place*: "桑植县的常住人口为96.7%" is
wrong although 96.7% is in the passage, because there it is the insurance rate.
Two measures decide the place, for each occurrence of the value in a passage:

- forward: the share of the answer clause's content units (the words around
  the figure, see chatbot.answer.verify.text) found in the passage's clause holding
  the figure and the clause before it (lists name their subject earlier:
  "城乡居民人均可支配收入分别增长6.5%、7%左右");
- backward: the words just before the figure in the passage ("参保率达",
  "生产总值增长") must share a bigram with the answer sentence.

A count in Chinese numerals ("三大专项整治") is wrong where a cited passage counts the same
thing otherwise ("六大专项整治"): `miscounted`. On the claims set it flags no faithful
sentence (tune 9/838 and held-out 11/233 false alarms, as before); on a recorded tune sample
of Qwen answers it caught the one such answer (q293), which had passed.

A year is supported when a cited passage or its heading path gives it, with
今年/去年/明年 read against the report's year (`Passage.year`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from chatbot.answer.verify.text import Token, clause_spans, content_units, share_present, squash, tag, units_of
from chatbot.question.query import resolve_relative_years
from chatbot.textutil import figure_spans
from chatbot.types import Passage

# Tuned on the tune portion of tests/data/claims.jsonl (scripts/claims_report.py --tune).
FIGURE_CONTEXT_MIN = 0.6

# A year: 19xx/20xx that is not an amount ("1990万元", "2000亩" count as years only in the sense
# that a passage naming the same number supports them, as a figure would be).
_YEAR = re.compile(r"(?<![\d.])((?:19|20)\d\d)(?!\s*[\d.,%％万亿千百])")
_ANY_YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)(?!\d)")
_SENTENCE_END = re.compile(r"[。！？；!?]")
_HEAD_FILLER = "达为是到在了约近超共计至有和与及的将"
# Measure words right after a figure: what it counts. "1053元" is wrong where the passage's 1053 is
# the name of a standard ("1053"标准), "18年" where it is "18连升".
_UNITS = sorted(
    """元 人次 人 家 个 件 项 公里 千米 米 亩 吨 户 所 座 处 台 辆 天 年 倍 次 位 名 条 平方米 立方米 千瓦 瓦 床 张 栋 套 场 批
    支 只 头 株 棵 篇 届 期 分钟 小时 公顷 元/人 岁 周 月 日""".split(),
    key=len,
    reverse=True,
)


# A count written in Chinese numerals ("六大专项整治", "三年内") and what it counts: the next one or two
# characters. Runs without a digit from 二 to 十 or 两 (一流, 百姓, 千方百计) are words, not counts.
_COUNT = re.compile(r"(?<![\d.零一二三四五六七八九十两百千万])([零一二三四五六七八九十两百千万]+|\d+)(?=([\u4e00-\u9fff]{1,2}))")
_DIGITS = dict(zip("零一二三四五六七八九两", (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 2)))
_PLACES = {"十": 10, "百": 100, "千": 1000}


def chinese_number(run: str) -> int | None:
    """The value of a Chinese numeral up to 万 ("六" 6, "十二" 12, "两千" 2000, "三万" 30000); None when
    the run is not one number ("十四五" names a plan)."""
    if run.isdigit():
        return int(run)
    total, section, digit = 0, 0, None
    for ch in run:
        if ch == "零" and len(run) > 1:  # a gap: 一百零五
            continue
        if ch in _DIGITS:
            if digit is not None:
                return None  # two digits in a row: "十四五", "三四"
            digit = _DIGITS[ch]
        elif ch in _PLACES:
            if digit is None and (section or total):
                return None
            section += (1 if digit is None else digit) * _PLACES[ch]
            digit = None
        else:  # 万
            total = (total + section + (digit or 0)) * 10000
            section, digit = 0, None
    return total + section + (digit or 0)


def counts(text: str) -> list[tuple[int, str, str]]:
    """(value, what it counts, as written) for each count of `text`, in digits or Chinese numerals."""
    out = []
    for m in _COUNT.finditer(text):
        run = m.group(1)
        if not run.isdigit() and not any(ch in "二三四五六七八九十两" for ch in run):
            continue
        value = chinese_number(run)
        if value is not None:
            out.append((value, m.group(2), run + m.group(2)[:1]))
    return out


def miscounted(norm: str, cited: list[PassageFigures]) -> list[str]:
    """The counts the sentence writes in Chinese numerals that a cited passage gives otherwise for the
    same thing: "三大专项整治" where the passage says "六大专项整治" (digits are `check_figures`' business).
    A count of something the passages never count is left alone: the model may have counted a list."""
    given = [c for p in cited for c in p.counts]
    bad = []
    for value, counted, written in counts(norm):
        if written[:1].isdigit():
            continue
        same_thing = [v for v, what, _ in given if what == counted]
        if same_thing and value not in same_thing:
            bad.append(written)
    return list(dict.fromkeys(bad))


def _passage_unit(p: PassageFigures, start: int, end: int) -> str | None:
    """What a passage's figure counts: its measure word, the one after the list it heads ("第2、第8位"),
    "label" for a quoted number (“1053”标准 names a standard), None when the passage does not say."""
    if p.text[start - 1 : start] in "“\"" and p.text[end : end + 1] in "”\"" and start > 0:
        return "label"
    unit = unit_after(p.text, end)
    while unit is None and p.text[end : end + 1] in ("、", "和", "及", "至", "-", "~"):
        following = next(((s, e) for _, _, _, s, e in p.figures if end < s <= end + 3), None)
        if following is None:
            break
        end = following[1]
        unit = unit_after(p.text, end)
    return unit


def unit_after(text: str, end: int) -> str | None:
    """The measure word right after a figure that ends at `end` (None when there is none)."""
    rest = text[end : end + 4].lstrip()
    return next((u for u in _UNITS if rest.startswith(u)), None)


@dataclass
class PassageFigures:
    """One passage, normalised once per verification: its figures, clauses and years."""

    text: str  # NFKC
    figures: list[tuple[float, bool, str, int, int]]
    clauses: list[tuple[int, int]]
    years: set[int]
    counts: list[tuple[int, str, str]]  # `counts(text)`: its counts, in digits or Chinese numerals

    @classmethod
    def of(cls, passage: Passage) -> PassageFigures:
        text = unicodedata.normalize("NFKC", passage.text)
        context = text + "\n" + unicodedata.normalize("NFKC", passage.section)
        if passage.year:
            context = resolve_relative_years(context, passage.year)
        years = {int(y) for y in _ANY_YEAR.findall(context)}
        return cls(text, figure_spans(text), clause_spans(text), years, counts(text))


def year_spans(norm: str) -> list[tuple[int, int, int]]:
    """(year, start, end) for each year the sentence names; 今年 etc. are resolved by the caller."""
    return [(int(m.group(1)), m.start(1), m.end(1)) for m in _YEAR.finditer(norm)]


def unsupported_years(norm: str, cited: list[PassageFigures], report_year: int | None) -> list[str]:
    resolved = resolve_relative_years(norm, report_year) if report_year else norm
    supported = set().union(*(p.years for p in cited)) if cited else set()
    missing = [str(y) for y, _, _ in year_spans(resolved) if y not in supported]
    return list(dict.fromkeys(missing))


def _window(p: PassageFigures, start: int) -> str:
    """The clause holding position `start` and the clause before it, within one sentence, as lists
    name their subject earlier ("今年主要预期目标是：地区生产总值增长7.5%左右", "实现地区生产总值615亿元，
    增长5%"); but not a clause before that has its own figure when the figure's own clause names its own
    subject: "旅游接待人次、旅游总收入分别增长40%左右，规模工业增加值增长8%左右" does not place 8% at 旅游总收入."""
    index = next((i for i, (s, e) in enumerate(p.clauses) if s <= start < e), None)
    if index is None:
        return ""
    clause_start, clause_end = p.clauses[index]
    sentence_start = max((m.end() for m in _SENTENCE_END.finditer(p.text, 0, clause_start)), default=0)
    if index > 0 and p.clauses[index - 1][0] >= sentence_start:
        before_start, before_end = p.clauses[index - 1]
        sibling = any(before_start <= s < before_end for _, _, _, s, _ in p.figures)
        if not (sibling and _names_a_subject(p.text[clause_start:start])):
            clause_start = before_start
    return squash(p.text[clause_start:clause_end])


def _names_a_subject(text: str) -> bool:
    """The text holds a content noun (what a figure after it measures: 规模工业增加值, 医疗救助)."""
    return any(token.flag.startswith("n") and units_of(token.word) for token in tag(text))


def _neighbour_units(p: PassageFigures, start: int, end: int) -> list[str]:
    """Bigrams of the (at most four) characters right before a figure in its passage clause,
    and of those right after it: what the passage says the figure is ("参保率达", "件人大代表")."""
    clause_start, clause_end = next(((s, e) for s, e in p.clauses if s <= start < e), (start, end))
    previous = [e for _, _, _, s, e in p.figures if clause_start <= s and e <= start]
    prefix_start = max(previous) if previous else clause_start
    before = "".join(ch for ch in p.text[prefix_start:start] if "\u4e00" <= ch <= "\u9fff")
    if previous and len(before) <= 3:  # "13.6万人次6931万元", "6.5%、7%": the subject came before
        before = ""
    before = before.rstrip(_HEAD_FILLER)[-4:]
    after = "".join(ch for ch in p.text[end:clause_end] if "\u4e00" <= ch <= "\u9fff")[:4]
    return [w[i : i + 2] for w in (before, after) for i in range(len(w) - 1)]


def _answer_context(norm: str, tokens: list[Token], start: int, end: int) -> list[str]:
    spans = clause_spans(norm)
    index = next((i for i, (s, e) in enumerate(spans) if s <= start < e), 0)
    clause_start, clause_end = spans[index] if spans else (0, len(norm))
    units = [u for t in tokens if clause_start <= t.start and t.end <= clause_end and not (t.start < end and start < t.end)
             for u in content_units([t], measures=False)]
    if len(units) < 2 and index > 0:
        units = content_units(tokens, spans[index - 1][0], clause_end, measures=False)
    return units


def check_figures(
    norm: str, tokens: list[Token] | None, cited: list[PassageFigures], *, years: list[tuple[int, int, int]]
) -> list[str]:
    """The figures of the sentence that no cited passage gives, or gives for something else.

    `tokens` are the sentence's tagged words (None: only values are compared, as for English).
    Years are not figures: their spans are skipped here and checked by `unsupported_years`.
    """
    year_starts = {s for _, s, _ in years}
    squashed = squash(norm)
    bad: list[str] = []
    for value, percent, written, start, end in figure_spans(norm):
        if start in year_starts:
            continue
        occurrences = [(p, s, e) for p in cited for v, pct, _, s, e in p.figures if (v, pct) == (value, percent)]
        unit = unit_after(norm, end)
        if unit:  # the answer says what the figure counts: the passage must not count something else
            occurrences = [(p, s, e) for p, s, e in occurrences if _passage_unit(p, s, e) in (unit, None)]
        if not occurrences:
            bad.append(written)
            continue
        if tokens is None:
            continue
        context = _answer_context(norm, tokens, start, end)
        if len(context) < 2:  # "27个。", "584件，…": nothing says what the figure is; its value matched
            continue
        placed = False
        for passage, at, at_end in occurrences:
            neighbours = _neighbour_units(passage, at, at_end)
            if neighbours and not any(u in squashed for u in neighbours):
                continue
            if share_present(context, _window(passage, at)) >= FIGURE_CONTEXT_MIN:
                placed = True
                break
        if not placed:
            bad.append(written)
    return list(dict.fromkeys(bad))
