"""Chinese word segmentation, shared by every stage: jieba words plus Han character bigrams.

jieba alone misses colloquial variants whose words are cut differently
("快递小哥" vs "快递员"); Han character bigrams catch those partial matches. The question
stage, the retriever, the answerer and the checker all cut text the same way, so it lives
below them all.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata

import jieba

logger = logging.getLogger(__name__)
jieba.setLogLevel(logging.WARNING)
jieba_lock = threading.Lock()  # jieba initialises its dictionary lazily, not thread-safely
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
    with jieba_lock:
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


def word_starts(text: str) -> set[int]:
    """The offsets where jieba's words begin: a name found inside a word ("平安庆典" holds 安庆) is not that name."""
    with jieba_lock:
        return {start for _, start, _ in jieba.tokenize(text)}
