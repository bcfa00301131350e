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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from chatbot.errors import StoreNotReadyError
from chatbot.question.query import expansions, resolve_relative_years
from chatbot.question.routing import stored_city_names
from chatbot.reports import base_year
from chatbot.retrieve.bilingual import english_expansions
from chatbot.retrieve.embedders import Embedder
from chatbot.retrieve.lexical import LexicalIndex
from chatbot.retrieve.store import ChunkStore
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


@dataclass
class Query:
    text: str  # what is embedded
    tokens: list[str]
    expansion_tokens: list[str] = field(default_factory=list)
    context_tokens: list[str] = field(default_factory=list)


def build_query(
    question: str, year: int, known: Callable[[str], bool] | None = None, subjects: re.Pattern | None = None
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


def subject_pattern(documents: dict[str, dict]) -> re.Pattern | None:
    names = stored_city_names(documents)
    if not names:
        return None
    return re.compile("|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)), re.I)


@dataclass(frozen=True)
class _Snapshot:
    """Everything a search reads, swapped in one assignment when an ingest completes."""

    version: str | None = None
    ids: tuple[str, ...] = ()
    pos: dict[str, int] = field(default_factory=dict)
    lexical: LexicalIndex = field(default_factory=lambda: LexicalIndex([], []))
    chunks: dict[str, dict] = field(default_factory=dict)
    documents: dict[str, dict] = field(default_factory=dict)
    columns: dict[str, np.ndarray] = field(default_factory=dict)  # metadata key -> values, built on demand
    subjects: re.Pattern | None = None  # the reports' city names, see build_query

    def column(self, key: str) -> np.ndarray:
        """One metadata field of every chunk, in id order, for fast filtering."""
        if key not in self.columns:
            values = np.empty(len(self.ids), dtype=object)
            values[:] = [self.chunks[c]["meta"].get(key) for c in self.ids]
            self.columns[key] = values
        return self.columns[key]


class Retriever:
    """Answers from the manifest's ids only: the last complete ingest."""

    def __init__(self, settings: Settings, embedder: Embedder, store: ChunkStore | None = None) -> None:
        self.settings = settings
        self.embedder = embedder
        self.store = store or ChunkStore(settings)
        self._lock = threading.Lock()
        self._checked_at = 0.0
        self._collection = None
        self._state = _Snapshot()
        self._query_cache: dict[str, list[float]] = {}
        self.refresh(force=True)

    # --- state ------------------------------------------------------------
    def refresh(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._checked_at < REFRESH_SECONDS:
            return
        with self._lock:
            self._checked_at = now
            dim = len(self.embedder.embed_query("维度")) if self._collection is None else None
            if self._collection is None:
                self._collection = self.store.collection(self.embedder.id, dim or 0, create=False)
            version = self.store.manifest_version()
            if version == self._state.version:
                return
            manifest = self.store.read_manifest()
            ids = [cid for entry in manifest.values() for cid in entry["ids"]]
            if not ids:
                raise StoreNotReadyError(
                    "The store holds no report yet. Add one: python -m ingest FILE_OR_FOLDER "
                    "(a NAME.meta.json beside each report gives its title, city and year)."
                )
            chunks = self.store.get_chunks(self._collection, ids)
            missing = len(ids) - len(chunks)
            if missing:
                logger.warning("%s chunks of the manifest are missing from the store; re-run ingest", missing)
            ordered = [cid for cid in ids if cid in chunks]
            self._state = _Snapshot(
                version=version,
                ids=tuple(ordered),
                pos={cid: i for i, cid in enumerate(ordered)},
                # the stored terms already hold the document-side expansions (ingest/pipeline.py)
                lexical=LexicalIndex(ordered, [chunks[c]["meta"].get("terms", "").split() for c in ordered]),
                chunks=chunks,
                documents={source: entry["meta"] for source, entry in manifest.items()},
                subjects=subject_pattern({source: entry["meta"] for source, entry in manifest.items()}),
            )
            logger.info("retriever loaded %s chunks from %s documents", len(ordered), len(manifest))

    @property
    def chunks(self) -> dict[str, dict]:
        return self._state.chunks

    @property
    def documents(self) -> dict[str, dict]:
        return self._state.documents

    @property
    def _ids(self) -> tuple[str, ...]:
        return self._state.ids

    def __len__(self) -> int:
        return len(self._state.ids)

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
        """`context`: the conversation's previous question, a weak BM25 hint for a follow-up."""
        self.refresh()
        state = self._state  # one consistent view, even if an ingest completes meanwhile
        year = year or base_year(question, state.documents, self.settings.report_year)
        query = build_query(question, year, state.lexical.has, state.subjects)
        if context:
            query.context_tokens = build_query(context, year, state.lexical.has, state.subjects).tokens
        allowed = self._allowed(state, where)
        scores: dict[str, dict[str, float]] = {}
        if mode != "dense":
            for cid, value in self._lexical_scores(state, query, allowed).items():
                scores.setdefault(cid, {})["bm25"] = value
        if mode != "bm25":
            for cid, value in self._dense_scores(state, query, where).items():
                scores.setdefault(cid, {})["dense"] = value
        fused = self._fuse(scores, mode)
        ranked = sorted(fused.items(), key=lambda item: (-item[1], state.pos[item[0]]))[:k]
        return [self._passage(state, cid, score, scores[cid]) for cid, score in ranked]

    @staticmethod
    def _allowed(state: _Snapshot, where: dict | None) -> np.ndarray | None:
        if not where:
            return None
        mask = np.ones(len(state.ids), dtype=bool)
        for key, value in where.items():
            mask &= state.column(key) == value
        return mask

    @staticmethod
    def _lexical_scores(state: _Snapshot, query: Query, allowed: np.ndarray | None) -> dict[str, float]:
        scores = state.lexical.scores(query.tokens)
        if query.expansion_tokens:
            scores = scores + EXPANSION_WEIGHT * state.lexical.scores(query.expansion_tokens)
        if query.context_tokens:
            scores = scores + CONTEXT_WEIGHT * state.lexical.scores(query.context_tokens)
        if allowed is not None:
            scores = np.where(allowed, scores, 0.0)
        top = np.argsort(-scores)[:CANDIDATES]
        return {state.ids[i]: float(scores[i]) for i in top if scores[i] > 0}

    def _dense_scores(self, state: _Snapshot, query: Query, where: dict | None) -> dict[str, float]:
        vector = self._embed_query(query.text)
        n = min(CANDIDATES + 10, self._collection.count())
        if n == 0:
            return {}
        result = self._collection.query(
            query_embeddings=[vector], n_results=n, include=["distances"], where=_chroma_where(where)
        )
        out: dict[str, float] = {}
        for cid, distance in zip(result["ids"][0], result["distances"][0]):
            if cid in state.pos:  # skip chunks of an unfinished ingest
                out[cid] = 1.0 - float(distance)
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
    def _passage(state: _Snapshot, cid: str, score: float, signals: dict[str, float]) -> Passage:
        chunk = state.chunks[cid]
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
        rows = [(cid, c) for cid, c in state.chunks.items() if c["meta"].get("source") == source]
        rows.sort(key=lambda row: int(row[1]["meta"].get("index", 0)))
        return [self._passage(state, cid, 0.0, {}) for cid, _ in rows]


def _chroma_where(where: dict | None) -> dict | None:
    if not where:
        return None
    if len(where) == 1:
        return dict(where)
    return {"$and": [{k: v} for k, v in where.items()]}
