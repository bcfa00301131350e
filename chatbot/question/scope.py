"""Questions no passage of the report can answer, whatever the retrieval finds.

A work report states a city's results and plans. It has no opinions to give or
advice for one person ("我该不该在这里买房？"), it cannot know today's weather
or this week's prices, and it says nothing about a city it does not mention
("常德市去年拆了多少违建？" against another city's report). Such questions share
words with the report, so coverage scores alone would answer them with a
near miss; these checks refuse them first, for every backend.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from pathlib import Path

from chatbot.question.routing import stored_city_names
from chatbot.question.rules import rules
from chatbot.segmentation import word_starts
from chatbot.types import Passage

PREFECTURES = Path(__file__).parent / "data" / "prefectures.tsv"


@cache
def _prefectures() -> tuple[tuple[str, str], ...]:
    """(name as written, full name), longest first: full names always, short names where unambiguous."""
    names: list[tuple[str, str]] = []
    for line in PREFECTURES.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            full, short = line.split("\t")[:2]
            names.append((full, full))
            if short:
                names.append((short, full))
    return tuple(sorted(names, key=lambda pair: -len(pair[0])))


@cache
def _english_names() -> tuple[tuple[re.Pattern[str], str, str], ...]:
    """(pattern, full name, short name), longest first: "Changde", "Xi'an", "Xian", "Hong Kong" as whole words, any case."""
    names: list[tuple[str, str, str]] = []
    for line in PREFECTURES.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            full, short, english = (line.split("\t") + ["", ""])[:3]
            names += [(name, full, short) for name in english.split("|") if name]
    names.sort(key=lambda row: -len(row[0]))
    return tuple(
        (re.compile(r"\b" + r"(?:['’\- ])?".join(map(re.escape, name.split())) + r"(?:\s+city)?\b", re.I), full, short)
        for name, full, short in names
    )


def english_name(city: str) -> str:
    """The city's English name from the prefecture list ("常德市" or "常德" → "Changde", "西安市" → "Xi'an"), or the name itself.

    Pinyin syllables are joined, with an apostrophe before a syllable that begins with a, o or e
    where it does not begin the name (the standard pinyin rule), and ü written for v; the special
    administrative regions keep their established names in words.
    """
    for line in PREFECTURES.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            full, short, english = (line.split("\t") + ["", ""])[:3]
            if english and city in (full, short):
                syllables = english.split("|")[0].replace("lv", "lü").replace("nv", "nü").split()
                if full.endswith("特别行政区"):  # established names in words: "Hong Kong"
                    return " ".join(word.capitalize() for word in syllables)
                joined = syllables[0] + "".join(("'" if s[0] in "aoe" else "") + s for s in syllables[1:])
                return joined[0].upper() + joined[1:]
    return city


def _fold(text: str) -> str:
    """Latin letters without their marks ("Lüliang" → "Luliang"), for matching English names."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


# A city the question names is covered when the best passage names it. Any retrieved passage
# was too loose: a report that names another city in passing (a brand, "异地…商会") answered
# "<that city>今年GDP增长目标是多少？" from its own figures.
MENTION_DEPTH = 1


def other_cities(question: str, documents: dict[str, dict], passages: list[Passage]) -> list[str]:
    """Cities the question names that are neither a stored report's city nor named in the best passage(s)."""
    own = stored_city_names(documents)
    text = unicodedata.normalize("NFKC", question)
    for alias in sorted(own, key=len, reverse=True):
        text = re.sub(re.escape(alias) if not alias.isascii() else rf"\b{re.escape(alias)}\b", "□", text, flags=re.I)
    seen = "".join(p.text for p in passages[:MENTION_DEPTH])
    found: list[str] = []
    starts = word_starts(text)
    for name, full in _prefectures():
        # A city's name begins a word: "东西安不安全" and "平安庆典" name no city.
        hits = [m.start() for m in re.finditer(re.escape(name), text) if m.start() in starts]
        if hits:
            for start in hits:
                text = text[:start] + "□" * len(name) + text[start + len(name) :]
            if name not in seen and full not in found:
                found.append(full)
    latin = _fold(text)
    for pattern, full, short in _english_names():
        hit = pattern.search(latin)
        # The report's own city, written in pinyin where its metadata gives no English name, is not another city.
        own_city = any(full.startswith(name) for name in own)
        if hit and not own_city and not any(name and name in seen for name in (full, short)) and full not in found:
            found.append(full)
            latin = latin[: hit.start()] + "□" + latin[hit.end() :]
    return found


def out_of_scope(question: str, documents: dict[str, dict], passages: list[Passage]) -> str | None:
    """The reason a question is outside what the report can say, or None."""
    normalized = unicodedata.normalize("NFKC", question)
    for rule in rules("scope"):  # rows of the question-shape table (chatbot.question.rules)
        if rule.matches(normalized):
            return rule.reason
    if other_cities(normalized, documents, passages):
        return "other_city"
    return None


def other_city_message(question: str, documents: dict[str, dict], passages: list[Passage], english: bool) -> str:
    """Names both sides: which report this is, and the city it has nothing on."""
    asked = other_cities(unicodedata.normalize("NFKC", question), documents, passages)
    if english:
        # The English reader gets English names: the metadata's city_en, else the prefecture list's pinyin.
        ours_en = sorted({str(meta.get("city_en") or english_name(str(meta["city"]))) for meta in documents.values() if meta.get("city")})
        return f"This is the government work report of {', '.join(ours_en) or 'this city'}; it says nothing about {', '.join(map(english_name, asked))}."
    ours = "、".join(sorted({str(meta["city"]) for meta in documents.values() if meta.get("city")})) or "本市"
    return f"这是{ours}的政府工作报告，没有关于{'、'.join(asked)}的内容。"
