"""Whether a model's rewrite of a follow-up can be trusted.

A model asked to make "那“五小”呢？" standalone once wrote a question about 五大; 全省
became 全国; twice it copied the previous answer. The user's own content words are the
part of a follow-up that must survive a rewrite, so a rewrite that drops or changes any
of them is rejected and the rule-based rewrite is used instead.
"""

from __future__ import annotations

import re
import unicodedata

from chatbot.question.query import _FRAME_WORDS
from chatbot.segmentation import STOPWORDS
from chatbot.textutil import compact
from chatbot.types import Message

_WORDISH = re.compile(r"[\u4e00-\u9fff]|[a-z0-9]")
_NUMBER = re.compile(r"\d+")  # digit runs of `_letters` text ("7.5%" reads 75 on both sides)
_COPY_RUN = 12  # characters copied in a row from an earlier answer that no question contains
_MIN_COPY = 6  # a shorter earlier answer is too short to tell a copy from a shared topic


def _norm(text: str) -> str:
    return compact(unicodedata.normalize("NFKC", text).lower())


def content_words(question: str) -> list[str]:
    """The words of a question that name what it is about (not question or frame words)."""
    import jieba

    from chatbot.segmentation import jieba_lock

    with jieba_lock:
        cut = jieba.lcut(unicodedata.normalize("NFKC", question).lower())
    return [w for w in (t.strip() for t in cut) if w and _WORDISH.search(w) and w not in STOPWORDS and w not in _FRAME_WORDS and w not in _FOLLOWUP_WORDS]


_FOLLOWUP_WORDS = frozenset("那 那么 还有 另外 以及 再问 呢 吗 and what about how".split())


def trustworthy_rewrite(question: str, rewrite: str, history: list[Message], by_rules: str | None = None) -> bool:
    """The rewrite keeps every content word of the question, copies no earlier answer, and, when the
    rules carried words of the earlier question into it (`by_rules`), carries at least one of them."""
    text = _norm(rewrite)
    if not text or len(text) > 4 * max(len(question), 50):
        return False
    if any(_norm(word) not in text for word in content_words(question)):
        return False
    if by_rules is not None and not keeps_the_context(question, by_rules, text):
        return False
    return not copies_an_answer(_letters(rewrite), question, history)


def keeps_the_context(question: str, by_rules: str, rewrite: str) -> bool:
    """A follow-up stands on the earlier question ("死亡人数呢？" after 安全生产事故起数下降了多少): when the
    rules' rewrite carries content words of it, a model's rewrite without any of them ("死亡人数是多少？")
    keeps the user's words but asks something else. On a recorded tune sample it made an answerable
    follow-up a refusal (q118)."""
    own = {_norm(w) for w in content_words(question)}
    carried = [w for w in (_norm(w) for w in content_words(by_rules)) if w not in own]
    return not carried or any(w in _norm(rewrite) for w in carried)


def _letters(text: str) -> str:
    """Only letters and digits: punctuation and markers do not hide a copy."""
    return "".join(ch for ch in _norm(re.sub(r"\[\d+\]", "", text)) if ch.isalnum())


def copies_an_answer(text: str, question: str, history: list[Message]) -> bool:
    """A run of an earlier answer (12 characters, or a whole short answer), or a figure of one, that no
    question holds ("从中央和省里争取到1130万元。": the rewrite answered the question with the last answer)."""
    asked = _letters(question) + "".join(_letters(m.content) for m in history if m.role == "user")
    answered = {f for m in history if m.role == "assistant" for f in _NUMBER.findall(_letters(m.content))}
    if any(f in answered and f not in asked for f in _NUMBER.findall(text)):
        return True
    for m in history:
        answer = _letters(m.content) if m.role == "assistant" else ""
        size = min(_COPY_RUN, len(answer))
        if size < _MIN_COPY:
            continue
        for i in range(len(answer) - size + 1):
            run = answer[i : i + size]
            if run in text and run not in asked:
                return True
    return False
