"""Ingest: load → repair → outline → chunk → embed → Chroma (+ manifest).

Re-runnable and keyed by source. Chunk ids hash source, heading path and
text, so an unchanged chunk keeps its id and is not embedded again. Per
source: upsert what is new or damaged, then record the complete id list in
the manifest, then delete what disappeared. A run killed at any point leaves
the last manifest intact, and the next run repairs the rest.
"""

from __future__ import annotations

import logging
import math
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from chatbot.embedders import Embedder, get_embedder
from chatbot.lexical import tokenize
from chatbot.settings import Settings
from chatbot.store import ChunkStore, ingest_lock
from ingest.chunking import Chunk, build_chunks
from ingest.loaders import SourceDocument, discover, load
from ingest.outline import outline
from ingest.repair import repair

logger = logging.getLogger(__name__)

EMBED_BATCH = 32


@dataclass
class IngestSummary:
    files: int = 0
    chunks: int = 0
    embedded: int = 0
    deleted: int = 0
    tokens: int = 0
    seconds: float = 0.0
    chunk_chars: list[int] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    @property
    def median_chars(self) -> float:
        return statistics.median(self.chunk_chars) if self.chunk_chars else 0.0

    @property
    def max_chars(self) -> int:
        return max(self.chunk_chars, default=0)

    def describe(self) -> str:
        return (
            f"Ingested {self.files} file(s): {self.chunks} chunks ({self.embedded} embedded, "
            f"{self.chunks - self.embedded} unchanged, {self.deleted} deleted), {self.tokens} tokens, "
            f"chunk size median {self.median_chars:.0f} / max {self.max_chars} characters, {self.seconds:.1f} s."
        )


def prepare_chunks(doc: SourceDocument, settings: Settings) -> list[Chunk]:
    sentences, _ = outline(repair(doc.pages), doc.meta.get("continues_heading"))
    chunks = build_chunks(sentences, doc.source, settings.chunk_tokens, settings.tokenizer_encoding)
    for chunk in chunks:
        chunk.meta = chunk_metadata(chunk, doc)
    return chunks


def chunk_metadata(chunk: Chunk, doc: SourceDocument) -> dict:
    meta: dict = {
        "source": doc.source,
        "title": doc.title,
        "section": chunk.section,
        "start": chunk.start,
        "end": chunk.end,
        "index": chunk.index,
        "tokens": chunk.tokens,
        "terms": " ".join(tokenize(chunk.index_text)),
    }
    for key in ("city", "year"):
        if doc.meta.get(key) is not None:
            meta[key] = doc.meta[key]
    if chunk.page is not None:
        meta["page"] = chunk.page
    return meta


def _healthy(stored: dict | None, chunk: Chunk, dim: int) -> bool:
    if not stored or stored["text"] != chunk.text or stored["meta"] != chunk.meta:
        return False
    vector = stored["embedding"]
    return vector is not None and len(vector) == dim and all(math.isfinite(float(x)) for x in vector)


def ingest(
    paths: list[Path],
    settings: Settings,
    *,
    rebuild: bool = False,
    progress: bool = True,
    embedder: Embedder | None = None,
) -> IngestSummary:
    started = time.perf_counter()
    files = discover(paths)
    documents = [load(path) for path in files]  # fail before touching the store
    summary = IngestSummary(files=len(documents))
    with ingest_lock(settings.data_dir):
        embedder = embedder or get_embedder(settings)
        dim = len(embedder.embed_query("维度"))
        store = ChunkStore(settings)
        if rebuild:
            store.drop()
        col = store.collection(embedder.id, dim, create=True)
        for doc in documents:
            chunks = prepare_chunks(doc, settings)
            ids = [c.id for c in chunks]
            stored = store.get_chunks(col, ids, embeddings=True)
            todo = [c for c in chunks if not _healthy(stored.get(c.id), c, dim)]
            bar = tqdm(total=len(todo), desc=doc.source[:40], unit="chunk", disable=not progress or not todo, leave=False)
            for i in range(0, len(todo), EMBED_BATCH):
                batch = todo[i : i + EMBED_BATCH]
                vectors = embedder.embed_passages([c.index_text for c in batch])
                col.upsert(
                    ids=[c.id for c in batch],
                    documents=[c.text for c in batch],
                    metadatas=[c.meta for c in batch],
                    embeddings=vectors,
                )
                bar.update(len(batch))
            bar.close()
            doc_meta = {k: v for k, v in doc.meta.items() if isinstance(v, (str, int, float, bool))}
            doc_meta.update(path=str(doc.path.resolve()), title=doc.title, chunks=len(ids))
            store.write_manifest(doc.source, ids, doc_meta)
            stale = sorted(set(store.ids_where(col, {"source": doc.source})) - set(ids))
            if stale:
                col.delete(ids=stale)
            summary.chunks += len(chunks)
            summary.embedded += len(todo)
            summary.deleted += len(stale)
            summary.tokens += sum(c.tokens for c in chunks)
            summary.chunk_chars.extend(len(c.text) for c in chunks)
            summary.sources.append(doc.source)
            logger.info("ingested %s: %s chunks, %s embedded, %s deleted", doc.source, len(chunks), len(todo), len(stale))
    summary.seconds = time.perf_counter() - started
    return summary
