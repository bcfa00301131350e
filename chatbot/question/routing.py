"""Route a question to the report(s) it names: a metadata filter for retrieval.

With many reports in the store (several cities, several years), a question that
names a city or a year must not be answered from another city's or year's
report, however similar its wording. `route()` turns what the question names
into a Chroma-style filter on the chunk metadata (`{"city": ..., "year": ...}`),
which `Retriever.search(where=...)` applies to both the dense and the BM25 side.

Rules
-----
* One document (or none) in the store: `None`, nothing to choose.
* City: a city of the store named in the question, by its stored name (常德, 湘西州),
  its short or long form (湘西 / 湘西州, 常德 / 常德市) or its English name
  (`city_en`: Changde). Region words that contain a city name without meaning it
  (湘西北, 湘南湘西) do not count. Two or more cities named (a comparison): no city filter.
* Year: "2022年", "2022 年", "二〇二二年", or a bare 2022 in an English question. The core
  resolves 今年/去年/明年 to years *before* routing (against the stored report's year, `chatbot/reports.py`), so "去年"
  arrives here as "2022年". Two or more years named: no year filter.
* Which report a year X means. The report of year Y reviews year Y−1 (一、Y−1年工作回顾:
  results, figures achieved) and plans year Y (二、Y年工作安排: targets, tasks). So:
    - a question about plans (目标, 预期, 计划, 安排, 任务, 打算, 力争, target, plan, goal …)
      of year X goes to the report of year X ("2023年GDP增长目标" → the 2023 report);
    - any other question about year X asks what happened in X, which the report of year
      X+1 reviews ("2022年粮食产量" → the 2023 report, not the 2022 one); result words
      (完成, 实现了, 取得, 成效, 回顾 …) win over plan words ("2022年目标完成了吗" → 2023).
  The preferred report is used if it exists (for the named city, if any), else the other
  one (X+1 for a plan, X for a result); if neither exists, no year filter.
* Only what exists: each key is kept only if some document has that value (together with
  the other key); a filter that would keep every document is dropped (`None`).

The filter restricts the search; it does not answer. If the question names a city that is
not in the store (长沙 when only 常德 is ingested) there is no filter, and the answerer's
own year/coverage checks decide. Callers who pass an explicit `where` (for example
`{"source": "xiangxi_2023_government_work_report_p2.txt"}`) are not routed.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from chatbot.question.vocabulary import HAN_DIGITS, YEAR_ANY, YEAR_CN, YEAR_HAN, asks_plan
from chatbot.types import Passage

_YEAR_EN = YEAR_ANY
_HAN = re.compile(r"([〇零○一二三四五六七八九]{4})\s*年")
_YEAR_EN = re.compile(r"\b((?:19|20)\d{2})\b")
_HAN = re.compile(r"[\u4e00-\u9fff]")
# Region words that contain a city's name but do not mean the city.
_NOT_CITIES = ("湘西北", "湘南湘西", "湘西南")

def named_years(question: str) -> list[int]:
    """Years the question names, in order, without repeats."""
    found = [int(y) for y in YEAR_CN.findall(question)]
    found += [int("".join(HAN_DIGITS[c] for c in y)) for y in YEAR_HAN.findall(question)]
    if not _HAN.search(question):
        found += [int(y) for y in _YEAR_EN.findall(question)]
    return list(dict.fromkeys(found))


def city_aliases(city: str, city_en: str | None = None) -> set[str]:
    """常德 → {常德, 常德市}; 湘西州 → {湘西州, 湘西, 湘西市}; plus the English name."""
    base = re.sub(r"(土家族苗族自治州|自治州|地区|市|州)$", "", city) or city
    aliases = {city, base}
    if len(base) >= 2:
        aliases |= {base + "市", base + "州"}
    if city_en:
        aliases.add(city_en)
    return {a for a in aliases if len(a) >= 2}


def passage_city_names(passages: Iterable[Passage]) -> set[str]:
    """Every name (aliases included) of the cities the passages' reports are about (their metadata)."""
    return {alias for p in passages if p.city for alias in city_aliases(p.city)}


def stored_city_names(documents: dict[str, dict]) -> set[str]:
    """Every name (aliases included) of the cities the stored reports are about."""
    return {a for meta in documents.values() if meta.get("city") for a in city_aliases(str(meta["city"]), meta.get("city_en"))}


def _city_keys(documents: dict[str, dict]) -> frozenset[tuple[str, str | None]]:
    return frozenset((str(meta["city"]), meta.get("city_en")) for meta in documents.values() if meta.get("city"))


@functools.lru_cache(maxsize=8)
def _alias_table(keys: frozenset[tuple[str, str | None]]) -> tuple[tuple[tuple[str, str], ...], dict[str, list[int]], tuple[int, ...]]:
    """(alias, city), longest alias first; where each lower-cased alias sits in that list; and the
    alias lengths. Built once per set of stored cities."""
    table = tuple(sorted({(alias, city) for city, city_en in keys for alias in city_aliases(city, city_en)}, key=lambda pair: -len(pair[0])))
    where: dict[str, list[int]] = {}
    for n, (alias, _) in enumerate(table):
        where.setdefault(alias.lower(), []).append(n)
    return table, where, tuple(sorted({len(a) for a in where}))


@functools.lru_cache(maxsize=4096)
def _alias_pattern(alias: str) -> re.Pattern:
    """Compiled when a question holds the alias, not for every stored city (re's own cache holds
    512 patterns: with thousands of reports, recompiling cost ~250 ms a question at 900 reports)."""
    return re.compile(re.escape(alias) if _HAN.search(alias) else r"\b" + re.escape(alias) + r"\b", re.I)


def substrings_in(text: str, where: dict[str, list[int]], lengths: tuple[int, ...]) -> list[int]:
    """The entries of `where` (keyed by lower-cased name) that occur in `text`, in entry order:
    found from the text's own substrings, not by trying every name (thousands of them)."""
    lowered = text.lower()
    return sorted({n for size in lengths for i in range(len(lowered) - size + 1) for n in where.get(lowered[i : i + size], ())})


def named_cities(question: str, documents: dict[str, dict]) -> list[str]:
    """Stored city values the question names (longest alias wins where names overlap)."""
    text = question
    for phrase in _NOT_CITIES:
        text = text.replace(phrase, "□" * len(phrase))
    table, where, lengths = _alias_table(_city_keys(documents))
    found: list[str] = []
    for n in substrings_in(text, where, lengths):  # only aliases that occur can match
        alias, city = table[n]
        hit = _alias_pattern(alias).search(text)
        if hit:
            if city not in found:
                found.append(city)
            text = text[: hit.start()] + "□" * len(alias) + text[hit.end() :]
    return found


def report_year_for(year: int, question: str, available: Iterable[object]) -> int | None:
    """The report that answers a question about `year`: see the module docstring."""
    years = set(available)
    order = (year, year + 1) if asks_plan(question) else (year + 1, year)
    return next((y for y in order if y in years), None)


def route(question: str, documents: dict[str, dict]) -> dict | None:
    """A metadata filter ({"city": ..., "year": ...}) for the reports the question names, or None."""
    metas = [m for m in documents.values() if isinstance(m, dict)]
    if len(metas) <= 1:
        return None
    where: dict = {}
    cities = named_cities(question, documents)
    if len(cities) == 1:
        where["city"] = cities[0]
    pool = [m for m in metas if "city" not in where or m.get("city") == where["city"]]
    years = named_years(question)
    if len(years) == 1:
        year = report_year_for(years[0], question, (m.get("year") for m in pool))
        if year is not None:
            where["year"] = year
    if not where:
        return None
    kept = [m for m in metas if all(m.get(key) == value for key, value in where.items())]
    if not kept or len(kept) == len(metas):
        return None
    return where


def describe(where: dict) -> str:
    """A one-line notice saying which reports were searched."""
    parts = [str(where["city"])] if "city" in where else []
    parts += [f"{where['year']}年"] if "year" in where else []
    parts += [str(where["source"])] if "source" in where else []
    label = " ".join(parts) or ", ".join(f"{k}={v}" for k, v in where.items())
    return f"只检索了 {label} 的报告（问题中提到）。Searched only the report(s) for {label}, as named in the question."
