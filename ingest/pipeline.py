"""Ingest: load → repair → outline → chunk → embed → Chroma (+ manifest).

Re-runnable and keyed by source (the path relative to the ingested folder:
`ingest/loaders.py`). Chunk ids hash source, heading path and text, so an
unchanged chunk keeps its id and is not embedded again.

All or nothing: every file is read, its metadata checked and its chunks
built before the store is touched. Then, per document: upsert what is new or
damaged (a chunk whose metadata alone changed keeps its stored vector) and
verify every chunk (read back, and each vector finds itself in the index;
damaged ones are deleted and written again). Readers only see the ids the
manifest names, so none of this is visible yet. A chunk whose text is
unchanged but whose metadata changed keeps its id, so rewriting it is
visible: those rewrites wait until every document's new text is stored, and
need no embedding. Then each document's lexical shard is written (temporary file, fsync,
rename: chatbot/retrieve/shards.py) and the manifest, which names the shards, is switched, in one upsert of all its
records; then what disappeared is deleted. Last, every chunk is searched for again from the store
opened afresh, as a reader started later would search it, and what it cannot find is written again
(`_recheck_as_a_new_reader`). A run that fails or is killed at any point
(SIGKILL included: tests/test_crash.py) leaves readers on the last complete
state, and the next run repairs the rest.

Never a silent replacement: a document whose identity the store already
holds from another file is refused unless the operator passes --replace.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from chatbot.errors import DocumentError, StoreError
from chatbot.question.query import load_lexicon, passage_terms
from chatbot.report_figures.extract import extract
from chatbot.report_figures.table import METADATA_KEY, stored_figures
from chatbot.retrieve.embedders import Embedder, get_embedder
from chatbot.retrieve.segments import compact, remove_unused
from chatbot.retrieve.shards import remove_stale, retire, write_shard
from chatbot.retrieve.snapshots import SUFFIX as SNAPSHOT_SUFFIX
from chatbot.retrieve.snapshots import snapshot_name, write_snapshot
from chatbot.retrieve.store import ChunkStore, ingest_lock
from chatbot.retrieve.vectors import SUFFIX as VECTOR_SUFFIX
from chatbot.retrieve.vectors import write_vectors
from chatbot.safetext import escape_controls
from chatbot.settings import Settings
from ingest.chunking import Chunk, build_chunks
from ingest.loaders import SourceDocument, discover, load
from ingest.outline import outline
from ingest.repair import repair

logger = logging.getLogger(__name__)

EMBED_BATCH = 32

# Test-only hook (tests/test_crash.py). Unset, it does nothing. Set, every checkpoint prints
# "ingest-checkpoint NAME" to stderr, then sleeps: CHATBOT_TEST_INGEST_DELAY=0.5 sleeps 0.5 s at
# every checkpoint; CHATBOT_TEST_INGEST_DELAY=manifest=60 sleeps 60 s only at checkpoints whose
# name starts with "manifest". The tests SIGKILL the ingest at a known point this way.
_TEST_DELAY_ENV = "CHATBOT_TEST_INGEST_DELAY"


def _checkpoint(name: str) -> None:
    delay = os.environ.get(_TEST_DELAY_ENV)
    if delay is None:
        return
    print(f"ingest-checkpoint {name}", file=sys.stderr, flush=True)
    prefix, _, seconds = delay.rpartition("=")
    if name.startswith(prefix):
        time.sleep(float(seconds or 0))


@dataclass
class IngestSummary:
    files: int = 0
    chunks: int = 0
    embedded: int = 0
    refitted: int = 0  # rewritten with their stored vector (metadata changed, text did not)
    deleted: int = 0
    rewritten: int = 0  # written again after the last check, made from the store on disk, could not find them
    tokens: int = 0
    seconds: float = 0.0
    chunk_chars: list[int] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)  # symbolic links a folder walk did not follow
    replaced: list[tuple[str, str, str]] = field(default_factory=list)  # (source, old path, new path), --replace
    renamed: list[tuple[str, str]] = field(default_factory=list)  # (old source, new source) of one file

    @property
    def median_chars(self) -> float:
        return statistics.median(self.chunk_chars) if self.chunk_chars else 0.0

    @property
    def max_chars(self) -> int:
        return max(self.chunk_chars, default=0)

    def describe(self) -> str:
        refitted = f"{self.refitted} metadata updated, " if self.refitted else ""
        return (
            f"Ingested {self.files} file(s): {self.chunks} chunks ({self.embedded} embedded, {refitted}"
            f"{max(0, self.chunks - self.embedded - self.refitted)} unchanged, {self.deleted} deleted"
            f"{f', {self.rewritten} rewritten as unsearchable on disk' if self.rewritten else ''}), {self.tokens} tokens, "
            f"chunk size median {self.median_chars:.0f} / max {self.max_chars} characters, {self.seconds:.1f} s."
            + "".join(f"\nReplaced '{escape_controls(s)}': was {escape_controls(old)}, now {escape_controls(new)}." for s, old, new in self.replaced)
            + "".join(f"\nRenamed '{escape_controls(old)}' to '{escape_controls(new)}' (same file)." for old, new in self.renamed)
            + (f"\nSkipped {len(self.skipped)} symbolic link(s) (a folder walk does not follow links; name a link's target to ingest it):" if self.skipped else "")
            + "".join(f"\n  skipped link: {escape_controls(str(path))}" for path in self.skipped)
        )


def prepare_chunks(doc: SourceDocument, settings: Settings) -> list[Chunk]:
    sentences, _ = outline(repair(doc.pages), doc.meta.get("continues_heading"))
    chunks = build_chunks(sentences, doc.source, settings.chunk_tokens, settings.tokenizer_encoding)
    glossary = report_glossary(doc)
    for chunk in chunks:
        chunk.meta = chunk_metadata(chunk, doc, glossary)
    return chunks


def report_glossary(doc: SourceDocument) -> dict[str, list[str]]:
    """The report's own optional glossary, `NAME.terms.tsv` beside `NAME.txt` (same format as the lexicon)."""
    path = doc.path.with_name(doc.path.stem + ".terms.tsv")
    if not path.is_file():
        return {}
    try:
        return load_lexicon(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise DocumentError(f"{path}: cannot read the glossary ({exc}).") from exc


def chunk_metadata(chunk: Chunk, doc: SourceDocument, glossary: dict[str, list[str]] | None = None) -> dict:
    meta: dict = {
        "source": doc.source,
        "title": doc.title,
        "section": chunk.section,
        "start": chunk.start,
        "end": chunk.end,
        "index": chunk.index,
        "tokens": chunk.tokens,
        "terms": " ".join(passage_terms(chunk.index_text, glossary)),  # with expansions: see passage_terms
        # the passage's figures (chatbot/report_figures): computed here so the table costs no extraction
        METADATA_KEY: stored_figures(extract(chunk.text, section=chunk.section, report_year=doc.meta.get("year"))),
    }
    for key in ("city", "year"):
        if doc.meta.get(key) is not None:
            meta[key] = doc.meta[key]
    if chunk.page is not None:
        meta["page"] = chunk.page
    return meta


def _vector_ok(vector, dim: int) -> bool:
    return vector is not None and len(vector) == dim and all(math.isfinite(float(x)) for x in vector)


def _healthy(stored: dict | None, chunk: Chunk, dim: int) -> bool:
    if not stored or stored["text"] != chunk.text or stored["meta"] != chunk.meta:
        return False
    return _vector_ok(stored["embedding"], dim)


def _unsearchable(col, ids: list[str], vectors: list) -> set[str]:
    """Ids whose own vector does not find them in the vector index.

    Chroma can report a record through get() and count() while the index lacks it (a SIGKILL
    during an upsert can leave the write-ahead log unapplied: chroma-core/chroma#7678), so the
    record would never come back from a query. Each vector must find itself at distance ~0.
    """
    bad: set[str] = set()
    # Identical passages in several documents share a vector, so a record can be crowded out
    # of a short result list by its twins: look deeper, and accept a list full of exact twins.
    n = min(50, col.count())
    for i in range(0, len(ids), 256):
        got = col.query(query_embeddings=vectors[i : i + 256], n_results=n, include=["distances"])
        for cid, found, distances in zip(ids[i : i + 256], got["ids"], got["distances"]):
            if any(f == cid and d < 1e-3 for f, d in zip(found, distances)):
                continue
            if len(distances) == n and all(d < 1e-3 for d in distances):
                continue
            bad.add(cid)
    return bad


def _write(col, batch: list[Chunk], vectors: list, *, replace: bool = False) -> None:
    ids = [c.id for c in batch]
    if replace:  # a damaged record: upserting over it may not repair it, so delete and add again
        col.delete(ids=ids)
    col.upsert(ids=ids, documents=[c.text for c in batch], metadatas=[c.meta for c in batch], embeddings=vectors)


def _sync_document(col, store: ChunkStore, chunks: list[Chunk], embedder: Embedder, dim: int, bar) -> tuple[int, int, dict]:
    """Make every chunk present, equal and searchable; returns (embedded, rewritten without embedding,
    the chunks as read back from the store, vectors included)."""
    ids = [c.id for c in chunks]
    stored = store.get_chunks(col, ids, embeddings=True)
    todo = [c for c in chunks if not _healthy(stored.get(c.id), c, dim)]
    # Same text, different metadata (e.g. a new title in .meta.json): keep the stored vector.
    refit = [c for c in todo if stored.get(c.id) and stored[c.id]["text"] == c.text and _vector_ok(stored[c.id]["embedding"], dim)]
    refit_ids = {c.id for c in refit}
    fresh = [c for c in todo if c.id not in refit_ids]
    for n, i in enumerate(range(0, len(refit), EMBED_BATCH), start=1):
        batch = refit[i : i + EMBED_BATCH]
        _checkpoint(f"refit {n}")
        _write(col, batch, [list(stored[c.id]["embedding"]) for c in batch])
    bar.reset(total=len(fresh))
    embedded = 0
    for attempt in range(2):
        for n, i in enumerate(range(0, len(fresh), EMBED_BATCH), start=1):
            batch = fresh[i : i + EMBED_BATCH]
            _checkpoint(f"embed {n}")
            vectors = embedder.embed_passages([c.index_text for c in batch])
            _checkpoint(f"upsert {n}")
            _write(col, batch, vectors, replace=attempt > 0)
            embedded += len(batch)
            bar.update(len(batch))
        # Verify before the manifest names these ids: read back, then search each vector.
        stored = store.get_chunks(col, ids, embeddings=True)
        healthy = [c for c in chunks if _healthy(stored.get(c.id), c, dim)]
        broken = {c.id for c in chunks} - {c.id for c in healthy}
        unfound = _unsearchable(col, [c.id for c in healthy], [list(stored[c.id]["embedding"]) for c in healthy])
        if not broken and not unfound:
            return embedded, len(refit), stored
        if not broken and attempt > 0:
            # Rewritten and still not returned by their own vector: with many near-identical
            # passages the approximate (HNSW) search can miss a record that is stored correctly.
            logger.warning("%s chunks are stored but not found by their own vector (approximate index)", len(unfound))
            return embedded, len(refit), stored
        logger.warning("%s chunks are damaged in the store; writing them again", len(broken | unfound))
        fresh = [c for c in chunks if c.id in broken | unfound]
    raise StoreError(
        f"{len(broken)} chunks stay damaged in the store after a rewrite. Rebuild it: python -m ingest --rebuild"
    )


def _recheck_as_a_new_reader(settings: Settings, embedder_id: str, dim: int, chunks: list[Chunk]) -> int:
    """Search every chunk of this run from a store opened afresh; rewrite those it cannot find.
    Returns how many were rewritten.

    The checks in `_sync_document` search the index this process built in memory. A reader started
    later (`ask`, the app) loads the index from disk and replays Chroma's write-ahead log, which may
    rebuild a different graph, and the deletes at the end of the run come after those checks.
    Either way a live record can be left that no query reaches (chroma-core/chroma#7758), and then
    dense search never returns it. Measured: a re-run after a SIGKILL found every chunk itself, yet a
    new process could not find one (tests/test_crash.py). So the last check is made as such a reader
    makes it: this process's embedded Chroma is released and opened again from disk. (If another
    client in this process still holds it, Chroma keeps it open and this check sees that index.)
    A record still unfound after one rewrite is logged; its report is still found by keyword search.
    """
    by_id = {c.id: c for c in chunks}
    rewritten = 0
    for attempt in range(2):
        with ChunkStore(settings) as store:
            col = store.collection(embedder_id, dim, create=False)
            stored = store.get_chunks(col, list(by_id), embeddings=True)
            ids = [cid for cid in by_id if stored.get(cid) and _vector_ok(stored[cid]["embedding"], dim)]
            unfound = _unsearchable(col, ids, [list(stored[cid]["embedding"]) for cid in ids])
            if not unfound:
                return rewritten
            if attempt:
                logger.warning("%s chunks are stored but not found by their own vector in the index on disk", len(unfound))
                return rewritten
            logger.warning("%s chunks are not found by a new reader; writing them again", len(unfound))
            batch = [by_id[cid] for cid in ids if cid in unfound]
            _checkpoint("recheck rewrite")
            _write(col, batch, [list(stored[c.id]["embedding"]) for c in batch], replace=True)
            rewritten += len(batch)
    return rewritten


def _with_stored_metadata(col, store: ChunkStore, chunks: list[Chunk]) -> tuple[list[Chunk], int]:
    """The chunks, where the store holds one's text under its id with other metadata (a new
    title or year in .meta.json), with the stored metadata; and how many those are."""
    stored = store.get_chunks(col, [c.id for c in chunks])
    out: list[Chunk] = []
    for chunk in chunks:
        old = stored.get(chunk.id)
        if old and old["text"] == chunk.text and old["meta"] != chunk.meta:
            out.append(dataclasses.replace(chunk, meta=old["meta"]))
        else:
            out.append(chunk)
    return out, sum(a is not b for a, b in zip(out, chunks))


def _sync(col, store: ChunkStore, chunks: list[Chunk], embedder: Embedder, dim: int, label: str, progress: bool) -> tuple[int, int, dict]:
    bar = tqdm(total=0, desc=label[:40], unit="chunk", disable=not progress, leave=False)
    try:
        return _sync_document(col, store, chunks, embedder, dim, bar)
    finally:
        bar.close()


def _check_identities(prepared: list[tuple[SourceDocument, list[Chunk]]], previous: dict[str, dict], *, replace: bool, summary: IngestSummary) -> list[str]:
    """Refuse a silent replacement; returns the old identities of files now known by another one.

    A stored identity may be overwritten by the file it came from (same absolute path), by
    the very same text from elsewhere (a moved project: identical chunk ids), or with --replace.
    """
    by_path = {str(doc.path.resolve()): doc.source for doc, _ in prepared}
    renamed = sorted(
        old for old, entry in previous.items() if by_path.get(entry["meta"].get("path"), old) != old
    )
    for old in renamed:
        summary.renamed.append((old, by_path[previous[old]["meta"]["path"]]))
    for doc, chunks in prepared:
        entry = previous.get(doc.source)
        if entry is None or doc.source in renamed:
            continue
        old_path, new_path = entry["meta"].get("path"), str(doc.path.resolve())
        if not old_path or old_path == new_path or entry["ids"] == [c.id for c in chunks]:
            continue
        if not replace:
            raise DocumentError(
                f"The store already holds '{escape_controls(doc.source)}' from {escape_controls(old_path)}; "
                f"{escape_controls(new_path)} would replace it. Pass --replace to replace it, or ingest both "
                f"from their common parent folder so each keeps its own name."
            )
        summary.replaced.append((doc.source, old_path, new_path))
    return renamed


def ingest(
    paths: list[Path],
    settings: Settings,
    *,
    rebuild: bool = False,
    replace: bool = False,
    progress: bool = True,
    embedder: Embedder | None = None,
) -> IngestSummary:
    started = time.perf_counter()
    discovery = discover(paths)
    # Everything that can fail on bad input fails here, before the store is touched.
    prepared = [(doc, prepare_chunks(doc, settings)) for doc in (load(found) for found in discovery.files)]
    summary = IngestSummary(files=len(prepared), skipped=list(discovery.skipped))
    with ingest_lock(settings.data_dir), contextlib.ExitStack() as writing:
        _checkpoint("locked")
        embedder = embedder or get_embedder(settings)
        dim = len(embedder.embed_query("维度"))
        store = writing.enter_context(ChunkStore(settings))
        if rebuild:
            store.drop()
        col = store.collection(embedder.id, dim, create=True)
        renamed = _check_identities(prepared, store.read_manifest(), replace=replace, summary=summary)
        records: dict[str, tuple[list[str], dict]] = {}
        deferred: list[list[Chunk]] = []
        vectors: dict[str, list] = {}  # each document's vectors as Chroma holds them, for its vector file
        for n, (doc, chunks) in enumerate(prepared, start=1):
            _checkpoint(f"document {n}")
            # Pass 1: new text is embedded, stored and verified under ids no reader knows yet.
            # Chunks whose text is stored and only their metadata changed keep it for now.
            as_stored, pending = _with_stored_metadata(col, store, chunks)
            if pending:
                deferred.append(chunks)
            embedded, _, stored = _sync(col, store, as_stored, embedder, dim, doc.source, progress)
            vectors[doc.source] = [stored[c.id]["embedding"] for c in chunks]
            doc_meta = {k: v for k, v in doc.meta.items() if isinstance(v, (str, int, float, bool))}
            doc_meta.update(path=str(doc.path.resolve()), title=doc.title, chunks=len(chunks))
            records[doc.source] = ([c.id for c in chunks], doc_meta)
            summary.chunks += len(chunks)
            summary.embedded += embedded
            summary.tokens += sum(c.tokens for c in chunks)
            summary.chunk_chars.extend(len(c.text) for c in chunks)
            summary.sources.append(doc.source)
            logger.info("stored %s: %s chunks, %s embedded", doc.source, len(chunks), embedded)
        # Pass 2: metadata-only changes are written in place (readers see these records), so only
        # once every document's new text is safely stored: no embedding runs after the first one.
        for chunks in deferred:
            embedded, refitted, _ = _sync(col, store, chunks, embedder, dim, chunks[0].source, progress)
            summary.embedded += embedded
            summary.refitted += refitted
        # The lexical shards, complete on disk before the manifest names them (chatbot/retrieve/shards.py).
        shards: dict[str, str] = {}
        for n, (doc, chunks) in enumerate(prepared, start=1):
            _checkpoint(f"lexical {n}")
            shards[doc.source] = write_shard(
                settings.lexical_path, [c.id for c in chunks], [c.meta["terms"].split() for c in chunks],
                before_rename=lambda: _checkpoint("lexical rename"),
            )
        # The vector files, for routed questions' exact dense scan (chatbot/retrieve/vectors.py).
        vector_files: dict[str, str] = {}
        for n, (doc, chunks) in enumerate(prepared, start=1):
            _checkpoint(f"vectors {n}")
            vector_files[doc.source] = write_vectors(
                settings.lexical_path, [c.id for c in chunks], vectors[doc.source], embedder.id,
                before_rename=lambda: _checkpoint("vectors rename"),
            )
        # The switch: readers move from the previous complete state to this one at once.
        previous = store.read_manifest().values()
        previous_shards = {entry.get("lexical") for entry in previous} - {None}
        previous_vectors = {entry.get("vectors") for entry in previous} - {None}
        _checkpoint("manifest")
        store.write_manifests(records, shards, vector_files)
        gone = [old for old in renamed if old not in records]
        if gone:
            store.remove_from_manifest(*gone)
        for source in [*records, *gone]:
            keep = set(records[source][0]) if source in records else set()
            stale = sorted(set(store.ids_where(col, {"source": source})) - keep)
            if stale:
                _checkpoint("delete")
                col.delete(ids=stale)
                summary.deleted += len(stale)
                logger.info("deleted %s stale chunks of %s", len(stale), source)
        version = store.manifest_version()
        manifest = store.read_manifest()
        if store.manifest_version() == version:  # replicas load this file instead of Chroma's records
            write_snapshot(settings.lexical_path, version, manifest)
        current = manifest.values()
        live = [entry["lexical"] for entry in current if entry.get("lexical")]
        named, named_vectors = set(live), {entry.get("vectors") for entry in current} - {None}
        retire(settings.lexical_path, previous_shards - named)
        retire(settings.lexical_path, previous_vectors - named_vectors, VECTOR_SUFFIX)
        # Many shards merged into few segments, for questions that search every report (segments.py).
        _checkpoint("compact")
        compact(settings.lexical_path, live, before_rename=lambda: _checkpoint("segment rename"))
        removed = (remove_stale(settings.lexical_path, named) + remove_unused(settings.lexical_path, live)
                   + remove_stale(settings.lexical_path, named_vectors, suffix=VECTOR_SUFFIX)
                   + remove_stale(settings.lexical_path, {snapshot_name(version)}, suffix=SNAPSHOT_SUFFIX))
        if removed:
            logger.info("removed %s unused lexical shard and segment files", removed)
        writing.close()  # releases this process's Chroma client, so that the check below opens it again
        _checkpoint("recheck")
        summary.rewritten = _recheck_as_a_new_reader(settings, embedder.id, dim, [c for _, chunks in prepared for c in chunks])
    summary.seconds = time.perf_counter() - started
    return summary
