"""The offline answerer: pick the sentences of the retrieved passages that answer.

No model. Each sentence of the top passages is scored by how much of the
question's (idf-weighted) vocabulary it covers, plus the rank of its passage.
The best sentences are returned verbatim, each with its [n]. It refuses when
the passages do not cover the question, when the question asks for a figure
and no sentence on its topic gives one of the kind asked (the report names the
project but not its amount; "5G" and years are not figures), or when it asks
about right now (today's weather): an annual report cannot know. The asked-for
quantity ("多少万人次") is the kind of answer, not its topic, so it does not
count towards coverage. Thresholds are tuned on the tuning split of the QA set only.
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
    r"多少|(?<!哪)几[个项所家件次条年]?|多大|多高|多长|百分之|比例|比重|占比|增长率|增速|幅度|排名|第几|金额|数量|投资额|"
    r"how many|how much|what percent|percentage|what share|rate|how big|what rank",
    re.I,
)
_HAS_FIGURE = re.compile(r"\d|[一二三四五六七八九十两百千万]+(?:[个项所家件次条批大小种类枚位]|成)")
# Digits that are not a figure: years, and codes such as 5G, G5515, 12345 (a hotline).
_NOT_FIGURE = re.compile(r"(?:19|20)\d\d年|[A-Za-z]+\d+[A-Za-z\d]*|\d+[A-Za-z]+\w*|12345")
# A question about a change or a share ("涨了多少", "参保率") is answered by a rate as well as by an amount.
_ASKS_CHANGE = re.compile(
    r"增长|下降|减少|降低|提高|提升|上升|增加|涨|降了|幅度|率|比例|占比|比重|百分之|"
    r"growth|grow|increase|decrease|drop|fall|rise|rate|share|percent|proportion",
    re.I,
)
_RATE = re.compile(r"\d[\d.]*\s*(?:%|倍|个百分点)")
# The report is an annual plan and review: it cannot know today's weather, prices or queues.
_ASKS_REAL_TIME = re.compile(r"这周|本周|今天|明天|后天|最近几天|这几天|实时|\btoday\b|\btomorrow\b|this week|right now", re.I)
# When a question asks for a kind of quantity, the answer must give that kind.
_QUANTITY_KINDS = [
    (re.compile(r"多少钱|多少元|万元|亿元|金额|投资额|总投资|投资多少|投入多少|花了多少|资金多少|how much money|cost|investment of", re.I),
     re.compile(r"\d[\d.,]*\s*[万亿]?元")),
    (re.compile(r"多少人(?!次)|人口|人数|多少名|how many people|population", re.I), re.compile(r"\d[\d.,]*\s*万?(?:人(?!次)|名)")),
    (re.compile(r"人次|how many visits|how many visitors", re.I), re.compile(r"\d[\d.,]*\s*[万亿]?人次")),
    (re.compile(r"多少亩|面积|多少平方", re.I), re.compile(r"\d[\d.,]*\s*万?(?:亩|平方米|平方公里|公顷)")),
    (re.compile(r"库容|多少立方"), re.compile(r"立方米")),
    (re.compile(r"多远|距离|多少公里|多长(?!时间)|长度|全长|多少米|how far|how long is", re.I), re.compile(r"\d[\d.,]*\s*(?:公里|千米|米)")),
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


# The asked-for quantity ("多少万人次", "几所") names the kind of answer, not its topic; as a
# topic word it would make any sentence with "万人次" look relevant.
_QUANTITY_ASKED = re.compile(
    r"(?:一共|总共|共)?(?:多少|(?<!哪)几)[十百千万亿]*(?:人次|人|名|元|钱|亩|个|项|所|家|件|次|条|年|倍|公里|米|平方米|吨|千瓦|户|座|套|批|天)?"
)


def _weights(question: str, idf, terms: list[str]) -> dict[str, float]:
    weights: dict[str, float] = {}
    for token in tokenize(_QUANTITY_ASKED.sub("，", question)):
        weights[token] = max(weights.get(token, 0.0), idf(token))
    for term in terms:
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


def has_figure(sentence: str) -> bool:
    return bool(_HAS_FIGURE.search(_NOT_FIGURE.sub("", sentence)))


def extract(question: str, passages: list[Passage], idf, terms: list[str] | None = None) -> Extraction:
    """`question` should be the standalone question; `idf` maps a token to its weight.

    `terms` are the query's expansions (everyday words, English translations) as the
    retriever used them; without them, the everyday-terms lexicon is consulted.
    """
    if looks_like_injection(question):
        return Extraction(refusal_text(question, "injection"), True, "injection")
    if not passages or _ASKS_REAL_TIME.search(question):
        return Extraction(refusal_text(question, "not_covered"), True, "not_covered")
    weights = _weights(question, idf, expansions(question) if terms is None else terms)
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
    if kinds and _ASKS_CHANGE.search(question):
        kinds.append(_RATE)
    if kinds or _ASKS_FIGURE.search(question):
        # The figure must come from a sentence about the question's topic, not any sentence nearby.
        on_topic = [row for row in scored if row[1] >= TOPIC_RATIO * best_coverage]
        if kinds:
            fitting = [row for row in on_topic if any(unit.search(row[4]) for unit in kinds)]
        else:
            fitting = [row for row in on_topic if row[0] >= SELECT_RATIO * best_score and has_figure(row[4])]
        if not fitting:
            return Extraction(refusal_text(question, "no_figure"), True, "no_figure", best_coverage)
        chosen = fitting[:MAX_SENTENCES]
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
