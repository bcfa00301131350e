"""Page-wide presentation the app adds to Streamlit: readable contrast, a large-text mode, the page language.

Why: captions in Streamlit's default theme are light grey on white (axe-core's
colour-contrast rule fails them, below 4.5:1), older citizens read on phones and
need bigger text than Streamlit's 16 px, and Streamlit's page always declares
`lang="en"` so screen readers read the Chinese page with an English voice.
All CSS and the script here are constants: no user or document text goes in.
"""

from __future__ import annotations

import json

import streamlit as st

from chatbot.ui.state import SessionState
from chatbot.ui.strings import t

# BCP 47 tags for the app's interface languages (chatbot.ui.strings.LANGS).
HTML_LANG = {"zh": "zh-CN", "en": "en"}

# Captions (Streamlit fades them with opacity .6) darkened to at least 4.5:1 on white; the script's own
# element takes no room.
BASE_CSS = """
[data-testid="stCaptionContainer"] { opacity: 1 !important; }
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p { color: #4b5058 !important; }
.stElementContainer:has(> .stHtml > .zjj-page-script) { display: none; }
"""

# Large text: every rem-sized thing (text, paddings, inputs, buttons) grows to 137.5 %.
# Long words wrap instead of overflowing narrow screens; the sidebar grows with the text.
LARGE_TEXT_CSS = """
html { font-size: 137.5% !important; }
[data-testid="stMarkdownContainer"], [data-testid="stCaptionContainer"], .stHtml { overflow-wrap: anywhere; }
[data-testid="stChatMessageContent"] { min-width: 0; }
[data-testid="stChatInput"] textarea { font-size: 1rem !important; line-height: 1.5 !important; }
h1 { font-size: 2rem !important; line-height: 1.3 !important; }
@media (max-width: 640px) {
  h1 { font-size: 1.45rem !important; }
  [data-testid="stChatMessage"] { gap: .35rem; }
  [data-testid^="stChatMessageAvatar"] { width: 1.4rem !important; height: 1.4rem !important; }
}
[data-testid="stFeedbackButton"] { min-width: 2.2rem; min-height: 2.2rem; }
[data-testid="stFeedbackButton"] [data-testid="stIconMaterial"] { font-size: 1.5rem !important; }
"""


# Sets <html lang>, and names Streamlit's icon-only feedback thumbs in the interface language
# (Streamlit labels them "Thumbs up"/"Thumbs down" in English whatever the page's language);
# a MutationObserver relabels the thumbs of answers that arrive later. Its text must not contain
# "<" followed by a word character (the frontend's DOMPurify drops such a script).
_PAGE_SCRIPT = """<script>(function(){
var cfg = %s;
document.documentElement.lang = cfg.lang;
window.zjjLabels = cfg;
function relabel(){
  var c = window.zjjLabels;
  document.querySelectorAll('[data-testid="stFeedback"] [role="radiogroup"]').forEach(function(g){
    if (g.getAttribute('aria-label') !== c.group) { g.setAttribute('aria-label', c.group); }
    var b = g.querySelectorAll('[data-testid="stFeedbackButton"]');
    if (b.length === 2) {
      if (b[0].getAttribute('aria-label') !== c.up) { b[0].setAttribute('aria-label', c.up); b[0].setAttribute('title', c.up); }
      if (b[1].getAttribute('aria-label') !== c.down) { b[1].setAttribute('aria-label', c.down); b[1].setAttribute('title', c.down); }
    }
  });
}
relabel();
if (!window.zjjObserver) {
  window.zjjObserver = new MutationObserver(relabel);
  window.zjjObserver.observe(document.body, {childList: true, subtree: true});
}
})();</script>"""


def page_script(lang: str) -> str:
    """The constant page script for `lang`: only known language tags and the app's own strings go in."""
    cfg = {
        "lang": HTML_LANG.get(lang, HTML_LANG["zh"]),
        "group": t(lang, "feedback_group"),
        "up": t(lang, "feedback_up"),
        "down": t(lang, "feedback_down"),
    }
    # ensure_ascii: every non-ASCII character (and no "<") is written as a \uXXXX escape
    payload = json.dumps(cfg, ensure_ascii=True).replace("<", "\\u003c")
    return '<span class="zjj-page-script"></span>' + _PAGE_SCRIPT % payload


def page_css(large_text: bool) -> str:
    return "<style>" + BASE_CSS + (LARGE_TEXT_CSS if large_text else "") + "</style>"


def apply_page_style(session: SessionState) -> None:
    """Inject the CSS (in Streamlit's event container: it takes no room) and the language script."""
    st.html(page_css(session.large_text))
    st.html(page_script(session.lang), unsafe_allow_javascript=True)
