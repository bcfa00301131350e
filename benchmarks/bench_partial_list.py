"""The partial-list check (`on_question.partial_list`) on synthetic list answers from a QA split; no model needed.

    CHATBOT_DATA_DIR=DIR python benchmarks/bench_partial_list.py [--split tune] [--k 3] [--show]

For each answerable item without history whose question asks for the members of something and whose
evidence every retrieved passage set holds, the offline answer from the same k passages is the reference;
  * gold: the gold evidence, each clause cited to its passage: should not be called partial, unless the
    evidence itself quotes only part of a list (holdout q192 quotes three of the five 夜经济 places);
  * cut: each evidence enumeration of four items or more with members between two 、, cut to its last two
    items ("九院十街、溪布街等" for "大庸古城、…、九院十街、溪布街等"): should be called partial.
Prints the counts; asserts nothing. Judge changes on `tune`; report the holdout split only.
"""

from __future__ import annotations

import re

from _common import open_split, split_parser  # noqa: E402  (benchmarks/ is on sys.path when run as a script)



def main() -> None:
    parser = split_parser(__doc__)
    parser.add_argument("--show", action="store_true", help="list the answers judged wrongly")
    args = parser.parse_args()
    bot, items = open_split(args.split)

    from chatbot.answer.verify import verify
    from chatbot.answer.verify.on_question import member_runs, partial_list
    from chatbot.question.vocabulary import LIST_QUESTION
    from chatbot.textutil import compact

    counts = {"gold": [0, 0], "cut": [0, 0]}  # [answers, called partial]
    misjudged: list[tuple[str, str, str]] = []
    for qa in items:
        if not qa.answerable or qa.history or not qa.evidence or not LIST_QUESTION.search(qa.question):
            continue
        offline = bot.ask(qa.question, k=args.k, backend="extractive")
        passages = offline.contexts
        holders = [next((n for n, p in enumerate(passages, 1) if compact(e) in compact(p.text)), None) for e in qa.evidence]
        if offline.refused or None in holders:
            continue

        def judge(kind: str, answer: str, partial_expected: bool) -> None:
            called = bool(partial_list(qa.question, verify(answer, passages, qa.question).sentences, offline.answer))
            counts[kind][0] += 1
            counts[kind][1] += called
            if called != partial_expected:
                misjudged.append((kind, qa.id, answer))

        judge("gold", "".join(f"{e}[{n}]。" for e, n in zip(qa.evidence, holders)), False)
        for evidence, n in zip(qa.evidence, holders):
            for clause in re.split(r"[，。；：]", evidence):
                pieces = clause.split("、")
                if len(pieces) >= 4 and member_runs(clause):
                    judge("cut", "、".join(pieces[-2:]) + f"[{n}]。", True)

    print(f"split {args.split}, k={args.k}")
    print(f"  gold answers called partial {counts['gold'][1]:4d} of {counts['gold'][0]:4d}   (should be none)")
    print(f"  cut lists     called partial {counts['cut'][1]:4d} of {counts['cut'][0]:4d}   (should be all)")
    if args.show:
        for row in misjudged:
            print("  misjudged:", *row)


if __name__ == "__main__":
    main()
