"""Chinese lexical matching: BM25 over the tokens of `chatbot.segmentation`."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import bm25s
import numpy as np

logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG


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
