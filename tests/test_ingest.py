"""Ingest: idempotent re-runs, deletion of vanished chunks, bad input, embedder records."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from chatbot.errors import DocumentError, EmbedderMismatchError, IngestLockedError
from chatbot.retrieve.store import ChunkStore, ingest_lock
from chatbot.settings import Settings
from ingest.pipeline import ingest
from tests.conftest import ROOT

DOC = "（一）加快构建现代化产业体系\n全 力 推 进 旅 游 转 型 升 级 。 擦亮“奇秀山水”名片。\n持续推动工业强基。每 个 园 区 动 态 储 备 500—1000 亩 “ 净\n地”和一定数量的标准厂房。\n"


def _ids(settings: Settings) -> set[str]:
    store = ChunkStore(settings)
    col = store.client.get_collection(settings.collection)
    return set(col.get(include=[])["ids"])


def test_reingest_is_idempotent_and_deletes_vanished_chunks(tmp_path, isolated_data_dir):
    settings = Settings()
    doc = tmp_path / "report.txt"
    doc.write_text(DOC, encoding="utf-8")
    first = ingest([doc], settings, progress=False)
    assert first.embedded == first.chunks > 0
    ids = _ids(settings)
    second = ingest([doc], settings, progress=False)
    assert second.embedded == 0 and second.deleted == 0
    assert _ids(settings) == ids
    doc.write_text(DOC.replace("持续推动工业强基。", "持续推动工业强基。新增一句话。"), encoding="utf-8")
    third = ingest([doc], settings, progress=False)
    assert third.deleted >= 1 and third.embedded >= 1
    after = _ids(settings)
    assert len(after) == third.chunks
    assert after != ids
    manifest = ChunkStore(settings).read_manifest()
    assert set(manifest["report.txt"]["ids"]) == after


def test_seed_report_chunks_are_small(built_store):
    settings = Settings(data_dir=built_store)
    store = ChunkStore(settings)
    docs = store.client.get_collection(settings.collection).get(include=["documents"])["documents"]
    sizes = sorted(len(d) for d in docs)
    assert len(sizes) > 40
    assert sizes[len(sizes) // 2] < 200 and sizes[-1] < 400


def test_gbk_file_is_decoded(tmp_path, isolated_data_dir):
    doc = tmp_path / "gbk.txt"
    doc.write_bytes(DOC.encode("gbk"))
    summary = ingest([doc], Settings(), progress=False)
    assert summary.chunks >= 2


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("empty.txt", b"", "empty"),
        ("blank.txt", b"  \n\n ", "empty"),
        ("binary.txt", bytes(range(256)) * 4, "binary"),
        ("latin.txt", "caf\xe9 ".encode("utf-16"), "binary"),
        ("image.png", b"\x89PNG", "unsupported"),
    ],
)
def test_bad_files_get_a_clear_error_and_the_store_stays_intact(tmp_path, store_copy, name, content, message):
    settings = Settings()
    before = _ids(settings)
    bad = tmp_path / name
    bad.write_bytes(content)
    with pytest.raises(DocumentError) as err:
        ingest([bad], settings, progress=False)
    assert message in str(err.value) and name in str(err.value)
    assert _ids(settings) == before


def test_undecodable_text_names_the_file(tmp_path, isolated_data_dir):
    bad = tmp_path / "weird.txt"
    bad.write_bytes(b"\xff\xfe\xfa\x81\x30\xff" * 50)
    with pytest.raises(DocumentError, match="weird.txt"):
        ingest([bad], Settings(), progress=False)


def test_cli_reports_bad_input_without_traceback(tmp_path):
    bad = tmp_path / "empty.txt"
    bad.write_text("")
    result = subprocess.run([sys.executable, "-m", "ingest", str(bad)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 1
    assert "empty" in result.stderr and "Traceback" not in result.stderr


def test_second_ingest_is_locked_out(isolated_data_dir):
    with ingest_lock(isolated_data_dir):
        with pytest.raises(IngestLockedError, match="Another ingest is running"):
            ingest([ROOT / "seeds"], Settings(), progress=False)


def test_querying_with_another_embedder_says_to_reingest(store_copy):
    from chatbot.retrieve.retriever import Retriever

    class OtherEmbedder:
        id = "other/model"

        def embed_query(self, text):
            return [0.0] * 8

    with pytest.raises(EmbedderMismatchError, match="Re-ingest"):
        Retriever(Settings(), OtherEmbedder())  # type: ignore[arg-type]


CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")


@pytest.mark.skipif(not CJK_FONT.exists(), reason="needs Debian's fonts-wqy-microhei to write a Chinese PDF")
def test_pdf_pages_are_ingested_with_their_page_numbers(tmp_path, isolated_data_dir):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_font("wqy", fname=str(CJK_FONT))
    pdf.set_font("wqy", size=12)
    for text in ("（一）加快构建现代化产业体系\n全 力 推 进 旅 游 转 型 升 级 。 擦亮“奇秀山水”名片。", "持续推动工业强基。每个园区动态储备500—1000亩“净地”。"):
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    path = tmp_path / "report.pdf"
    pdf.output(str(path))
    settings = Settings()
    summary = ingest([path], settings, progress=False)
    assert summary.chunks == 2
    col = ChunkStore(settings).client.get_collection(settings.collection)
    got = col.get(include=["documents", "metadatas"])
    pages = {doc: meta["page"] for doc, meta in zip(got["documents"], got["metadatas"])}
    assert pages == {"全力推进旅游转型升级。擦亮“奇秀山水”名片。": 1, "持续推动工业强基。每个园区动态储备500—1000亩“净地”。": 2}
    assert all(meta["section"].startswith("（一）加快构建现代化产业体系") for meta in got["metadatas"])
