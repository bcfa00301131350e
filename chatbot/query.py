"""Query processing before retrieval: relative dates, everyday words, follow-ups.

Citizens ask in everyday words ("送快递的小哥"); the report writes officialese
("快递员群体"). A small lexicon of everyday → report terms expands the lexical
query. It holds general equivalences, not answers: each entry maps a common
phrasing to the administrative term for the same thing.
"""

from __future__ import annotations

import re
import unicodedata

from chatbot.lexical import words
from chatbot.types import Message

# 今年 etc. are resolved against the report's year, not today.
_RELATIVE_YEARS = [
    (re.compile(r"今年|本年度|本年"), 0),
    (re.compile(r"去年|上一年|上年"), -1),
    (re.compile(r"前年"), -2),
    (re.compile(r"明年|下一年"), 1),
    (re.compile(r"\bthis year\b", re.I), 0),
    (re.compile(r"\blast year\b", re.I), -1),
    (re.compile(r"\bnext year\b", re.I), 1),
]

EVERYDAY_TERMS: dict[str, list[str]] = {
    "快递小哥": ["快递员"], "送快递": ["快递员"], "外卖": ["快递员"],
    "看病": ["医疗", "医院"], "医生": ["医疗", "医院"], "医保": ["医疗保险", "医保"], "报销": ["医保", "医疗救助"],
    "上学": ["教育", "学校"], "孩子": ["学校", "教育"], "学生": ["学校", "教育"], "放学": ["课后服务"], "补课": ["校外培训"],
    "老人": ["养老", "老年"], "退休": ["养老金"], "养老钱": ["养老金"], "退休金": ["养老金"], "退休工资": ["养老金"],
    "低保": ["低保标准"], "穷": ["困难群体", "低保"], "困难": ["困难群体"],
    "工资": ["收入"], "挣钱": ["收入"], "收入": ["可支配收入"], "钱包": ["收入"],
    "物价": ["居民消费价格"], "涨价": ["居民消费价格"], "cpi": ["居民消费价格"],
    "gdp": ["地区生产总值"], "经济增长": ["地区生产总值"], "经济": ["地区生产总值"],
    "投资": ["固定资产投资"], "买东西": ["社会消费品零售总额"], "消费": ["社会消费品零售总额", "消费"],
    "房子": ["房地产", "住房"], "买房": ["房地产", "商品房"], "房价": ["房价", "房地产"], "违建": ["违法建设", "违建"],
    "游客": ["旅游"], "旅游": ["旅游"], "景点": ["景区"], "宰客": ["旅游市场整治", "追客赶客"], "投诉": ["投诉"],
    "购物": ["旅游购物", "退货"], "退货": ["无理由退货"],
    "空气": ["环境空气质量"], "污染": ["污染", "环境"], "垃圾": ["垃圾"], "厕所": ["厕所革命"], "河": ["河长制", "水环境"],
    "种地": ["耕地", "粮食"], "粮食": ["粮食"], "农民": ["农业", "农民"], "茶": ["莓茶", "白茶"],
    "办事": ["政务服务", "一件事一次办"], "跑腿": ["一次办"], "12345": ["12345"],
    "火车": ["铁路"], "高铁": ["铁路"], "飞机": ["机场"], "高速": ["高速"], "修路": ["公路", "道路"], "路": ["公路", "道路"],
    "安全": ["安全生产"], "骗子": ["诈骗"], "诈骗": ["诈骗"], "治安": ["治安", "刑事案件"], "上访": ["信访"],
    "干旱": ["干旱", "连旱"], "着火": ["火灾", "防火"], "山火": ["森林防火"], "疫情": ["疫情防控"],
    "科技": ["科技"], "创业": ["创新创业", "众创空间"], "企业": ["企业"], "贷款": ["融资", "信易贷"], "借钱": ["融资"],
    "体育": ["体育"], "运动员": ["运动员", "金牌"], "比赛": ["赛事", "锦标赛"], "金牌": ["金牌"],
    "工伤": ["工伤保险"], "保障": ["保险", "保障"], "就业": ["就业"], "找工作": ["就业"],
    "城里人": ["城镇居民", "城乡居民"], "乡下人": ["农村居民", "城乡居民"], "农村人": ["农村居民", "城乡居民"],
    "兜里": ["收入"], "口袋": ["收入"], "腰包": ["收入"], "乱搭乱建": ["违建", "违法建设"], "乱建": ["违建"], "拆房": ["拆除违建"],
    "警察": ["警官", "警务", "公安"], "派出所": ["警务"], "后悔": ["无理由退货"], "退钱": ["退货"], "杀人": ["命案"],
    "案子": ["案件"], "破案": ["破案率"], "露营": ["帐篷营地"], "房车": ["房车营地"], "爬山": ["登山步道"], "骑车": ["骑行道", "自行车"],
    "期房": ["商品房预售", "现房销售"], "烂尾": ["保交楼", "商品房预售"], "老乡": ["迎老乡"], "捕鱼": ["禁渔"], "钓鱼": ["禁渔"],
    "积水": ["积水", "排水", "海绵城市"], "下雨": ["降雨", "防洪排涝"], "公园": ["小游园", "小绿地"], "绿地": ["小绿地"],
    "物业": ["物业管理"], "小区": ["小区"], "电话": ["热线"], "热线": ["热线"], "个体户": ["个体工商户", "个转企"], "开店": ["个体工商户"],
    "承包": ["土地承包"], "大学": ["高校"], "网上": ["互联网平台"], "抖音": ["抖音"], "宰": ["旅游市场整治"], "坑": ["红黑榜"],
    "土特产": ["特色农产品"], "特产": ["特色农产品", "区域公用品牌"], "专家": ["院士专家"], "搞研究": ["科研"],
    "着火": ["火灾", "森林防火"], "大火": ["火灾"], "天干": ["干旱"], "干旱": ["干旱", "连旱"],
    "空气好": ["环境空气质量"], "水质": ["水环境质量"], "矿": ["矿山"], "医改": ["医疗改革", "医药卫生体制改革"],
    # English questions meet a Chinese report: a glossary of the report's key terms.
    "gdp": ["地区生产总值"], "gross domestic product": ["地区生产总值"], "economic growth": ["地区生产总值"],
    "retail sales": ["社会消费品零售总额"], "consumer goods": ["社会消费品零售总额"], "fixed-asset": ["固定资产投资"],
    "fixed asset": ["固定资产投资"], "investment": ["投资"], "industrial value": ["规模工业增加值"], "industrial output": ["规模工业增加值"],
    "tourist": ["旅游接待人次", "游客"], "tourism": ["旅游"], "visitor": ["游客", "旅游接待人次"], "revenue": ["收入"],
    "income": ["可支配收入", "收入"], "disposable": ["可支配收入"], "consumer price": ["居民消费价格指数"], "inflation": ["居民消费价格指数"],
    "public budget": ["一般公共预算"], "budget revenue": ["一般公共预算收入"], "fiscal": ["财政", "一般公共预算"],
    "people's livelihood": ["民生支出"], "livelihood": ["民生"], "spending": ["支出"], "expenditure": ["支出"],
    "tech": ["科技"], "technology": ["科技"], "science": ["科技", "科学"], "enterprise": ["企业"], "small and medium": ["中小企业"],
    "work-safety": ["安全生产"], "work safety": ["安全生产"], "accident": ["安全生产事故"], "death": ["死亡人数"],
    "crime": ["刑事案件"], "homicide": ["命案"], "petition": ["信访"], "medical insurance": ["医疗保险"], "insurance": ["保险"],
    "medical": ["医疗"], "hospital": ["医院"], "payment method": ["支付方式"], "school": ["学校"], "education": ["教育"],
    "pension": ["养老金"], "courier": ["快递员"], "delivery": ["快递"], "injury insurance": ["工伤保险"],
    "grain": ["粮食"], "farmland": ["耕地"], "cultivated land": ["耕地"], "air quality": ["环境空气质量"], "water quality": ["水环境质量"],
    "illegal construction": ["违建", "违法建设"], "demolish": ["拆除违建"], "gold medal": ["金牌"], "medal": ["金牌"],
    "target": ["目标"], "growth": ["增长"], "railway": ["铁路"], "airport": ["机场"], "highway": ["高速"], "expressway": ["高速"],
    "brand": ["品牌"], "tea": ["莓茶", "白茶"], "garbage": ["垃圾"], "waste": ["垃圾", "无废城市"], "return": ["退货"],
    "complaint": ["投诉"], "hotline": ["热线"], "reform": ["改革"], "dip": ["DIP"], "odr": ["ODR"], "5a": ["5A级景区"],
    "scenic": ["景区"], "world-class": ["世界级"], "marketing": ["营销"], "subsistence": ["低保"], "minimum living": ["低保"],
}

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
    r"|you are now|act as|jailbreak|developer mode",
    re.I,
)


def normalize_question(text: str) -> str:
    """NFC, no control characters, single spaces."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(ch if (ch >= " " or ch in "\n\t") and not unicodedata.category(ch).startswith("C") else " " for ch in text)
    return re.sub(r"\s+", " ", text).strip()


def resolve_relative_years(text: str, year: int) -> str:
    for pattern, delta in _RELATIVE_YEARS:
        text = pattern.sub(f"{year + delta}年" if not pattern.pattern.startswith("\\b") else str(year + delta), text)
    return text


def expansions(text: str) -> list[str]:
    lowered = unicodedata.normalize("NFKC", text).lower()
    out: list[str] = []
    for phrase, terms in EVERYDAY_TERMS.items():
        if phrase in lowered:
            out.extend(t for t in terms if t not in out)
    return out


def looks_like_injection(text: str) -> bool:
    return bool(INJECTION_PATTERNS.search(text))


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
    tokens = _cut(previous)
    topic = [i for i, t in enumerate(tokens) if t.strip() and t not in _FRAME_WORDS and re.search(r"\w", t) and not re.fullmatch(r"\d{4}年?", t)]
    if not topic:
        return f"{core}：{previous}"
    first, last = topic[0], topic[0]
    while last + 1 < len(tokens) and last + 1 in topic:
        last += 1
    rewritten = "".join(tokens[:first]) + core + "".join(tokens[last + 1 :])
    return rewritten if core not in _FRAME_WORDS else f"{core}：{previous}"


def _cut(text: str) -> list[str]:
    import jieba

    return list(jieba.cut(text))


__all__ = ["condense", "expansions", "is_followup", "looks_like_injection", "normalize_question", "resolve_relative_years", "words"]
