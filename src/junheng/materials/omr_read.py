"""Reading a batch of scanned answer sheets (docs/methods/omr.md).

:func:`read_batch` takes pictures (files, arrays or ``(name, picture)`` pairs) and one or more
layouts: each sheet's QR code chooses its layout (booklets rotate within a room, so one batch
mixes them).  Every picture is keyed by the SHA-256 of its content: the same scan twice is read
once and reported, two different files with the same name are both read and reported.  A sheet
whose corner squares, ink contrast or (with several layouts) QR code cannot be found is reported
and not read — never guessed.  Each bubble gets a darkness, a pencil cover, a class and a
confidence; bubbles of low confidence form the manual-review queue.  :func:`read_sheets` is the
older two-value form.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from junheng.exceptions import InputError, Issue, ParameterError
from junheng.materials import omr_page
from junheng.materials.omr import STUDENT_ID_ALPHABETS, SheetLayout
from junheng.registry.codes import student_id_problem

COVER = 0.25  # a bubble is a mark when at least this share of its inner disc is pencil-dark
LIGHT = 0.15  # … else faint (an erasure or a light mark) when its mean darkness reaches this
REVIEW_BELOW = 0.5  # bubbles (and their items) with a confidence below this go to manual review
CONF_SPAN = 0.2  # confidence = |cover − COVER| / CONF_SPAN, clipped to 0…1
RESPONSE_STATUSES = ("marked", "erased", "blank", "light", "multiple")
RESPONSE_SCHEMA = {"person_id": pl.String, "item_id": pl.String, "raw": pl.String, "status": pl.String,
                   "position": pl.Int32, "sheet": pl.String, "sheet_hash": pl.String, "booklet": pl.String,
                   "confidence": pl.Float64, "review": pl.Boolean}
BUBBLE_SCHEMA = {"sheet": pl.String, "sheet_hash": pl.String, "part": pl.String, "key": pl.String,
                 "value": pl.String, "x": pl.Float64, "y": pl.Float64, "darkness": pl.Float64, "cover": pl.Float64,
                 "state": pl.String, "confidence": pl.Float64, "review": pl.Boolean}
SHEET_SCHEMA = {"sheet": pl.String, "sheet_hash": pl.String, "source": pl.String, "status": pl.String,
                "booklet": pl.String, "person_id": pl.String, "rotation": pl.Int32, "qr": pl.String,
                "annotated": pl.String}

Progress = Callable[[float, str], None]
MAX_PIXELS = 80_000_000  # one picture or PDF page: an A4 page at 600 dpi is 35 MP; beyond this it is refused, not decoded
RENDER_SECONDS = (60.0, 10.0)  # pdftoppm's time limit for a PDF: this much plus this much a page (a hostile PDF must not hang a worker)
MAX_PICTURE_BYTES = 4 * MAX_PIXELS  # a picture file larger than MAX_PIXELS uncompressed RGBA: refused, never read


@dataclass
class OmrBatch:
    """What a batch gave: ``responses`` (one row per sheet and item, :data:`RESPONSE_SCHEMA`),
    ``bubbles`` (every bubble measured, :data:`BUBBLE_SCHEMA`), ``sheets`` (one row per picture:
    ``status`` read | duplicate | failed), ``issues``."""

    responses: pl.DataFrame
    bubbles: pl.DataFrame
    sheets: pl.DataFrame
    issues: list[Issue]

    def review_queue(self) -> pl.DataFrame:
        """The bubbles a person should look at (low confidence or a light mark), worst first."""
        return self.bubbles.filter(pl.col("review")).sort("confidence", "sheet", "part", "key")


def bubble_states(darkness: np.ndarray, cover: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(state, confidence)``: state 2 mark (cover ≥ :data:`COVER`), 1 faint (mean darkness ≥
    :data:`LIGHT`), 0 blank; confidence = distance of the cover from its threshold in units of
    :data:`CONF_SPAN`, halved for a faint bubble (an erasure or a light mark: a person decides)."""
    state = np.where(cover >= COVER, 2, np.where(darkness >= LIGHT, 1, 0)).astype(np.int8)
    conf = np.clip(np.abs(cover - COVER) / CONF_SPAN, 0, 1)
    conf = np.where(state == 1, np.minimum(conf, 0.49), conf)
    return state, conf


def content_hash(image) -> tuple[str, bytes | np.ndarray]:
    """SHA-256 of a file's bytes or an array's shape and bytes, and the content itself."""
    if isinstance(image, np.ndarray):
        arr = np.ascontiguousarray(image)
        return hashlib.sha256(repr(arr.shape).encode() + arr.tobytes()).hexdigest(), arr
    data = Path(image).read_bytes()
    return hashlib.sha256(data).hexdigest(), data


def _u(data: bytes, at: int, n: int, order: str = "big") -> int:
    return int.from_bytes(data[at:at + n], order)


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    at = 2
    while at + 9 < len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # a start of frame
            return _u(data, at + 7, 2), _u(data, at + 5, 2)
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            at += 2
            continue
        at += 2 + _u(data, at + 2, 2)
    return None


def _tiff_size(data: bytes) -> tuple[int, int] | None:
    order = {b"II": "little", b"MM": "big"}.get(data[:2])
    if order is None or _u(data, 2, 2, order) != 42:
        return None
    ifd = _u(data, 4, 4, order)
    n = _u(data, ifd, 2, order)
    size = {}
    for k in range(n):
        e = ifd + 2 + 12 * k
        if e + 12 > len(data):
            return None
        tag, typ = _u(data, e, 2, order), _u(data, e + 2, 2, order)
        if tag in (256, 257):
            size[tag] = _u(data, e + 8, 2 if typ == 3 else 4, order)
    return (size[256], size[257]) if len(size) == 2 else None


def picture_size(data: bytes) -> tuple[int, int] | None:
    """``(width, height)`` of a PNG, JPEG, TIFF, BMP or WebP picture from its header — read before
    anything is decoded, so a small file that would unpack to gigabytes (a decompression bomb) is
    refused, not decoded; None for any other format."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        return _u(data, 16, 4), _u(data, 20, 4)
    if data[:2] == b"\xff\xd8":
        return _jpeg_size(data)
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return _tiff_size(data)
    if data[:2] == b"BM" and len(data) >= 26:
        return abs(int.from_bytes(data[18:22], "little", signed=True)), abs(int.from_bytes(data[22:26], "little", signed=True))
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and len(data) >= 30:
        chunk = data[12:16]
        if chunk == b"VP8X":
            return _u(data, 24, 3, "little") + 1, _u(data, 27, 3, "little") + 1
        if chunk == b"VP8L":
            bits = _u(data, 21, 4, "little")
            return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        if chunk == b"VP8 ":
            return _u(data, 26, 2, "little") & 0x3FFF, _u(data, 28, 2, "little") & 0x3FFF
    return None


def picture_problem(data: bytes, max_pixels: int = MAX_PIXELS) -> tuple[str, str] | None:
    """Why a picture file must not be decoded — (Chinese, English) — or None."""
    size = picture_size(data)
    if size is None:
        return "不支持的图像格式（应为 PNG、JPEG、TIFF、BMP 或 WebP）", "unsupported picture format (use PNG, JPEG, TIFF, BMP or WebP)"
    if size[0] * size[1] > max_pixels:
        return (f"图像过大（{size[0]}×{size[1]} 像素，上限 {max_pixels // 10**6} 百万像素），未读取",
                f"the picture is too large ({size[0]}×{size[1]} pixels, at most {max_pixels // 10**6} MP): not read")
    return None


def _decode(content) -> np.ndarray | None:
    import cv2

    if isinstance(content, np.ndarray):
        return content if content.ndim == 2 else cv2.cvtColor(content, cv2.COLOR_BGR2GRAY)
    return cv2.imdecode(np.frombuffer(content, np.uint8), cv2.IMREAD_GRAYSCALE)


def _entries(images) -> list[tuple[str | None, object]]:
    out = []
    for k, im in enumerate(images):
        if isinstance(im, tuple):
            out.append((str(im[0]), im[1]))
        elif isinstance(im, np.ndarray):
            out.append((f"sheet {k + 1}", im))
        else:
            out.append((Path(im).name, im))
    return out


def _layouts(layouts) -> dict[str, SheetLayout]:
    lays = [layouts] if isinstance(layouts, SheetLayout) else list(layouts)
    if not lays:
        raise ParameterError("没有答题卡版式 / no answer-sheet layout given")
    out: dict[str, SheetLayout] = {}
    for lay in lays:
        if lay.booklet in out and out[lay.booklet] != lay:
            raise ParameterError(f"题本 {lay.booklet} 有两个不同版式 / two different layouts for booklet {lay.booklet}")
        out[lay.booklet] = lay
    return out


def _pdf_pages(path: Path, name: str, dpi: int, limit: int | None, max_pixels: int) -> int:
    """The number of pages of a PDF (``pdfinfo``), checked before anything is rendered: a page that
    would render to more than ``max_pixels`` at ``dpi`` is refused; with more than ``limit`` pages
    (the pages the upload has left) the count is returned at once, for :func:`scan_pages` to refuse."""
    import re
    import subprocess

    def info(*args: str) -> str:
        try:
            return subprocess.run(["pdfinfo", *args, str(path)], check=True, capture_output=True, timeout=60).stdout.decode(
                "utf-8", "replace")
        except (OSError, subprocess.SubprocessError) as exc:
            raise InputError(Issue("无法读取 PDF（文件损坏，或未安装 poppler-utils）",
                                   "cannot read the PDF (damaged, or poppler-utils not installed)", file=name,
                                   value=str(exc)[:120])) from None

    m = re.search(r"^Pages:\s+(\d+)", info(), re.M)
    n = int(m.group(1)) if m else 0
    if limit is not None and n > limit:
        return n  # over the pages left: the caller refuses the upload by its total; no page sizes asked for
    if n:
        sizes = re.findall(r"^Page\s+(\d+) size:\s+([\d.]+) x ([\d.]+) pts", info("-f", "1", "-l", str(n)), re.M)
        big = [(int(k), float(w) * dpi / 72, float(h) * dpi / 72) for k, w, h in sizes
               if float(w) * float(h) * (dpi / 72) ** 2 > max_pixels]
        if big:
            k, w, h = big[0]
            raise InputError(Issue(f"第 {k} 页过大（按 {dpi} dpi 为 {w:.0f}×{h:.0f} 像素，上限 {max_pixels // 10**6} 百万像素）",
                                   f"page {k} is too large ({w:.0f}×{h:.0f} pixels at {dpi} dpi, at most "
                                   f"{max_pixels // 10**6} MP)", file=name, value=f"{len(big)} page(s)"))
    return n


def scan_pages(files: list[tuple[str, Path]], tmp: Path, dpi: int, *, max_pages: int | None = None,
               max_pixels: int = MAX_PIXELS) -> list[tuple[str, Path]]:
    """``(name, image file)``: image files as given; every PDF page rendered to PNG with pdftoppm
    (poppler-utils) into its own folder under ``tmp`` and named ``<name>:<page>`` — two PDFs with
    the same name overwrite nothing (the reader reports the clash by content hash).  Bounded before
    anything is rendered (``pdfinfo``): more than ``max_pages`` pages in all, or a page that would
    render to more than ``max_pixels``, is refused (:class:`InputError`)."""
    import subprocess

    counts: dict[int, int] = {}  # every PDF measured before any is rendered
    total = 0
    for k, (name, p) in enumerate(files):
        left = None if max_pages is None else max_pages - total
        if Path(p).suffix.lower() != ".pdf":
            total += 1
        else:
            counts[k] = _pdf_pages(Path(p), name, dpi, left, max_pixels)
            total += counts[k]
        if max_pages is not None and total > max_pages:
            raise InputError(Issue(f"页数超过上限 {max_pages}，请分批上传", f"more than {max_pages} pages: upload in parts",
                                   file=name, value=str(total)))
    pages: list[tuple[str, Path]] = []
    for k, (name, p) in enumerate(files):
        if Path(p).suffix.lower() != ".pdf":
            pages.append((name, Path(p)))
            continue
        n = counts[k]
        folder = Path(tmp) / f"pdf{k}"
        folder.mkdir(parents=True)
        try:
            subprocess.run(["pdftoppm", "-r", str(dpi), "-l", str(max(n, 1)), "-gray", "-png", str(p), str(folder / "p")],
                           check=True, capture_output=True, timeout=RENDER_SECONDS[0] + RENDER_SECONDS[1] * max(n, 1))
        except (OSError, subprocess.SubprocessError) as exc:  # SubprocessError: a failure or the time limit
            raise InputError(Issue("无法渲染 PDF（需要 poppler-utils 的 pdftoppm）",
                                   "cannot render the PDF (needs pdftoppm from poppler-utils)", file=name,
                                   value=str(exc)[:120])) from None
        rendered = sorted(folder.glob("p-*.png"), key=lambda f: int(f.stem.rsplit("-", 1)[1]))
        pages += [(f"{name}:{n}", f) for n, f in enumerate(rendered, start=1)]
    if max_pages is not None and len(pages) > max_pages:
        raise InputError(Issue(f"页数超过上限 {max_pages}，请分批上传", f"more than {max_pages} pages: upload in parts",
                               file=files[-1][0] if files else None, value=str(len(pages))))
    return pages


def _safe(name: str) -> str:
    return re.sub(r"[^\w.\-]+", "_", name)[:80]


def read_batch(images: Iterable, layouts: SheetLayout | Iterable[SheetLayout], *, annotate_dir: str | Path | None = None,
               progress: Progress | None = None) -> OmrBatch:
    """Read scanned sheets (see the module docstring).  ``annotate_dir``: write each read sheet's
    straightened page with what was read (``<name>.<hash8>.jpg``)."""
    import cv2

    by_booklet = _layouts(layouts)
    single = next(iter(by_booklet.values())) if len(by_booklet) == 1 else None
    entries = _entries(images)
    issues: list[Issue] = []
    sheets, resp_frames, bubble_frames = [], [], []
    seen_hash: dict[str, str] = {}
    seen_name: dict[str, str] = {}
    persons: dict[tuple[str, str], str] = {}
    if annotate_dir is not None:
        Path(annotate_dir).mkdir(parents=True, exist_ok=True)
    for k, (name, image) in enumerate(entries):
        if progress:
            progress(k / max(1, len(entries)), f"{k}/{len(entries)}")
        source = name
        try:
            size = None if isinstance(image, np.ndarray) else Path(image).stat().st_size
            if size is not None and size > MAX_PICTURE_BYTES:  # read into memory whole below: bounded first
                issues.append(Issue(f"图像文件过大（{size // 2**20} MB，上限 {MAX_PICTURE_BYTES // 2**20} MB），未读取",
                                    f"the picture file is too large ({size // 2**20} MB, at most "
                                    f"{MAX_PICTURE_BYTES // 2**20} MB): not read", file=name))
                sheets.append(dict(sheet=name, sheet_hash=None, source=source, status="failed"))
                continue
            digest, content = content_hash(image)
        except OSError:
            issues.append(Issue("无法读取图像", "cannot read the image", file=name))
            sheets.append(dict(sheet=name, sheet_hash=None, source=source, status="failed"))
            continue
        if digest in seen_hash:
            issues.append(Issue(f"重复扫描：与 {seen_hash[digest]} 内容相同，未重复读取",
                                f"duplicate scan: same content as {seen_hash[digest]}; not read twice",
                                file=name, value=digest[:16], severity="warning"))
            sheets.append(dict(sheet=name, sheet_hash=digest, source=source, status="duplicate"))
            continue
        if name in seen_name:
            new = f"{name}#{digest[:8]}"
            issues.append(Issue(f"文件名与另一份不同的扫描重名，此份记为 {new}",
                                f"another, different scan has the same name; this one is called {new}",
                                file=name, value=digest[:16], severity="warning"))
            name = new
        seen_hash[digest] = name
        seen_name[name] = digest
        row = dict(sheet=name, sheet_hash=digest, source=source, status="failed")
        sheets.append(row)
        problem = None if isinstance(content, np.ndarray) else picture_problem(content)
        if problem is not None:
            issues.append(Issue(*problem, file=name))
            continue
        gray = _decode(content)
        if gray is None:
            issues.append(Issue("无法读取图像", "cannot read the image", file=name))
            continue
        loc = omr_page.locate(gray)
        row.update(rotation=loc.rotation, qr=loc.qr)
        if loc.warped is None:
            issues.append(Issue(*loc.problem, file=name))
            continue
        ink = omr_page.ink_level(loc.warped)
        if ink is None:
            issues.append(Issue("页面无对比度（不是答题卡？）", "the page has no contrast (not an answer sheet?)", file=name))
            continue
        parts = loc.qr.split("|") if loc.qr else []
        qr_booklet = parts[1] if len(parts) >= 3 and parts[0] == "JH" else None
        if qr_booklet is not None and qr_booklet in by_booklet:
            lay = by_booklet[qr_booklet]
        elif qr_booklet is not None:
            issues.append(Issue(f"答题卡二维码属于题本 {qr_booklet}，不在所给版式中，未读取",
                                f"the sheet's QR code belongs to booklet {qr_booklet}, not among the layouts given; not read",
                                file=name, column="QR", value=loc.qr))
            continue
        elif single is not None:
            lay = single
            issues.append(Issue("二维码无法识别，按所给唯一版式读取，请核对题本",
                                "QR code unreadable: read with the only layout given; check the booklet",
                                file=name, column="QR", value=single.booklet, severity="warning"))
        else:
            issues.append(Issue("二维码无法识别，无法确定题本版式，未读取（请人工确定题本）",
                                "QR code unreadable: the booklet's layout cannot be chosen; not read (decide by hand)",
                                file=name, column="QR"))
            continue
        resp, bub, pid, sheet_issues = _read_page(loc.warped, ink, lay, name, digest)
        issues += sheet_issues
        row.update(status="read", booklet=lay.booklet, person_id=pid)
        if pid is not None:
            other = persons.get((lay.booklet, pid))
            if other is not None:
                issues.append(Issue(f"同一学生（{pid}）的答题卡出现两次：{other} 与 {name}，请核对",
                                    f"the same pupil's sheet ({pid}) appears twice: {other} and {name}; check which counts",
                                    file=name, column="id", value=pid))
            persons[(lay.booklet, pid)] = name
        resp_frames.append(resp)
        bubble_frames.append(bub)
        if annotate_dir is not None:
            kinds = _kinds(bub, resp)
            title = f"{name}  {lay.booklet}  {pid or '?'}  {digest[:8]}  rot {loc.rotation}"
            img = omr_page.annotate(loc.warped, bub["x"].to_numpy(), bub["y"].to_numpy(), kinds, title)
            path = Path(annotate_dir) / f"{_safe(name)}.{digest[:8]}.jpg"
            cv2.imwrite(str(path), img, [cv2.IMWRITE_JPEG_QUALITY, 80])
            row["annotated"] = str(path)
    if progress:
        progress(1.0, f"{len(entries)}/{len(entries)}")
    responses = pl.concat(resp_frames) if resp_frames else pl.DataFrame(schema=RESPONSE_SCHEMA)
    bubbles = pl.concat(bubble_frames) if bubble_frames else pl.DataFrame(schema=BUBBLE_SCHEMA)
    sheet_frame = pl.DataFrame([{c: r.get(c) for c in SHEET_SCHEMA} for r in sheets], schema=SHEET_SCHEMA)
    return OmrBatch(responses, bubbles, sheet_frame, issues)


def _kinds(bub: pl.DataFrame, resp: pl.DataFrame) -> list[str]:
    multiple = resp.filter(pl.col("status") == "multiple")["item_id"].implode()
    return bub.select(pl.when("review").then(pl.lit("review"))
                      .when(pl.col("state") != "mark").then(pl.lit("blank"))
                      .when((pl.col("part") == "item") & pl.col("key").is_in(multiple)).then(pl.lit("multiple"))
                      .otherwise(pl.lit("mark")))["literal"].to_list()


STATE_NAMES = np.array(["blank", "faint", "mark"], dtype=object)


def _read_page(warped: np.ndarray, ink: float, layout: SheetLayout, name: str, digest: str):
    b = layout.bubbles()
    dark, cover = omr_page.measure(warped, b["x"].to_numpy(), b["y"].to_numpy(), ink)
    state, conf = bubble_states(dark, cover)
    review = conf < REVIEW_BELOW
    bub = b.with_columns(pl.lit(name).alias("sheet"), pl.lit(digest).alias("sheet_hash"),
                         pl.Series("darkness", dark), pl.Series("cover", cover),
                         pl.Series("state", STATE_NAMES[state], dtype=pl.String), pl.Series("confidence", conf),
                         pl.Series("review", review)).select(list(BUBBLE_SCHEMA))
    issues: list[Issue] = []
    is_id = (b["part"] == "id").to_numpy()
    ids = b.filter(pl.col("part") == "id")
    pid = _read_id(state[is_id], ids, name, issues)
    if pid is not None and layout.id_alphabets == STUDENT_ID_ALPHABETS:
        problem = student_id_problem(pid)
        if problem:
            issues.append(Issue(f"学籍号{problem[0]}，请核对涂卡", f"student id {problem[1]}: check the marks",
                                file=name, column="id", value=pid))
    items = b.filter(pl.col("part") == "item")
    ic, iconf = state[~is_id], conf[~is_id]
    n_items = len(layout.items)
    idx = items["index"].to_numpy()
    n_filled = np.bincount(idx, weights=ic == 2, minlength=n_items).astype(int)
    n_light = np.bincount(idx, weights=ic == 1, minlength=n_items).astype(int)
    item_conf = np.ones(n_items)
    np.minimum.at(item_conf, idx, iconf)
    values = items["value"].to_numpy()
    raw = np.full(n_items, "", dtype=object)
    on = ic == 2  # bubbles are in layout order, so a stable sort by item keeps each item's letters in order
    order = np.argsort(idx[on], kind="stable")
    marked_idx, marked_values = idx[on][order], values[on][order]
    starts = np.flatnonzero(np.r_[True, marked_idx[1:] != marked_idx[:-1]]) if marked_idx.size else marked_idx
    for j, chunk in zip(marked_idx[starts], np.split(marked_values, starts[1:])):
        raw[j] = "".join(chunk)
    fmt = np.array([it.format == "multiple_choice" for it in layout.items])
    multiple = (n_filled > 1) & ~fmt
    status = np.select([multiple, n_filled >= 1, n_light > 0], ["multiple", "marked", "light"], "blank").astype(object)
    status[(status == "marked") & (n_light > 0)] = "erased"
    ids_ = [it.item_id for it in layout.items]
    for j in np.flatnonzero(multiple):
        issues.append(Issue("多涂（同一题涂了多个选项）", "more than one bubble marked", file=name, column=ids_[j],
                            value=raw[j]))
    raw[multiple] = "*"
    for j in np.flatnonzero(status == "light"):
        issues.append(Issue("涂痕过浅或已擦除，请人工核对", "light or erased mark only: check by hand", file=name,
                            column=ids_[j], severity="warning"))
    resp = pl.DataFrame({"person_id": pid, "item_id": ids_, "raw": raw.astype(str), "status": status.astype(str),
                         "position": np.arange(1, n_items + 1), "sheet": name, "sheet_hash": digest,
                         "booklet": layout.booklet, "confidence": item_conf, "review": item_conf < REVIEW_BELOW},
                        schema=RESPONSE_SCHEMA)
    return resp, bub, pid, issues


def _read_id(cls: np.ndarray, ids: pl.DataFrame, name: str, issues: list[Issue]) -> str | None:
    col = ids["index"].to_numpy()
    ncol = int(col.max()) + 1 if len(col) else 0
    n_filled = np.bincount(col, weights=cls == 2, minlength=ncol)
    bad = np.flatnonzero(n_filled != 1)
    for c in bad:
        what = ("未涂" if n_filled[c] == 0 else "多涂", "no bubble marked" if n_filled[c] == 0 else "more than one bubble marked")
        issues.append(Issue(f"编号第 {c + 1} 列无法识别（{what[0]}）", f"id column {c + 1} unreadable ({what[1]})",
                            file=name, column=f"id {c + 1}"))
    if len(bad) or ncol == 0:
        return None
    chars = ids["value"].to_numpy()[cls == 2]
    order = np.argsort(col[cls == 2], kind="stable")
    return "".join(chars[order])


def read_sheets(images, layout, *, progress: Progress | None = None) -> tuple[pl.DataFrame, list[Issue]]:
    """``(responses, issues)`` of :func:`read_batch`: ``responses`` in the contract's long form
    ``person_id, item_id, raw`` plus ``status`` (:data:`RESPONSE_STATUSES`), ``position``, ``sheet``,
    ``sheet_hash``, ``booklet``, ``confidence``, ``review``; ``raw`` is the marked character(s), ``""``
    for a blank, ``"*"`` for a double mark (invalid for :func:`junheng.assessment.score_responses`)."""
    batch = read_batch(images, layout, progress=progress)
    return batch.responses, batch.issues


__all__ = ["COVER", "LIGHT", "MAX_PICTURE_BYTES", "MAX_PIXELS", "RESPONSE_SCHEMA", "RESPONSE_STATUSES", "REVIEW_BELOW", "OmrBatch",
           "bubble_states", "content_hash", "picture_problem", "picture_size", "read_batch", "read_sheets", "scan_pages"]
