"""Build tests/data/claims.jsonl: answer sentences labelled faithful or with the lie they tell.

Deterministic (fixed seeds, no model, no embedder): the report is chunked as ingest chunks it,
and every row cites those chunks by id; their text is written to claims_passages.jsonl.

Faithful sentences come from the QA set's answerable items: the gold answer (with its marker,
without it, and with "根据报告，" before it), the report sentence holding the evidence verbatim
(what the extractive answer says), that sentence with 今年 written as the report's year, and
hand-written rewordings (`REWORDED`). Lies are made from the same sentences, one kind each:
an invented figure, a figure of another fact of the passage, a count in Chinese numerals changed, a wrong year, an invented official,
an invented place, an invented organisation, an invented claim, a marker pointing at a
neighbouring passage, and for unanswerable items an invented answer.

A row's split is its QA item's split: rows from `holdout` items are never used for tuning.

    python scripts/build_claims.py            # rewrites tests/data/claims*.jsonl
"""

from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chatbot.segmentation import bigrams  # noqa: E402
from chatbot.settings import Settings  # noqa: E402
from chatbot.textutil import compact, figures, is_english, split_sentences  # noqa: E402

QA = ROOT / "tests" / "data" / "qa.jsonl"
OUT = ROOT / "tests" / "data" / "claims.jsonl"
OUT_PASSAGES = ROOT / "tests" / "data" / "claims_passages.jsonl"
SEED = 20231201

LIE_KINDS = ("figure", "figure_moved", "count", "year", "person", "place", "organisation", "unsupported", "wrong_citation",
             "unanswerable")
# The reasons that name each lie correctly (a wrong citation fails whatever the cited passage lacks).
EXPECTED_REASONS = {
    "figure": ["figure"],
    "figure_moved": ["figure"],
    "count": ["figure"],
    "year": ["year"],
    "person": ["name"],
    "place": ["place", "organisation"],
    "organisation": ["organisation", "place"],
    "unsupported": ["unsupported"],
    "wrong_citation": ["unsupported", "figure", "year", "name", "place", "organisation"],
    "unanswerable": ["unsupported", "figure", "year", "name", "place", "organisation", "uncited"],
}

SURNAMES = "刘陈杨黄赵吴周徐孙马胡郭何高林罗郑梁谢宋唐韩冯邓曹彭曾萧田董潘袁蔡蒋余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "建明国华志强文军伟平东海波红霞丽敏静勇杰涛斌超鹏辉刚健云峰磊洪亮春光永新立成德兵"
TITLES = ["常务副市长", "副市长", "市委书记", "市发改委主任", "市财政局局长", "市文旅广电局局长"]
PLACE_HEADS = ["云梦", "青岩", "白溪", "紫霞", "金鸡", "凤栖", "玉屏", "银杏"]
PLACE_TAILS = ["新区", "镇", "县", "乡", "开发区"]
ORG_HEADS = ["华润", "中建", "远景", "宏达", "天成", "鼎盛", "博雅", "恒通"]
ORG_TAILS = ["集团", "有限公司", "国际会展中心", "投资公司", "数据中心"]
CLAIMS = [
    "这一目标已经提前在上半年全面完成",
    "该项工作受到国务院通报表扬",
    "群众满意度达到历史最高水平",
    "相关资金已经全部拨付到位",
    "这项做法已在全省全面推广",
    "项目建成后将带动数千人就业",
    "这是全国同类城市中的第一例",
    "省里为此专门出台了配套奖励政策",
]

# Hand-written rewordings of report sentences: (QA item id, sentence with its [n]).
REWORDED = [
    ("q001", "张家界今年的GDP预期增长目标是7.5%左右[1]。"),
    ("q001", "按照报告，2023年全市地区生产总值的预期增速为7.5%左右[1]。"),
    ("q002", "今年旅游接待人次和旅游总收入都预计增长40%左右[1]。"),
    ("q003", "2023年规模工业增加值计划增长8%左右[1]。"),
    ("q004", "今年地方一般公共预算收入要增长5%以上[1]。"),
    ("q005", "城乡居民人均可支配收入今年预计分别增长6.5%和7%左右[1]。"),
    ("q178", "张家界去年推出了超龄从业人员参加工伤保险的试点[1]。"),
    ("q179", "水电气联动过户等302件事项已经实现“一次办”[1]。"),
    ("q184", "企业养老金已经连续18次上调[1]。"),
    ("q188", "桑植县被评为“国家生态文明建设示范区”[1]。"),
    ("q204", "2022年市级科技资金安排了1130万元，比上年增长197.3%[1]。"),
    ("q205", "去年与院士专家团队签约的特色农产品科研合作项目共27个[1]。"),
    ("q206", "2022年全年评价入库的科技型中小企业有304家[1]。"),
    ("q207", "全市累计拆除违法建筑17384处，面积170.9万平方米[1]。"),
    ("q208", "去年建成了13所乡镇标准化寄宿制学校[1]。"),
    ("q210", "2022年粮食栽播192.65万亩，粮食产量为64.5万吨[1]。"),
    ("q212", "今年地区生产总值的预期增速是7.5%左右[1]。"),
    ("q214", "今年要推动全市生活垃圾焚烧处理率达到100%[1]。"),
    ("q216", "全市常住人口的医疗保险参保率达到了96.7%[1]。"),
    ("q223", "命案起数下降了69%[1]。"),
]


def load_chunks() -> list[dict]:
    from ingest.loaders import discover, load
    from ingest.pipeline import prepare_chunks

    settings = Settings(data_dir=ROOT / ".claims-build-unused")
    chunks: list[dict] = []
    for found in discover([ROOT / "seeds"]).files:
        doc = load(found)
        for chunk in prepare_chunks(doc, settings):
            chunks.append({
                "chunk_id": chunk.id, "text": chunk.text, "section": chunk.section, "source": chunk.source,
                "year": doc.meta.get("year"), "city": doc.meta.get("city"), "title": doc.title,
            })
    return chunks


def cite(sentence: str, numbers: list[int]) -> str:
    marker = "".join(f"[{n}]" for n in numbers)
    m = re.search(r"[。！？；]+$", sentence)
    return (sentence[: m.start()] + marker + sentence[m.start() :]) if m else sentence + marker + "。"


def uncite(sentence: str) -> str:
    return re.sub(r"\[\d+\]", "", sentence)


def evidence_chunks(item: dict, chunks: list[dict]) -> list[int]:
    found: list[int] = []
    for clause in item["evidence"]:
        hits = [i for i, c in enumerate(chunks) if compact(clause) in compact(c["text"])]
        if not hits:
            return []
        if hits[0] not in found:
            found.append(hits[0])
    return found


def evidence_sentence(item: dict, chunk: dict) -> str | None:
    clause = compact(item["evidence"][0])
    for s, e in split_sentences(chunk["text"]):
        if clause in compact(chunk["text"][s:e]):
            return chunk["text"][s:e].strip()
    return None


def changed_figure(sentence: str, passage: str, rng: random.Random) -> str | None:
    present = {(v, p) for v, p, _ in figures(passage)}
    options = [(v, p, w) for v, p, w in figures(sentence) if not (1900 <= v <= 2100 and not p)]
    if not options:
        return None
    value, percent, written = rng.choice(options)
    number = re.match(r"[\d.,]+", written).group()
    decimals = len(number.split(".")[1]) if "." in number else 0
    base = float(number.replace(",", ""))
    for step in (0.3, 0.17, 0.45, 0.6):
        new = round(base * (1 + step) + (1 if decimals == 0 else 0), decimals)
        text = f"{new:.{decimals}f}" if decimals else str(int(new))
        candidate = replace_figure(sentence, number, text)
        if all((v, p) not in present or (v, p) in {(x, y) for x, y, _ in figures(sentence)} for v, p, _ in figures(candidate)):
            if candidate != sentence:
                return candidate
    return None


def replace_figure(sentence: str, old: str, new: str) -> str:
    """Replace the first figure written `old` (whole number, never inside a marker or a longer number)."""
    m = re.search(r"(?<![\d.\[])" + re.escape(old) + r"(?![\d.\]])", sentence)
    return sentence[: m.start()] + new + sentence[m.end() :] if m else sentence


def moved_figure(sentence: str, passage: str, rng: random.Random) -> str | None:
    mine = [(v, p, w) for v, p, w in figures(sentence) if not (1900 <= v <= 2100 and not p)]
    if not mine:
        return None
    value, percent, written = rng.choice(mine)
    others = [w for v, p, w in figures(passage) if p == percent and v != value and not (1900 <= v <= 2100 and not p)
              and (v, p) not in {(x, y) for x, y, _ in figures(sentence)}]
    if not others:
        return None
    number = re.match(r"[\d.,]+", written).group()
    other = re.match(r"[\d.,]+", rng.choice(others)).group()
    moved = replace_figure(sentence, number, other)
    return moved if moved != sentence else None


# A count in Chinese numerals: a digit from 二 to 九 (not part of a longer numeral) before a measure word.
_COUNT = re.compile(r"(?<![一二三四五六七八九十两百千万零])[二三四五六七八九两](?=[大个项条年批家所座类种次届名位支处件])")


def miscounted(sentence: str, passage: str) -> str | None:
    """The sentence with its first count in Chinese numerals changed (六大 → 三大), unless the passage
    counts the same thing with the new number too (then the lie could be true of something else)."""
    m = _COUNT.search(sentence)
    if not m:
        return None
    new = "三" if m.group() != "三" else "五"
    if new + sentence[m.end() : m.end() + 1] in passage:
        return None
    return sentence[: m.start()] + new + sentence[m.end() :]


def wrong_year(sentence: str, chunk: dict, rng: random.Random) -> str:
    from chatbot.question.query import resolve_relative_years

    context = resolve_relative_years(chunk["text"] + chunk["section"], chunk["year"])
    given = {int(y) for y in re.findall(r"(?<!\d)((?:19|20)\d\d)(?!\d)", context)}
    choices = [y for y in range(2015, 2027) if y not in given]
    year = rng.choice(choices)
    m = re.search(r"(?:19|20)\d\d(?=年)", sentence)
    if m:
        return sentence[: m.start()] + str(year) + sentence[m.end() :]
    for word in ("今年", "去年", "明年"):
        if word in sentence:
            return sentence.replace(word, f"{year}年", 1)
    return f"{year}年，{sentence}"


def invented(rng: random.Random, heads: list[str], tails: list[str], passage: str) -> str:
    while True:
        name = rng.choice(heads) + rng.choice(tails)
        if name[:2] not in passage:
            return name


def person(rng: random.Random, passage: str) -> str:
    while True:
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        if name not in passage:
            return rng.choice(TITLES) + name


def body_of(sentence: str) -> str:
    return re.sub(r"[。！？；]+$", "", uncite(sentence))


def lies(item: dict, base: str, passages: list[dict], rng: random.Random) -> list[tuple[str, str]]:
    """(kind, sentence) for each lie that can be told about `base` (which cites [1])."""
    text = passages[0]["text"]
    out: list[tuple[str, str]] = []
    for kind, made in (("figure", changed_figure(base, text, rng)), ("figure_moved", moved_figure(base, text, rng))):
        if made:
            out.append((kind, made))
    out.append(("year", wrong_year(base, passages[0], rng)))
    out.append(("person", cite(f"{person(rng, text)}表示，{body_of(base)}。", [1])))
    out.append(("place", cite(f"{body_of(base)}，重点在{invented(rng, PLACE_HEADS, PLACE_TAILS, text)}实施。", [1])))
    out.append(("organisation", cite(f"{body_of(base)}，由{invented(rng, ORG_HEADS, ORG_TAILS, text)}负责建设。", [1])))
    claim = rng.choice(CLAIMS)
    out.append(("unsupported", cite(f"{claim}。", [1]) if rng.random() < 0.5 else cite(f"{body_of(base)}，{claim}。", [1])))
    if len(passages) > 1 and compact(body_of(base)) not in compact(passages[1]["text"]):
        out.append(("wrong_citation", base.replace("[1]", "[2]")))
    if made := miscounted(base, text):  # last, so the random draws of the kinds above stay the same
        out.append(("count", made))
    return out


def unanswerable_answer(question: str, rng: random.Random) -> str:
    q = re.sub(r"[？?。！!\s]+$", "", question)
    if re.search(r"多少|几", q):
        figure = f"{rng.randint(12, 980)}{rng.choice(['万元', '个', '%', '亿元', '万人次'])}"
        return re.sub(r"多少[万亿]?[元个人次家所项条]*|几[个所家项条]?", figure, q, count=1)
    if re.search(r"是谁|谁|哪位", q):
        return re.sub(r"是谁|谁|哪位", "是" + person(rng, "")[-3:], q, count=1)
    if re.search(r"哪[些个里儿]|什么", q):
        return re.sub(r"哪[些个里儿]|什么", invented(rng, ORG_HEADS, ORG_TAILS, ""), q, count=1)
    return re.sub(r"[吗嘛呢]$", "", q) + "，" + rng.choice(CLAIMS)


def nearest_chunks(question: str, chunks: list[dict], k: int = 3) -> list[int]:
    asked = set(bigrams(question))
    scored = sorted(range(len(chunks)), key=lambda i: (-len(asked & set(bigrams(chunks[i]["section"] + chunks[i]["text"]))), i))
    return scored[:k]


def build() -> tuple[list[dict], list[dict]]:
    chunks = load_chunks()
    items = [json.loads(line) for line in QA.read_text(encoding="utf-8").splitlines() if line.strip()]
    reworded: dict[str, list[str]] = {}
    for qid, sentence in REWORDED:
        reworded.setdefault(qid, []).append(sentence)
    rows: list[dict] = []
    used: set[int] = set()

    def add(item: dict, kind: str, variant: str, sentence: str, cited: list[int]) -> None:
        used.update(cited)
        rows.append({
            "id": f"{item['id']}-{variant}-{sum(1 for r in rows if r['item'] == item['id'] and r['variant'] == variant)}",
            "item": item["id"], "split": item["split"], "kind": kind, "variant": variant,
            "label": "faithful" if kind == "faithful" else "lie",
            "sentence": sentence, "passages": [chunks[i]["chunk_id"] for i in cited],
            "expected_reasons": EXPECTED_REASONS.get(kind, []),
        })

    for item in items:
        rng = random.Random(f"{SEED}-{item['id']}")
        if not item["answerable"]:
            if "injection" in item.get("tags", []) or is_english(item["question"]):
                continue  # English sentences are checked for figures and years only
            cited = nearest_chunks(item["question"], chunks)
            answer = unanswerable_answer(item["question"], rng)
            add(item, "unanswerable", "invented", cite(answer + "。", [1]), cited)
            add(item, "unanswerable", "invented_uncited", answer + "。", cited)
            continue
        found = evidence_chunks(item, chunks)
        if not found:
            continue
        neighbour = found[0] + 1 if found[0] + 1 < len(chunks) else found[0] - 1
        cited = found + ([neighbour] if neighbour not in found else [])
        numbers = list(range(1, len(found) + 1))
        gold = [s for s in (item["answer"][a:b].strip() for a, b in split_sentences(item["answer"] or "")) if s]
        for sentence in gold:
            add(item, "faithful", "gold", cite(sentence, numbers), cited)
            add(item, "faithful", "gold_uncited", sentence, cited)
        if gold and not re.match(r"[A-Za-z]", gold[0]):
            add(item, "faithful", "gold_framed", "根据报告，" + cite(gold[0], numbers), cited)
        report_sentence = evidence_sentence(item, chunks[found[0]])
        if not report_sentence:
            continue
        base = cite(report_sentence, [1])
        passages = [chunks[i] for i in [found[0], neighbour]]
        add(item, "faithful", "report_sentence", base, [found[0], neighbour])
        year = chunks[found[0]]["year"]
        if "今年" in report_sentence and year:
            add(item, "faithful", "report_year", base.replace("今年", f"{year}年", 1), [found[0], neighbour])
        for sentence in reworded.get(item["id"], []):
            add(item, "faithful", "reworded", sentence, [found[0], neighbour])
        for kind, sentence in lies(item, base, passages, rng):
            add(item, kind, kind, sentence, [found[0], neighbour])
    passages = [chunks[i] for i in sorted(used)]
    return rows, passages


def main() -> int:
    rows, passages = build()
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    OUT_PASSAGES.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in passages), encoding="utf-8")
    counts: dict[tuple[str, str], int] = {}
    for r in rows:
        counts[(r["split"], r["kind"])] = counts.get((r["split"], r["kind"]), 0) + 1
    print(f"{len(rows)} rows, {len(passages)} passages -> {OUT.relative_to(ROOT)}")
    for (split, kind), n in sorted(counts.items()):
        print(f"  {split:8} {kind:14} {n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
