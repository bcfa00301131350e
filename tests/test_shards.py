"""The persisted per-report lexical shards (chatbot/retrieve/shards.py, chatbot/retrieve/sharded_index.py).

Round trip (written, memory-mapped, scored exactly like bm25s), a version switch seen by a
running replica, a replica without the shard file, global idf across shards, and routing that
touches one report's shard only. The crash mid-write is in tests/test_crash.py.
"""

from __future__ import annotations

import json
import os

import bm25s
import numpy as np
import pytest

from chatbot.question.routing import route
from chatbot.retrieve.embedders import get_embedder
from chatbot.retrieve.retriever import Retriever, build_query
from chatbot.retrieve.segments import Segment
from chatbot.retrieve.sharded_index import ShardedIndex
from chatbot.retrieve.shards import SUFFIX, Shard, idf, remove_stale, write_shard
from chatbot.retrieve.store import ChunkStore
from chatbot.retrieve.vectors import SUFFIX as VECTOR_SUFFIX
from chatbot.retrieve.vectors import open_vectors
from chatbot.settings import Settings
from ingest.loaders import load
from ingest.pipeline import ingest, prepare_chunks
from tests.conftest import SEED
from tests.test_routing import make_variants  # scripts/make_variants.py, loaded once

REPORT = SEED.name
QUESTIONS = ["2023年地区生产总值预期增长多少？", "快递小哥有什么政策", "旅游收入是多少", "How did the city respond to the extreme heat?"]


@pytest.fixture(scope="module")
def embedder():
    return get_embedder(Settings())


@pytest.fixture(scope="module")
def seed_terms():
    chunks = prepare_chunks(load(SEED), Settings())
    return [c.id for c in chunks], [c.meta["terms"].split() for c in chunks]


def test_round_trip_scores_exactly_like_bm25s(tmp_path, seed_terms):
    ids, terms = seed_terms
    name = write_shard(tmp_path, ids, terms)
    path = tmp_path / f"{name}{SUFFIX}"
    mtime = path.stat().st_mtime_ns
    assert write_shard(tmp_path, ids, terms) == name and path.stat().st_mtime_ns == mtime  # same version: kept
    assert write_shard(tmp_path, ids, terms[:-1] + [["另一个"]]) != name  # other terms: another version
    shard = Shard.open(path)
    assert isinstance(shard.data.base, np.memmap) and shard.n_docs == len(ids)
    assert all(np.all(np.diff(shard.indices[shard.indptr[k] : shard.indptr[k + 1]]) > 0) for k in range(len(shard.hashes)))
    index = ShardedIndex([shard])
    reference = bm25s.BM25()
    reference.index(terms, show_progress=False)
    df = {}
    for tokens in terms:
        for token in set(tokens):
            df[token] = df.get(token, 0) + 1

    def reference_scores(tokens):  # what every replica computed when it rebuilt the index in memory
        known = [t for t in tokens if t in df]
        return reference.get_scores(known) if known else np.zeros(len(ids), dtype=np.float32)

    for question in QUESTIONS:
        tokens = build_query(question, 2023).tokens
        rows, positions = index.scores([tokens, [], tokens[:3]])
        assert any(t in df for t in tokens) and np.array_equal(rows[0], reference_scores(tokens)), question
        assert np.array_equal(rows[2], reference_scores(tokens[:3]))
        assert not rows[1].any() and np.array_equal(positions, np.arange(len(ids)))
        for token in tokens:
            assert index.has(token) == (token in df)
            assert index.idf(token) == float(np.log(1 + (len(ids) - df.get(token, 0) + 0.5) / (df.get(token, 0) + 0.5)))
    assert not index.has("不存在的词语") and index.idf("不存在的词语") == pytest.approx(np.log(1 + (len(ids) + 0.5) / 0.5))
    (tmp_path / "broken.bm25").write_bytes(b"not a shard at all")
    with pytest.raises(ValueError, match="not a lexical shard"):
        Shard.open(tmp_path / "broken.bm25")


def test_idf_is_global_across_shards():
    """Two shards where one token is rare in one and everywhere in the other: scores over both
    use the idf of the union; a search over one shard keeps that shard's own idf."""
    a = Shard.build(["a1", "a2", "a3", "a4"], [["旅游", "门票"], ["工业"], ["农业"], ["交通"]])
    b = Shard.build(["b1", "b2"], [["旅游", "收入"], ["旅游"]])
    both = ShardedIndex([a, b])
    assert both.idf("旅游") == pytest.approx(float(idf(6, 3)))
    assert both.idf("门票") == pytest.approx(float(idf(6, 1))) and both.has("收入") and not both.has("缺席")
    rows, positions = both.scores([["旅游"]])
    alone_a, _ = ShardedIndex([a]).scores([["旅游"]])
    alone_b, _ = ShardedIndex([b]).scores([["旅游"]])
    assert np.allclose(rows[0][:4], alone_a[0] * idf(6, 3) / idf(4, 1))
    assert np.allclose(rows[0][4:], alone_b[0] * idf(6, 3) / idf(2, 2))
    assert list(positions) == list(range(6))
    routed, where = both.scores([["旅游"]], selected=[1])
    assert np.array_equal(routed[0], alone_b[0]) and list(where) == [4, 5]  # one shard: its own idf


def test_a_new_version_reaches_a_running_replica_and_the_old_file_goes_once_stale(store_copy, tmp_path, embedder):
    settings = Settings()
    retriever = Retriever(settings, embedder)
    try:
        first = retriever.store.read_manifest()[REPORT]["lexical"]
        assert "7.5%" in " ".join(p.text for p in retriever.search(QUESTIONS[0], 3))
        folder = tmp_path / "modified"
        folder.mkdir()
        text = SEED.read_text(encoding="utf-8")
        assert "7.5%左 右" in text
        (folder / REPORT).write_text(text.replace("7.5%左 右", "9.9%左 右", 1), encoding="utf-8")
        meta = SEED.with_name(SEED.stem + ".meta.json")
        (folder / meta.name).write_text(meta.read_text(encoding="utf-8"), encoding="utf-8")
        # The file's age is not what counts: a shard written long ago is kept once it stops being named.
        os.utime(settings.lexical_path / f"{first}{SUFFIX}", (0, 0))
        ingest([folder], settings, replace=True, progress=False, embedder=embedder)
        retriever.refresh(force=True)  # what the 2-second poll does
        second = retriever.store.read_manifest()[REPORT]["lexical"]
        assert second != first
        assert "9.9%" in " ".join(p.text for p in retriever.search(QUESTIONS[0], 3))
        files = {p.name for p in settings.lexical_path.iterdir()}
        assert {f"{first}{SUFFIX}", f"{second}{SUFFIX}"} <= files  # the old one stays for readers switching now
        assert remove_stale(settings.lexical_path, {second}, older_than=0) == 1
        assert {p.name for p in settings.lexical_path.iterdir() if p.name.endswith(SUFFIX)} == {f"{second}{SUFFIX}"}
        vectors = retriever.store.read_manifest()[REPORT]["vectors"]  # the report's vector file: the same life
        assert len(list(settings.lexical_path.glob(f"*{VECTOR_SUFFIX}"))) == 2
        assert remove_stale(settings.lexical_path, {vectors}, older_than=0, suffix=VECTOR_SUFFIX) == 1
        assert {p.name for p in settings.lexical_path.glob(f"*{VECTOR_SUFFIX}")} == {f"{vectors}{VECTOR_SUFFIX}"}
    finally:
        retriever.store.close()


def test_a_replica_without_the_shard_file_builds_it_from_the_store(store_copy, embedder, caplog):
    settings = Settings()
    with_files = Retriever(settings, embedder)
    try:
        expected = [[(p.chunk_id, p.score) for p in with_files.search(q, 5)] for q in QUESTIONS]
    finally:
        with_files.store.close()
    for path in settings.lexical_path.iterdir():
        path.unlink()
    without = Retriever(settings, embedder)
    try:
        assert "cannot open the lexical shard" in caplog.text
        assert [[(p.chunk_id, p.score) for p in without.search(q, 5)] for q in QUESTIONS] == expected
    finally:
        without.store.close()


def ingest_variant(settings: Settings, tmp_path, embedder) -> None:
    """A second report beside the seed: 湘西州 2023, the same wording with other figures."""
    folder = tmp_path / "variant"
    folder.mkdir()
    meta = json.loads(SEED.with_name(SEED.stem + ".meta.json").read_text(encoding="utf-8"))
    variant = make_variants.make_variant(SEED.read_text(encoding="utf-8"), meta, "湘西州", 2023, seed=3)
    (folder / f"{variant.stem}.txt").write_text(variant.text, encoding="utf-8")
    (folder / f"{variant.stem}.meta.json").write_text(json.dumps(variant.meta, ensure_ascii=False), encoding="utf-8")
    ingest([folder], settings, progress=False, embedder=embedder)


def test_a_routed_question_touches_one_shard(store_copy, tmp_path, embedder, monkeypatch):
    """Two reports (the seed and 湘西州 2023, same wording, other figures)."""
    settings = Settings()
    ingest_variant(settings, tmp_path, embedder)
    retriever = Retriever(settings, embedder)
    touched: list[str] = []
    real = Segment.postings
    monkeypatch.setattr(Segment, "postings", lambda self, hashes: touched.extend(self.shards) or real(self, hashes))
    try:
        state = retriever._state
        assert len(state.lexical.shards) == 2 and len(state.sources) == 2
        other = next(s for s in state.sources if s != REPORT)
        question = "湘西州2023年地区生产总值预期增长多少？"
        where = route(question, retriever.documents)
        assert where == {"city": "湘西州", "year": 2023}
        assert state.shards_for(where) == [state.sources.index(other)]
        passages = retriever.search(question, 5, where=where)
        assert passages and {p.source for p in passages} == {other}
        assert set(touched) == {state.lexical.names[state.sources.index(other)]}
        touched.clear()
        unrouted = retriever.search("地区生产总值预期增长多少？", 10)
        assert set(touched) == set(state.lexical.names) and None not in touched  # unrouted: every shard
        assert {p.source for p in unrouted} == {REPORT, other}  # same wording: both reports answer
        with ChunkStore(settings) as store:
            assert {e["lexical"] for e in store.read_manifest().values()} == {
                p.name[: -len(SUFFIX)] for p in settings.lexical_path.glob(f"*{SUFFIX}")
            }
    finally:
        retriever.store.close()


def test_a_routed_question_reads_the_reports_vector_file_with_the_same_answer(store_copy, tmp_path, embedder, monkeypatch, caplog):
    """The routed exact scan reads the vector file ingest wrote (chatbot/retrieve/vectors.py);
    without it (an older store) the vectors come from Chroma, and the passages and scores agree."""
    settings = Settings()
    ingest_variant(settings, tmp_path, embedder)
    question = "湘西州2023年旅游工作有什么安排？"
    with ChunkStore(settings) as store:
        manifest = store.read_manifest()
        col = store.collection(embedder.id, 384, create=False)
        for entry in manifest.values():  # the file holds exactly what Chroma holds, in manifest order
            matrix = open_vectors(settings.lexical_path / f"{entry['vectors']}{VECTOR_SUFFIX}", entry["ids"], embedder.id)
            stored = store.get_chunks(col, entry["ids"], embeddings=True)
            assert isinstance(matrix.base, np.memmap) or isinstance(matrix.base.base, np.memmap)
            # Chroma re-normalises stored vectors for cosine: a later read may differ in the last bit
            assert np.allclose(matrix, np.asarray([stored[c]["embedding"] for c in entry["ids"]]), rtol=0, atol=1e-6)
        with pytest.raises(ValueError, match="other chunks"):
            open_vectors(settings.lexical_path / f"{entry['vectors']}{VECTOR_SUFFIX}", entry["ids"][1:], embedder.id)
    results = []
    for with_file in (True, False):
        if not with_file:
            for path in settings.lexical_path.glob(f"*{VECTOR_SUFFIX}"):
                path.unlink()
        retriever = Retriever(settings, embedder)
        fetched: list[int] = []
        real_get = retriever._collection.get

        def counting_get(*args, real_get=real_get, fetched=fetched, **kwargs):
            if "embeddings" in (kwargs.get("include") or []):
                fetched.append(len(kwargs.get("ids") or []))
            return real_get(*args, **kwargs)

        monkeypatch.setattr(retriever._collection, "get", counting_get)
        try:
            passages = retriever.search(question, 5, where=route(question, retriever.documents))
            results.append(([p.chunk_id for p in passages], [p.score for p in passages]))
            assert passages and {p.city for p in passages} == {"湘西州"}
            assert (sum(fetched) == 0) == with_file, fetched
        finally:
            retriever.store.close()
    assert results[0][0] == results[1][0] and np.allclose(results[0][1], results[1][1], rtol=0, atol=1e-6)
    assert "cannot use the vector file" in caplog.text


def test_a_replica_loads_the_manifest_from_the_snapshot_of_its_version(store_copy, embedder, monkeypatch):
    """Ingest leaves the manifest's snapshot beside the shards (chatbot/retrieve/snapshots.py):
    a starting replica reads it instead of every record from Chroma; without it, Chroma."""
    settings = Settings()
    assert list(settings.lexical_path.glob("manifest-*.json"))
    real = ChunkStore.read_manifest
    monkeypatch.setattr(ChunkStore, "read_manifest", lambda self: pytest.fail("read every record from Chroma"))
    retriever = Retriever(settings, embedder)
    try:
        assert "7.5%" in " ".join(p.text for p in retriever.search(QUESTIONS[0], 3))
    finally:
        retriever.store.close()
    for path in settings.lexical_path.glob("manifest-*.json"):
        path.unlink()
    calls: list[int] = []
    monkeypatch.setattr(ChunkStore, "read_manifest", lambda self: calls.append(1) or real(self))
    retriever = Retriever(settings, embedder)
    try:
        assert calls and "7.5%" in " ".join(p.text for p in retriever.search(QUESTIONS[0], 3))
    finally:
        retriever.store.close()
