"""Add English names to chatbot/question/data/prefectures.tsv (run once, by hand; needs `pip install pypinyin`).

The scope check refuses a question about a city the report does not cover. English
questions name cities in Hanyu Pinyin ("Changde", "Xi'an") or by an established English
name ("Harbin", "Urumqi"). This writes a third column, the English names as syllables
separated by spaces (so "Xi'an", "Xian" and "Xi An" all match), alternatives separated by |.

Left without an English name: names that are also a province (Jilin, Hainan), a Beijing
district (Chaoyang), or three letters or fewer (Ali, Aba), which are common words or names.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from pypinyin import lazy_pinyin

DATA = Path(__file__).resolve().parents[1] / "chatbot" / "question" / "data" / "prefectures.tsv"

# pypinyin's reading is wrong for these (polyphonic characters in place names) ...
READINGS = {"长治": "chang zhi", "昌都": "chang du", "漯河": "luo he", "锡林郭勒": "xi lin guo le"}
# ... and these are known abroad by another name as well.
ENGLISH = {
    "哈尔滨": "harbin", "乌鲁木齐": "urumqi", "呼和浩特": "hohhot", "拉萨": "lhasa", "喀什": "kashgar|kashi",
    "香港": "hong kong", "澳门": "macao|macau", "鄂尔多斯": "ordos", "呼伦贝尔": "hulunbuir|hulun bei er",
    "巴彦淖尔": "bayannur", "乌兰察布": "ulanqab|wu lan cha bu", "锡林郭勒": "xilingol|xi lin guo le",
    "吐鲁番": "turpan|tu lu fan", "和田": "hotan|he tian", "阿克苏": "aksu|a ke su", "日喀则": "shigatse|ri ka ze",
    "阿勒泰": "altay|a le tai", "伊犁哈萨克": "ili|yi li", "博尔塔拉蒙古": "bortala|bo er ta la",
    "巴音郭楞蒙古": "bayingolin|ba yin guo leng", "克孜勒苏柯尔克孜": "kizilsu|ke zi le su", "昌都": "qamdo|chang du",
}
SKIP = {"吉林", "海南", "朝阳"}


def base_name(full: str, short: str) -> str:
    """The name a city goes by: the short name, else the full name without its 市/地区/盟/自治州."""
    if short:
        return short
    name = re.sub(r"(?:市|地区|盟)$", "", full)
    return name[:2] if name.endswith("自治州") else name


def english(name: str) -> str:
    if name in SKIP:
        return ""
    if name in ENGLISH:
        return ENGLISH[name]
    syllables = READINGS.get(name) or " ".join(lazy_pinyin(name))
    if len(syllables.replace(" ", "")) <= 3:
        return ""
    return f"{syllables}|{syllables.replace('v', 'u')}" if "v" in syllables else syllables  # 吕梁: Lüliang, Lvliang


def main() -> int:
    out = []
    for line in DATA.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            out.append(line)
            continue
        full, short = (line.split("\t") + [""])[:2]
        out.append(f"{full}\t{short}\t{english(base_name(full, short))}")
    DATA.write_text("\n".join(out) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
