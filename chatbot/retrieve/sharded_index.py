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
            for segment, columns in self.units:
                total += (self._runs(segment, columns, hashes)[2] * (columns >= 0)).sum(axis=1)
            with self._lock:
                self._df.update(zip(todo, total.tolist()))
        with self._lock:
            return {t: self._df[t] for t in tokens}

    def has(self, token: str) -> bool:
        return self.document_frequency([token])[token] > 0

    def idf(self, token: str) -> float:
        return float(idf(len(self), self.document_frequency([token])[token]))

    @staticmethod
    def _runs(segment: Segment, columns: np.ndarray, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Where each token's postings start in the unit, and how many of them fall in each of
        its shards (tokens × shards; the documents holding the token there).

        A token's postings are sorted by document (shards.build_arrays, segments.merge), so one
        `searchsorted` of the shards' first documents cuts its run into shards. Looking up
        every posting's shard (and `np.add.at` over every posting) was most of an unrouted
        search at scale."""
        begins, lengths = segment.postings(hashes)
        if len(columns) == 1:
            return begins, lengths, lengths[:, None].copy()
        cuts = np.zeros((len(hashes), len(columns) + 1), dtype=np.int64)
        starts, indices = segment.starts, segment.indices
        for t in np.flatnonzero(lengths).tolist():
            begin = int(begins[t])
            cuts[t] = indices[begin : begin + int(lengths[t])].searchsorted(starts)
        return begins, lengths, cuts[:, 1:] - cuts[:, :-1]

    # --- scoring ----------------------------------------------------------
    def scores(self, queries: Sequence[Sequence[str]], selected: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """BM25 scores of every document of the selected shards (all by default), one row per
        token list of `queries`; and the global position of each column.

        For each document the additions happen token by token in query order, as bm25s's own
        `get_scores` does, so one shard gives bit-identical scores. A document lives in one
        unit, so units are scored one after the other, and within a unit each query token's
        postings are added to its row at once (a token holds a document once: no two
        additions to one place in one step).
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
        rows = np.zeros((len(queries), width), dtype=np.float32)
        vocab = list(dict.fromkeys(t for tokens in queries for t in tokens))
        if not vocab or not width:
            return rows, positions
        hashes = token_hashes(vocab)
        index = {t: i for i, t in enumerate(vocab)}
        wanted = [[index[t] for t in tokens] for tokens in queries]
        # Pass 1, per unit: where each distinct token's postings are, and its df in each shard.
        found = [self._runs(segment, columns, hashes) for segment, columns in units]
        dfs = [counts * (columns >= 0) for (_, columns), (_, _, counts) in zip(units, found)]
        total_df = sum(df.sum(axis=1) for df in dfs)
        searched = idf(width, total_df)  # the searched set's idf, per distinct token
        # Pass 2, per unit: each token's postings rescaled from their shard's idf, added in query order.
        for (segment, columns), (begins, lengths, counts), df in zip(units, found, dfs):
            present = df.any(axis=1)  # postings in a shard this unit answers for
            if not present.any():
                continue
            factor = (searched[:, None] / idf(np.diff(segment.starts)[None, :], df)).astype(np.float32)
            shift = columns - segment.starts[:-1]  # a document's column minus its place in the unit
            keep = columns >= 0
            whole = bool(keep.all())
            added: dict[int, tuple[np.ndarray, np.ndarray]] = {}
            for row, tokens in zip(rows, wanted):
                for t in tokens:
                    if not present[t]:
                        continue
                    if t not in added:
                        added[t] = self._rescaled(segment, int(begins[t]), int(lengths[t]), counts[t], factor[t], shift, None if whole else keep)
                    column, value = added[t]
                    row[column] += value
        return rows, positions

    @staticmethod
    def _rescaled(segment: Segment, begin: int, length: int, counts: np.ndarray, factor: np.ndarray,
                  shift: np.ndarray, keep: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """One token's postings in one unit: their columns and their values times their shard's factor."""
        end = begin + length
        column = segment.indices[begin:end].astype(np.int64)
        if len(counts) == 1:
            column += shift[0]
            return column, segment.data[begin:end] * factor[0]
        column += shift.repeat(counts)
        value = segment.data[begin:end] * factor.repeat(counts)
        if keep is not None:
            mask = keep.repeat(counts)
            column, value = column[mask], value[mask]
        return column, value


BLOCK = 256  # columns per block in `best_columns`


def best_columns(scores: np.ndarray, k: int) -> np.ndarray:
    """The columns of the k highest scores, best first, a tie going to the lower column.

    Why not `argpartition` over every column: at 1M chunks it cost ~20-45 ms a question on
    this machine, most of what remained of an unrouted search's lexical side. The k-th highest
    block maximum (the floor) is at most the k-th highest score, since k blocks reach it. So the
    scores above the floor all sit in the fewer than k blocks whose maximum is above it; if there
    are fewer than k of them, the k-th highest score is the floor itself and the first columns
    holding it complete the list. One pass for the maxima, one comparison pass at most, and
    sorts of a few thousand values, however many documents tie (clones of one report do).
    """
    n = len(scores)
    blocks = -(-n // BLOCK)
    if blocks <= k:
        return np.argsort(-scores, kind="stable")[:k]
    full = n // BLOCK
    maxima = np.empty(blocks, dtype=scores.dtype)
    maxima[:full] = scores[: full * BLOCK].reshape(full, BLOCK).max(axis=1)
    if full < blocks:
        maxima[full] = scores[full * BLOCK :].max()
    floor = np.partition(maxima, blocks - k)[blocks - k]
    columns = (np.flatnonzero(maxima > floor)[:, None] * BLOCK + np.arange(BLOCK)).ravel()
    columns = columns[columns < n]
    columns = columns[scores[columns] > floor]
    if len(columns) < k:
        columns = np.concatenate([columns, np.flatnonzero(scores == floor)[: k - len(columns)]])
    return columns[np.argsort(-scores[columns], kind="stable")][:k]
