"""Lexical segments: many report shards merged into one file, so a search over every report
loops over a few dozen files instead of thousands of shards (log-structured merging).

Why: an unrouted question scored each report's shard in turn, two Python passes per shard;
at 100k chunks (~900 reports) that loop was most of the unrouted BM25 time, and it grows
with the number of reports. A segment holds the postings of many shards in one CSR matrix
keyed by token hash, each posting still carrying its own shard's stored score, so scoring
through a segment gives exactly the floats scoring shard by shard gives
(`sharded_index.py` rescales each shard's scores to the global idf per shard, in both cases).

A segment is a cache over immutable shards: its name is a digest of the shard names it
holds, and a replica may use any segment whose shards the manifest still names (a shard the
manifest no longer names is masked out). Which segments exist does not change any answer,
only how fast it comes, so segments need no manifest record: a replica lists the folder when
the manifest changes.

Written at the end of an ingest (`compact`): when `FANOUT` units of one level exist (a
loose shard is level 0; a segment of n shards has level ⌊log_FANOUT n⌋), they are merged
into one segment of the next level. One report's ingest therefore usually merges nothing
or a few small files; the big merges are rare (every FANOUT^k reports).

Layout of `NAME.seg` (the shard container of shards.py, another magic): header
{"shards": [names], "sizes": [documents per shard]}, arrays `hashes` (uint64 sorted),
`indptr` (int64), `indices` (int32, document within the segment, shard after shard, each
token's documents in ascending order: the merge keeps them so),
`data` (float32, the shard's stored score), `starts` (int64, first document of each shard).
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chatbot.retrieve.shards import STALE_SECONDS, Shard, open_arrays, read_header, write_arrays
from chatbot.retrieve.shards import SUFFIX as SHARD_SUFFIX

logger = logging.getLogger(__name__)

MAGIC = b"ZJJSEG\x00\x01"
SUFFIX = ".seg"
FANOUT = 16  # units of one level merged at once: ~35 units to score at 300k chunks and at 1M
MIN_LIVE = 0.5  # a segment most of whose shards the manifest no longer names is not used


@dataclass
class Segment:
    """Several shards' postings in one matrix; shard j holds documents starts[j]..starts[j+1]."""

    name: str
    shards: list[str]
    hashes: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    starts: np.ndarray

    @property
    def sizes(self) -> np.ndarray:
        return np.diff(self.starts)

    @classmethod
    def open(cls, path: Path) -> Segment:
        header, arrays = open_arrays(path, MAGIC, "lexical segment")
        return cls(name=path.name[: -len(SUFFIX)], shards=list(header["shards"]), **arrays)

    @classmethod
    def of_shard(cls, name: str, shard: Shard) -> Segment:
        """One shard seen as a segment of one (a loose shard is scored by the same code)."""
        return cls(name, [name], shard.hashes, shard.indptr, shard.indices, shard.data,
                   np.array([0, shard.n_docs], dtype=np.int64))

    def postings(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where each token's postings start in `indices`/`data`, and how many (0: absent)."""
        if not len(self.hashes):
            return np.zeros(len(hashes), dtype=np.int64), np.zeros(len(hashes), dtype=np.int64)
        pos = np.minimum(self.hashes.searchsorted(hashes), len(self.hashes) - 1)
        begins = self.indptr[pos]
        return begins, np.where(self.hashes[pos] == hashes, self.indptr[pos + 1] - begins, 0)


def segment_name(shards: Sequence[str]) -> str:
    return hashlib.sha1("\n".join(shards).encode("utf-8")).hexdigest()[:32]


def level(size: int) -> int:
    return 0 if size <= 1 else int(math.log(size, FANOUT) + 1e-9)


# --- which files a search uses ------------------------------------------------------------
def cover(segments: Sequence[tuple[str, Sequence[str]]], live: Sequence[str]) -> tuple[list[tuple[str, list[bool]]], list[str]]:
    """Segments to use (largest first), each with which of its shards it answers for, and the
    live shards no segment covers. Every live shard is answered for exactly once."""
    alive = set(live)
    ranked = sorted(segments, key=lambda seg: (-sum(s in alive for s in seg[1]), seg[0]))
    covered: set[str] = set()
    chosen: list[tuple[str, list[bool]]] = []
    for name, shards in ranked:
        use = [s in alive and s not in covered for s in shards]
        if not shards or sum(use) < MIN_LIVE * len(shards):
            continue
        chosen.append((name, use))
        covered.update(s for s, u in zip(shards, use) if u)
    return chosen, [s for s in live if s not in covered]


def list_segments(folder: Path) -> list[str]:
    """Names of the segment files in `folder` (no temporary ones)."""
    try:
        return sorted(p.name[: -len(SUFFIX)] for p in folder.iterdir() if p.name.endswith(SUFFIX) and not p.name.startswith("."))
    except FileNotFoundError:
        return []


# --- writing -------------------------------------------------------------------------------
def merge(units: Sequence[tuple[Segment, Sequence[bool]]]) -> tuple[list[str], dict[str, np.ndarray]]:
    """The shards the units answer for (in unit order) and their postings as one segment's arrays."""
    names: list[str] = []
    starts = [0]
    tokens, docs, values = [], [], []
    for segment, use in units:
        sizes = segment.sizes
        keep = np.asarray(use, dtype=bool)
        # new first document of each kept shard of this unit; -1 for a dropped shard
        new_start = np.full(len(sizes), -1, dtype=np.int64)
        base = starts[-1]
        for j in np.flatnonzero(keep):
            new_start[j] = base
            base += int(sizes[j])
            names.append(segment.shards[j])
            starts.append(base)
        counts = np.diff(segment.indptr)
        token = np.repeat(segment.hashes, counts)
        local = np.asarray(segment.indices, dtype=np.int64)
        shard = np.searchsorted(segment.starts, local, side="right") - 1
        mask = keep[shard]
        tokens.append(token[mask])
        docs.append(new_start[shard[mask]] + local[mask] - segment.starts[shard[mask]])
        values.append(np.asarray(segment.data)[mask])
    token = np.concatenate(tokens) if tokens else np.zeros(0, np.uint64)
    doc = np.concatenate(docs) if docs else np.zeros(0, np.int64)
    value = np.concatenate(values) if values else np.zeros(0, np.float32)
    order = np.argsort(token, kind="stable")  # runs of sorted hashes: a merge, not a full sort
    token, doc, value = token[order], doc[order], value[order]
    hashes, counts = np.unique(token, return_counts=True)
    indptr = np.zeros(len(hashes) + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return names, {
        "hashes": hashes.astype(np.uint64),
        "indptr": indptr,
        "indices": doc.astype(np.int32),
        "data": value.astype(np.float32),
        "starts": np.asarray(starts, dtype=np.int64),
    }


def write_segment(folder: Path, units: Sequence[tuple[Segment, Sequence[bool]]],
                  before_rename: Callable[[], None] | None = None) -> str:
    names, arrays = merge(units)
    name = segment_name(names)
    final = folder / f"{name}{SUFFIX}"
    if not final.exists():
        write_arrays(final, MAGIC, {"shards": names}, arrays, before_rename)
    return name


def _headers(folder: Path) -> dict[str, list[str]]:
    out = {}
    for name in list_segments(folder):
        try:
            out[name] = list(read_header(folder / f"{name}{SUFFIX}", MAGIC, "lexical segment")[0]["shards"])
        except (OSError, ValueError, KeyError):
            logger.warning("ignoring the unreadable lexical segment %s", name)
    return out


def compact(folder: Path, live: Sequence[str], before_rename: Callable[[], None] | None = None) -> list[str]:
    """Merge FANOUT units of one level into one of the next, until no level holds FANOUT.
    Returns the segments written. Called by ingest after the manifest switch (the manifest's
    shard names are `live`); segments that drop out of use are left for `remove_unused`."""
    written: list[str] = []
    headers = _headers(folder)
    while True:
        chosen, loose = cover(list(headers.items()), live)
        units: dict[int, list[tuple[str, list[bool] | None]]] = {}
        for name in loose:
            units.setdefault(0, []).append((name, None))
        for name, use in chosen:
            units.setdefault(level(sum(use)), []).append((name, use))
        full = next((lv for lv in sorted(units) if len(units[lv]) >= FANOUT), None)
        if full is None:
            return written
        parts = []
        for name, use in units[full][:FANOUT]:
            if use is None:
                parts.append((Segment.of_shard(name, Shard.open(folder / f"{name}{SHARD_SUFFIX}")), [True]))
            else:
                parts.append((Segment.open(folder / f"{name}{SUFFIX}"), use))
        started = time.perf_counter()
        name = write_segment(folder, parts, before_rename)
        headers[name] = [s for segment, use in parts for s, u in zip(segment.shards, use) if u]
        for segment, _ in parts:  # superseded now: their grace period (remove_unused) starts now
            if segment.name != name and (folder / f"{segment.name}{SUFFIX}").exists():
                os.utime(folder / f"{segment.name}{SUFFIX}")
        written.append(name)
        logger.info("merged %s level-%s units into the lexical segment %s (%s shards) in %.1f s",
                    len(parts), full, name, len(headers[name]), time.perf_counter() - started)


def remove_unused(folder: Path, live: Sequence[str], older_than: float = STALE_SECONDS) -> int:
    """Delete segments the current cover does not use, once older than the grace period.
    A replica that still lists one and finds it gone scores those shards one by one (same answers)."""
    chosen, _ = cover(list(_headers(folder).items()), live)
    used = {name for name, _ in chosen}
    removed, now = 0, time.time()
    for name in list_segments(folder):
        path = folder / f"{name}{SUFFIX}"
        try:
            if name not in used and now - path.stat().st_mtime >= older_than:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed


__all__ = ["FANOUT", "SUFFIX", "Segment", "compact", "cover", "list_segments", "remove_unused", "write_segment"]
