"""Generate hard-distractor reports from the seed: other cities, other years, other figures.

    python scripts/make_variants.py [--out DIR] [--seed N] [--variant 湘西州:2023 --variant 常德:2024 ...]

Each variant is the seed report (`seeds/zhangjiajie_2023_government_work_report_p2.txt`)
with, and only with:

* the city changed: 张家界市 → the variant's full name (湘西州, 常德市), 张家界 → its short name
  (湘西, 常德), keeping the PDF's spacing ("张 家 界" → "常 德") and line breaks;
* every year shifted by the same amount (variant year − 2023): 2022 → 2021 for a 2022 report,
  "二、2023 年工作安排" → "二、2024 年工作安排", the event "2022 全国新年登高…" and the
  metadata's `continues_heading` ("一、2022年工作回顾") as well. "今年" needs no change: in
  the report of year Y it means Y, as in the seed;
* every other number perturbed deterministically (a random factor from 0.6 to 1.4, never equal
  to the original, same number of decimals) from `--seed`, the city and the year. Codes that
  are names, not figures (5A, 5G, 12345), are kept.

So the variants share the seed's wording, structure and page layout: they are the hardest
distractors a retriever can meet. A `NAME.meta.json` (title, city, year, page, …,
"synthetic": true) is written next to each text. Output goes to `--out` (default: a new
temporary folder); writing into `seeds/` is refused, so the product's data never mixes with them.

Importable: `make_variant(text, meta, city, year, seed)` and `write_variants(out, specs, seed)`.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
SEED_TEXT = SEEDS / "zhangjiajie_2023_government_work_report_p2.txt"
SEED_CITY = "张家界"
SEED_YEAR = 2023
DEFAULT_SPECS = ("湘西州:2023", "张家界:2022", "常德:2024")

# name → (full name, short name, English name). Others: "X市"/"X州" → (X市/X州, X, pinyin-less slug).
CITIES: dict[str, tuple[str, str, str]] = {
    "张家界": ("张家界市", "张家界", "Zhangjiajie"),
    "湘西州": ("湘西州", "湘西", "Xiangxi"),
    "常德": ("常德市", "常德", "Changde"),
    "怀化": ("怀化市", "怀化", "Huaihua"),
    "娄底": ("娄底市", "娄底", "Loudi"),
    "益阳": ("益阳市", "益阳", "Yiyang"),
    "岳阳": ("岳阳市", "岳阳", "Yueyang"),
    "邵阳": ("邵阳市", "邵阳", "Shaoyang"),
    "永州": ("永州市", "永州", "Yongzhou"),
    "郴州": ("郴州市", "郴州", "Chenzhou"),
    "衡阳": ("衡阳市", "衡阳", "Hengyang"),
    "株洲": ("株洲市", "株洲", "Zhuzhou"),
    "湘潭": ("湘潭市", "湘潭", "Xiangtan"),
    "长沙": ("长沙市", "长沙", "Changsha"),
}

_YEAR = re.compile(r"(?<![\d.])20[0-3]\d(?![\d.])(?!\s*[万亿%])")
_NUMBER = re.compile(r"(?<![A-Za-z\d.])\d+(?:\.\d+)?(?![A-Za-z\d.])")
_KEEP_NUMBERS = frozenset({"12345"})  # the citizens' hotline is a name


@dataclass
class Variant:
    city: str
    year: int
    text: str
    meta: dict
    changes: list[tuple[str, str]] = field(default_factory=list)  # (old, new) numbers in reading order

    @property
    def stem(self) -> str:
        slug = city_names(self.city)[2].lower() or "city"
        return f"{slug}_{self.year}_government_work_report_p2"


def city_names(city: str) -> tuple[str, str, str]:
    if city in CITIES:
        return CITIES[city]
    for full, short, en in CITIES.values():
        if city in (full, short):
            return full, short, en
    if city.endswith(("市", "州")):
        return city, city[:-1], ""
    return city + "市", city, ""


def _spaced_pattern(word: str) -> str:
    return r"(\s*)".join(re.escape(ch) for ch in word)


def _respace(new: str, seps: tuple[str, ...]) -> str:
    """Write `new` with the separators the old word had (PDF spacing, line breaks)."""
    seps = tuple(s or "" for s in seps)
    out = new[0]
    for i, ch in enumerate(new[1:]):
        out += (seps[i] if i < len(seps) else (" " if seps and all(s == " " for s in seps) else "")) + ch
    out += "".join("\n" for s in seps[len(new) - 1 :] if "\n" in s)  # never lose a line break
    return out


def replace_city(text: str, city: str) -> str:
    full, short, _ = city_names(city)
    old_full, old_short, _ = city_names(SEED_CITY)
    text = re.sub(_spaced_pattern(old_full), lambda m: _respace(full, m.groups()), text)
    return re.sub(_spaced_pattern(old_short), lambda m: _respace(short, m.groups()), text)


def shift_years(text: str, delta: int) -> str:
    return _YEAR.sub(lambda m: str(int(m.group()) + delta), text)


def perturb_number(token: str, rng: random.Random) -> str:
    decimals = len(token.split(".")[1]) if "." in token else 0
    value = float(token)
    for _ in range(50):
        new = round(value * rng.uniform(0.6, 1.4), decimals)
        if new != value and new > 0:
            break
    else:
        new = value + 10 ** -decimals
    return f"{new:.{decimals}f}"


def perturb_numbers(text: str, rng: random.Random, changes: list[tuple[str, str]]) -> str:
    def one(m: re.Match) -> str:
        token = m.group()
        if token in _KEEP_NUMBERS or _YEAR.fullmatch(token):
            return token
        new = perturb_number(token, rng)
        changes.append((token, new))
        return new

    return _NUMBER.sub(one, text)


def make_variant(text: str, meta: dict, city: str, year: int, seed: int = 0, *, tag: str = "") -> Variant:
    """The seed text and metadata for another city and year, every figure perturbed."""
    delta = year - int(meta.get("year", SEED_YEAR))
    rng = random.Random(f"{seed}|{city}|{year}|{tag}")
    changes: list[tuple[str, str]] = []
    # Years are shifted after the perturbation, so a shifted year is never perturbed
    # and a perturbed figure never becomes a year.
    new_text = shift_years(perturb_numbers(replace_city(text, city), rng, changes), delta)
    full, short, en = city_names(city)
    new_meta = dict(meta)
    new_meta.update(
        title=f"{year}年{full}政府工作报告（第{meta.get('page', 2)}版）",
        title_en=f"{en or short} Municipal Government Work Report {year} (synthetic variant)",
        city=city,
        city_en=en or short,
        year=year,
        synthetic=True,
        notes=f"Synthetic distractor made by scripts/make_variants.py (seed {seed}) from the {SEED_YEAR} "
        f"{SEED_CITY} report: city, years and every figure changed. Not a real report.",
    )
    if meta.get("continues_heading"):
        new_meta["continues_heading"] = shift_years(str(meta["continues_heading"]), delta)
    return Variant(city=city, year=year, text=new_text, meta=new_meta, changes=changes)


def parse_spec(spec: str) -> tuple[str, int]:
    city, _, year = spec.partition(":")
    if not city or not year.isdigit():
        raise SystemExit(f"bad variant '{spec}': use CITY:YEAR, e.g. 湘西州:2023")
    return city, int(year)


def _inside_seeds(path: Path) -> bool:
    path, seeds = path.resolve(), SEEDS.resolve()
    return path == seeds or seeds in path.parents


def write_variants(out: Path, specs: list[tuple[str, int]], seed: int = 0) -> list[Path]:
    """Write one .txt + .meta.json per (city, year); returns the text paths."""
    if _inside_seeds(out):
        raise ValueError(f"refusing to write variants into {SEEDS}: they are not real reports")
    out.mkdir(parents=True, exist_ok=True)
    text = SEED_TEXT.read_text(encoding="utf-8")
    meta = json.loads(SEED_TEXT.with_name(SEED_TEXT.stem + ".meta.json").read_text(encoding="utf-8"))
    paths = []
    for city, year in specs:
        variant = make_variant(text, meta, city, year, seed)
        path = out / f"{variant.stem}.txt"
        path.write_text(variant.text, encoding="utf-8")
        path.with_name(variant.stem + ".meta.json").write_text(
            json.dumps(variant.meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="output folder (default: a new temporary folder)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the figure perturbation")
    parser.add_argument("--variant", action="append", metavar="CITY:YEAR", help=f"default: {' '.join(DEFAULT_SPECS)}")
    args = parser.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="zjj-variants-"))
    specs = [parse_spec(s) for s in (args.variant or DEFAULT_SPECS)]
    try:
        paths = write_variants(out, specs, args.seed)
    except ValueError as exc:
        raise SystemExit(str(exc)) from exc
    for path in paths:
        print(path)
    print(f"ingest them into a separate data folder, e.g.: CHATBOT_DATA_DIR=/tmp/multi python -m ingest seeds {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
