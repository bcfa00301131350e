"""The visitors' figures page ("报告数据一览"): every figure of the stored reports, checked, at a glance.

The rows come from `chatbot.report_figures` (extracted at ingest, each confirmed by the claim
checker against its own passage; rows that fail are counted, not shown). Visitors sort and filter
the table, see the year's growth targets as a chart, download the table as CSV, and open any
row's passage with the figure highlighted: through the link in the table's last column
(`?row=<id>`, so a figure can be shared) or, from the keyboard, the picker below the table.

Visitors' input is hostile: the filters are matched as plain text, never as patterns; the `row`
query parameter is only looked up among the table's ids and never shown; every document string
reaches the page through st.dataframe/st.bar_chart (which render text, not markup),
`escape_markdown`, or `safe_html` (html.escape).
"""

from __future__ import annotations

import logging

import altair as alt
import pandas as pd
import streamlit as st

from chatbot.core import Chatbot
from chatbot.errors import StoreNotReadyError
from chatbot.export import escape_markdown
from chatbot.report_figures.extract import KINDS
from chatbot.report_figures.table import TableRow, filter_rows, growth_targets, section_group, table_rows, to_csv
from chatbot.settings import get_settings
from chatbot.types import Citation
from chatbot.ui.chat import document_loader
from chatbot.ui.resources import load_chatbot
from chatbot.ui.safe_html import passage_html
from chatbot.ui.state import get_session
from chatbot.ui.strings import t
from chatbot.ui.views import open_full_text, page_label

logger = logging.getLogger(__name__)

ROW_PARAM = "row"
_SEARCH_MAX = 100


@st.cache_data(show_spinner=False, max_entries=8)
def _checked_rows(data_dir: str, version: str, lang: str, _bot: Chatbot) -> list[TableRow]:
    """The checked table for one state of the store (the manifest version) and language."""
    return table_rows(_bot.retriever.all_chunks(), _bot.retriever.documents, lang=lang)


def kind_label(kind: str, lang: str) -> str:
    return t(lang, f"kind_{kind}") if kind in KINDS else kind


def row_label(row: TableRow, lang: str) -> str:
    qualifier = f" {row.qualifier}" if row.qualifier else ""
    return f"{row.indicator}{row.relation} {row.written}{qualifier} · {row.year or ''} · {kind_label(row.kind, lang)}"


def frame(rows: list[TableRow], lang: str, *, reports: bool) -> pd.DataFrame:
    """The table's columns, most read first; the report column only when several reports are stored."""
    columns = {t(lang, "col_report"): [r.report for r in rows]} if reports else {}
    columns.update(
        {
            t(lang, "col_year"): [r.year for r in rows],
            t(lang, "col_kind"): [kind_label(r.kind, lang) for r in rows],
            t(lang, "col_indicator"): [r.indicator + r.relation for r in rows],
            t(lang, "col_written"): [r.written + (f" {r.qualifier}" if r.qualifier else "") for r in rows],
            t(lang, "col_open"): [f"?{ROW_PARAM}={r.id}" for r in rows],
            t(lang, "col_section"): [section_group(r.section) for r in rows],
            t(lang, "col_value"): [r.value for r in rows],
            t(lang, "col_unit"): [r.unit for r in rows],
        }
    )
    return pd.DataFrame(columns)


def filters(rows: list[TableRow], lang: str) -> list[TableRow]:
    reports = sorted({r.report for r in rows})
    sections = list(dict.fromkeys(section_group(r.section) for r in rows))
    left, right = st.columns(2)
    everything = t(lang, "filter_all")
    chosen_reports = (
        left.multiselect(t(lang, "filter_report"), reports, key="fig_report", placeholder=everything) if len(reports) > 1 else []
    )
    kinds = left.multiselect(
        t(lang, "filter_kind"), list(KINDS), format_func=lambda k: kind_label(k, lang), key="fig_kind", placeholder=everything
    )
    chosen_sections = right.multiselect(t(lang, "filter_section"), sections, key="fig_section", placeholder=everything)
    text = right.text_input(
        t(lang, "filter_search"), key="fig_search", max_chars=_SEARCH_MAX, placeholder=t(lang, "filter_search_placeholder")
    )
    return filter_rows(rows, reports=chosen_reports, kinds=kinds, sections=chosen_sections, text=text)


def chart(rows: list[TableRow], lang: str) -> None:
    year, targets = growth_targets(rows)
    if not targets:
        st.caption(t(lang, "figures_chart_none"))
        return
    st.header(t(lang, "figures_chart", year=year))
    names: list[str] = []
    for row in targets:  # one bar per figure: "城乡居民人均可支配收入" twice becomes two names
        name = row.indicator
        while name in names:
            name += " ·"
        names.append(name)
    indicator = t(lang, "col_indicator")
    data = pd.DataFrame({indicator: names, "%": [r.value for r in targets]})
    # Altair rather than st.bar_chart: its default cut long names at 200 px ("城乡居民人均可…" twice,
    # two bars nobody could tell apart); the whole name is shown, and each bar carries its value.
    axis = alt.Y(f"{indicator}:N", sort=None, title=None, axis=alt.Axis(labelLimit=0))
    bars = alt.Chart(data).mark_bar().encode(x=alt.X("%:Q", title="%"), y=axis, tooltip=[indicator, "%"])
    values = bars.mark_text(align="left", dx=3).encode(text=alt.Text("%:Q", format="~g"))
    st.altair_chart((bars + values).properties(height=max(220, 34 * len(targets))), alt=t(lang, "figures_chart", year=year))


def passage_view(row: TableRow, bot: Chatbot, lang: str, n: int) -> None:
    """The row's passage, its sentence marked and the figure's words in bold, and the full text one click away."""
    chunk = bot.retriever.fetch_chunks([row.chunk_id]).get(row.chunk_id)
    if chunk is None:
        st.warning(t(lang, "figures_row_missing"))
        return
    page = chunk["meta"].get("page")
    with st.container(border=True, key="fig_passage"):
        st.markdown(f"**{escape_markdown(row_label(row, lang))}**")
        st.caption(escape_markdown(" · ".join(x for x in (row.report, row.section, page_label(page, lang)) if x)))
        st.html(passage_html(chunk["text"], row.sentence, focus=row.clause))
        if st.button(t(lang, "open_full"), key="fig_open_full", icon=":material/menu_book:"):
            citation = Citation(n=n, chunk_id=row.chunk_id, source=row.source, section=row.section, page=page, quote=row.clause)
            open_full_text(citation, lang, document_loader(bot))


def main() -> None:
    session = get_session()
    lang = session.lang
    settings = get_settings()
    st.title(t(lang, "figures_title"))
    try:
        bot = load_chatbot(str(settings.data_dir))
        bot.retriever.refresh()
        rows = _checked_rows(str(settings.data_dir), bot.retriever.store.manifest_version(), lang, bot)
    except StoreNotReadyError:
        st.info(t(lang, "figures_empty"))
        return
    except Exception:  # noqa: BLE001 - the detail is for the log
        logger.exception("cannot load the figures table")
        st.error(t(lang, "store_error"))
        return
    shown = [r for r in rows if r.verified]
    if not shown:
        st.info(t(lang, "figures_empty"))
        return
    st.caption(t(lang, "figures_intro"))
    if len(rows) > len(shown):
        st.caption(t(lang, "figures_hidden", n=len(rows) - len(shown)))

    picked = filters(shown, lang)
    st.caption(t(lang, "figures_count", n=len(picked)))
    if picked:
        st.dataframe(
            frame(picked, lang, reports=len({r.report for r in shown}) > 1),
            hide_index=True,
            width="stretch",
            key="fig_table",
            column_config={
                t(lang, "col_year"): st.column_config.NumberColumn(format="%d"),
                t(lang, "col_value"): st.column_config.NumberColumn(format="%g"),
                t(lang, "col_open"): st.column_config.LinkColumn(display_text=t(lang, "open_passage_link")),
            },
        )
    else:
        st.info(t(lang, "figures_none"))
    st.download_button(
        t(lang, "figures_download"), data="\ufeff" + to_csv(picked), file_name="figures.csv", mime="text/csv",
        key="fig_download", icon=":material/download:", disabled=not picked,
    )
    chart(picked, lang)

    by_id = {r.id: r for r in shown}
    choice = st.selectbox(
        t(lang, "figures_pick"), [None] + [r.id for r in picked], key="fig_pick",
        format_func=lambda i: "—" if i is None else row_label(by_id[i], lang),
    )
    wanted = choice or st.query_params.get(ROW_PARAM)
    if wanted:
        row = by_id.get(str(wanted))
        if row is None:
            st.warning(t(lang, "figures_row_missing"))
        else:
            passage_view(row, bot, lang, n=list(by_id).index(row.id) + 1)
