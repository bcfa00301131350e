"""`python -m ingest [PATH ...]`: ingest files or folders (default: seeds/).

A document is known by its path relative to the folder given (a file given by
itself: by its name). A folder walk skips symbolic links and lists them; a
link given on the command line is followed. Nothing is visible to readers
until every document is stored; a failure leaves the previous state.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from chatbot.errors import ChatbotError
from chatbot.safetext import escape_controls
from chatbot.settings import get_settings
from ingest.pipeline import ingest

logger = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingest", description=__doc__)
    parser.add_argument("paths", nargs="*", type=Path, help="files or folders of .txt, .md, .pdf (default: seeds/)")
    parser.add_argument("--rebuild", action="store_true", help="drop the collection first (e.g. after changing embedder)")
    parser.add_argument(
        "--replace", action="store_true",
        help="let a file replace a stored document of the same name that came from another path",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = get_settings()
        summary = ingest(args.paths or [settings.seeds_dir], settings, rebuild=args.rebuild, replace=args.replace, progress=not args.quiet)
    except ChatbotError as exc:
        print(f"ingest failed: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - the edge: one line for the operator, the trace in the log
        logger.info("ingest failed", exc_info=True)
        message = escape_controls(" ".join(str(exc).split()))[:300]
        print(
            f"ingest failed: {type(exc).__name__}: {message}. Readers keep the last complete state; "
            f"run with -v for details.", file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        print("ingest interrupted; run it again to finish (the store keeps its last complete state).", file=sys.stderr)
        return 130
    print(summary.describe())
    return 0


if __name__ == "__main__":
    sys.exit(main())
