"""The answer checks (verify + on-question) on synthetic answers built from a QA split; no model needed.

    CHATBOT_DATA_DIR=DIR python benchmarks/bench_on_question.py [--split tune] [--k 3] [--show-right]

For each item the question (a follow-up made standalone by the rules) retrieves its k passages; then
  * right: each sentence of the gold answer (an English question's evidence instead: the model quotes
    the report), cited to the passage holding the evidence: must stay verified and on the question;
  * offtopic: every other sentence of those passages (not holding the evidence), cited to its own
    passage: should be caught (flagged, or off the question);
  * unanswerable: every sentence of the passages retrieved for an unanswerable item: should be caught;
  * judgement: each right sentence with a grade added ("，位居全省前列", "，成效十分显著"…): should be caught.
A sentence is caught when verification flags it or `off_question` gives a verdict (the core then falls
back to the offline answer). Prints the counts; asserts nothing. Thresholds are chosen on `tune` only.
"""

from __future__ import annotations

import re
from collections import Counter

from _common import open_split, split_parser  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

JUDGEMENTS = ("，位居全省前列", "，在全省处于领先水平", "，这一目标已经提前完成", "，成效十分显著", "，增幅在全省算高的")
_LATIN_WORD = re.compile(r"[a-zA-Z]{4}")


def main() -> None:
    parser = split_parser(__doc__)
    parser.add_argument("--show-right", action="store_true", help="list the right sentences that are caught")
    args = parser.parse_args()
    bot, items = open_split(args.split)

    from chatbot.answer.verify import verify
    from chatbot.answer.verify.on_question import off_question
    from chatbot.question.query import condense
    from chatbot.textutil import compact, split_sentences


    def caught(question: str, answer: str, passages, terms) -> str | None:
        result = verify(answer, passages)
        if not result.verified:
            return "flagged:" + ",".join(result.reasons)
        off = off_question(question, result.sentences, passages, bot.retriever.idf, terms)
        return f"off:{off.kind}" if off else None

    total, hits, right_caught = Counter(), Counter(), []
    for qa in items:
        item, history = qa.model_dump(), list(qa.history)
        question = condense(qa.question, history)
        passages = bot.search(question, history, args.k)
        if not passages:
            continue
        terms = bot.retriever.expansion_terms(question)

        def count(kind: str, answer: str) -> str | None:
            verdict = caught(question, answer, passages, terms)
            total[kind] += 1
            hits[kind] += verdict is not None
            return verdict

        if item["answerable"] and item.get("evidence"):
            evidence = [compact(e) for e in item["evidence"]]
            holder = next((i for i, p in enumerate(passages) if any(e in compact(p.text) for e in evidence)), None)
            if holder is None:
                continue
            gold = (item.get("answer") or "").strip()
            if _LATIN_WORD.search(question):
                gold = "。".join(item["evidence"]) + "。"
            if gold and not _LATIN_WORD.search(gold):
                for a, b in split_sentences(gold):
                    body = gold[a:b].rstrip("。！？")
                    verdict = count("right", f"{body}[{holder + 1}]。")
                    if verdict:
                        right_caught.append((item["id"], question, body, verdict))
                    for grade in JUDGEMENTS:
                        count("judgement", f"{body}{grade}[{holder + 1}]。")
            for n, p in enumerate(passages, 1):
                for a, b in split_sentences(p.text):
                    sentence = p.text[a:b]
                    if len(sentence) >= 6 and not any(e in compact(sentence) for e in evidence):
                        count("offtopic", sentence.rstrip("。！？；") + f"[{n}]。")
        elif not item["answerable"]:
            for n, p in enumerate(passages, 1):
                for a, b in split_sentences(p.text):
                    if b - a >= 6:
                        count("unanswerable", p.text[a:b].rstrip("。！？；") + f"[{n}]。")

    print(f"split {args.split}, k={args.k}")
    for kind, goal in (("right", "stay unflagged"), ("offtopic", "caught"), ("unanswerable", "caught"), ("judgement", "caught")):
        print(f"  {kind:13s} caught {hits[kind]:5d} of {total[kind]:5d}   (should be {goal})")
    if args.show_right:
        for row in right_caught:
            print("  right but caught:", *row)


if __name__ == "__main__":
    main()
