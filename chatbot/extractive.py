"""The offline answerer: pick the sentences of the retrieved passages that answer.

No model. Each sentence of the top passages is scored by how much of the
question's (idf-weighted) vocabulary it covers, plus the rank of its passage.
The best sentences are returned verbatim, each with its [n]. It refuses when
the passages do not cover the question, or when the question asks for a
figure and the best sentences give none (the report names the project but
not its amount). Thresholds are tuned on the tuning split of the QA set only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chatbot.lexical import tokenize
from chatbot.query import expansions, looks_like_injection
from chatbot.textutil import is_english, split_sentences
from chatbot.types import Passage

# Tuned on the "tune" split (python -m chatbot eval --qa tests/data/qa.jsonl --split tune).
MIN_COVERAGE = 0.06  # below: the passages do not talk about what was asked
SELECT_RATIO = 0.7  # further sentences must score this close to the best one
MAX_SENTENCES = 3
RANK_WEIGHT = 0.25
TOPIC_RATIO = 0.6  # a sentence giving the asked-for figure must cover this share of the best coverage

_ASKS_FIGURE = re.compile(
    r"多少|几[个项所家件次条年]?|多大|多高|多长|百分之|比例|比重|占比|增长率|增速|幅度|排名|第几|金额|数量|投资额|"
    r"how many|how much|what percent|percentage|what share|rate|how big|what rank",
    re.I,
)
_HAS_FIGURE = re.compile(r"\d|[一二三四五六七八九十两百千万]+(?:[个项所家件次条批大小种类枚位]|成)")
# When a question asks for a kind of quantity, the answer must give that kind.
_QUANTITY_KINDS = [
    (re.compile(r"多少钱|多少元|万元|亿元|金额|投资额|总投资|投资多少|投入多少|花了多少|资金多少|how much money|cost|investment of", re.I),
     re.compile(r"\d[\d.,]*\s*[万亿]?元")),
    (re.compile(r"多少人(?!次)|人口|人数|多少名|how many people|population", re.I), re.compile(r"\d[\d.,]*\s*万?(?:人(?!次)|名)")),
    (re.compile(r"多少亩|面积|多少平方", re.I), re.compile(r"\d[\d.,]*\s*万?(?:亩|平方米|平方公里|公顷)")),
    (re.compile(r"库容|多少立方"), re.compile(r"立方米")),
    (re.compile(r"多远|距离|多少公里|how far", re.I), re.compile(r"\d[\d.,]*\s*(?:公里|千米|米)")),
    (re.compile(r"装机|千瓦"), re.compile(r"千瓦")),
    (re.compile(r"哪一年|哪年|which year|what year", re.I), re.compile(r"\d{4}年")),
    (re.compile(r"几月|哪天|哪一天|几号|日期"), re.compile(r"\d{1,2}月|\d+日")),
    (re.compile(r"什么时候|何时|when\b", re.I),
     re.compile(r"\d{1,2}月|\d{4}年|\d+日|[一二三四五六七八九十两\d]+年内|年内|年底|年前")),
    (re.compile(r"地址|在哪里|在哪儿|在什么地方|where is", re.I), re.compile(r"[路街]\d*号?|[区县镇乡村]")),
]
_YEAR = re.compile(r"(20\d\d)年?")


@dataclass
class Extraction:
    text: str  # the answer with [n] markers
    refused: bool
    reason: str = ""
    coverage: float = 0.0


def _weights(question: str, idf) -> dict[str, float]:
    weights: dict[str, float] = {}
    for token in tokenize(question):
        weights[token] = max(weights.get(token, 0.0), idf(token))
    for term in expansions(question):
        for token in tokenize(term):
            weights[token] = max(weights.get(token, 0.0), 0.5 * idf(token))
    return {t: w for t, w in weights.items() if w > 0}


def _coverage(tokens: set[str], weights: dict[str, float], total: float) -> float:
    return sum(w for t, w in weights.items() if t in tokens) / total if total else 0.0


def refusal_text(question: str, reason: str) -> str:
    english = is_english(question)
    if reason == "injection":
        return (
            "I can only answer questions about the content of the government work report."
            if english
            else "我只能回答关于政府工作报告内容的问题。"
        )
    if reason == "no_figure":
        return (
            "The report mentions this, but gives no figure for it."
            if english
            else "报告提到了相关内容，但没有给出具体数字。"
        )
    return (
        "The report does not cover this question."
        if english
        else "报告中没有找到与这个问题相关的内容。"
    )


def extract(question: str, passages: list[Passage], idf) -> Extraction:
    """`question` should be the standalone question; `idf` maps a token to its weight."""
    if looks_like_injection(question):
        return Extraction(refusal_text(question, "injection"), True, "injection")
    if not passages:
        return Extraction(refusal_text(question, "not_covered"), True, "not_covered")
    weights = _weights(question, idf)
    total = sum(weights.values())
    top = max(p.score for p in passages) or 1.0
    scored: list[tuple[float, float, int, int, str]] = []  # score, coverage, passage n, position, text
    for n, passage in enumerate(passages, start=1):
        for position, (start, end) in enumerate(split_sentences(passage.text)):
            sentence = passage.text[start:end]
            if looks_like_injection(sentence):
                continue  # never repeat an instruction planted in a document
            coverage = _coverage(set(tokenize(passage.section + sentence)) if position == 0 else set(tokenize(sentence)), weights, total)
            score = coverage + RANK_WEIGHT * passage.score / top
            scored.append((score, coverage, n, position, sentence))
    if not scored:
        return Extraction(refusal_text(question, "not_covered"), True, "not_covered")
    scored.sort(key=lambda row: -row[0])
    best_score, best_coverage = scored[0][0], scored[0][1]
    passage_coverage = max(
        _coverage(set(tokenize(p.section + p.text)), weights, total) for p in passages[:3]
    )
    if passage_coverage < MIN_COVERAGE:
        return Extraction(refusal_text(question, "not_covered"), True, "not_covered", passage_coverage)
    # A question about one year is not answered by the plans or results of another.
    asked_years = set(_YEAR.findall(question))
    if asked_years:
        section_year = {n: set(_YEAR.findall(p.section)) for n, p in enumerate(passages, start=1)}
        scored = [row for row in scored if not section_year[row[2]] or section_year[row[2]] & asked_years]
        if not scored or max(row[1] for row in scored) < TOPIC_RATIO * best_coverage:
            return Extraction(refusal_text(question, "not_covered"), True, "wrong_year", best_coverage)
        best_score, best_coverage = scored[0][0], max(row[1] for row in scored)
    chosen = [row for row in scored if row[0] >= SELECT_RATIO * best_score][:MAX_SENTENCES]
    kinds = [unit for asks, unit in _QUANTITY_KINDS if asks.search(question)]
    if kinds:
        # The figure must come from a sentence about the question's topic, not any sentence nearby.
        on_topic = [row for row in scored if row[1] >= TOPIC_RATIO * best_coverage]
        fitting = [row for row in on_topic if any(unit.search(row[4]) for unit in kinds)][:MAX_SENTENCES]
        if not fitting:
            return Extraction(refusal_text(question, "no_figure"), True, "no_figure", best_coverage)
        chosen = fitting
    elif _ASKS_FIGURE.search(question):
        with_figures = [row for row in chosen if _HAS_FIGURE.search(row[4])]
        if not with_figures:
            return Extraction(refusal_text(question, "no_figure"), True, "no_figure", best_coverage)
        chosen = with_figures
    # One answer, one report: never mix sentences of different documents (cities, years).
    source = passages[chosen[0][2] - 1].source
    chosen = [row for row in chosen if passages[row[2] - 1].source == source]
    chosen.sort(key=lambda row: (row[2], row[3]))
    parts = [_cite(sentence, n) for _, _, n, _, sentence in chosen]
    prefix = "According to the report: " if is_english(question) else ""
    return Extraction(prefix + "".join(parts), False, "", passage_coverage)


def _cite(sentence: str, n: int) -> str:
    sentence = sentence.strip()
    m = re.search(r"[。！？；]+[”’」』）)》】]*$", sentence)
    if m:
        return f"{sentence[: m.start()]}[{n}]{sentence[m.start() :]}"
    return f"{sentence}[{n}]。"
