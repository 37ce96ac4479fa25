"""What one uploaded scan may cost the reader: picture sizes are read from the headers (PNG, JPEG,
TIFF, BMP, WebP) and a picture beyond ``MAX_PIXELS`` is reported, never decoded (a decompression
bomb: a small file that unpacks to gigabytes); a PDF is measured with ``pdfinfo`` before anything
is rendered — too many pages, or a page that would render to too many pixels, is refused."""

from __future__ import annotations

import shutil
import struct
import zlib

import cv2
import numpy as np
import pytest

from junheng.exceptions import InputError
from junheng.materials import omr_read
from junheng.materials.omr import SheetItem, SheetLayout
from junheng.materials.omr_read import MAX_PIXELS, picture_problem, picture_size, read_batch, scan_pages

LAYOUT = SheetLayout("S", "K1", "数学", (SheetItem("M1", "single_choice", "ABCD"),))


@pytest.mark.parametrize("ext", [".png", ".jpg", ".tif", ".bmp", ".webp"])
def test_sizes_come_from_the_headers(ext):
    img = np.full((37, 53), 200, np.uint8)
    ok, buf = cv2.imencode(ext, img)
    assert ok
    assert picture_size(buf.tobytes()) == (53, 37)
    assert picture_problem(buf.tobytes()) is None


def _png_header(w: int, h: int) -> bytes:
    """A PNG that claims ``w × h`` grey pixels (a tiny file: a bomb needs no more to start)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + chunk(b"IEND", b""))


def test_a_decompression_bomb_is_reported_and_never_decoded(tmp_path, monkeypatch):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png_header(30000, 30000))  # 900 MP, a few hundred bytes
    other = tmp_path / "note.gif"
    other.write_bytes(b"GIF89a" + b"\x00" * 20)

    def refuse(content):
        raise AssertionError("decoded a picture that should have been refused")

    monkeypatch.setattr(omr_read, "_decode", refuse)
    batch = read_batch([bomb, other], LAYOUT)
    assert batch.sheets["status"].to_list() == ["failed", "failed"]
    msgs = {i.file: i.rule_en for i in batch.issues}
    assert "too large (30000×30000 pixels" in msgs["bomb.png"] and "unsupported picture format" in msgs["note.gif"]
    assert 30000 * 30000 > MAX_PIXELS


def _pdf(pages: list[tuple[int, int]]) -> bytes:
    """A minimal PDF of empty pages of the given sizes (points)."""
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [" + b" ".join(f"{3 + k} 0 R".encode() for k in range(len(pages)))
            + f"] /Count {len(pages)} >>".encode()]
    objs += [f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {w} {h}] >>".encode() for w, h in pages]
    out, offsets = b"%PDF-1.4\n", []
    for k, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{k} 0 obj\n".encode() + o + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


@pytest.mark.skipif(shutil.which("pdfinfo") is None, reason="poppler-utils not installed")
def test_pdf_pages_and_page_sizes_are_bounded_before_rendering(tmp_path):
    a4 = (595, 842)
    many = tmp_path / "many.pdf"
    many.write_bytes(_pdf([a4] * 5))
    with pytest.raises(InputError) as exc:
        scan_pages([("many.pdf", many)], tmp_path / "r1", 150, max_pages=4)
    assert "more than 4 pages" in exc.value.issues[0].rule_en and exc.value.issues[0].value == "5"
    assert not list((tmp_path).rglob("*.png"))  # refused before pdftoppm rendered anything
    # pages are counted across the files of one upload
    with pytest.raises(InputError):
        scan_pages([("a.pdf", many), ("b.pdf", many)], tmp_path / "r2", 150, max_pages=8)
    huge = tmp_path / "poster.pdf"
    huge.write_bytes(_pdf([a4, (5000, 5000)]))  # page 2: 10417 × 10417 px at 150 dpi
    with pytest.raises(InputError) as exc:
        scan_pages([("poster.pdf", huge)], tmp_path / "r3", 150, max_pages=10)
    assert exc.value.issues[0].rule_en.startswith("page 2 is too large")
    assert not list((tmp_path).rglob("*.png"))
    # within the bounds: every page rendered, named <file>:<page>
    pages = scan_pages([("many.pdf", many)], tmp_path / "r4", 50, max_pages=5)
    assert [n for n, _ in pages] == [f"many.pdf:{k}" for k in range(1, 6)]


def test_a_huge_picture_file_is_refused_before_it_is_read(tmp_path, monkeypatch):
    """The header check came after the whole file was read into memory: a file of gigabytes was
    read first. Now its size is checked before any byte is read."""
    from junheng.materials.omr_read import MAX_PICTURE_BYTES

    huge = tmp_path / "scan.png"
    with huge.open("wb") as f:  # sparse: no disk used
        f.write(_png_header(1000, 1000))
        f.truncate(MAX_PICTURE_BYTES + 1)

    def refuse(image):
        raise AssertionError("read a file that should have been refused")

    monkeypatch.setattr(omr_read, "content_hash", refuse)
    batch = read_batch([huge], LAYOUT)
    assert batch.sheets["status"].to_list() == ["failed"]
    assert "picture file is too large" in batch.issues[0].rule_en and batch.issues[0].file == "scan.png"


@pytest.mark.skipif(shutil.which("pdfinfo") is None, reason="poppler-utils not installed")
def test_a_pdf_that_renders_forever_is_an_issue_not_a_hung_worker(tmp_path, monkeypatch):
    """pdftoppm had no time limit: a PDF built to render slowly held the job worker for ever (and a
    time limit alone would have raised TimeoutExpired, a traceback). A stand-in pdftoppm that hangs."""
    import os

    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "pdftoppm").write_text("#!/bin/sh\nexec sleep 30\n")
    (fake / "pdftoppm").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(omr_read, "RENDER_SECONDS", (0.5, 0.1))
    doc = tmp_path / "a.pdf"
    doc.write_bytes(_pdf([(595, 842)]))
    with pytest.raises(InputError) as exc:
        scan_pages([("a.pdf", doc)], tmp_path / "r", 50, max_pages=5)
    assert exc.value.issues[0].file == "a.pdf" and "cannot render the PDF" in exc.value.issues[0].rule_en


def test_a_layout_file_is_read_through_junheng_io_bounded_by_the_size_limit(tmp_path, monkeypatch):
    """``SheetLayout.load`` reads through ``junheng.io.read_bytes``: a file over the size limit
    (``JUNHENG_MAX_FILE_MB``) is refused before any of it is read, a missing one is a message; a
    file that is not UTF-8 keeps the layout's own message."""
    from pathlib import Path

    from junheng.exceptions import ParameterError

    path = tmp_path / "K1.layout.json"
    path.write_text(LAYOUT.to_json(), encoding="utf-8")
    assert SheetLayout.load(path) == LAYOUT
    with pytest.raises(InputError, match="file not found"):
        SheetLayout.load(tmp_path / "none.layout.json")
    big = tmp_path / "big.layout.json"
    big.write_bytes(b" " * (1 << 20) + LAYOUT.to_json().encode())
    monkeypatch.setenv("JUNHENG_MAX_FILE_MB", "1")
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("read before the size was checked"))
    with pytest.raises(InputError, match="too large"):
        SheetLayout.load(big)
    monkeypatch.undo()
    path.write_bytes(LAYOUT.to_json().encode("utf-16"))
    with pytest.raises(ParameterError, match="expected UTF-8 JSON"):
        SheetLayout.load(path)
