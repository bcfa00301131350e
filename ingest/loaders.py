"""Read source files into text pages, with their metadata.

Supported: `.txt` and `.md` (UTF-8 or GB18030/GBK), `.pdf` (pypdf). A file
`NAME.meta.json` beside `NAME.txt` supplies title, city, year and page.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from chatbot.errors import DocumentError

logger = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".txt", ".md", ".pdf")
_META_SUFFIX = ".meta.json"


@dataclass
class SourceDocument:
    source: str  # stable key of the source: its file name
    path: Path
    pages: list[tuple[int | None, str]]  # (page number, text)
    meta: dict = field(default_factory=dict)

    @property
    def title(self) -> str:
        return str(self.meta.get("title") or self.path.stem)


def discover(paths: list[Path]) -> list[Path]:
    """Expand folders into supported files; a missing path is an error."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES)
            )
        elif path.is_file():
            if path.suffix.lower() not in SUPPORTED_SUFFIXES:
                raise DocumentError(f"{path}: unsupported file type '{path.suffix}'. Use .txt, .md or .pdf.")
            found.append(path)
        else:
            raise DocumentError(f"{path}: no such file or folder.")
    return found


def decode_text(data: bytes, name: str) -> str:
    """UTF-8 first, then GB18030 (a superset of GBK); anything else is an error."""
    if b"\x00" in data:
        raise DocumentError(f"{name}: looks like a binary file (it contains NUL bytes), not text.")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _looks_like_text(text):
            return text
    raise DocumentError(f"{name}: cannot decode the file as UTF-8 or GB18030/GBK text.")


def _looks_like_text(text: str) -> bool:
    if not text:
        return True
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\n\r\t\f")
    # gb18030 decodes many random byte strings; what comes out is then full of
    # control characters and rare symbols. Real text has almost none.
    return controls / len(text) < 0.01


def read_meta(path: Path) -> dict:
    meta_path = path.with_name(path.stem + _META_SUFFIX)
    if not meta_path.exists():
        return {}
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DocumentError(f"{meta_path}: invalid metadata JSON ({exc}).") from exc
    if not isinstance(meta, dict):
        raise DocumentError(f"{meta_path}: metadata must be a JSON object.")
    return meta


def load(path: Path) -> SourceDocument:
    meta = read_meta(path)
    start_page = meta.get("page") if isinstance(meta.get("page"), int) else None
    if path.suffix.lower() == ".pdf":
        pages = _load_pdf(path, start_page or 1)
    else:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise DocumentError(f"{path}: cannot read ({exc.strerror}).") from exc
        pages = [(start_page, decode_text(data, str(path)))]
    if not any(text.strip() for _, text in pages):
        raise DocumentError(f"{path}: the file is empty; nothing to ingest.")
    return SourceDocument(source=path.name, path=path, pages=pages, meta=meta)


def _load_pdf(path: Path, first_page: int) -> list[tuple[int | None, str]]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(path)
        return [(first_page + i, page.extract_text() or "") for i, page in enumerate(reader.pages)]
    except (PdfReadError, OSError, ValueError) as exc:
        raise DocumentError(f"{path}: cannot read the PDF ({exc}).") from exc
