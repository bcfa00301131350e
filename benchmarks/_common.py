"""Small helpers shared by the benchmark scripts."""

from __future__ import annotations

import argparse
import math
import socket
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def rss_mb(pid: int | str = "self") -> float:
    """Resident memory of a process (this one by default) now, in MB (Linux)."""
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def split_parser(doc: str) -> argparse.ArgumentParser:
    """The arguments of a benchmark over a QA split: --split (tune by default) and --k, described by the
    first line of the script's docstring."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--split", default="tune")
    parser.add_argument("--k", type=int, default=3)
    return parser


def open_split(split: str) -> tuple:
    """A chatbot on the configured store and the QA items of `split` (the repository put on sys.path
    first, so the scripts run from anywhere)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from chatbot.core import Chatbot
    from chatbot.evaluation.qaset import load_qa

    return Chatbot(), load_qa(ROOT / "tests" / "data" / "qa.jsonl", split).items
