"""Lexical segments (chatbot/retrieve/segments.py): many shards merged into one file; and the
manifest snapshot beside them (chatbot/retrieve/snapshots.py).

Scores through segments are the very floats scoring shard by shard gives (global idf included),
whichever segments exist; a shard the manifest stopped naming is masked out of a segment;
compaction merges FANOUT units per level; a killed merge leaves no segment visible; a file that
is not a segment is refused. The top columns of a large score row are those of a full sort. The ingest that compacts is in tests/test_crash.py.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from chatbot.retrieve import segments
from chatbot.retrieve.segments import SUFFIX, Segment, compact, cover, list_segments, remove_unused, write_segment
from chatbot.retrieve.sharded_index import BLOCK, ShardedIndex, best_columns
from chatbot.retrieve.shards import SUFFIX as SHARD_SUFFIX
from chatbot.retrieve.shards import Shard, write_shard
from chatbot.retrieve.snapshots import read_snapshot, write_snapshot

WORDS = ["旅游", "门票", "工业", "农业", "交通", "收入", "增长", "目标", "投资", "教育", "医疗", "住房"]
QUERIES = [["旅游", "收入", "旅游"], ["增长", "目标"], [], ["缺席", "医疗"], ["投资"]]


def make_shards(folder, n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    names = []
    for k in range(n):
        docs = rng.randint(1, 6)
        ids = [f"r{k}-{seed}-{i}" for i in range(docs)]
        terms = [rng.choices(WORDS[: rng.randint(3, len(WORDS))], k=rng.randint(1, 8)) for _ in ids]
        names.append(write_shard(folder, ids, terms))
    return names


def index_of(folder, names: list[str], use_segments: bool) -> ShardedIndex:
    shards = [Shard.open(folder / f"{n}{SHARD_SUFFIX}") for n in names]
    opened = [Segment.open(folder / f"{s}{SUFFIX}") for s in list_segments(folder)] if use_segments else []
    return ShardedIndex(shards, names, opened)


def assert_same_scores(a: ShardedIndex, b: ShardedIndex) -> None:
    rows_a, pos_a = a.scores(QUERIES)
    rows_b, pos_b = b.scores(QUERIES)
    assert rows_a.any() and np.array_equal(rows_a, rows_b) and np.array_equal(pos_a, pos_b)
    for word in WORDS + ["缺席"]:
        assert a.document_frequency([word]) == b.document_frequency([word])


def test_segments_score_exactly_like_the_shards_and_compaction_merges_by_level(tmp_path, monkeypatch):
    monkeypatch.setattr(segments, "FANOUT", 3)
    names = make_shards(tmp_path, 11)
    assert compact(tmp_path, names[:2]) == []  # fewer than FANOUT loose shards: nothing to merge
    written = compact(tmp_path, names)
    # 11 shards, FANOUT 3: 3 level-1 segments, merged into one level-2 segment (9 shards), 2 loose
    assert len(written) == 4
    chosen, loose = cover([(s, Segment.open(tmp_path / f"{s}{SUFFIX}").shards) for s in list_segments(tmp_path)], names)
    assert [sum(use) for _, use in chosen] == [9] and loose == names[9:]
    with_segments, alone = index_of(tmp_path, names, True), index_of(tmp_path, names, False)
    assert len(with_segments.units) == 3 and len(alone.units) == 11
    assert_same_scores(with_segments, alone)
    routed, positions = with_segments.scores(QUERIES, selected=[4])
    own, _ = ShardedIndex([Shard.open(tmp_path / f"{names[4]}{SHARD_SUFFIX}")]).scores(QUERIES)
    assert np.array_equal(routed, own) and list(positions) == list(range(with_segments.offsets[4], with_segments.offsets[5]))
    assert compact(tmp_path, names) == []  # idempotent


def test_a_shard_no_longer_named_is_masked_out_of_its_segment(tmp_path, monkeypatch):
    monkeypatch.setattr(segments, "FANOUT", 4)
    names = make_shards(tmp_path, 4)
    compact(tmp_path, names)
    replaced = make_shards(tmp_path, 1, seed=7)  # report 2 re-ingested: a new shard, the old one dropped
    live = names[:2] + replaced + names[3:]
    with_segments, alone = index_of(tmp_path, live, True), index_of(tmp_path, live, False)
    assert len(with_segments.units) == 2  # the segment (3 of its 4 shards) and the new shard
    assert_same_scores(with_segments, alone)


def test_a_killed_merge_leaves_no_segment_and_bad_files_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(segments, "FANOUT", 2)
    names = make_shards(tmp_path, 2)

    def killed() -> None:
        raise KeyboardInterrupt  # stands for SIGKILL between fsync and rename

    with pytest.raises(KeyboardInterrupt):
        compact(tmp_path, names, before_rename=killed)
    assert list_segments(tmp_path) == [] and any(p.name.startswith(".tmp-") for p in tmp_path.iterdir())
    assert_same_scores(index_of(tmp_path, names, True), index_of(tmp_path, names, False))
    (tmp_path / f"broken{SUFFIX}").write_bytes(b"ZJJBM25\x01 a shard under a segment's name")
    with pytest.raises(ValueError, match="not a lexical segment"):
        Segment.open(tmp_path / f"broken{SUFFIX}")
    (tmp_path / f"broken{SUFFIX}").unlink()
    [name] = compact(tmp_path, names)
    assert list_segments(tmp_path) == [name]
    other = make_shards(tmp_path, 2, seed=3)
    assert remove_unused(tmp_path, other, older_than=0) == 1 and list_segments(tmp_path) == []


def test_a_segment_by_hand_round_trips(tmp_path):
    names = make_shards(tmp_path, 3)
    units = [(Segment.of_shard(n, Shard.open(tmp_path / f"{n}{SHARD_SUFFIX}")), [True]) for n in names]
    name = write_segment(tmp_path, units)
    segment = Segment.open(tmp_path / f"{name}{SUFFIX}")
    assert isinstance(segment.data.base, np.memmap) and segment.shards == names
    sizes = [Shard.open(tmp_path / f"{n}{SHARD_SUFFIX}").n_docs for n in names]
    assert list(segment.sizes) == sizes and int(segment.indptr[-1]) == len(segment.indices) == len(segment.data)
    assert np.all(np.diff(segment.hashes.astype(np.float64)) > 0)
    for k in range(len(segment.hashes)):  # each token's documents ascending: scoring cuts runs into shards by it
        assert np.all(np.diff(segment.indices[segment.indptr[k] : segment.indptr[k + 1]]) > 0)


@pytest.mark.parametrize("seed", range(6))
def test_best_columns_are_the_stable_sorts_first_k(seed):
    """Block maxima prune the columns; the result is what a full stable sort gives, ties included."""
    rng = np.random.default_rng(seed)
    for n, k in ((1, 1), (BLOCK * 3, 40), (BLOCK * 40 + 17, 40), (100_003, 40), (5_000, 7)):
        values = rng.random(n).astype(np.float32) if seed % 2 else rng.integers(0, 6, n).astype(np.float32)
        values[rng.random(n) < 0.3] = 0
        if seed == 4:
            values[rng.random(n) < 0.2] = values.max()  # a tie at the top larger than k, as among clones
        assert np.array_equal(best_columns(values, k), np.argsort(-values, kind="stable")[:k]), (n, k)


def test_a_manifest_snapshot_is_used_only_for_its_own_version(tmp_path):
    manifest = {"a.txt": {"ids": ["1", "2"], "meta": {"city": "常德"}, "lexical": "x"}}
    name = write_snapshot(tmp_path, "a.txt:1.0", manifest)
    assert read_snapshot(tmp_path, "a.txt:1.0") == manifest
    assert read_snapshot(tmp_path, "a.txt:2.0") is None  # another version: Chroma is read
    (tmp_path / f"{name}.json").write_text('{"version": "a.txt:1.0", "manifest": ', encoding="utf-8")  # cut short
    assert read_snapshot(tmp_path, "a.txt:1.0") is None
