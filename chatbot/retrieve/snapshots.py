"""Manifest snapshots: the whole manifest as one JSON file beside the shards, keyed by its version.

Why: a replica's start read every manifest record from Chroma (every report's chunk ids),
2.2 s over HTTP at 900 reports and growing with the store; the cold-start goal is 10 s at 1M
chunks. The manifest's version (its `source:finished_at` stamps, which a replica reads anyway)
names the snapshot, so a replica that finds the file for the version it just read loads the
same records from disk, and one that does not (an older store, a killed ingest, the folder not
shared) reads Chroma as before. Chroma's manifest stays the record; the file is a cache of it.

Written by ingest after the switch, under the ingest lock, only if the version did not change
while the records were read; temporary file, fsync, rename.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

from chatbot.retrieve.shards import fsync_dir

logger = logging.getLogger(__name__)

PREFIX = "manifest-"
SUFFIX = ".json"


def snapshot_name(version: str) -> str:
    return PREFIX + hashlib.sha1(version.encode("utf-8")).hexdigest()[:32]


def write_snapshot(folder: Path, version: str, manifest: dict[str, dict]) -> str:
    name = snapshot_name(version)
    final = folder / f"{name}{SUFFIX}"
    if final.exists():
        return name
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".tmp-{name}-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as out:
        json.dump({"version": version, "manifest": manifest}, out, ensure_ascii=False)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, final)
    fsync_dir(folder)
    return name


def read_snapshot(folder: Path, version: str) -> dict[str, dict] | None:
    """The manifest of this version from its snapshot, or None (absent, unreadable or another version)."""
    path = folder / f"{snapshot_name(version)}{SUFFIX}"
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        logger.warning("ignoring the manifest snapshot %s: %s", path, exc)
        return None
    if not isinstance(data, dict) or data.get("version") != version or not isinstance(data.get("manifest"), dict):
        return None
    return data["manifest"]
