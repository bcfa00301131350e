"""Per-report BM25 shards: built once at ingest, persisted, opened memory-mapped by every replica.

Why not rebuild at start: a replica used to read every chunk from Chroma and index it
(40 s and 2.7 GB at 100k chunks). Why not `bm25s.BM25.load(mmap=True)` per report:
it parses a JSON vocabulary per index, about 8 ms each, so 3,000 reports cost 25 s
before the first answer. A shard is therefore one file holding bm25s's own scores
(the same `data`/`indices`/`indptr` arrays `bm25s.BM25.index` builds, so a query scores
exactly as before) and, instead of the JSON vocabulary, the sorted 64-bit hashes of
its tokens: opening a shard is one `mmap`, looking tokens up one `searchsorted`.

Layout of `NAME.bm25`: 8 bytes magic, 8 bytes header length, a JSON header
({"n_docs", "ids_sha", "arrays": {name: [offset, dtype, count]}}), then the arrays,
each 64-byte aligned: `hashes` (uint64, sorted), `indptr` (int64, one more than
hashes), `indices` (int32, each token's documents in ascending order), `data` (float32).

Files are written to a temporary name, fsynced and renamed (`write_shard`), and the
manifest names them only after that, so a killed ingest never leaves a shard visible
half-written. The name is a digest of the chunk ids and their terms: an unchanged
report keeps its file, and a reader holding an old version keeps a valid file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import bm25s
import numpy as np

logger = logging.getLogger(__name__)
logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG

MAGIC = b"ZJJBM25\x01"
SUFFIX = ".bm25"
STALE_SECONDS = 600.0  # unreferenced shards and temporary files older than this are removed at ingest
_ALIGN = 64


def token_hashes(tokens: Sequence[str]) -> np.ndarray:
    """64-bit token hashes (blake2b): a collision needs ~4 billion distinct tokens to become likely."""
    return np.fromiter(
        (int.from_bytes(hashlib.blake2b(t.encode("utf-8"), digest_size=8).digest(), "little") for t in tokens),
        dtype=np.uint64,
        count=len(tokens),
    )


def ids_digest(ids: Sequence[str]) -> str:
    return hashlib.sha1("\n".join(ids).encode("utf-8")).hexdigest()


def shard_name(ids: Sequence[str], token_lists: Sequence[Sequence[str]]) -> str:
    """A name that changes whenever the chunks or their terms change (the version of the shard)."""
    digest = hashlib.sha1()
    for cid, tokens in zip(ids, token_lists):
        digest.update(cid.encode("utf-8") + b"\0" + " ".join(tokens).encode("utf-8") + b"\n")
    return digest.hexdigest()[:32]


def build_arrays(token_lists: Sequence[Sequence[str]]) -> dict[str, np.ndarray]:
    """bm25s's scores for these documents, with columns reordered by token hash; each token's
    postings in document order (sharded_index.py cuts a segment's runs into shards by it)."""
    bm = bm25s.BM25()
    if token_lists:
        bm.index([list(t) or ["∅"] for t in token_lists], show_progress=False)
        data, indices, indptr = bm.scores["data"], bm.scores["indices"], bm.scores["indptr"]
    else:
        data, indices, indptr = np.zeros(0, np.float32), np.zeros(0, np.int32), np.zeros(1, np.int64)
    columns = len(indptr) - 1
    vocab = sorted(((tid, tok) for tok, tid in bm.vocab_dict.items() if tid < columns))  # bm25s adds "" past the end
    hashes = token_hashes([tok for _, tok in vocab])
    order = np.argsort(hashes, kind="stable")
    if len(order) > 1 and np.any(np.diff(hashes[order]) == 0):
        logger.warning("two tokens of one shard share a 64-bit hash; one of them is not searchable")
    lengths = np.diff(indptr)[order]
    new_indptr = np.zeros(columns + 1, dtype=np.int64)
    np.cumsum(lengths, out=new_indptr[1:])
    gather = np.repeat(indptr[order] - new_indptr[:-1], lengths) + np.arange(int(new_indptr[-1]), dtype=np.int64)
    indices, data = np.asarray(indices, dtype=np.int32)[gather], np.asarray(data, dtype=np.float32)[gather]
    token = np.repeat(np.arange(columns, dtype=np.int64), lengths)
    if np.any((np.diff(indices) <= 0) & (np.diff(token) == 0)):  # bm25s sorts them; scoring relies on it
        within = np.lexsort((indices, token))
        indices, data = indices[within], data[within]
    return {"hashes": hashes[order], "indptr": new_indptr, "indices": indices, "data": data}


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_arrays(final: Path, magic: bytes, header: dict, arrays: dict[str, np.ndarray],
                 before_rename: Callable[[], None] | None = None) -> None:
    """One file: magic, header length, JSON header (with the arrays' layout), 64-byte aligned arrays.

    Temporary file, fsync, rename, fsync of the folder: the name appears only complete.
    `before_rename` runs between the fsync and the rename (the crash tests kill there).
    """
    folder = final.parent
    folder.mkdir(parents=True, exist_ok=True)
    layout, offset = {}, 0
    for key, array in arrays.items():
        layout[key] = [offset, array.dtype.str, int(array.size)]
        offset += -(-array.nbytes // _ALIGN) * _ALIGN
    raw_header = json.dumps(dict(header, arrays=layout)).encode("utf-8")
    start = -(-(16 + len(raw_header)) // _ALIGN) * _ALIGN
    tmp = folder / f".tmp-{final.stem}-{os.getpid()}"
    with open(tmp, "wb") as out:
        out.write(magic + len(raw_header).to_bytes(8, "little") + raw_header)
        for key, array in arrays.items():
            out.seek(start + layout[key][0])
            out.write(np.ascontiguousarray(array).tobytes())
        out.truncate(start + offset)
        out.flush()
        os.fsync(out.fileno())
    if before_rename is not None:
        before_rename()
    os.replace(tmp, final)
    fsync_dir(folder)


def read_header(path: Path, magic: bytes, kind: str = "lexical shard") -> tuple[dict, int]:
    """The JSON header of a file `write_arrays` wrote, and where its arrays start (reads only the head)."""
    with open(path, "rb") as handle:
        head = handle.read(16)
        if len(head) < 16 or head[:8] != magic:
            raise ValueError(f"{path} is not a {kind}")
        size = int.from_bytes(head[8:16], "little")
        header = json.loads(handle.read(size))
    return header, -(-(16 + size) // _ALIGN) * _ALIGN


def open_arrays(path: Path, magic: bytes, kind: str = "lexical shard") -> tuple[dict, dict[str, np.ndarray]]:
    """The header and the memory-mapped arrays of a file `write_arrays` wrote."""
    header, start = read_header(path, magic, kind)
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    arrays = {
        key: np.frombuffer(raw, dtype=np.dtype(dtype), count=count, offset=start + offset)
        for key, (offset, dtype, count) in header["arrays"].items()
    }
    return header, arrays


def write_shard(
    folder: Path, ids: Sequence[str], token_lists: Sequence[Sequence[str]], before_rename: Callable[[], None] | None = None
) -> str:
    """Write one report's shard (if that version is not already there); returns its name."""
    name = shard_name(ids, token_lists)
    final = folder / f"{name}{SUFFIX}"
    if final.exists():
        return name
    write_arrays(final, MAGIC, {"n_docs": len(ids), "ids_sha": ids_digest(ids)}, build_arrays(token_lists), before_rename)
    return name


@dataclass
class Shard:
    """One report's BM25 index, read-only (memory-mapped from a file, or built in memory)."""

    n_docs: int
    hashes: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    ids_sha: str = ""

    @classmethod
    def build(cls, ids: Sequence[str], token_lists: Sequence[Sequence[str]]) -> Shard:
        return cls(n_docs=len(ids), ids_sha=ids_digest(ids), **build_arrays(token_lists))

    @classmethod
    def open(cls, path: Path) -> Shard:
        header, arrays = open_arrays(path, MAGIC)
        return cls(n_docs=int(header["n_docs"]), ids_sha=header["ids_sha"], **arrays)

    def postings(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where each token's postings start in `indices`/`data`, and how many there are
        (its document frequency here; 0 where this shard lacks the token)."""
        if not len(self.hashes):
            return np.zeros(len(hashes), dtype=np.int64), np.zeros(len(hashes), dtype=np.int64)
        pos = np.minimum(self.hashes.searchsorted(hashes), len(self.hashes) - 1)
        begins = self.indptr[pos]
        return begins, np.where(self.hashes[pos] == hashes, self.indptr[pos + 1] - begins, 0)


class LazyShard:
    """A shard opened at its first use. A replica with thousands of reports opens only those a
    question routes to (segments answer for the rest): opening every shard at start cost ~2 ms
    each, 1.9 s at 900 reports. `open` returns the shard to use (the file, or a fallback)."""

    def __init__(self, n_docs: int, open: Callable[[], Shard]) -> None:  # noqa: A002 - the loader
        self.n_docs = n_docs
        self._open = open
        self._shard: Shard | None = None
        self._lock = threading.Lock()

    @property
    def shard(self) -> Shard:
        if self._shard is None:
            with self._lock:
                if self._shard is None:
                    self._shard = self._open()
        return self._shard

    hashes = property(lambda self: self.shard.hashes)
    indptr = property(lambda self: self.shard.indptr)
    indices = property(lambda self: self.shard.indices)
    data = property(lambda self: self.shard.data)
    ids_sha = property(lambda self: self.shard.ids_sha)

    def postings(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.shard.postings(hashes)


def idf(n_docs: int | np.ndarray, df: int | np.ndarray) -> np.ndarray:
    """bm25s's "lucene" idf; a token no document has gets the highest idf: it is what the corpus lacks."""
    return np.log(1 + (n_docs - df + 0.5) / (df + 0.5))


def retire(folder: Path, names: set[str], suffix: str = SUFFIX) -> None:
    """Start the grace period of shards the manifest has just stopped naming.

    A shard's file may be far older than STALE_SECONDS while replicas still read it; what counts
    is how long ago it stopped being named. Its modification time is set to now, so `remove_stale`
    keeps it for replicas that read the previous manifest and are opening it right now."""
    for name in names:
        try:
            os.utime(folder / f"{name}{suffix}")
        except FileNotFoundError:
            continue


def remove_stale(folder: Path, keep: set[str], older_than: float = STALE_SECONDS, suffix: str = SUFFIX) -> int:
    """Delete shard files (or other per-report files: `suffix`) no manifest record names and leftovers
    of killed writes, once old enough that no replica can still be switching to them. Open memory
    maps stay valid after the unlink."""
    if not folder.is_dir():
        return 0
    removed, now = 0, time.time()
    for path in folder.iterdir():
        if path.name.endswith(suffix) and path.name[: -len(suffix)] in keep:
            continue
        if not (path.name.endswith(suffix) or path.name.startswith(".tmp-")):
            continue
        try:
            if now - path.stat().st_mtime >= older_than:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed
