"""The chunk store: a Chroma collection, its manifest, and the ingest lock.

The collection holds the chunks (text, metadata with the lexical terms, and
embeddings). A second, small collection, the manifest, holds one record per
source with the ids of its last *complete* ingest. Readers answer from the
manifest's ids only, so a query during an ingest, or after an ingest was
killed, sees the last complete state. Everything lives in Chroma, so several
app replicas that share a Chroma server see the same data.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import chromadb
import httpx
from chromadb.config import Settings as ChromaSettings

from chatbot.errors import EmbedderMismatchError, IngestLockedError, StoreError, StoreNotReadyError
from chatbot.settings import Settings

logger = logging.getLogger(__name__)

_BATCH = 500


def _where(settings: Settings) -> str:
    if settings.uses_chroma_server:
        return f"the Chroma server at {settings.chroma_host}:{settings.chroma_port}"
    return f"the store in {settings.data_dir}"


def explain(settings: Settings, exc: BaseException, doing: str = "open") -> StoreError:
    """A StoreError that says in plain words what went wrong with Chroma (never echoes the token)."""
    if isinstance(exc, StoreError):
        return exc
    text = f"{type(exc).__name__}: {exc}"
    lowered = text.lower()
    if settings.chroma_auth_token is not None:
        text = text.replace(settings.chroma_auth_token.get_secret_value(), "***")
    where = _where(settings)
    if settings.uses_chroma_server and any(
        word in lowered for word in ("401", "403", "unauthorized", "forbidden", "autherror", "permission")
    ):
        sent = "no token" if settings.chroma_auth_token is None else f"the token in the {settings.chroma_auth_header} header"
        return StoreError(
            f"{where[0].upper()}{where[1:]} refused the credentials ({sent}). Check CHROMA_AUTH_TOKEN and "
            f"CHROMA_AUTH_HEADER (Authorization sends 'Bearer <token>', X-Chroma-Token sends the token). ({text})"
        )
    if settings.uses_chroma_server and any(
        word in lowered for word in ("could not connect", "connecterror", "connection refused", "timed out", "timeout")
    ):
        return StoreError(
            f"Cannot reach {where}. Is it running (chroma run --path DIR --host HOST --port "
            f"{settings.chroma_port})? Check CHROMA_HOST, CHROMA_PORT and CHROMA_SSL, or unset CHROMA_HOST to use "
            f"the embedded store. ({text})"
        )
    return StoreError(f"Cannot {doing} {where}: {text}")


def _auth_headers(settings: Settings) -> dict[str, str]:
    if settings.chroma_auth_token is None:
        return {}
    token = settings.chroma_auth_token.get_secret_value()
    if settings.chroma_auth_header == "Authorization":
        return {"Authorization": f"Bearer {token}"}
    return {"X-Chroma-Token": token}


def _preflight(settings: Settings, headers: dict[str, str]) -> None:
    """Ask the server who we are before chromadb does: clear errors, and no half-built client
    (chromadb's HttpClient leaks its HTTP session when its own check fails)."""
    scheme = "https" if settings.chroma_ssl else "http"
    url = f"{scheme}://{settings.chroma_host}:{settings.chroma_port}/api/v2/auth/identity"
    timeout = httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout)
    try:
        with httpx.Client(timeout=timeout, headers=headers) as http:
            response = http.get(url)
    except httpx.HTTPError as exc:
        raise explain(settings, httpx.ConnectError(f"{type(exc).__name__}: {exc}")) from exc
    if response.status_code in (401, 403):
        raise explain(settings, PermissionError(f"HTTP {response.status_code} {response.reason_phrase}"))
    if response.status_code >= 500:
        raise StoreError(f"{_where(settings)[0].upper()}{_where(settings)[1:]} answered HTTP {response.status_code}: {response.text[:200]}")


def open_client(settings: Settings) -> chromadb.ClientAPI:
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    try:
        if settings.uses_chroma_server:
            headers = _auth_headers(settings)
            _preflight(settings, headers)
            return chromadb.HttpClient(
                host=settings.chroma_host or "localhost",
                port=settings.chroma_port,
                ssl=settings.chroma_ssl,
                headers=headers,
                settings=chroma_settings,
            )
        path = settings.data_dir / "chroma"
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as exc:  # noqa: BLE001 - chromadb raises many types
        raise explain(settings, exc) from exc


def close_client(client: chromadb.ClientAPI) -> None:
    for part in (client, getattr(client, "_admin_client", None)):
        session = getattr(getattr(part, "_server", None), "_session", None)
        if isinstance(session, httpx.Client):
            session.close()
    close = getattr(client, "close", None)
    if callable(close):
        close()


class ChunkStore:
    """One collection of chunks, built by one embedder."""

    def __init__(self, settings: Settings, client: chromadb.ClientAPI | None = None) -> None:
        self.settings = settings
        self.client = client or open_client(settings)
        self.name = settings.collection

    def close(self) -> None:
        """Release the client (chromadb's HttpClient never closes its HTTP sessions itself)."""
        close_client(self.client)

    def __enter__(self) -> ChunkStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- collections ------------------------------------------------------
    def collection(self, embedder_id: str, dim: int, *, create: bool) -> chromadb.Collection:
        try:
            if create:
                col = self.client.get_or_create_collection(
                    self.name,
                    metadata={"embedder": embedder_id, "dim": dim},
                    configuration={"hnsw": {"space": "cosine"}},
                    embedding_function=None,
                )
            else:
                col = self.client.get_collection(self.name, embedding_function=None)
        except Exception as exc:  # noqa: BLE001
            if not create and ("does not exist" in str(exc) or "NotFound" in type(exc).__name__):
                raise StoreNotReadyError(
                    "Nothing has been ingested yet. Run: python -m ingest"
                ) from exc
            raise StoreError(f"Cannot open the collection '{self.name}': {exc}") from exc
        built_by = (col.metadata or {}).get("embedder")
        if built_by and built_by != embedder_id:
            raise EmbedderMismatchError(
                f"The store was built with the embedder '{built_by}', but '{embedder_id}' is configured. "
                f"Re-ingest with the configured embedder (python -m ingest --rebuild), or set CHATBOT_EMBEDDER back."
            )
        return col

    def manifest(self) -> chromadb.Collection:
        return self.client.get_or_create_collection(f"{self.name}-manifest", embedding_function=None)

    def drop(self) -> None:
        for name in (self.name, f"{self.name}-manifest"):
            try:
                self.client.delete_collection(name)
            except Exception:  # noqa: BLE001 - absent is fine
                logger.debug("collection %s did not exist", name)

    # --- manifest ---------------------------------------------------------
    def read_manifest(self) -> dict[str, dict]:
        """source -> {"ids": [...], "meta": {...}, "finished_at": float, "lexical": shard name (optional),
        "vectors": vector file name (optional)}"""
        got = self.manifest().get(include=["documents"])
        return {sid: json.loads(doc) for sid, doc in zip(got["ids"], got["documents"] or [])}

    def write_manifest(self, source: str, ids: Sequence[str], meta: dict) -> None:
        self.write_manifests({source: (ids, meta)})

    def write_manifests(self, records: dict[str, tuple[Sequence[str], dict]], lexical: dict[str, str] | None = None,
                        vectors: dict[str, str] | None = None) -> None:
        """Record several sources' complete ingests in one upsert, so readers switch to all at once.

        `lexical` names each source's persisted BM25 shard (chatbot/retrieve/shards.py), `vectors`
        its vector file (chatbot/retrieve/vectors.py), both already on disk.
        Past Chroma's batch limit (thousands of sources) the upsert is split.
        """
        if not records:
            return
        finished_at = time.time()
        sources = list(records)
        lexical, vectors = lexical or {}, vectors or {}
        documents = [
            json.dumps(
                {"ids": list(ids), "meta": meta, "finished_at": finished_at}
                | ({"lexical": lexical[source]} if source in lexical else {})
                | ({"vectors": vectors[source]} if source in vectors else {}),
                ensure_ascii=False,
            )
            for source, (ids, meta) in records.items()
        ]
        limit = self.client.get_max_batch_size()
        for i in range(0, len(sources), limit):
            # the stamp also goes into the metadata, so polling for a new version need not decode id lists
            self.manifest().upsert(
                ids=sources[i : i + limit],
                documents=documents[i : i + limit],
                metadatas=[{"finished_at": finished_at}] * len(sources[i : i + limit]),
                embeddings=[[0.0]] * len(sources[i : i + limit]),
            )

    def remove_from_manifest(self, *sources: str) -> None:
        self.manifest().delete(ids=list(sources))

    def manifest_version(self) -> str:
        """Changes whenever an ingest completes; cheap to poll."""
        got = self.manifest().get(include=["metadatas"])
        stamps = []
        for sid, meta in zip(got["ids"], got["metadatas"] or []):
            if not meta or "finished_at" not in meta:  # written by an older version: read the record
                return "|".join(sorted(f"{s}:{e['finished_at']}" for s, e in self.read_manifest().items()))
            stamps.append(f"{sid}:{meta['finished_at']}")
        return "|".join(sorted(stamps))

    # --- chunks -----------------------------------------------------------
    @staticmethod
    def get_chunks(col: chromadb.Collection, ids: Sequence[str], *, embeddings: bool = False) -> dict[str, dict]:
        include = ["documents", "metadatas"] + (["embeddings"] if embeddings else [])
        out: dict[str, dict] = {}
        for i in range(0, len(ids), _BATCH):
            got = col.get(ids=list(ids[i : i + _BATCH]), include=include)
            for j, cid in enumerate(got["ids"]):
                out[cid] = {
                    "text": got["documents"][j],
                    "meta": got["metadatas"][j] or {},
                    "embedding": got["embeddings"][j] if embeddings and got["embeddings"] is not None else None,
                }
        return out

    @staticmethod
    def ids_where(col: chromadb.Collection, where: dict) -> list[str]:
        return list(col.get(where=where, include=[])["ids"])


@contextmanager
def ingest_lock(data_dir: Path) -> Iterator[None]:
    """One ingest at a time per data folder; the OS drops the lock if the process dies."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "ingest.lock"
    handle = open(path, "a+")  # noqa: SIM115 - held for the whole block
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise IngestLockedError(
                f"Another ingest is running ({holder}). Wait for it to finish, then run again."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        yield
    finally:
        handle.close()


def ingest_running(data_dir: Path) -> bool:
    path = data_dir / "ingest.lock"
    if not path.exists():
        return False
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False
