"""Per-kind recall and false alarms of the sentence checker on the labelled claims set.

    python scripts/claims_report.py                # the held-out part (rows from holdout QA items)
    python scripts/claims_report.py --split tune   # the part thresholds are tuned on
    python scripts/claims_report.py --misses       # also list the rows it gets wrong
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chatbot.evaluation.claims import score  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="holdout", choices=["holdout", "tune", "all"])
    parser.add_argument("--misses", action="store_true")
    args = parser.parse_args(argv)
    report = score(None if args.split == "all" else args.split)
    print(f"split: {args.split}; {report.ms_per_sentence:.2f} ms per sentence\n")
    print(report.table())
    print(f"\nfalse alarms on faithful sentences: {report.false_alarm_rate:.3f}")
    if args.misses:
        for kind, s in sorted(report.kinds.items()):
            if s.misses:
                print(f"\n{kind}: " + " ".join(s.misses))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
