"""What a question asks, what a supporting sentence must then contain, and what to say if none does.

One table (`RULES`) for every question-shape rule. A row has
  * `asks`: the question pattern ("多少人", "是谁", "分别是哪些");
  * `needs`: what the supporting sentence must contain (an amount with its unit, a date,
    a place, a person's name, a list), checked on a sentence or on the whole answer;
  * `reason`: the key of the message given when nothing does (`MESSAGES`);
  * `stage`: how the row is applied —
      "scope":  the question alone is outside the report (an opinion, right now); no sentence can answer;
      "select": the answer's sentences must be on-topic ones that contain `needs`;
      "fallback": like select, for a figure of any kind, used only when no select row matched;
      "check":  the chosen answer as a whole must contain `needs`;
  * `group`: rows of one group are alternatives (the first check row that matches decides;
    the scope group "alone" applies only when no other
    clause of the question asks a fact);
  * `example` / `counter`: a question the row must catch and one it must leave alone, and
    `supported` / `unsupported`: a sentence that satisfies `needs` and one that does not
    (tests/test_rules.py runs every row on them).

Every row was kept for a measured gain on the `tune` split (removing it lowers refusal
accuracy there; `python -m chatbot.evaluation.ablation` re-measures); rows that earned nothing
were dropped, whatever question they were written for.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from chatbot.question.vocabulary import CLAUSE_END, QUESTION_WORDS
from chatbot.segmentation import posseg_lock


@dataclass(frozen=True)
class Rule:
    name: str
    asks: re.Pattern[str]
    needs: Callable[[str], bool]
    reason: str
    stage: str
    example: str
    counter: str
    supported: str = ""
    unsupported: str = ""
    group: str = ""

    def matches(self, question: str) -> bool:
        if self.stage == "scope" and self.group == "alone":
            return _only_clause_kind(question, self.asks)
        return bool(self.asks.search(question))


# reason → (English, Chinese). The messages column of the table.
MESSAGES = {
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
    "no_name": ("The report mentions this, but does not give the name asked for.", "报告提到了相关内容，但没有给出所问的具体名称。"),
    "no_figure": ("The report mentions this, but gives no figure for it.", "报告提到了相关内容，但没有给出具体数字。"),
    "not_covered": ("The report does not cover this question.", "报告中没有找到与这个问题相关的内容。"),
}


def _only_clause_kind(question: str, pattern: re.Pattern[str]) -> bool:
    """The pattern is asked, and no factual question beside it ("你觉得…？在全省排第几？" asks a fact too)."""
    clauses = [c for c in CLAUSE_END.split(question) if c.strip()]
    if not any(pattern.search(c) for c in clauses):
        return False
    return not any(QUESTION_WORDS.search(c) for c in clauses if not pattern.search(c))


# --- what sentences contain ------------------------------------------------
# Chinese numerals count with a measure word (三年内, 十年禁渔) or as an ordinal (第一, 首届); not 一批
_HAS_FIGURE = re.compile(r"\d|[一二三四五六七八九十两百千万]+(?:[个项所家件次条大小种类枚位年天]|成)|第[一二三四五六七八九十]+|首[届个次批]")
# Digits that are not a figure: years, and codes such as 5G, G5515, 12345 (a hotline).
_NOT_FIGURE = re.compile(r"(?:19|20)\d\d年|[A-Za-z]+\d+[A-Za-z\d]*|\d+[A-Za-z]+\w*|12345")
RATE = re.compile(r"\d[\d.]*\s*(?:%|倍|个百分点)")
_PERSON_TITLES = frozenset("同志 市长 副市长 书记 院士 主任 局长 院长 校长 县长 区长 教授 先生 女士 董事长 总经理 代表 委员".split())


def has_figure(sentence: str) -> bool:
    return bool(_HAS_FIGURE.search(_NOT_FIGURE.sub("", sentence)))


def names_a_person(sentence: str) -> bool:
    """A person's name with a title or 同志 next to it ("习近平同志", "陈能宽院士").

    jieba's person tag alone is too loose (it tags 荣获, 惠企 and some place names as names), so
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


def _enumerates(items: int) -> Callable[[str], bool]:
    """A list of `items` or more members: that many minus one 、 between them."""
    return lambda text: text.count("、") >= items - 1


def _contains(pattern: str) -> Callable[[str], bool]:
    return re.compile(pattern).search  # type: ignore[return-value]


def _never(text: str) -> bool:
    return False


# --- the table ----------------------------------------------------------------
RULES: tuple[Rule, ...] = (
    # The question alone: no sentence of a work report can answer it.
    Rule("opinion",
         re.compile(r"该不该|应不应该|要不要买|值不值得|值得去吗|更值得|哪个好|划算吗|划不划算|能不能投资|"
                    r"(?:你|您)(?:个人)?(?:觉得|认为|怎么看|看来|的看法|的意见|推荐|建议我)|"
                    r"\bshould i\b|\bdo you think\b|\bin your (?:opinion|view)\b|\byour (?:opinion|view)\b|"
                    r"\bwould you recommend\b|\bis it worth\b", re.I),
         _never, "opinion", "scope", "我该不该在这里买房？", "你觉得这里空气好不好？在全省排第几？", group="alone"),
    Rule("real_time",
         re.compile(r"这周|本周|今天|明天|后天|最近几天|这几天|实时|现在(?:的)?(?:门票|票价|价格|天气|排队)|"
                    r"\btoday\b|\btomorrow\b|\bthis week\b|\bright now\b", re.I),
         _never, "real_time", "scope", "天门山今天的门票多少钱？", "今年旅游收入目标是多少？"),
    # A kind of quantity: the answer must give that kind (alternatives: any matching row's kind).
    Rule("money",
         re.compile(r"多少钱|多少元|万元|亿元|金额|投资额|总投资|投资多少|投入多少|花了多少|资金多少|how much money|cost|investment of", re.I),
         _contains(r"\d[\d.,]*\s*[万亿]?元"), "no_figure", "select", "这个项目总投资多少钱？", "这个项目什么时候完工？",
         "项目总投资12.5亿元。", "项目进展顺利。"),
    Rule("people",
         re.compile(r"多少人(?!次)|人口|人数|多少名|how many people|population", re.I),
         _contains(r"\d[\d.,]*\s*万?(?:人(?!次)|名)"), "no_figure", "select", "新增就业多少人？", "接待游客多少人次？",
         "城镇新增就业1.2万人。", "就业形势稳定。"),
    Rule("distance",
         re.compile(r"多远|距离|多少公里|多长(?!时间)|长度|全长|多少米|how far|how long is", re.I),
         _contains(r"\d[\d.,]*\s*(?:公里|千米|米)"), "no_figure", "select", "这条高速公路全长多少公里？", "这条路要修多长时间？",
         "新改建农村公路300公里。", "农村公路建设加快。"),
    Rule("year",
         re.compile(r"哪一年|哪年|which year|what year", re.I),
         _contains(r"\d{4}年"), "no_detail", "select", "这个机场是哪一年建成的？", "今年要建哪些项目？",
         "机场于2019年建成。", "机场建设顺利。", group="detail"),
    Rule("date",
         re.compile(r"几月|哪天|哪一天|几号|日期"),
         _contains(r"\d{1,2}月|\d+日"), "no_detail", "select", "运动会是几月开幕的？", "运动会有多少人参加？",
         "运动会于9月开幕。", "运动会圆满成功。", group="detail"),
    Rule("when",
         re.compile(r"什么时候|何时|when\b", re.I),
         _contains(r"\d{1,2}月|\d{4}年|\d+日|\d{1,2}·\d{1,2}|[一二三四五六七八九十两\d]+年内|年内|年底|年前"),
         "no_detail", "select", "新医院什么时候开业？", "新医院有多少床位？", "新医院年底开业。", "新医院正在建设。", group="detail"),
    Rule("place",
         re.compile(r"地址|在哪(?!些|个方面|几)|何处|什么位置|什么地方|where is|where are|located", re.I),
         _contains(r"[路街]\d*号?|[区县镇乡村山峰湖园馆]|峡谷|景区|广场"), "no_detail", "select",
         "试点项目在哪里？", "今年主要在哪些方面发力？", "试点设在永定区。", "试点工作稳步推进。", group="detail"),
    # A change or a share ("涨了多少", "参保率") is answered by a rate as well as by an amount.
    Rule("change",
         re.compile(r"增长|下降|减少|降低|提高|提升|上升|增加|涨|降了|幅度|率|比例|占比|比重|百分之|"
                    r"growth|grow|increase|decrease|drop|fall|rise|rate|share|percent|proportion", re.I),
         RATE.search, "no_figure", "alternative", "投资增长了多少钱？", "投资多少钱？",  # type: ignore[arg-type]
         "投资增长12%。", "投资增长较快。"),
    # Any other figure: a figure of some kind, in a sentence about the question's topic.
    Rule("figure",
         re.compile(r"多少|(?<!哪)几[个项所家件次条年]?|多大|多高|多长|百分之|比例|比重|占比|增长率|增速|幅度|排名|第几|金额|数量|投资额|"
                    r"how many|how much|what percent|percentage|what share|rate|how big|what rank", re.I),
         has_figure, "no_figure", "fallback", "今年要改造几个老旧小区？", "今年要改造哪些老旧小区？",
         "改造老旧小区120个。", "改造老旧小区，完善配套设施。"),
    # The members of something, which a sentence that only names it lacks.
    Rule("two_members",
         re.compile(r"哪两|哪2|两个|which two", re.I),
         _enumerates(2), "not_listed", "check", "哪两个村被命名为示范社区？", "哪个村被命名为示范社区？",
         "洪家关村、石堰坪村被命名为示范社区。", "两个村被命名为示范社区。", group="members"),
    Rule("members",
         re.compile(r"(?:分别是|具体(?:包括|指|是|有)|都是(?:些)?|到底是|包括)(?:哪|什么|啥)(?!时候|时间|一)|是哪[几二三四五六七八九十两]|"
                    r"哪(?:几|[二三四五六七八九十两][一二三四五六七八九十两]*)(?:个|条|项|方面|类|种|家|座|所)|"
                    r"\bwhich (?:companies|firms|cities|countries|projects|enterprises)\b", re.I),
         _enumerates(3), "not_listed", "check", "六大新兴优势产业链分别是哪六条？", "申办成功了哪一项赛事？",
         "打造文旅、生物医药、新材料三条产业链。", "打造六大新兴优势产业链。", group="members"),
    # A person asked by their post needs a name. ("Who did it", answerable by an organisation too,
    # earned nothing on tune and was dropped, like the 人次, 面积, 库容 and 装机 rows.)
    Rule("person",
         re.compile(r"(?:市长|书记|院长|校长|主任|局长|县长|区长|负责人|领导|院士|运动员|冠军|老师|医生)\S{0,4}(?:叫什么|姓什么|是谁|有谁|是哪位)|"
                    r"\bwho (?:is|was|are|were) the (?:mayor|secretary|head|director|president|leader)", re.I),
         names_a_person, "no_person", "check", "市长叫什么名字？", "新建的学校叫什么名字？",
         "陈能宽院士获评感动人物。", "中国科协批准设立试点城市。"),
)


def rules(stage: str) -> list[Rule]:
    """The table's rows of one stage, in order (read at call time, so an ablation can change RULES)."""
    return [rule for rule in RULES if rule.stage == stage]


def refusal_message(reason: str, english: bool) -> str:
    english_text, chinese = MESSAGES.get(reason, MESSAGES["not_covered"])
    return english_text if english else chinese
