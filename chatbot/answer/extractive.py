"""The offline answerer: pick the sentences of the retrieved passages that answer.

No model. Each sentence of the top passages is scored by how much of the
question's (idf-weighted) vocabulary it covers, plus the rank of its passage.
The best sentences are returned verbatim, each with its [n]. It refuses when
the passages do not cover the question, when the question asks for a figure
and no sentence on its topic gives one of the kind asked (the report names the
project but not its amount; "5G" and years are not figures). The asked-for
quantity ("多少万人次") is the kind of answer, not its topic, so it does not
count towards coverage. Thresholds are tuned on the tuning split of the QA set only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from chatbot.answer.clauses import focus
from chatbot.answer.contract import Answerer, AnswerRequest, Draft
from chatbot.backends.base import Backend
from chatbot.lexical import posseg_lock, tokenize
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
# Chinese numerals count with a measure word (三年内, 十年禁渔) or as an ordinal (第一, 首届); not 一批
_HAS_FIGURE = re.compile(r"\d|[一二三四五六七八九十两百千万]+(?:[个项所家件次条大小种类枚位年天]|成)|第[一二三四五六七八九十]+|首[届个次批]")
# Digits that are not a figure: years, and codes such as 5G, G5515, 12345 (a hotline).
_NOT_FIGURE = re.compile(r"(?:19|20)\d\d年|[A-Za-z]+\d+[A-Za-z\d]*|\d+[A-Za-z]+\w*|12345")
# A question about a change or a share ("涨了多少", "参保率") is answered by a rate as well as by an amount.
_ASKS_CHANGE = re.compile(
    r"增长|下降|减少|降低|提高|提升|上升|增加|涨|降了|幅度|率|比例|占比|比重|百分之|"
    r"growth|grow|increase|decrease|drop|fall|rise|rate|share|percent|proportion",
    re.I,
)
_RATE = re.compile(r"\d[\d.]*\s*(?:%|倍|个百分点)")

# When a question asks for a kind of quantity, the answer must give that kind.
_FIGURE_KINDS = [
    (re.compile(r"多少钱|多少元|万元|亿元|金额|投资额|总投资|投资多少|投入多少|花了多少|资金多少|how much money|cost|investment of", re.I),
     re.compile(r"\d[\d.,]*\s*[万亿]?元")),
    (re.compile(r"多少人(?!次)|人口|人数|多少名|how many people|population", re.I), re.compile(r"\d[\d.,]*\s*万?(?:人(?!次)|名)")),
    (re.compile(r"人次|how many visits|how many visitors", re.I), re.compile(r"\d[\d.,]*\s*[万亿]?人次")),
    (re.compile(r"多少亩|面积|多少平方", re.I), re.compile(r"\d[\d.,]*\s*万?(?:亩|平方米|平方公里|公顷)")),
    (re.compile(r"库容|多少立方"), re.compile(r"立方米")),
    (re.compile(r"多远|距离|多少公里|多长(?!时间)|长度|全长|多少米|how far|how long is", re.I), re.compile(r"\d[\d.,]*\s*(?:公里|千米|米)")),
    (re.compile(r"装机|千瓦"), re.compile(r"千瓦")),
]
# Years, dates, times and places: asked for but missing, they get their own message (not "no figure").
_DETAIL_KINDS = [
    (re.compile(r"哪一年|哪年|which year|what year", re.I), re.compile(r"\d{4}年")),
    (re.compile(r"几月|哪天|哪一天|几号|日期"), re.compile(r"\d{1,2}月|\d+日")),
    (re.compile(r"什么时候|何时|when\b", re.I),
     re.compile(r"\d{1,2}月|\d{4}年|\d+日|\d{1,2}·\d{1,2}|[一二三四五六七八九十两\d]+年内|年内|年底|年前")),
    (re.compile(r"地址|在哪(?!些|个方面|几)|何处|什么位置|什么地方|where is|where are|located", re.I), re.compile(r"[路街]\d*号?|[区县镇乡村山峰湖园馆]|峡谷|景区|广场")),
]
_QUANTITY_KINDS = _FIGURE_KINDS + _DETAIL_KINDS
_DETAIL_UNITS = {unit for _, unit in _DETAIL_KINDS}
_YEAR = re.compile(r"(20\d\d)年?")
# Results of a year are in the review of that year, never in its plan ("2023年GDP实际涨了多少"
# against the 2023 report, which only sets the target).
_ASKS_RESULT = re.compile(
    r"实际(?:增长|完成|达到|涨|降|是)|最[后终](?:涨|增长|完成|达到|实现)|完成了[没吗]|完成没|完成得|实现了[没吗]|达到了[没吗]|"
    r"\bactual(?:ly)?\b|\bachieved\b",
    re.I,
)
_PLAN_SECTION = re.compile(r"工作安排|计划|目标任务")
# "分别是哪六条", "具体指哪些": the members of something, which a sentence that only names it lacks.
_ASKS_MEMBERS = re.compile(
    r"(?:分别是|具体(?:包括|指|是|有)|都是(?:些)?|到底是|包括)(?:哪|什么|啥)(?!时候|时间)|是哪[几一二三四五六七八九十两]|"
    r"哪[几一二三四五六七八九十两]+(?:个|条|项|方面|类|种|家|座|所)|"
    r"\bwhich (?:companies|firms|cities|countries|projects|enterprises)\b",
    re.I,
)
_ASKS_TWO = re.compile(r"哪两|哪2|两个|which two", re.I)  # two members need one 、
_PERSON_TITLES = frozenset("同志 市长 副市长 书记 院士 主任 局长 院长 校长 县长 区长 教授 先生 女士 董事长 总经理 代表 委员".split())
# "院长是谁" asks for a person; "是谁把张家界定为…" asks who acted, which an organisation answers.
_ASKS_PERSON = re.compile(
    r"(?:市长|书记|院长|校长|主任|局长|县长|区长|负责人|领导|院士|运动员|冠军|老师|医生)\S{0,4}(?:叫什么|姓什么|是谁|有谁|是哪位)|"
    r"\bwho (?:is|was|are|were) the (?:mayor|secretary|head|director|president|leader)",
    re.I,
)
_ASKS_WHO = re.compile(r"是谁|有谁|都有谁|哪位|哪个部门|哪个单位|\bwho\b", re.I)
_BODY = re.compile(r"[\u4e00-\u9fff]{1,10}(?:委员会|协会|科协|政府|中央|国务院|部|委|局|厅|办公室|办|集团|公司|中心|银行|学校|医院|大学)")


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


# reason → (English, Chinese). Scope reasons (opinion, real_time) come from chatbot.scope.
_REFUSALS = {
    "injection": ("I can only answer questions about the content of the government work report.", "我只能回答关于政府工作报告内容的问题。"),
    "opinion": (
        "I answer from the government work report only; it gives no personal advice or opinions.",
        "我只根据政府工作报告的内容回答，不提供个人建议或评价。",
    ),
    "real_time": (
        "The work report is an annual plan and review; it has no current information such as today's weather or prices.",
        "政府工作报告是年度回顾和计划，没有天气、票价等实时信息。",
    ),
    "no_detail": ("The report mentions this, but does not say when or where.", "报告提到了相关内容，但没有给出具体的时间或地点。"),
    "not_listed": ("The report names this, but does not list what it consists of.", "报告提到了这一项，但没有列出具体内容。"),
    "no_person": ("The report names no person for this.", "报告没有提到相关人员的姓名。"),
    "no_figure": ("The report mentions this, but gives no figure for it.", "报告提到了相关内容，但没有给出具体数字。"),
    "not_covered": ("The report does not cover this question.", "报告中没有找到与这个问题相关的内容。"),
}


def refusal_text(question: str, reason: str) -> str:
    english, chinese = _REFUSALS.get(reason, _REFUSALS["not_covered"])
    return english if is_english(question) else chinese


def names_a_person(sentence: str) -> bool:
    """A person's name with a title or 同志 next to it ("习近平同志", "陈能宽院士").

    jieba's person tag alone is too loose (it tags 荣获, 惠企 and 张家界 as names), so
    the name must stand beside a word that only follows or precedes people.
    """
    import jieba.posseg

    with posseg_lock:
        tagged = jieba.posseg.lcut(sentence)
    for i, (word, flag) in enumerate(tagged):
        if flag.startswith("nr") and len(word) >= 2:
            before = tagged[i - 1].word if i else ""
            after = tagged[i + 1].word if i + 1 < len(tagged) else ""
            if after in _PERSON_TITLES or before in _PERSON_TITLES:
                return True
    return False


def _names_who(sentence: str, *, person_only: bool) -> bool:
    """A post needs a person's name; "who did it" is answered by an organisation too."""
    return names_a_person(sentence) or (not person_only and bool(_BODY.search(sentence)))


def has_figure(sentence: str) -> bool:
    return bool(_HAS_FIGURE.search(_NOT_FIGURE.sub("", sentence)))


def extract(question: str, passages: list[Passage], idf, terms: list[str] | None = None) -> Extraction:
    """`question` should be the standalone question; `idf` maps a token to its weight.

    `terms` are the query's expansions (everyday words, English translations) as the
    retriever used them; without them, the everyday-terms lexicon is consulted.
    """
    if looks_like_injection(question):
        return Extraction(refusal_text(question, "injection"), True, "injection")
    if not passages:
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
        if _ASKS_RESULT.search(question):
            scored = [row for row in scored if not _PLAN_SECTION.search(passages[row[2] - 1].section)]
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
            reason = "no_detail" if kinds and all(unit in _DETAIL_UNITS for unit in kinds) else "no_figure"
            return Extraction(refusal_text(question, reason), True, reason, best_coverage)
        chosen = fitting[:MAX_SENTENCES]
    if _ASKS_MEMBERS.search(question) and sum(row[4].count("、") for row in chosen) < (1 if _ASKS_TWO.search(question) else 2):
        return Extraction(refusal_text(question, "not_listed"), True, "not_listed", best_coverage)
    asks_person = bool(_ASKS_PERSON.search(question))
    if asks_person or _ASKS_WHO.search(question):
        if not any(_names_who(row[4], person_only=asks_person) for row in chosen):
            return Extraction(refusal_text(question, "no_person"), True, "no_person", best_coverage)
    # One answer, one report: never mix sentences of different documents (cities, years).
    source = passages[chosen[0][2] - 1].source
    chosen = [row for row in chosen if passages[row[2] - 1].source == source]
    chosen.sort(key=lambda row: (row[2], row[3]))
    # the exact clause(s) first (chatbot.answer.clauses); the whole sentence stays the citation's quote
    spans = focus([(row[2], row[4]) for row in chosen], lambda text: _coverage(set(tokenize(text)), weights, total),
                  asks_figure=bool(kinds or _ASKS_FIGURE.search(question)))
    parts = [_cite(text, n) for n, text in spans]
    prefix = "According to the report: " if is_english(question) else ""
    return Extraction(prefix + "".join(parts), False, "", passage_coverage)


def _cite(sentence: str, n: int) -> str:
    sentence = sentence.strip()
    m = re.search(r"[。！？；]+[”’」』）)》】]*$", sentence)
    if m:
        return f"{sentence[: m.start()]}[{n}]{sentence[m.start() :]}"
    return f"{sentence}[{n}]。"


class ExtractiveAnswerer(Answerer):
    """The offline answerer behind the contract: no model server, always available."""

    name = "extractive"
    calls_model = False

    def __init__(self, backend: Backend) -> None:
        self.backend = backend  # its health line

    def answer(self, request: AnswerRequest) -> Iterator[str | Draft]:
        extraction = extract(request.question, request.passages, request.idf, request.terms)
        yield extraction.text
        yield Draft(extraction.text, refused=extraction.refused, reason=extraction.reason)
