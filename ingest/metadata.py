"""`NAME.meta.json`: the report metadata, checked before anything is written.

The schema is the one in INTERFACES.md ("Report metadata"), plus
`continues_heading` (the first heading of a page that continues from an
earlier one; `ingest/outline.py` starts from it). Every field is optional.
Types are strict: `"year": "2023"` is an error, not a guess, because a wrong
type that slipped into the store used to fail every question that retrieved
the file. Extra keys (e.g. `notes`) are kept in the manifest when their value
is a string, a number or true/false; any other value is an error.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from chatbot.errors import DocumentError
from chatbot.safetext import escape_controls, strip_controls

META_SUFFIX = ".meta.json"


class ReportMeta(BaseModel):
    """One report's metadata. `year` and `page` are bounded so they fit Chroma's integers."""

    model_config = ConfigDict(strict=True, extra="allow")

    title: str | None = None
    title_en: str | None = None
    city: str | None = None
    city_en: str | None = None
    year: int | None = Field(default=None, ge=1, le=9999)
    page: int | None = Field(default=None, ge=0, le=1_000_000)
    continues_heading: str | None = None

    @model_validator(mode="after")
    def _extras_are_scalars(self) -> ReportMeta:
        for key, value in (self.model_extra or {}).items():
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"field '{key}' must be a finite number")
            if not isinstance(value, (str, int, float, bool)):
                raise ValueError(f"field '{key}' must be a string, a number or true/false, not {_json_type(value)}")
        return self


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false"}.get(type(value), "a number")


def meta_path_for(path: Path) -> Path:
    return path.with_name(path.stem + META_SUFFIX)


def read_meta(path: Path, *, allow_symlink: bool = True) -> dict:
    """The validated metadata beside `path` ({} when there is none), control characters removed.

    `allow_symlink=False` (files found by a folder walk) refuses a metadata file that is a
    symbolic link, as the walk refuses linked documents.
    """
    meta_path = meta_path_for(path)
    shown = escape_controls(str(meta_path))
    if not allow_symlink and meta_path.is_symlink():
        raise DocumentError(f"{shown}: is a symbolic link; in a folder, metadata must be a regular file.")
    if not meta_path.exists():
        return {}
    try:
        raw = json.loads(meta_path.read_text(encoding="utf-8"))
    except RecursionError:
        raise DocumentError(f"{shown}: invalid metadata JSON (nested too deeply).") from None
    except (OSError, ValueError) as exc:
        raise DocumentError(f"{shown}: invalid metadata JSON ({escape_controls(str(exc))}).") from exc
    if not isinstance(raw, dict):
        raise DocumentError(f"{shown}: metadata must be a JSON object.")
    try:
        meta = ReportMeta.model_validate(raw)
    except ValidationError as exc:
        raise DocumentError(f"{shown}: {_describe(exc, raw)}") from None
    return {key: strip_controls(value) if isinstance(value, str) else value for key, value in meta.model_dump(exclude_none=True).items()}


def _describe(exc: ValidationError, raw: dict) -> str:
    """The first problem on one line: the field, what it must be, and what it is."""
    error = exc.errors(include_url=False)[0]
    if not error["loc"]:  # raised by the extras check: its message names the field
        return escape_controls(error["msg"].removeprefix("Value error, "))
    field = str(error["loc"][0])
    expected = {"title": "a string", "title_en": "a string", "city": "a string", "city_en": "a string",
                "continues_heading": "a string", "year": "an integer from 1 to 9999",
                "page": "an integer from 0 to 1000000, or null"}[field]
    got = raw.get(field)
    shown = json.dumps(got, ensure_ascii=False) if got is None or isinstance(got, (str, int, float, bool)) else ""
    shown = shown if 0 < len(shown) <= 40 else _json_type(got)
    return escape_controls(f"field '{field}' must be {expected}, not {shown}.")
