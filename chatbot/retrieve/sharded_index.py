"""BM25 over several report shards at once, with scores that compare across shards.

Each shard's stored scores carry its own idf (bm25s precomputes idf × term-frequency
part). A token rare in one report and common in another would then weigh differently
by shard, and a passage's rank would depend on which report it sits in. So a search
over several shards rescales each token's scores to the idf of the searched set
(documents and document frequencies summed over those shards): the idf is global, as
if the shards were one index. Length normalisation keeps each shard's own average
length (reports of one kind have similar chunk lengths; documented in docs/deployment.md).
A search over one shard uses that shard's idf as stored: the factor is exactly 1, and a
store of one report scores exactly as one bm25s index over it does.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from chatbot.retrieve.shards import Shard, idf, token_hashes


class ShardedIndex:
    """Shards in a fixed order; document i of shard s is global position `offsets[s] + i`."""

    def __init__(self, shards: Sequence[Shard]) -> None:
        self.shards = list(shards)
        self.offsets = np.zeros(len(self.shards) + 1, dtype=np.int64)
        np.cumsum([s.n_docs for s in self.shards], out=self.offsets[1:])
        self._df: dict[str, int] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return int(self.offsets[-1])

    # --- vocabulary over every shard -------------------------------------
    def document_frequency(self, tokens: Sequence[str]) -> dict[str, int]:
        """Documents of the whole index holding each token (cached: these feed `has` and `idf`)."""
        with self._lock:
            todo = [t for t in dict.fromkeys(tokens) if t not in self._df]
        if todo:
            hashes = token_hashes(todo)
            total = np.zeros(len(todo), dtype=np.int64)
            for shard in self.shards:
                total += shard.postings(hashes)[1]
            with self._lock:
                self._df.update(zip(todo, total.tolist()))
        with self._lock:
            return {t: self._df[t] for t in tokens}

    def has(self, token: str) -> bool:
        return self.document_frequency([token])[token] > 0

    def idf(self, token: str) -> float:
        return float(idf(len(self), self.document_frequency([token])[token]))

    # --- scoring ----------------------------------------------------------
    def scores(self, queries: Sequence[Sequence[str]], selected: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """BM25 scores of every document of the selected shards (all by default), one row per
        token list of `queries`; and the global position of each column.

        Within a shard the additions happen token by token in query order, as bm25s's own
        `get_scores` does, so one shard gives bit-identical scores.
        """
        chosen = list(range(len(self.shards))) if selected is None else list(selected)
        sizes = np.array([self.shards[s].n_docs for s in chosen], dtype=np.int64)
        starts = np.zeros(len(chosen) + 1, dtype=np.int64)
        np.cumsum(sizes, out=starts[1:])
        width = int(starts[-1])
        positions = (
            np.arange(width, dtype=np.int64)
            if selected is None
            else np.concatenate([np.arange(self.offsets[s], self.offsets[s + 1]) for s in chosen] or [np.zeros(0, np.int64)])
        )
        rows = np.zeros(len(queries) * width, dtype=np.float32)
        vocab = list(dict.fromkeys(t for tokens in queries for t in tokens))
        if not vocab or not width:
            return rows.reshape(len(queries), width), positions
        index = {t: i for i, t in enumerate(vocab)}
        wanted = np.array([index[t] for tokens in queries for t in tokens], dtype=np.int64)
        row_of = np.repeat(np.arange(len(queries), dtype=np.int64), [len(tokens) for tokens in queries])
        hashes = token_hashes(vocab)
        # Pass 1, per shard: where each token's postings start, and how many (its df there).
        begins = np.zeros((len(chosen), len(vocab)), dtype=np.int64)
        lengths = np.zeros((len(chosen), len(vocab)), dtype=np.int64)
        for k, s in enumerate(chosen):
            begins[k], lengths[k] = self.shards[s].postings(hashes)
        # Every shard's idf against the searched set's, at once (factor 1 where they agree).
        factor = idf(width, lengths.sum(axis=0))[None, :] / idf(sizes[:, None], lengths)
        begins, lengths, factor = begins[:, wanted], lengths[:, wanted], factor[:, wanted]
        firsts = np.cumsum(lengths, axis=1) - lengths
        totals = lengths.sum(axis=1)
        # Pass 2, per shard: its postings of the query tokens, in query order.
        indices, values = [], []
        for k, s in enumerate(chosen):
            if not totals[k]:
                continue
            shard = self.shards[s]
            gather = np.repeat(begins[k] - firsts[k], lengths[k]) + np.arange(totals[k], dtype=np.int64)
            indices.append(shard.indices[gather])
            values.append(shard.data[gather])
        if indices:
            flat = lengths.ravel()
            base = (row_of[None, :] * width + starts[:-1, None]).ravel()
            value = np.concatenate(values)
            scale = np.where(flat > 0, factor.ravel(), 1.0)
            if np.any(scale != 1.0):
                value = value * np.repeat(scale.astype(np.float32), flat)
            np.add.at(rows, np.repeat(base, flat) + np.concatenate(indices), value)
        return rows.reshape(len(queries), width), positions
