"""Find source files and read them into text pages, with their metadata.

Supported: `.txt` and `.md` (UTF-8 or GB18030/GBK), `.pdf` (pypdf). A file
`NAME.meta.json` beside `NAME.txt` supplies title, city, year and page
(`ingest/metadata.py` checks it).

A document's identity (`source`) is its path relative to the folder that was
ingested (`sub/report.txt`); a file named on the command line is known by its
name. Two files with one identity would overwrite each other, so that is an
error. A folder walk never follows a symbolic link (to a file or a folder):
a link could bring in any file the ingest user can read (/etc/passwd), so
links are skipped and listed. A link named on the command line is followed:
the operator typed it.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from chatbot.errors import DocumentError
from chatbot.safetext import escape_controls, strip_controls
from ingest.metadata import read_meta

logger = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".txt", ".md", ".pdf")


@dataclass
class SourceDocument:
    source: str  # identity: the path relative to the ingested folder, or the file name
    path: Path
    pages: list[tuple[int | None, str]]  # (page number, text)
    meta: dict = field(default_factory=dict)

    @property
    def title(self) -> str:
        return str(self.meta.get("title") or strip_controls(self.path.stem))


@dataclass(frozen=True)
class FoundFile:
    path: Path
    source: str
    walked: bool  # found by a folder walk: its metadata file must not be a link either


@dataclass
class Discovery:
    files: list[FoundFile] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)  # symbolic links a folder walk did not follow


def _shown(path: Path) -> str:
    return escape_controls(str(path))


def _supported(name: str) -> bool:
    return Path(name).suffix.lower() in SUPPORTED_SUFFIXES


def _walk(root: Path, discovery: Discovery) -> list[FoundFile]:
    def fail(exc: OSError) -> None:  # os.walk would skip an unreadable folder in silence
        raise DocumentError(f"{_shown(Path(exc.filename or root))}: cannot read the folder ({exc.strerror}).")

    found: list[FoundFile] = []
    for folder, dirnames, filenames in os.walk(root, onerror=fail, followlinks=False):
        base = Path(folder)
        for name in sorted(dirnames):
            if (base / name).is_symlink():
                discovery.skipped.append(base / name)
        for name in sorted(filenames):
            path = base / name
            if not _supported(name):
                continue
            if path.is_symlink():
                discovery.skipped.append(path)
            elif path.is_file():
                found.append(FoundFile(path, path.relative_to(root).as_posix(), walked=True))
    return sorted(found, key=lambda f: f.path)


def discover(paths: list[Path]) -> Discovery:
    """Expand folders into supported files with their identities; a missing path is an error.

    Fails before anything is read when two different files would share an identity, or one
    file would be ingested under two.
    """
    discovery = Discovery()
    for path in paths:
        if path.is_dir():
            discovery.files.extend(_walk(path, discovery))
        elif path.is_file():
            if not _supported(path.name):
                raise DocumentError(f"{_shown(path)}: unsupported file type '{escape_controls(path.suffix)}'. Use .txt, .md or .pdf.")
            discovery.files.append(FoundFile(path, path.name, walked=False))
        else:
            raise DocumentError(f"{_shown(path)}: no such file or folder.")
    by_source: dict[str, FoundFile] = {}
    by_file: dict[Path, FoundFile] = {}
    unique: list[FoundFile] = []
    for found in discovery.files:
        if escape_controls(found.source) != found.source:
            raise DocumentError(f"{_shown(found.path)}: the file name contains control characters; rename it.")
        real = found.path.resolve()
        same_name, same_file = by_source.get(found.source), by_file.get(real)
        if same_file and same_file.source == found.source:
            continue  # named twice (e.g. a folder and a file in it): ingest once
        if same_file:
            raise DocumentError(
                f"{_shown(found.path)} would be ingested twice, as '{escape_controls(same_file.source)}' and as "
                f"'{escape_controls(found.source)}'. Name it once."
            )
        if same_name:
            raise DocumentError(
                f"{_shown(same_name.path)} and {_shown(found.path)} would both be the document "
                f"'{escape_controls(found.source)}' and overwrite each other. Ingest their common parent folder, or rename one."
            )
        by_source[found.source] = by_file[real] = found
        unique.append(found)
    discovery.files = unique
    return discovery


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


def load(found: FoundFile | Path) -> SourceDocument:
    """Read one file; its text loses control characters (ANSI escapes and the like) here."""
    if isinstance(found, Path):
        found = FoundFile(found, found.name, walked=False)
    path = found.path
    meta = read_meta(path, allow_symlink=not found.walked)
    start_page = meta.get("page") if isinstance(meta.get("page"), int) else None
    data = _read_bytes(path, follow=not found.walked)
    if path.suffix.lower() == ".pdf":
        pages = _load_pdf(path, data, start_page or 1)
    else:
        pages = [(start_page, decode_text(data, _shown(path)))]
    pages = [(number, strip_controls(text)) for number, text in pages]
    if not any(text.strip() for _, text in pages):
        raise DocumentError(f"{_shown(path)}: the file is empty; nothing to ingest.")
    return SourceDocument(source=found.source, path=path, pages=pages, meta=meta)


def _read_bytes(path: Path, *, follow: bool) -> bytes:
    """The file's bytes; with follow=False a file swapped for a link since the walk is refused."""
    flags = os.O_RDONLY | (0 if follow else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
        with os.fdopen(fd, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise DocumentError(f"{_shown(path)}: cannot read ({exc.strerror}).") from exc


def _load_pdf(path: Path, data: bytes, first_page: int) -> list[tuple[int | None, str]]:
    from io import BytesIO

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(BytesIO(data))
        return [(first_page + i, page.extract_text() or "") for i, page in enumerate(reader.pages)]
    except (PdfReadError, OSError, ValueError) as exc:
        raise DocumentError(f"{_shown(path)}: cannot read the PDF ({escape_controls(str(exc))}).") from exc
