"""Chinese lexical matching: jieba tokens plus character bigrams, scored with BM25.

jieba alone misses colloquial variants whose words are cut differently
("快递小哥" vs "快递员"); Han character bigrams catch those partial matches.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence

import bm25s
import jieba
import numpy as np

logger = logging.getLogger(__name__)
jieba.setLogLevel(logging.WARNING)
logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG
_jieba_lock = threading.Lock()  # jieba initialises its dictionary lazily, not thread-safely
posseg_lock = threading.Lock()  # jieba.posseg builds its tagger lazily, not thread-safely: one lock for every user

_HAN = re.compile(r"[\u4e00-\u9fff]")
_WORD = re.compile(r"[\u4e00-\u9fff]|[a-z0-9]+(?:\.[0-9]+)?%?")
STOPWORDS = frozenset(
    """的 了 是 在 和 与 及 或 等 有 没有 有没有 吗 呢 吧 啊 呀 么 嘛 哦 哪 哪些 哪个 什么 怎么 怎么样 怎样 如何 多少 几 几个
    请问 请 问 我 我们 你 你们 他 她 它 他们 这 那 这个 那个 这些 那些 就 都 也 还 又 被 把 给 对 向 从 让 会 能 可以 要 想 知道
    一下 一些 告诉 说说 讲讲 介绍 关于 里 上 下 中 个 为 以 之 其 而 所 到 说 做 搞 弄 咋 啥 啥样 不 没 吗？ 呢？ 是否 是不是
    the a an of to in on for and or is are was were be what which who how many much does do did about with this that it its
    please tell me i you we they""".split()
)


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def words(text: str) -> list[str]:
    """jieba search-mode words, without stopwords and punctuation."""
    with _jieba_lock:
        cut = jieba.lcut_for_search(normalize(text))
    return [w for w in (t.strip() for t in cut) if w and w not in STOPWORDS and _WORD.search(w)]


def bigrams(text: str) -> list[str]:
    """Overlapping pairs of Han characters, within runs of Han characters."""
    out: list[str] = []
    for run in re.findall(r"[\u4e00-\u9fff]+", normalize(text)):
        out.extend(run[i : i + 2] for i in range(len(run) - 1))
    return out


def tokenize(text: str) -> list[str]:
    return words(text) + ["§" + b for b in bigrams(text)]


class LexicalIndex:
    """BM25 over a fixed list of documents; scores come back aligned with `ids`."""

    def __init__(self, ids: Sequence[str], token_lists: Sequence[Sequence[str]]) -> None:
        self.ids = list(ids)
        self._bm25 = bm25s.BM25()
        self._vocab: set[str] = {t for tokens in token_lists for t in tokens}
        self._df: dict[str, int] = {}
        for tokens in token_lists:
            for t in set(tokens):
                self._df[t] = self._df.get(t, 0) + 1
        if self.ids:
            self._bm25.index([list(t) or ["∅"] for t in token_lists], show_progress=False)

    def __len__(self) -> int:
        return len(self.ids)

    def scores(self, query_tokens: Iterable[str]) -> np.ndarray:
        known = [t for t in query_tokens if t in self._vocab]
        if not self.ids or not known:
            return np.zeros(len(self.ids), dtype=np.float32)
        return self._bm25.get_scores(known)

    def has(self, token: str) -> bool:
        return token in self._vocab

    def idf(self, token: str) -> float:
        """BM25's idf; a token no document has gets the highest idf: it is what the corpus lacks."""
        df = self._df.get(token, 0)
        n = len(self.ids)
        return float(np.log(1 + (n - df + 0.5) / (df + 0.5)))
