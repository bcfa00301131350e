"""Per-report vector files: the report's stored embeddings as one memory-mapped matrix.

Why: a question that routing sends to one report is answered by an exact cosine scan over
that report's vectors (Chroma's metadata-filtered HNSW search was the cost: retriever.py).
Fetching those vectors from Chroma by id moved ~170 KB of JSON per report per question
(over HTTP with `chroma run`); the same floats read from a file the replica maps are a
page-in. Chroma stays the store of record: a replica without the file (an older store, or
the folder not shared) fetches the vectors from Chroma as before, with the same result.

Written at ingest beside the report's lexical shard, from the vectors read back from Chroma
after they were verified (so the file holds exactly what Chroma holds), before the manifest
names it (temporary file, fsync, rename: shards.write_arrays). The name is a digest of the
chunk ids and the embedder's id: same chunks and embedder, same file.

Layout of `NAME.vec`: the shard container (another magic), header
{"n_docs", "ids_sha", "dim", "embedder"}, one array `vectors` (float32, n_docs × dim, in
the manifest's id order).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from chatbot.retrieve.shards import ids_digest, open_arrays, write_arrays

MAGIC = b"ZJJVEC\x00\x01"
SUFFIX = ".vec"


def vectors_name(ids: Sequence[str], embedder_id: str) -> str:
    return hashlib.sha1(f"{ids_digest(ids)}|{embedder_id}".encode()).hexdigest()[:32]


def write_vectors(folder: Path, ids: Sequence[str], vectors: Sequence[Sequence[float]], embedder_id: str,
                  before_rename: Callable[[], None] | None = None) -> str:
    """Write one report's vector file (if that version is not already there); returns its name."""
    name = vectors_name(ids, embedder_id)
    final = folder / f"{name}{SUFFIX}"
    if final.exists():
        return name
    matrix = np.asarray(vectors, dtype=np.float32).reshape(len(ids), -1)
    header = {"n_docs": len(ids), "ids_sha": ids_digest(ids), "dim": int(matrix.shape[1]), "embedder": embedder_id}
    write_arrays(final, MAGIC, header, {"vectors": matrix}, before_rename)
    return name


def open_vectors(path: Path, ids: Sequence[str], embedder_id: str) -> np.ndarray:
    """The memory-mapped n_docs × dim matrix; ValueError if it is not these chunks' vectors."""
    header, arrays = open_arrays(path, MAGIC, "vector file")
    if header["ids_sha"] != ids_digest(ids) or header["embedder"] != embedder_id or header["n_docs"] != len(ids):
        raise ValueError(f"{path} holds other chunks' or another embedder's vectors")
    return arrays["vectors"].reshape(int(header["n_docs"]), int(header["dim"]))
