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

A search over every report reads segments (segments.py: many shards merged into one file)
and the few shards no segment covers; a routed search reads the routed shards. Both go
through the same per-posting arithmetic, so both give the same floats for a document.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from chatbot.retrieve.segments import Segment, cover
from chatbot.retrieve.shards import Shard, idf, token_hashes


class ShardedIndex:
    """Shards in a fixed order; document i of shard s is global position `offsets[s] + i`.

    `names` are the shards' file names (None for a shard built in memory), `segments` the
    opened segment files; a segment answers for the shards of `names` it holds.
    """

    def __init__(self, shards: Sequence[Shard], names: Sequence[str | None] | None = None,
                 segments: Sequence[Segment] = ()) -> None:
        self.shards = list(shards)
        self.names = list(names) if names is not None else [None] * len(self.shards)
        self.offsets = np.zeros(len(self.shards) + 1, dtype=np.int64)
        np.cumsum([s.n_docs for s in self.shards], out=self.offsets[1:])
        self._df: dict[str, int] = {}
        self._lock = threading.Lock()
        self.units = self._cover(segments)

    def _cover(self, segments: Sequence[Segment]) -> list[tuple[Segment, np.ndarray]]:
        """What a search over every shard reads: (unit, global position of each of its shards'
        first document, -1 for a shard it does not answer for)."""
        index = {name: k for k, name in enumerate(self.names) if name is not None}
        by_name = {s.name: s for s in segments}
        chosen, _ = cover([(s.name, s.shards) for s in segments], [n for n in self.names if n is not None])
        units, covered = [], set()
        for name, use in chosen:
            segment = by_name[name]
            if not np.array_equal(segment.sizes, [self.shards[index[s]].n_docs if s in index else n
                                                  for s, n in zip(segment.shards, segment.sizes)]):
                continue  # a segment that disagrees with the shards it names is not trusted
            offsets = np.array([self.offsets[index[s]] if u else -1 for s, u in zip(segment.shards, use)], dtype=np.int64)
            units.append((segment, offsets))
            covered.update(index[s] for s, u in zip(segment.shards, use) if u)
        for k, shard in enumerate(self.shards):
            if k not in covered:
                units.append((Segment.of_shard(self.names[k] or f"#{k}", shard), self.offsets[k : k + 1].copy()))
        return units

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
            for segment, offsets in self.units:
                total += self._postings(segment, offsets, hashes)[4].sum(axis=1)
            with self._lock:
                self._df.update(zip(todo, total.tolist()))
        with self._lock:
            return {t: self._df[t] for t in tokens}

    def has(self, token: str) -> bool:
        return self.document_frequency([token])[token] > 0

    def idf(self, token: str) -> float:
        return float(idf(len(self), self.document_frequency([token])[token]))

    @staticmethod
    def _postings(segment: Segment, columns: np.ndarray, hashes: np.ndarray):
        """The unit's postings of each token that count (their shard answered for here):
        per token, column (document's place in the scores), value, shard; and the
        documents holding each token per shard (its df there, 0 for shards not answered for)."""
        begins, lengths = segment.postings(hashes)
        total = int(lengths.sum())
        firsts = np.cumsum(lengths) - lengths
        gather = np.repeat(begins - firsts, lengths) + np.arange(total, dtype=np.int64)
        local = np.asarray(segment.indices[gather], dtype=np.int64)
        values = segment.data[gather]
        token = np.repeat(np.arange(len(hashes), dtype=np.int64), lengths)
        if len(segment.starts) == 2:  # one shard: no lookup
            shard = np.zeros(total, dtype=np.int64)
        else:
            shard = np.searchsorted(segment.starts, local, side="right") - 1
        keep = columns[shard] >= 0
        if not keep.all():
            local, values, token, shard = local[keep], values[keep], token[keep], shard[keep]
        df = np.bincount(token * len(columns) + shard, minlength=len(hashes) * len(columns)).reshape(len(hashes), len(columns))
        column = columns[shard] + local - segment.starts[shard]
        return token, column, values, shard, df

    # --- scoring ----------------------------------------------------------
    def scores(self, queries: Sequence[Sequence[str]], selected: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """BM25 scores of every document of the selected shards (all by default), one row per
        token list of `queries`; and the global position of each column.

        For each document the additions happen token by token in query order, as bm25s's own
        `get_scores` does, so one shard gives bit-identical scores.
        """
        if selected is None:
            units, width = self.units, len(self)
            positions = np.arange(width, dtype=np.int64)
        else:
            chosen = list(selected)
            sizes = np.array([self.shards[s].n_docs for s in chosen], dtype=np.int64)
            starts = np.zeros(len(chosen) + 1, dtype=np.int64)
            np.cumsum(sizes, out=starts[1:])
            width = int(starts[-1])
            units = [(Segment.of_shard(self.names[s] or f"#{s}", self.shards[s]), starts[n : n + 1].copy()) for n, s in enumerate(chosen)]
            positions = np.concatenate([np.arange(self.offsets[s], self.offsets[s + 1]) for s in chosen] or [np.zeros(0, np.int64)])
        rows = np.zeros(len(queries) * width, dtype=np.float32)
        vocab = list(dict.fromkeys(t for tokens in queries for t in tokens))
        if not vocab or not width:
            return rows.reshape(len(queries), width), positions
        hashes = token_hashes(vocab)
        # Pass 1, per unit: the postings of each distinct token and its df in each shard.
        found = [self._postings(segment, columns, hashes) for segment, columns in units]
        total_df = sum(part[4].sum(axis=1) for part in found)
        searched = idf(width, total_df)  # the searched set's idf, per distinct token
        # Pass 2: each query token's postings in query order, rescaled from their shard's idf.
        index = {t: i for i, t in enumerate(vocab)}
        wanted = np.array([index[t] for tokens in queries for t in tokens], dtype=np.int64)
        row_base = np.repeat(np.arange(len(queries), dtype=np.int64) * width, [len(tokens) for tokens in queries])
        targets, values = [], []
        for (segment, _), (token, column, value, shard, df) in zip(units, found):
            if not len(token):
                continue
            factor = (searched[:, None] / idf(np.diff(segment.starts)[None, :], df)).astype(np.float32)
            order = np.argsort(token, kind="stable")  # postings grouped by token
            counts = np.bincount(token, minlength=len(vocab))
            firsts = np.cumsum(counts) - counts
            lengths = counts[wanted]
            pick = order[np.repeat(firsts[wanted] - (np.cumsum(lengths) - lengths), lengths) + np.arange(int(lengths.sum()))]
            targets.append(np.repeat(row_base, lengths) + column[pick])
            values.append(value[pick] * factor[np.repeat(wanted, lengths), shard[pick]])
        if targets:
            np.add.at(rows, np.concatenate(targets), np.concatenate(values))
        return rows.reshape(len(queries), width), positions
