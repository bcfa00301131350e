"""The figures table of the stored reports: rows read from the chunks, each checked by the claim checker.

The figures are extracted at ingest (`ingest/pipeline.py` stores them, as JSON, in each chunk's
`figures` metadata), so reading the table costs no extraction. Reading it does run the claim
checker (`chatbot.answer.verify.verify`) on every row against its own passage: the row's claim (its year,
indicator and figure, as `FigureRow.claim`) must be supported there, the figure present next to
the same words. A row that fails is kept with `verified: false` and its reason; the CLI and the
page show only verified rows unless asked for all.

UI-free: the CLI, the web page and the tests share it.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from chatbot.answer.verify import verify
from chatbot.errors import StoreError, StoreNotReadyError
from chatbot.reports import report_name
from chatbot.retrieve.store import ChunkStore
from chatbot.settings import Settings
from chatbot.types import Passage

logger = logging.getLogger(__name__)

# The JSON row shape (`python -m chatbot figures --json`), in this order; outside scripts rely on it.
FIELDS = (
    "id", "report", "source", "section", "chunk_id", "indicator", "relation", "value", "unit", "written",
    "qualifier", "year", "kind", "sentence", "clause", "claim", "verified", "reason",
)
METADATA_KEY = "figures"  # the chunk metadata field that holds a passage's figures (JSON list)
_STORED = ("indicator", "relation", "value", "unit", "written", "qualifier", "year", "kind", "sentence", "clause", "claim")


@dataclass
class TableRow:
    id: str  # "<chunk_id>.<n>": the n-th figure of that passage (stable while the passage is unchanged)
    report: str
    source: str
    section: str
    chunk_id: str
    indicator: str
    relation: str
    value: float
    unit: str
    written: str
    qualifier: str
    year: int | None
    kind: str
    sentence: str
    clause: str
    claim: str
    verified: bool = False
    reason: str | None = None

    def to_dict(self) -> dict:
        return {name: asdict(self)[name] for name in FIELDS}


def stored_figures(rows) -> str:  # noqa: ANN001 - FigureRow list
    """What ingest keeps in a chunk's metadata: the rows without what the chunk already records."""
    return json.dumps([{k: getattr(r, k) for k in _STORED} for r in rows], ensure_ascii=False)


def _passage(chunk_id: str, chunk: Mapping) -> Passage:
    meta = chunk["meta"]
    return Passage(
        chunk_id=chunk_id, text=chunk["text"], score=0.0, source=meta.get("source", ""), section=meta.get("section", ""),
        page=meta.get("page"), title=meta.get("title", ""), city=meta.get("city"), year=meta.get("year"),
        index=int(meta.get("index", 0)),
    )


def check(row: TableRow, passage: Passage) -> TableRow:
    """The claim checker's verdict on one row against its own passage."""
    sentence = verify(row.claim + "[1]。", [passage]).sentences
    row.verified = bool(sentence) and sentence[0].verified and sentence[0].citations == [1]
    row.reason = None if row.verified else (sentence[0].reason if sentence else "unsupported") or "unsupported"
    return row


def table_rows(chunks: Mapping[str, Mapping], documents: Mapping[str, Mapping], *, lang: str = "zh") -> list[TableRow]:
    """Every stored figure, checked, in reading order (report by report)."""
    ordered = sorted(chunks.items(), key=lambda kv: (str(kv[1]["meta"].get("source", "")), int(kv[1]["meta"].get("index", 0))))
    rows: list[TableRow] = []
    for chunk_id, chunk in ordered:
        meta = chunk["meta"]
        try:
            stored = json.loads(meta.get(METADATA_KEY) or "[]")
        except ValueError:
            logger.warning("chunk %s has unreadable figures metadata; re-run ingest", chunk_id)
            continue
        if not stored:
            continue
        source = str(meta.get("source", ""))
        passage = _passage(chunk_id, chunk)
        report = report_name(documents.get(source, {}), lang) or source
        for n, item in enumerate(stored, start=1):
            fields = {k: item.get(k, "") for k in _STORED}  # a field added since the ingest reads as ""
            fields.update(value=float(item.get("value") or 0), year=item.get("year"), clause=fields["clause"] or fields["written"])
            row = TableRow(id=f"{chunk_id}.{n}", report=report, source=source, section=str(meta.get("section", "")), chunk_id=chunk_id, **fields)
            rows.append(check(row, passage))
    return rows


def read_store(settings: Settings) -> tuple[dict[str, dict], dict[str, dict]]:
    """(chunks, documents) of the last complete ingest, read without loading an embedder."""
    store = ChunkStore(settings)
    try:
        manifest = store.read_manifest()
        ids = [cid for entry in manifest.values() for cid in entry["ids"]]
        if not ids:
            raise StoreNotReadyError(
                "The store holds no report yet. Add one: python -m ingest FILE_OR_FOLDER "
                "(a NAME.meta.json beside each report gives its title, city and year)."
            )
        try:
            collection = store.client.get_collection(store.name, embedding_function=None)
        except Exception as exc:  # noqa: BLE001 - chromadb raises several types for a missing collection
            raise StoreNotReadyError("Nothing has been ingested yet. Run: python -m ingest") from exc
        chunks = store.get_chunks(collection, ids)
        return chunks, {source: entry["meta"] for source, entry in manifest.items()}
    except StoreError:
        raise
    except Exception as exc:  # noqa: BLE001
        from chatbot.retrieve.store import explain

        raise explain(settings, exc, "read") from exc
    finally:
        store.close()


def load_table(settings: Settings, *, lang: str = "zh") -> list[TableRow]:
    chunks, documents = read_store(settings)
    if not any(METADATA_KEY in c["meta"] for c in chunks.values()):
        raise StoreNotReadyError("The stored reports were ingested before figures were extracted. Re-run: python -m ingest")
    return table_rows(chunks, documents, lang=lang)


GROWTH = re.compile(r"增长|涨幅|增速|提高|上升|下降|降低")


def section_group(section: str) -> str:
    """The first two levels of a heading path: the part of the report a figure belongs to."""
    return " › ".join(section.split(" › ")[:2])


def filter_rows(rows: list[TableRow], *, reports=(), kinds=(), sections=(), text: str = "") -> list[TableRow]:  # noqa: ANN001
    """The rows a reader asked for: empty choices mean all; `text` is a plain substring (never a pattern)."""
    needle = text.strip().casefold()
    return [
        r for r in rows
        if (not reports or r.report in reports)
        and (not kinds or r.kind in kinds)
        and (not sections or section_group(r.section) in sections)
        and (not needle or any(needle in field.casefold() for field in (r.indicator, r.relation, r.written, r.sentence, r.section)))
    ]


def growth_targets(rows: list[TableRow]) -> tuple[int | None, list[TableRow]]:
    """(year, rows): the newest year's percentage targets of a change (growth, a rise or a fall)."""
    targets = [r for r in rows if r.kind == "target" and r.unit == "%" and r.year and GROWTH.search(r.indicator + r.relation)]
    if not targets:
        return None, []
    year = max(r.year for r in targets)
    return year, [r for r in targets if r.year == year]


def to_csv(rows: list[TableRow]) -> str:
    """The table as CSV (UTF-8 text; the caller adds a BOM for spreadsheet programs if it wants)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(FIELDS))
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.to_dict().items()})
    return out.getvalue()


def _cell(value: object) -> object:
    """A text cell that a spreadsheet would read as a formula (=, +, -, @) is quoted with '."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


__all__ = [
    "FIELDS", "METADATA_KEY", "TableRow", "check", "filter_rows", "growth_targets", "load_table", "read_store", "section_group",
    "stored_figures", "table_rows", "to_csv",
]
