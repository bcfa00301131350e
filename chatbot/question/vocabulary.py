"""The words every question rule shares, defined once.

Question words, plan-versus-result words, years and sentence ends used to be written
again in the answerer, the follow-up rewrite, the scope checks and the router, each
copy a little different. They live here; those modules import them.
"""

from __future__ import annotations

import re

# What makes a clause a factual question ("在全省排第几？" beside "你觉得…").
QUESTION_WORDS = re.compile(r"什么|多少|几|哪|如何|怎么|是否|有没有|\b(?:how|what|which|who|when|where)\b", re.I)

# Sentence ends (split answers and citations) and clause ends (split a question into its parts).
SENTENCE_END = "。！？；!?"
CLOSING_MARKS = "”’」』）)》】"
CLAUSE_END = re.compile(r"[？?！!。；;，,]")

# Years: "2023年", "2023 年", "二〇二三年", a bare 2023 (English, or a section title).
YEAR_CN = re.compile(r"(?<!\d)((?:19|20)\d{2})\s*年")
YEAR_HAN = re.compile(r"([〇零○一二三四五六七八九]{4})\s*年")
YEAR_ANY = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")
HAN_DIGITS = {"〇": "0", "零": "0", "○": "0", "一": "1", "二": "2", "三": "3", "四": "4", "五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}

# 今年 etc. are resolved against the report's year, not today: (pattern, offset in years).
RELATIVE_YEARS = [
    (re.compile(r"今年|本年度|本年"), 0),
    (re.compile(r"去年|上一年|上年"), -1),
    (re.compile(r"前年"), -2),
    (re.compile(r"明年|下一年"), 1),
    (re.compile(r"\bthis year\b", re.I), 0),
    (re.compile(r"\blast year\b", re.I), -1),
    (re.compile(r"\bnext year\b", re.I), 1),
]
# A time frame a question names: a year, or a year relative to the report's.
TIME_FRAME = re.compile(YEAR_CN.pattern + "|" + "|".join(p.pattern for p, _ in RELATIVE_YEARS[:4]))

# A work report plans one year and reviews the one before: the words that ask for each.
PLAN_WORDS = re.compile(
    r"目标|预期|计划|安排|任务|打算|部署|力争|准备|将要|要求|思路|重点工作|工作重点|"
    r"\b(?:target|targets|plan|plans|planned|goal|goals|aim|aims|expected|expect|will)\b",
    re.I,
)
RESULT_WORDS = re.compile(
    r"完成|实现了|取得|成效|成绩|成果|回顾|达到了|增长了|下降了|实际|"
    r"\b(?:achieved|actual|actually|result|results|reached|grew|outcome)\b",
    re.I,
)
# Asks what actually happened, not what was set out to be done: "实际增长", "完成了吗" — but not
# "要全面完成…任务", which RESULT_WORDS would take for a result.
ACTUAL_RESULT = re.compile(
    r"实际(?:增长|完成|达到|涨|降|是)|最[后终](?:涨|增长|完成|达到|实现)|完成了[没吗]|完成没|完成得|实现了[没吗]|达到了[没吗]|"
    r"\bactual(?:ly)?\b|\bachieved\b",
    re.I,
)
# The titles of the report's two halves ("二、2023年工作安排", "一、2022年工作回顾").
PLAN_TITLE = re.compile(r"工作安排|计划|目标任务|\bplan", re.I)
REVIEW_TITLE = re.compile(r"回顾|总结|\breview", re.I)


def asks_plan(question: str) -> bool:
    """Whether the question asks for a plan/target rather than a result (results win)."""
    return bool(PLAN_WORDS.search(question)) and not RESULT_WORDS.search(question)

# What kind of answer a question wants, for choosing the clause that answers it (chatbot.answer.clauses).
# An open question asks how, or what is being done ("政府打算怎么弄？", "有什么办法？", "归谁管？"):
# the whole statement answers it, not the clause that repeats its words.
OPEN_QUESTION = re.compile(
    r"怎么|怎样|如何|为什么(?=[要会没不还这那是能有呢？?]|$)|为啥|咋|归谁管|谁来管|谁负责|"  # not 确定为什么基地
    r"(?:有|做|干|搞|改|弄)(?:什么|啥|些啥)(?:办法|措施|说法|打算|动作|举措|政策|新动作|关系|对接)?(?:吗|呢)?$|"
    r"什么(?:办法|措施|说法|打算|动作|举措|政策|新动作|关系|对接)|"
    r"\b(?:how(?! much| many| big| far| long| high| old)|why)\b",
    re.I,
)
# A question asking whether ("破了吗？", "有没有保险？", "会不会被曝光？"): the clause that names its
# topic begins the answer, and what the sentence goes on to say about it belongs to the answer.
WHETHER_QUESTION = re.compile(r"吗|(\w)不\1|有没有|是否|了没|没有?$|^\s*(?:is|are|does|do|did|can|will|has|have)\b", re.I)
# The asked-for quantity ("多少万人次", "几所") names the kind of answer, not its topic; as a
# topic word it would make any sentence with "万人次" look relevant.
QUANTITY_ASKED = re.compile(
    r"(?:一共|总共|共)?(?:多少|(?<!哪)几)[十百千万亿]*(?:人次|人|名|元|钱|亩|个|项|所|家|件|次|条|年|倍|公里|米|平方米|吨|千瓦|户|座|套|批|天)?"
)
# Words that ask for a change ("涨多少", "增长了多少"): the kind of answer, like 多少, not its topic.
CHANGE_ASKED = re.compile(r"增长|下降|减少|降低|提高|提升|上升|增加|涨|降|增速|涨幅|降幅|增幅")
# A question asking for the members of something: the enumeration is the answer, kept whole.
LIST_QUESTION = re.compile(r"哪些|哪几|哪[两二三四五六七八九十]|有啥|有什么|分别是|包括|具体是|\bwhich \w+s\b|\bwhat are\b", re.I)
