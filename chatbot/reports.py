"""What the stored reports are: names, titles and years, read from their metadata only.

Nothing about a report is written in the code. Each document's `NAME.meta.json`
(title, title_en, city, city_en, year, page) is kept in the manifest at ingest, and
`Retriever.documents` returns it; the UI title, the CLI banner, the export heading,
the own-city checks and the year that 今年/去年 mean all come from here.
"""

from __future__ import annotations

from collections.abc import Mapping


def _year(meta: Mapping) -> int | None:
    try:
        return int(meta["year"]) if meta.get("year") is not None else None
    except (TypeError, ValueError):
        return None


def report_name(meta: Mapping, lang: str = "zh") -> str:
    """A short name: "<city><year>年" in Chinese, "<city_en> <year>" in English; the title when neither is known."""
    year = _year(meta)
    if lang == "en":
        city = meta.get("city_en") or meta.get("city")
        parts = [str(city)] if city else []
        parts += [str(year)] if year else []
        return " ".join(parts) or str(meta.get("title_en") or meta.get("title") or "")
    city = str(meta.get("city") or "")
    name = city + (f"{year}年" if year else "")
    return name or str(meta.get("title") or "")


def report_title(meta: Mapping, lang: str = "zh") -> str:
    """The document's own title (title_en in English when given)."""
    if lang == "en" and meta.get("title_en"):
        return str(meta["title_en"])
    return str(meta.get("title") or meta.get("path") or report_name(meta, lang))


def newest_year(documents: Mapping[str, Mapping]) -> int | None:
    years = [y for y in (_year(m) for m in documents.values()) if y]
    return max(years) if years else None


def base_year(question: str, documents: Mapping[str, Mapping], override: int | None = None) -> int | None:
    """The year 今年 means in `question`: the explicit setting, else the year of the report the
    question names (its city's newest), else the newest stored report; None with no year known."""
    if override:
        return override
    if len(documents) > 1:
        from chatbot.question.routing import named_cities

        cities = named_cities(question, dict(documents))
        if len(cities) == 1:
            own = {source: meta for source, meta in documents.items() if meta.get("city") == cities[0]}
            year = newest_year(own)
            if year:
                return year
    return newest_year(documents)


__all__ = ["base_year", "newest_year", "report_name", "report_title"]
