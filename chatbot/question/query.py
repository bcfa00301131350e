"""Query processing before retrieval: relative dates, everyday words, follow-ups.

Citizens ask in everyday words ("送快递的小哥"); the report writes officialese
("快递员群体"). A small lexicon of everyday → report terms expands the lexical
query. It holds general equivalences, not answers: each entry maps a common
phrasing to the administrative term for the same thing.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from pathlib import Path

from chatbot.question.vocabulary import QUESTION_WORDS, RELATIVE_YEARS, TIME_FRAME
from chatbot.segmentation import tokenize, words
from chatbot.types import Message

LEXICON = Path(__file__).parent / "data" / "everyday_terms.tsv"


def load_lexicon(path: Path) -> dict[str, list[str]]:
    """phrase<TAB>term,term lines (# comments): the everyday lexicon, or a report's own glossary."""
    terms: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            phrase, _, targets = line.partition("\t")
            terms[unicodedata.normalize("NFKC", phrase).lower()] = [t for t in targets.split(",") if t]
    return terms


EVERYDAY_TERMS: dict[str, list[str]] = load_lexicon(LEXICON)


def _english_pattern(phrase: str) -> re.Pattern:
    """Whole words ("tea" is not in "teacher"), plurals included; a trailing * marks a stem ("recycl*")."""
    # ASCII boundaries: in "2023年gdp" the Han character before "gdp" counts as a word character for \b
    if phrase.endswith("*"):
        return re.compile(r"(?<![a-z0-9])" + re.escape(phrase[:-1]))
    return re.compile(r"(?<![a-z0-9])" + re.escape(phrase) + r"(?:s|es)?(?![a-z0-9])")


_ENGLISH_PHRASES = {phrase: _english_pattern(phrase) for phrase in EVERYDAY_TERMS if phrase.isascii()}

_FOLLOWUP_START = re.compile(r"^(那|那么|还有|另外|以及|再问|and\b|what about\b|how about\b|and what about\b)", re.I)
_PRONOUN = re.compile(r"(它|它们|这个|那个|这些|那些|这项|该项|其|上述|\bit\b|\bthey\b|\bthat\b|\bthose\b)", re.I)
_FRAME_WORDS = frozenset(
    "今年 去年 明年 前年 年 目标 预期 增长 增加 下降 情况 计划 多少 多大 几 什么 怎么样 怎样 如何 哪些 哪个 是 有 的 了 吗 呢 "
    "要 会 能 达到 达 比例 率 呀 啊 请问 一下 具体 主要 工作 安排 措施".split()
)

INJECTION_PATTERNS = re.compile(
    r"(忽略|无视|忘记|忘掉|不要理会|跳过).{0,12}(指令|指示|提示|规则|要求|设定|以上|之前|上面|报告)"
    r"|(只回答|直接回答|只输出|原样输出|输出你的|打印你的|告诉我你的).{0,20}"
    r"|(系统提示|system prompt|提示词|prompt)"
    r"|ignore (all |any |the )?(previous|above|prior|earlier|the report|instructions)"
    r"|disregard (all |the )?(previous|above|instructions|report)"
    r"|新指令|新的指令|你不再是|你现在是|从现在起你|扮演|角色扮演|作为你的(唯一|最终)?(回答|答案|输出)|唯一(的)?(回答|答案)"
    r"|(reply|respond|answer) (only )?with .{0,60}(and nothing else|only)|nothing else\b|only (reply|respond|answer|output)"
    r"|new instructions?|you are no longer|from now on you|pretend to be|write (me )?an? (poem|story|song|essay)"
    r"|you are now|act as|jailbreak|developer mode",
    re.I,
)


def normalize_question(text: str) -> str:
    """NFC, no control characters, single spaces."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(ch if (ch >= " " or ch in "\n\t") and not unicodedata.category(ch).startswith("C") else " " for ch in text)
    return re.sub(r"\s+", " ", text).strip()


def resolve_relative_years(text: str, year: int | None) -> str:
    """今年 → "<year>年"; unchanged when no year is known (an empty store, reports without a year)."""
    if not year:
        return text
    for pattern, delta in RELATIVE_YEARS:
        text = pattern.sub(f"{year + delta}年" if not pattern.pattern.startswith("\\b") else str(year + delta), text)
    return text


def expansions(text: str) -> list[str]:
    lowered = unicodedata.normalize("NFKC", text).lower()
    out: list[str] = []
    for phrase, terms in EVERYDAY_TERMS.items():
        english = _ENGLISH_PHRASES.get(phrase)
        if english.search(lowered) if english is not None else phrase in lowered:
            out.extend(t for t in terms if t not in out)
    return out


class DocumentExpander:
    """The everyday phrases of the lexicon, added to the BM25 terms of the passages that use their report terms.

    Query-side expansion needs the citizen's exact phrase ("种庄稼的地"); with the phrase's
    words and bigrams on the passage's side, a question worded a little differently
    ("种地") still meets them. Built once per lexicon; a passage is matched by its own
    BM25 terms (a report term counts when all its words are among them).
    """

    def __init__(self, lexicon: dict[str, list[str]]) -> None:
        self._by_first_word: dict[str, list[tuple[frozenset[str], tuple[str, ...]]]] = {}
        for phrase, targets in lexicon.items():
            phrase_tokens = tuple(tokenize(phrase))
            for target in targets:
                target_words = words(target)
                if target_words:
                    self._by_first_word.setdefault(target_words[0], []).append((frozenset(target_words), phrase_tokens))

    def __call__(self, terms: list[str]) -> list[str]:
        present = set(terms)
        added: list[str] = []
        seen: set[tuple[str, ...]] = set()
        # in the passage's order, not the set's: the result is stored at ingest, and a set's order
        # changes with each process's hash seed (every re-ingest would rewrite every chunk)
        for term in dict.fromkeys(terms):
            for needed, phrase_tokens in self._by_first_word.get(term, ()):
                if phrase_tokens not in seen and needed <= present:
                    seen.add(phrase_tokens)
                    added.extend(phrase_tokens)
        return added


@cache
def _everyday_expander() -> DocumentExpander:
    return DocumentExpander(EVERYDAY_TERMS)


def passage_terms(index_text: str, glossary: dict[str, list[str]] | None = None) -> list[str]:
    """A passage's BM25 terms as ingest stores them: its own words, then the everyday phrases of its report terms.

    Computed once at ingest (chunk metadata `terms`), not at every retriever load. `glossary`:
    a report's own phrase → term entries (`NAME.terms.tsv` beside it), added to the lexicon's.
    """
    own = tokenize(index_text)
    expander = DocumentExpander({**EVERYDAY_TERMS, **glossary}) if glossary else _everyday_expander()
    return own + expander(own)


def looks_like_injection(text: str) -> bool:
    # NFKC first: full-width letters (Ｉｇｎｏｒｅ) must not slip past the patterns
    return bool(INJECTION_PATTERNS.search(unicodedata.normalize("NFKC", text)))


def is_followup(question: str, history: list[Message]) -> bool:
    if not any(m.role == "user" for m in history):
        return False
    q = question.strip()
    core = re.sub(r"[？?！!。.，,\s]", "", q)
    return bool(
        _FOLLOWUP_START.match(q)
        or _PRONOUN.search(q)
        or (len(core) <= 10 and core.endswith("呢"))
        or (len(core) <= 9 and not _has_topic(core))
    )


def _has_topic(core: str) -> bool:
    """Whether a short question names its own subject (more than generic question words)."""
    content = [w for w in words(core) if w not in _FRAME_WORDS and w not in {"一共", "总共", "花", "钱", "花钱", "用", "合计"}]
    return bool(content)


def condense(question: str, history: list[Message]) -> str:
    """Rewrite a follow-up into a standalone question, without an LLM.

    "那固定资产投资呢？" after "今年GDP目标是多少？" becomes
    "今年固定资产投资目标是多少？": the previous question's topic words are
    replaced by the follow-up's, its frame (time, question words) is kept.
    """
    if not is_followup(question, history):
        return question
    previous = next(m.content for m in reversed(history) if m.role == "user")
    core = _FOLLOWUP_START.sub("", question.strip()).strip(" ，,")
    core = re.sub(r"(呢|吗|啊|呀)?[？?。.！!]*$", "", core).strip()
    if _PRONOUN.search(core) or not core or not _has_topic(core) or len(core) <= 4:
        # "它的目标是多少", "一共花了多少钱" — keep the question, name what it refers to
        return f"{question}（上文：{previous}）"
    if core.isascii() != previous.isascii():
        return f"{core}（上文：{previous}）"
    if _QUESTION_WORD.search(core):
        # a complete question of its own ("那改善提升的薄弱学校有几所？"): keep it, with the
        # previous question's time frame when it names none
        when = _TIME.search(previous)
        prefix = when.group() if when and not _TIME.search(core) else ""
        return f"{prefix}{core}？"
    tokens = _cut(previous)
    topic = [i for i, t in enumerate(tokens) if t.strip() and t not in _FRAME_WORDS and re.search(r"\w", t) and not re.fullmatch(r"\d{4}年?", t)]
    if not topic:
        return f"{core}：{previous}"
    first, last = topic[0], topic[0]
    while last + 1 < len(tokens) and last + 1 in topic:
        last += 1
    rewritten = "".join(tokens[:first]) + core + "".join(tokens[last + 1 :])
    return rewritten if core not in _FRAME_WORDS else f"{core}：{previous}"


_QUESTION_WORD = QUESTION_WORDS
_TIME = TIME_FRAME


def _cut(text: str) -> list[str]:
    import jieba

    return list(jieba.cut(text))


__all__ = ["DocumentExpander", "load_lexicon", "passage_terms", "condense", "expansions", "is_followup", "looks_like_injection", "normalize_question", "resolve_relative_years", "words"]
