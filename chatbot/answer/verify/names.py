"""Names of people, places and organisations that no cited passage contains.

A name is a word jieba tags as a person (nr), place (ns), organisation (nt) or
other proper noun (nz); a word ending in a place or organisation suffix
(桑植县, 华为集团); a proper noun followed by such a suffix word (云梦 + 新区,
国际 + 会展中心); or a title (市长, 副市长, 书记…), which claims a person. The
name is supported when the cited passages (text or heading path) contain it, or
its stem without the suffix (桑植 for 桑植县), or when it is the report's own city.
jieba also tags ordinary words as names (新建 as a place, 科普 as a person), so a
word that the passages contain never counts, whatever its tag.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chatbot.answer.verify.text import Token

TITLES = frozenset(
    """市长 副市长 常务副市长 市委书记 书记 副书记 县长 副县长 区长 副区长 镇长 乡长 村长 主任 副主任 局长 副局长 厅长 部长 省长 副省长
    主席 副主席 秘书长 院长 校长 董事长 总经理 总裁 委员 常委 市委常委 主委""".split()
)
PLACE_SUFFIXES = ("新区", "景区", "园区", "开发区", "街道", "自治州", "自治县", "县", "区", "镇", "乡", "村", "省", "州", "湾", "岛")
ORG_SUFFIXES = (
    "集团", "公司", "中心", "银行", "医院", "大学", "学院", "学校", "委员会", "协会", "研究院", "研究所", "基金会", "管委会", "有限公司",
    "股份", "商会", "联合会", "会展中心", "体育馆", "博物馆", "科技园",
)
# Bare suffix words that make a name with a proper noun before them ("云梦" + "新区").
_SUFFIX_WORDS = frozenset(PLACE_SUFFIXES + ORG_SUFFIXES) | {"会展中心", "体育中心", "数据中心", "产业园", "物流园"}
_PROPER = ("nr", "ns", "nt", "nz")
_KIND = {"nr": "name", "ns": "place", "nt": "organisation", "nz": "organisation"}
# Words that name nothing the passages must hold: the speaker, the city's own way of saying "we".
_ALWAYS = frozenset("我市 全市 本市 我省 全省 全国 中国 国家 中央 国务院 市委 市政府 政府 省委 省政府 党中央 湖南 湖南省".split())
# Ordinary words jieba tags as places or people (seen on the tune part of the claims set).
_GENERIC = frozenset("城镇 城市 城乡 农村 乡村 城区 市区 乡镇 山区 新建 农村居民 城镇居民 城乡居民 居民 市民".split())
_HAN = re.compile(r"^[\u4e00-\u9fff]+$")


@dataclass(frozen=True)
class Name:
    text: str
    kind: str  # "name", "place" or "organisation"


def _suffix_kind(word: str) -> str | None:
    if any(word.endswith(s) for s in ORG_SUFFIXES) and len(word) >= 3:
        return "organisation"
    if any(word.endswith(s) for s in PLACE_SUFFIXES) and len(word) >= 3:
        return "place"
    return None


def candidates(tokens: list[Token]) -> list[Name]:
    """The names and titles of a tagged sentence, in order."""
    out: list[Name] = []
    for i, token in enumerate(tokens):
        word, flag = token.word, token.flag
        if not _HAN.match(word) or word in _ALWAYS or word in _GENERIC:
            continue
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if nxt is not None and nxt.word in _SUFFIX_WORDS and (flag.startswith(_PROPER) or flag in ("n", "nz")) and len(word) >= 2:
            compound = word + nxt.word
            out.append(Name(compound, _suffix_kind(compound) or "organisation"))
            continue
        if word in TITLES or word.endswith(("市长", "书记", "县长", "区长")):
            out.append(Name(word, "name"))
            continue
        if word in _SUFFIX_WORDS:
            continue
        kind = _suffix_kind(word)
        if kind is None and flag.startswith(_PROPER) and len(word) >= 2:
            kind = _KIND[flag[:2]]
        if kind:
            out.append(Name(word, kind))
    return out


def _stem(name: str) -> str:
    for suffix in sorted(PLACE_SUFFIXES + ORG_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def unsupported_names(tokens: list[Token], cited_text: str, city: str | None) -> list[Name]:
    """The names of the sentence that the cited text (squashed) does not contain."""
    out: list[Name] = []
    for name in candidates(tokens):
        if name.text in cited_text or _stem(name.text) in cited_text:
            continue
        if city and (name.text.startswith(city) or city.startswith(name.text)):
            continue
        if name not in out:
            out.append(name)
    return out
