"""Streamlit web app: `streamlit run chatbot/app.py`.

Streamlit lives only here and in `chatbot/ui/`. This entry point only lays out
the navigation: the public chat (`chatbot/ui/chat.py`), the report's figures
(`chatbot/ui/figures.py`) and, when the operator set
CHATBOT_STAFF_PASSWORD_HASH, the staff page (`chatbot/ui/staff.py`). The Chatbot
(embedder, store, indexes) is loaded once per process with `st.cache_resource`
and shared read-only; each browser session keeps its own state in `SessionState`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# `streamlit run chatbot/app.py` puts chatbot/ itself first on sys.path, where
# chatbot/types.py would shadow the standard library's `types`: use the project root.
_HERE = Path(__file__).resolve().parent
_ROOT = _HERE.parent
sys.path[:] = [p for p in sys.path if Path(os.path.abspath(p or ".")) != _HERE]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

import streamlit as st  # noqa: E402

from chatbot.settings import get_settings  # noqa: E402
from chatbot.ui.page_style import apply_page_style  # noqa: E402
from chatbot.ui.resources import note_staff_page_off  # noqa: E402
from chatbot.ui.state import get_session  # noqa: E402
from chatbot.ui.strings import t  # noqa: E402


def main() -> None:
    st.set_page_config(page_title=t("zh", "page_title"), page_icon="📄", layout="centered")
    session = get_session()
    lang = session.lang
    pages = [
        st.Page("ui/pages/chat.py", title=t(lang, "nav_chat"), icon=":material/chat:", default=True),
        st.Page("ui/pages/figures.py", title=t(lang, "nav_figures"), icon=":material/table_chart:", url_path="figures"),
    ]
    if get_settings().staff_password_hash is not None:
        pages.append(st.Page("ui/pages/staff.py", title=t(lang, "nav_staff"), icon=":material/badge:", url_path="staff"))
    else:
        note_staff_page_off()
    st.navigation(pages).run()
    apply_page_style(session)  # after the page, which may just have switched the language


main()
