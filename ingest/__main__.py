"""`python -m ingest [PATH ...]`: ingest files or folders (default: seeds/)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from chatbot.errors import ChatbotError
from chatbot.settings import get_settings
from ingest.pipeline import ingest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingest", description=__doc__)
    parser.add_argument("paths", nargs="*", type=Path, help="files or folders of .txt, .md, .pdf (default: seeds/)")
    parser.add_argument("--rebuild", action="store_true", help="drop the collection first (e.g. after changing embedder)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = get_settings()
        summary = ingest(args.paths or [settings.seeds_dir], settings, rebuild=args.rebuild, progress=not args.quiet)
    except ChatbotError as exc:
        print(f"ingest failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("ingest interrupted; run it again to finish (the store keeps its last complete state).", file=sys.stderr)
        return 130
    print(summary.describe())
    return 0


if __name__ == "__main__":
    sys.exit(main())
