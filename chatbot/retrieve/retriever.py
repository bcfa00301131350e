"""Hybrid retrieval: dense search in Chroma plus BM25 over jieba words and bigrams.

Fusion is a weighted sum of normalised scores rather than reciprocal rank
fusion: RRF throws away how far apart the scores are, so a passage that BM25
finds far better than the rest cannot outvote a mediocre dense match. The
weights and the candidate depth are chosen on the tuning half of the QA set
(`python -m chatbot eval --baselines`).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from chatbot.errors import StoreNotReadyError
from chatbot.question.query import expansions, resolve_relative_years
from chatbot.question.routing import stored_city_names, substrings_in
from chatbot.reports import base_year
from chatbot.retrieve.bilingual import english_expansions
from chatbot.retrieve.embedders import Embedder
from chatbot.retrieve.segments import SUFFIX as SEGMENT_SUFFIX
from chatbot.retrieve.segments import Segment, list_segments
from chatbot.retrieve.sharded_index import ShardedIndex, best_columns
from chatbot.retrieve.shards import SUFFIX as SHARD_SUFFIX
from chatbot.retrieve.shards import LazyShard, Shard, ids_digest
from chatbot.retrieve.snapshots import read_snapshot
from chatbot.retrieve.store import ChunkStore
from chatbot.retrieve.vectors import SUFFIX as VECTOR_SUFFIX
from chatbot.retrieve.vectors import open_vectors
from chatbot.segmentation import tokenize
from chatbot.settings import Settings
from chatbot.types import Passage

logger = logging.getLogger(__name__)

Mode = Literal["hybrid", "bm25", "dense", "rrf"]

LEXICAL_WEIGHT = 0.75  # share of the BM25 signal in the fused score: the middle of the 0.65–0.85 plateau on the tuning split
EXPANSION_WEIGHT = 0.5  # everyday-word expansions count half as much as the user's own words
CONTEXT_WEIGHT = 0.5  # the previous question's words count half, like expansions (0.3 lost one of 11 tuning follow-ups)
CANDIDATES = 40
RRF_K = 60
REFRESH_SECONDS = 2.0
STALE_CHECK = 20.0  # a snapshot checked longer ago than this is re-checked before a question is answered
CHUNK_CACHE = 2048  # fetched passages kept per replica
EXACT_SORT_LIMIT = 50_000  # above this many candidates, best_columns instead of a full sort
EXACT_DENSE_LIMIT = 5_000  # routed to at most this many chunks: exact dense scan instead of Chroma's filtered search
VECTOR_CACHE = 20_000  # stored vectors kept per replica for routed questions (~30 MB at 384 dimensions)


@dataclass
class Query:
    text: str  # what is embedded
    tokens: list[str]
    expansion_tokens: list[str] = field(default_factory=list)
    context_tokens: list[str] = field(default_factory=list)


def build_query(
    question: str, year: int, known: Callable[[str], bool] | None = None, subjects: CityNames | None = None
) -> Query:
    """`known` tells which words the index holds; English questions are translated only into those.

    `subjects` matches the stored reports' own city names. They are left out of the
    BM25 query: every passage of a report is about its city, so "常德" in a question
    only pulls it towards the passages that happen to repeat the name. Routing has
    already used the name to choose the report.
    """
    text = resolve_relative_years(question, year)
    lexical_text = subjects.sub(" ", text) if subjects is not None else text
    extra = expansion_terms(lexical_text, known)
    return Query(text=text, tokens=tokenize(lexical_text), expansion_tokens=[t for term in extra for t in tokenize(term)])


def expansion_terms(text: str, known: Callable[[str], bool] | None = None) -> list[str]:
    """The words a search adds to a question: everyday terms, and English translated into `known` words."""
    terms = expansions(text)
    if known is not None:
        terms += [word for word in english_expansions(text, known) if word not in terms]
    return terms


class CityNames:
    """The stored reports' city names, removed from a question's BM25 words (`build_query`).

    Acts like one case-insensitive alternation of every name, longest first, but compiles only
    the names the text holds: the alternation of thousands of names took ~1 s to compile at 900
    reports, at every replica start and every new manifest version."""

    def __init__(self, names: set[str]) -> None:
        ordered = sorted(names, key=len, reverse=True)
        self._names = ordered
        self._where: dict[str, list[int]] = {}
        for n, name in enumerate(ordered):
            self._where.setdefault(name.lower(), []).append(n)
        self._lengths = tuple(sorted({len(k) for k in self._where}))

    def sub(self, repl: str, text: str) -> str:
        present = [self._names[n] for n in substrings_in(text, self._where, self._lengths)]
        if not present:
            return text
        return re.compile("|".join(re.escape(n) for n in present), re.I).sub(repl, text)


def subject_pattern(documents: dict[str, dict]) -> CityNames | None:
    names = stored_city_names(documents)
    return CityNames(names) if names else None


@dataclass(frozen=True)
class _Snapshot:
    """Everything a search reads, swapped in one assignment when an ingest completes.

    Chunk texts are not held: a replica fetches the passages it returns from Chroma
    (`fetch_chunks`), so its memory does not grow with the store's text.
    """

    version: str | None = None
    ids: tuple[str, ...] = ()
    pos: dict[str, int] = field(default_factory=dict)
    lexical: ShardedIndex = field(default_factory=lambda: ShardedIndex([]))
    sources: tuple[str, ...] = ()  # shard order: the manifest's
    vectors: tuple[str | None, ...] = ()  # each report's vector file (vectors.py), in shard order
    documents: dict[str, dict] = field(default_factory=dict)
    subjects: CityNames | None = None  # the reports' city names, see build_query
    _fields: dict[str, dict[object, set[int]] | None] = field(default_factory=dict)  # see shards_for

    def shards_for(self, where: dict | None) -> list[int] | None:
        """The shards a filter on report fields (city, year, source ...) keeps; None: every shard.

        A key that is not a report field cannot be decided per report: None, and the caller
        filters chunk by chunk. Looked up in a per-field index built once per snapshot
        (scanning every report's fields cost ~5 ms a question at 900 reports).
        """
        if not where:
            return None
        keep: set[int] | None = None
        for key, value in where.items():
            index = self._field_index(key)
            if index is None:
                return None
            found = index.get(_hashable(value), set())
            keep = found if keep is None else keep & found
        return sorted(keep or ())

    def _field_index(self, key: str) -> dict[object, set[int]] | None:
        """value -> shards whose report has it, for one field; None if some report lacks the field."""
        if key not in self._fields:
            index: dict[object, set[int]] | None = {}
            for n, source in enumerate(self.sources):
                meta = dict(self.documents.get(source, {}), source=source)
                if key not in meta:
                    index = None
                    break
                index.setdefault(_hashable(meta[key]), set()).add(n)
            self._fields[key] = index
        return self._fields[key]


def _hashable(value: object) -> object:
    """A field value as a dict key that compares as `==` did (1 == 1.0 == True stay equal)."""
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value


class Retriever:
    """Answers from the manifest's ids only: the last complete ingest."""

    def __init__(self, settings: Settings, embedder: Embedder, store: ChunkStore | None = None) -> None:
        self.settings = settings
        self.embedder = embedder
        self.store = store or ChunkStore(settings)
        self._lock = threading.Lock()  # the caches and the snapshot swap
        self._refresh_lock = threading.Lock()  # one manifest check at a time
        self._refreshing = False
        self._checked_at = 0.0
        self._collection = None
        self._state = _Snapshot()
        self._shards: dict[str, LazyShard] = {}  # shard files by name (opened at first use), kept across versions
        self._segments: dict[str, Segment] = {}  # opened segment files by name
        self._vector_files: dict[str, np.ndarray | None] = {}  # vector files by name (memory-mapped; None: unusable)
        self._chunk_cache: OrderedDict[str, dict] = OrderedDict()
        self._vector_cache: OrderedDict[str, list[float]] = OrderedDict()
        self._query_cache: dict[str, list[float]] = {}
        # jieba reads its dictionary at first use (1-3 s): meanwhile the manifest is read.
        threading.Thread(target=tokenize, args=("预热",), name="jieba-warmup", daemon=True).start()
        self.refresh(force=True)

    # --- state ------------------------------------------------------------
    def refresh(self, force: bool = False) -> None:
        """Re-read the manifest if it changed (at most every REFRESH_SECONDS unless forced).

        Holds its own lock, not the search caches' one: questions keep being answered from the
        current snapshot while a new one is loaded, and the swap is one assignment."""
        now = time.monotonic()
        if not force and now - self._checked_at < REFRESH_SECONDS:
            return
        with self._refresh_lock:
            if not force and time.monotonic() - self._checked_at < REFRESH_SECONDS:
                return  # another thread just checked
            self._checked_at = now
            dim = len(self.embedder.embed_query("维度")) if self._collection is None else None
            if self._collection is None:
                self._collection = self.store.collection(self.embedder.id, dim or 0, create=False)
            version = self.store.manifest_version()
            if version == self._state.version:
                return
            manifest = read_snapshot(self.settings.lexical_path, version) or self.store.read_manifest()
            ids = [cid for entry in manifest.values() for cid in entry["ids"]]
            if not ids:
                raise StoreNotReadyError(
                    "The store holds no report yet. Add one: python -m ingest FILE_OR_FOLDER "
                    "(a NAME.meta.json beside each report gives its title, city and year)."
                )
            folder = self.settings.lexical_path  # a computed setting: read once, not per report
            shards = {source: self._shard(source, entry, folder) for source, entry in manifest.items()}
            names = [entry.get("lexical") if self._shards.get(entry.get("lexical")) is shards[source] else None
                     for source, entry in manifest.items()]
            live = {id(shard) for shard in shards.values()}
            self._shards = {name: shard for name, shard in self._shards.items() if id(shard) in live}
            documents = {source: entry["meta"] for source, entry in manifest.items()}
            state = _Snapshot(
                version=version,
                ids=tuple(ids),
                pos={cid: i for i, cid in enumerate(ids)},
                lexical=ShardedIndex(list(shards.values()), names, self._open_segments()),
                sources=tuple(shards),
                vectors=tuple(entry.get("vectors") for entry in manifest.values()),
                documents=documents,
                subjects=subject_pattern(documents),
            )
            with self._lock:
                self._state = state
                self._chunk_cache.clear()
                self._vector_cache.clear()
                named = set(state.vectors)
                self._vector_files = {name: m for name, m in self._vector_files.items() if name in named}
            logger.info("retriever loaded %s chunks from %s documents", len(ids), len(manifest))

    def _open_segments(self) -> list[Segment]:
        """The lexical folder's segments (segments.py), opened once each; one that cannot be
        read is skipped (its shards are then scored one by one: same answers, slower)."""
        folder = self.settings.lexical_path
        opened = {}
        for name in list_segments(folder):
            segment = self._segments.get(name)
            if segment is None:
                try:
                    segment = Segment.open(folder / f"{name}{SEGMENT_SUFFIX}")
                except (OSError, ValueError) as exc:
                    logger.warning("skipping the lexical segment %s: %s", name, exc)
                    continue
            opened[name] = segment
        self._segments = opened
        return list(opened.values())

    def _shard(self, source: str, entry: dict, folder: Path) -> Shard | LazyShard:
        """The report's persisted shard (memory-mapped at its first use), or, if this replica cannot
        read it (a store ingested before shards existed, or CHATBOT_LEXICAL_DIR not shared), one built
        from the terms stored in Chroma."""
        name = entry.get("lexical")
        if name in self._shards:
            return self._shards[name]
        if not name:
            return self._build_shard(entry)
        path = folder / f"{name}{SHARD_SUFFIX}"

        def open_file() -> Shard:
            try:
                shard = Shard.open(path)
                if shard.n_docs == len(entry["ids"]) and shard.ids_sha == ids_digest(entry["ids"]):
                    return shard
                logger.warning("the lexical shard %s does not match the manifest of %s; rebuilding it", path, source)
            except (OSError, ValueError) as exc:
                logger.warning("cannot open the lexical shard of %s (%s); building it from the store. "
                               "Point CHATBOT_LEXICAL_DIR at the ingest's lexical folder.", source, exc)
            return self._build_shard(entry)

        self._shards[name] = LazyShard(len(entry["ids"]), open_file)
        return self._shards[name]

    def _build_shard(self, entry: dict) -> Shard:
        chunks = self.store.get_chunks(self._collection, entry["ids"])
        missing = len(entry["ids"]) - len(chunks)
        if missing:
            logger.warning("%s chunks of the manifest are missing from the store; re-run ingest", missing)
        # the stored terms already hold the document-side expansions (ingest/pipeline.py)
        return Shard.build(entry["ids"], [chunks.get(c, {}).get("meta", {}).get("terms", "").split() for c in entry["ids"]])

    def _refresh_soon(self) -> None:
        """The manifest check a question triggers. After a short pause it runs in the background:
        reading the manifest's stamps costs ~0.1 s at 900 reports and ~0.3 s at 2,700, which a
        question should not wait for (it answers from the current snapshot; the next one sees
        the new version). A replica idle for longer than STALE_CHECK checks before answering, so
        its first question after a quiet spell is not answered from an old state."""
        age = time.monotonic() - self._checked_at
        if age < REFRESH_SECONDS:
            return
        if age >= STALE_CHECK:
            self.refresh()
            return
        if self._refreshing:
            return
        self._refreshing = True

        def run() -> None:
            try:
                self.refresh()
            except Exception as exc:  # noqa: BLE001 - logged; the next question tries again
                logger.warning("could not re-read the manifest: %s", exc)
            finally:
                self._refreshing = False

        threading.Thread(target=run, name="retriever-refresh", daemon=True).start()

    @property
    def documents(self) -> dict[str, dict]:
        return self._state.documents

    @property
    def _ids(self) -> tuple[str, ...]:
        return self._state.ids

    def __len__(self) -> int:
        return len(self._state.ids)

    def all_chunks(self) -> dict[str, dict]:
        """Every stored chunk's text and metadata, read from Chroma (not cached: a whole store is large)."""
        return self.store.get_chunks(self._collection, list(self._state.ids))

    def fetch_chunks(self, ids: list[str]) -> dict[str, dict]:
        """Texts and metadata of these chunks, from Chroma, through a small cache."""
        with self._lock:
            out = {cid: self._chunk_cache[cid] for cid in ids if cid in self._chunk_cache}
        todo = [cid for cid in ids if cid not in out]
        if todo:
            got = self.store.get_chunks(self._collection, todo)
            out.update(got)
            with self._lock:
                self._chunk_cache.update(got)
                while len(self._chunk_cache) > CHUNK_CACHE:
                    self._chunk_cache.popitem(last=False)
        return out

    def _embed_query(self, text: str) -> list[float]:
        """Query vectors are cached: follow-ups, retries and the eval ask the same text twice."""
        with self._lock:
            if text in self._query_cache:
                return self._query_cache[text]
        vector = self.embedder.embed_query(text)
        with self._lock:
            self._query_cache[text] = vector
            if len(self._query_cache) > 512:
                self._query_cache.pop(next(iter(self._query_cache)))
        return vector

    # --- search -----------------------------------------------------------
    def search(
        self,
        question: str,
        k: int,
        *,
        mode: Mode = "hybrid",
        where: dict | None = None,
        year: int | None = None,
        context: str | None = None,
    ) -> list[Passage]:
        """`context`: the conversation's previous question, a weak BM25 hint for a follow-up.

        A `where` on report fields (what routing produces) searches only those reports' shards.
        """
        self._refresh_soon()
        state = self._state  # one consistent view, even if an ingest completes meanwhile
        year = year or base_year(question, state.documents, self.settings.report_year)
        query = build_query(question, year, state.lexical.has, state.subjects)
        if context:
            query.context_tokens = build_query(context, year, state.lexical.has, state.subjects).tokens
        scores: dict[str, dict[str, float]] = {}
        if mode != "dense":
            for cid, value in self._lexical_scores(state, query, where).items():
                scores.setdefault(cid, {})["bm25"] = value
        if mode != "bm25":
            for cid, value in self._dense_scores(state, query, where).items():
                scores.setdefault(cid, {})["dense"] = value
        fused = self._fuse(scores, mode)
        ranked = sorted(fused.items(), key=lambda item: (-item[1], state.pos[item[0]]))
        chunks = self.fetch_chunks([cid for cid, _ in ranked[: k + 10]])
        ranked = [(cid, score) for cid, score in ranked if cid in chunks][:k]  # a chunk lost from Chroma is skipped
        return [self._passage(cid, chunks[cid], score, scores[cid]) for cid, score in ranked]

    def _lexical_scores(self, state: _Snapshot, query: Query, where: dict | None) -> dict[str, float]:
        selected = state.shards_for(where)
        rows, positions = state.lexical.scores([query.tokens, query.expansion_tokens, query.context_tokens], selected)
        scores = rows[0]
        if query.expansion_tokens:
            scores = scores + EXPANSION_WEIGHT * rows[1]
        if query.context_tokens:
            scores = scores + CONTEXT_WEIGHT * rows[2]
        if where and selected is None:  # a filter on chunk fields: ask the store which chunks pass
            allowed = set(self.store.ids_where(self._collection, _chroma_where(where)))
            scores = np.where([state.ids[p] in allowed for p in positions], scores, 0.0)
        if len(scores) <= EXACT_SORT_LIMIT:  # the order of ties as before shards (argsort is not stable)
            top = np.argsort(-scores)[:CANDIDATES]
        else:
            top = best_columns(scores, CANDIDATES)
        return {state.ids[positions[i]]: float(scores[i]) for i in top if scores[i] > 0}

    def _dense_scores(self, state: _Snapshot, query: Query, where: dict | None) -> dict[str, float]:
        vector = self._embed_query(query.text)
        selected = state.shards_for(where)
        if selected is not None and sum(state.lexical.shards[s].n_docs for s in selected) <= EXACT_DENSE_LIMIT:
            return self._exact_dense_scores(state, vector, selected)
        # No count() first to cap n_results: Chroma returns what it holds when that is fewer (the
        # same result), and counting cost a round trip that grows with the store (16 ms at 127k chunks,
        # ~60 ms at 300k in a replica under load).
        result = self._collection.query(
            query_embeddings=[vector], n_results=CANDIDATES + 10, include=["distances"], where=_chroma_where(where)
        )
        out: dict[str, float] = {}
        for cid, distance in zip(result["ids"][0], result["distances"][0]):
            if cid in state.pos:  # skip chunks of an unfinished ingest
                out[cid] = 1.0 - float(distance)
        return out

    def _exact_dense_scores(self, state: _Snapshot, vector: list[float], selected: list[int]) -> dict[str, float]:
        """Cosine similarity against every vector of the routed reports.

        Chroma's HNSW search with a metadata filter costs ~300 ms p95 at 100k chunks (it scans
        the metadata first; benchmarks/bench_scale.py); one matrix product over a few hundred
        vectors costs a few ms, and the search is exact. The vectors come from the report's
        memory-mapped vector file (vectors.py), else from Chroma by id.
        """
        present, parts = [], []
        for s in selected:
            ids = list(state.ids[state.lexical.offsets[s] : state.lexical.offsets[s + 1]])
            matrix = self._vector_file(state.vectors[s] if s < len(state.vectors) else None, ids)
            if matrix is None:
                fetched = self._vectors(ids)
                ids = [cid for cid in ids if cid in fetched]
                matrix = np.asarray([fetched[cid] for cid in ids], dtype=np.float32).reshape(len(ids), -1)
            present += ids
            parts.append(matrix)
        if not present:
            return {}
        matrix = np.concatenate(parts).astype(np.float64) if len(parts) > 1 else np.asarray(parts[0], dtype=np.float64)
        q = np.asarray(vector, dtype=np.float64)
        cosine = matrix @ q / np.maximum(np.linalg.norm(matrix, axis=1) * np.linalg.norm(q), 1e-12)
        top = np.argsort(-cosine, kind="stable")[: CANDIDATES + 10]
        return {present[i]: float(cosine[i]) for i in top}

    def _vector_file(self, name: str | None, ids: list[str]) -> np.ndarray | None:
        """The report's vectors from its file, or None (no file named, or unreadable: Chroma then)."""
        if not name:
            return None
        with self._lock:
            if name in self._vector_files:
                return self._vector_files[name]
        path = self.settings.lexical_path / f"{name}{VECTOR_SUFFIX}"
        try:
            matrix = open_vectors(path, ids, self.embedder.id)
        except (OSError, ValueError, KeyError) as exc:
            logger.warning("cannot use the vector file %s (%s); fetching the vectors from the store", path, exc)
            matrix = None
        with self._lock:
            self._vector_files[name] = matrix  # a failure too: warned once, not at every question
        return matrix

    def _vectors(self, ids: list[str]) -> dict[str, list[float]]:
        """Stored vectors by chunk id, through a small cache (a routed report is asked again)."""
        with self._lock:
            out = {cid: self._vector_cache[cid] for cid in ids if cid in self._vector_cache}
        todo = [cid for cid in ids if cid not in out]
        for i in range(0, len(todo), 500):
            got = self._collection.get(ids=todo[i : i + 500], include=["embeddings"])
            fetched = dict(zip(got["ids"], got["embeddings"]))
            out.update(fetched)
            with self._lock:
                self._vector_cache.update(fetched)
                while len(self._vector_cache) > VECTOR_CACHE:
                    self._vector_cache.popitem(last=False)
        return out

    @staticmethod
    def _fuse(scores: dict[str, dict[str, float]], mode: Mode) -> dict[str, float]:
        if mode in ("bm25", "dense"):
            return {cid: s.get(mode, 0.0) for cid, s in scores.items() if mode in s}
        if mode == "rrf":
            fused: dict[str, float] = {}
            for signal in ("bm25", "dense"):
                ranked = sorted((c for c in scores if signal in scores[c]), key=lambda c: -scores[c][signal])
                for rank, cid in enumerate(ranked):
                    fused[cid] = fused.get(cid, 0.0) + 1.0 / (RRF_K + rank + 1)
            return fused
        bm25 = [s["bm25"] for s in scores.values() if "bm25" in s]
        dense = [s["dense"] for s in scores.values() if "dense" in s]
        top_bm25 = max(bm25, default=0.0) or 1.0
        low, high = (min(dense), max(dense)) if dense else (0.0, 1.0)
        span = (high - low) or 1.0
        return {
            cid: LEXICAL_WEIGHT * s.get("bm25", 0.0) / top_bm25
            + (1 - LEXICAL_WEIGHT) * ((s["dense"] - low) / span if "dense" in s else 0.0)
            for cid, s in scores.items()
        }

    @staticmethod
    def _passage(cid: str, chunk: dict, score: float, signals: dict[str, float]) -> Passage:
        meta = chunk["meta"]
        return Passage(
            chunk_id=cid,
            text=chunk["text"],
            score=score,
            source=meta.get("source", ""),
            section=meta.get("section", ""),
            page=meta.get("page"),
            start=int(meta.get("start", 0)),
            end=int(meta.get("end", 0)),
            title=meta.get("title", ""),
            city=meta.get("city"),
            year=meta.get("year"),
            index=int(meta.get("index", 0)),
            signals=signals,
        )

    def expansion_terms(self, question: str) -> list[str]:
        """The words a search for `question` adds to it (see `expansion_terms`), for the answerer."""
        year = base_year(question, self._state.documents, self.settings.report_year)
        return expansion_terms(resolve_relative_years(question, year), self._state.lexical.has)

    def idf(self, token: str) -> float:
        return self._state.lexical.idf(token)

    def document_chunks(self, source: str) -> list[Passage]:
        """All chunks of one document in reading order, for the full-text view."""
        self.refresh()
        state = self._state
        start = state.sources.index(source) if source in state.sources else -1
        if start < 0:
            return []
        ids = list(state.ids[state.lexical.offsets[start] : state.lexical.offsets[start + 1]])
        chunks = self.store.get_chunks(self._collection, ids)
        rows = sorted(((cid, chunks[cid]) for cid in ids if cid in chunks), key=lambda row: int(row[1]["meta"].get("index", 0)))
        return [self._passage(cid, chunk, 0.0, {}) for cid, chunk in rows]


def _chroma_where(where: dict | None) -> dict | None:
    if not where:
        return None
    if len(where) == 1:
        return dict(where)
    return {"$and": [{k: v} for k, v in where.items()]}
