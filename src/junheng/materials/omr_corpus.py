"""Synthetic scans of filled answer sheets with a known answer key — the oracle of the OMR tests
and benchmark (docs/methods/omr.md).

The blank sheet is the real printed PDF (:func:`junheng.materials.documents.sheets_html`)
rasterised by ``pdftoppm``; answers are drawn on it as pencil marks (full discs of varying grey
and size, half-filled discs, erasure residue next to a new mark, blanks, double marks on
multiple-choice items), and the page is then degraded the way real batches are: scanner
rotation and noise, lighting gradients, cast shadows, ADF black borders, phone photos on a dark
desk with perspective, folds, torn corners, bitonal and JPEG-compressed copies, turns by
90/180/270°.  Every bubble's truth (pencil mark or not) is known, so the reader's accuracy is
counted bubble by bubble.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from junheng.materials.omr import FIDUCIALS, STUDENT_ID_ALPHABETS, SheetLayout

DEGRADATIONS = ("scanner", "gradient", "shadow", "adf_border", "photo", "fold", "bitonal", "jpeg", "rot90", "rot180",
                "rot270", "photo_rot90", "torn")


@dataclass
class SyntheticSheet:
    """One synthetic scan: the grey picture, its degradation, the layout drawn, the pupil id drawn,
    ``truth`` (every bubble of ``layout.bubbles()`` with ``marked`` True/False and ``style``) and
    ``expect_read`` (False for a torn corner: the reader must report it, not read it)."""

    image: np.ndarray
    degradation: str
    layout: SheetLayout
    person_id: str
    truth: pl.DataFrame
    expect_read: bool = True
    answers: dict[str, str] = field(default_factory=dict)


def render_blank(layout: SheetLayout, dpi: int) -> np.ndarray:
    """The printed sheet as a grey picture at ``dpi`` (WeasyPrint PDF → pdftoppm)."""
    import cv2

    from junheng.materials.documents import sheets_html, write_pdf

    with tempfile.TemporaryDirectory() as tmp:
        write_pdf(sheets_html([layout]), Path(tmp) / "s.pdf")
        subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", "-png", "-singlefile", str(Path(tmp) / "s.pdf"),
                        str(Path(tmp) / "s")], check=True, capture_output=True)
        return cv2.imread(str(Path(tmp) / "s.png"), cv2.IMREAD_GRAYSCALE)


def _student_id(rng: np.random.Generator) -> str:
    from junheng.registry.codes import student_id_problem

    while True:
        body = "G" + "".join(rng.choice(list("0123456789"), 17))
        for last in STUDENT_ID_ALPHABETS[-1]:
            if not student_id_problem(body + last):
                return body + last


def fill(blank: np.ndarray, layout: SheetLayout, dpi: int, rng: np.random.Generator,
         half_share: float = 0.1, erase_share: float = 0.05, blank_share: float = 0.05):
    """Draw a random pupil's answers; returns ``(image, person_id, answers, truth)``."""
    import cv2

    mm = dpi / 25.4
    img = blank.copy()
    b = layout.bubbles()
    marked = np.zeros(b.height, dtype=bool)
    style = np.full(b.height, "", dtype=object)
    pid = _student_id(rng) if layout.id_alphabets == STUDENT_ID_ALPHABETS else "".join(
        rng.choice(list("0123456789"), len(layout.id_alphabets)))
    part, key, value = b["part"].to_numpy(), b["key"].to_numpy(), b["value"].to_numpy()
    x, y = b["x"].to_numpy(), b["y"].to_numpy()
    pos = {(p, k, v): i for i, (p, k, v) in enumerate(zip(part, key, value, strict=True))}
    answers: dict[str, str] = {}
    chosen = [(pos[("id", str(c + 1), ch)], "id") for c, ch in enumerate(pid)]
    for it in layout.items:
        u = rng.random()
        if u < blank_share:
            answers[it.item_id] = ""
            continue
        if it.format == "multiple_choice":
            k = rng.integers(1, min(3, len(it.choices)) + 1)
            ans = "".join(sorted(rng.choice(list(it.choices), k, replace=False), key=it.choices.index))
        else:
            ans = it.choices[rng.integers(len(it.choices))]
        answers[it.item_id] = ans
        for ch in ans:
            chosen.append((pos[("item", it.item_id, ch)], "item"))
        if u < blank_share + erase_share and len(ans) == 1:  # an erased first choice next to the answer
            other = [c for c in it.choices if c != ans]
            i = pos[("item", it.item_id, other[rng.integers(len(other))])]
            cv2.circle(img, (round(x[i] * mm), round(y[i] * mm)), round(rng.uniform(1.4, 1.8) * mm),
                       int(rng.uniform(195, 222)), -1, lineType=cv2.LINE_AA)
            style[i] = "erased"
    for i, _ in chosen:
        cx, cy = x[i] * mm, y[i] * mm
        shade = int(rng.uniform(25, 110))
        marked[i] = True
        if rng.random() < half_share:  # half the bubble filled, in any direction
            r = 1.75 * mm
            a = rng.uniform(0, 360)
            cv2.ellipse(img, (round(cx * 16), round(cy * 16)), (round(r * 16), round(r * 16)), a, 0, 180, shade, -1,
                        lineType=cv2.LINE_AA, shift=4)
            style[i] = "half"
        else:
            r = rng.uniform(1.45, 1.85) * mm
            jitter = rng.normal(0, 0.15 * mm, 2)
            cv2.circle(img, (round((cx + jitter[0]) * 16), round((cy + jitter[1]) * 16)), round(r * 16), shade, -1,
                       lineType=cv2.LINE_AA, shift=4)
            style[i] = "full"
    grain = rng.normal(0, 6, img.shape)  # pencil and paper grain
    img = np.clip(img + grain * (img < 200), 0, 255).astype(np.uint8)
    truth = b.with_columns(pl.Series("marked", marked), pl.Series("style", style.astype(str)))
    return img, pid, answers, truth


# ---------------------------------------------------------------- degradations


def _rotate(img: np.ndarray, angle: float, scale: float = 1.0, border: int = 250, expand: bool = False) -> np.ndarray:
    import cv2

    h, w = img.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    size = (w, h)
    if expand:
        c, s = abs(m[0, 0]), abs(m[0, 1])
        size = (int(h * s + w * c), int(h * c + w * s))
        m[0, 2] += size[0] / 2 - w / 2
        m[1, 2] += size[1] / 2 - h / 2
    return cv2.warpAffine(img, m, size, borderValue=border, flags=cv2.INTER_LINEAR)


def _noise(img: np.ndarray, rng: np.random.Generator, sigma: float) -> np.ndarray:
    return np.clip(img + rng.normal(0, sigma, img.shape), 0, 255).astype(np.uint8)


def _jpeg(img: np.ndarray, q: int) -> np.ndarray:
    import cv2

    return cv2.imdecode(cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, q])[1], cv2.IMREAD_GRAYSCALE)


def _scanner(img, rng):
    import cv2

    out = _rotate(img, rng.uniform(-3, 3), rng.uniform(0.97, 1.02))
    return _noise(cv2.GaussianBlur(out, (3, 3), 0), rng, 6)


def _gradient(img, rng, low=None):
    h, w = img.shape
    a = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    t = (np.cos(a) * xx / w + np.sin(a) * yy / h)
    t = (t - t.min()) / (t.max() - t.min())
    low = rng.uniform(0.35, 0.6) if low is None else low
    return np.clip(img * (1 - (1 - low) * t), 0, 255).astype(np.uint8)


def _shadow(img, rng):
    import cv2

    h, w = img.shape
    mask = np.zeros((h, w), np.float32)
    pts = np.array([[rng.uniform(0, w), 0], [rng.uniform(0, w), h], [w, h], [w, 0]], np.int32)
    if rng.random() < 0.5:
        pts = np.array([[0, rng.uniform(0, h)], [w, rng.uniform(0, h)], [w, h], [0, h]], np.int32)
    cv2.fillPoly(mask, [pts], 1.0)
    soft = int(rng.uniform(0.01, 0.04) * w) | 1
    mask = cv2.GaussianBlur(mask, (soft, soft), 0)
    depth = rng.uniform(0.4, 0.6)
    return _noise(np.clip(img * (1 - (1 - depth) * mask), 0, 255), rng, 4)


def _adf_border(img, rng):
    h, w = img.shape
    big = np.full((int(h * 1.08), int(w * 1.06)), int(rng.uniform(5, 35)), np.uint8)
    page = _rotate(img, rng.uniform(-2, 2), 0.97, border=0)
    oy, ox = int(rng.uniform(0, big.shape[0] - h)), int(rng.uniform(0, big.shape[1] - w))
    region = big[oy:oy + h, ox:ox + w]
    big[oy:oy + h, ox:ox + w] = np.where(page > 0, page, region)
    return _noise(big, rng, 5)


def _photo(img, rng, turn: int = 0):
    """The page photographed from above at a slant on a dark desk, lit unevenly, JPEG."""
    import cv2

    h, w = img.shape
    out_w, out_h = 1800, 2400
    desk = rng.uniform(30, 80) + 12 * np.sin(np.arange(out_w)[None, :] / rng.uniform(8, 30)) * np.ones((out_h, 1))
    desk = _noise(desk, rng, 8).astype(np.float32)
    cx, cy, s = out_w / 2, out_h / 2, rng.uniform(0.7, 0.82) * out_h / h
    corners = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]]) * s
    a = np.radians(rng.uniform(-8, 8))
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    dst = corners @ rot.T + [cx, cy]
    dst += rng.normal(0, 0.03 * out_w, dst.shape)  # keystone of a slanted camera
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    hm = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    page = cv2.warpPerspective(img.astype(np.float32), hm, (out_w, out_h), borderValue=-1.0, flags=cv2.INTER_AREA)
    out = np.where(page >= 0, page, desk)
    out = _gradient(out, rng, low=rng.uniform(0.45, 0.75))
    out = cv2.GaussianBlur(out, (3, 3), 0.8)
    out = _jpeg(_noise(out, rng, 5), 80)
    return np.ascontiguousarray(np.rot90(out, turn)) if turn else out


def _fold(img, rng):
    """A crease: the paper on one side is shifted by up to 0.5 mm and shaded, a darker line on it."""
    import cv2

    h, w = img.shape
    mm = w / 210.0
    horizontal = rng.random() < 0.6
    at = rng.uniform(0.3, 0.7) * (h if horizontal else w)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    t = (yy if horizontal else xx) - at
    step = 0.5 * (1 + np.tanh(t / (4 * mm)))
    shift = rng.uniform(0.2, 0.5) * mm
    mx, my = (xx, yy - shift * step) if horizontal else (xx - shift * step, yy)
    out = cv2.remap(img, mx, my, cv2.INTER_LINEAR, borderValue=250).astype(np.float32)
    out *= 1 - 0.12 * np.exp(-(t / (1.5 * mm)) ** 2) - 0.1 * step
    return _scanner(np.clip(out, 0, 255).astype(np.uint8), rng)


def _torn(img, rng):
    """One corner torn off through its corner square (the scanner lid shows white or dark behind)."""
    import cv2

    h, w = img.shape
    mm = w / 210.0
    k = rng.integers(4)
    fx, fy = FIDUCIALS[k]
    cx, cy = fx * mm, fy * mm
    sx, sy = (-1 if fx < 100 else 1), (-1 if fy < 100 else 1)
    ex, ey = (0 if sx < 0 else w), (0 if sy < 0 else h)
    reach = (abs(ex - cx) + abs(ey - cy)) + rng.uniform(-2.0, 6.0) * mm  # the tear passes near the square's centre
    a = np.array([ex - sx * reach, ey], np.float64)
    b = np.array([ex, ey - sy * reach], np.float64)
    edge = [a + (b - a) * t + rng.normal(0, 0.8 * mm, 2) for t in np.linspace(0, 1, 12)]
    poly = np.array([[ex, ey], *edge], np.int32)
    out = img.copy()
    cv2.fillPoly(out, [poly], int(rng.choice([250, 20])))
    return _scanner(out, rng)


def degrade(img: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    if kind == "scanner":
        return _scanner(img, rng)
    if kind == "gradient":
        return _gradient(_scanner(img, rng), rng)
    if kind == "shadow":
        return _shadow(_scanner(img, rng), rng)
    if kind == "adf_border":
        return _adf_border(img, rng)
    if kind == "photo":
        return _photo(img, rng)
    if kind == "photo_rot90":
        return _photo(img, rng, turn=int(rng.choice([1, 3])))
    if kind == "fold":
        return _fold(img, rng)
    if kind == "torn":
        return _torn(img, rng)
    if kind == "bitonal":
        return np.where(_scanner(img, rng) < 140, 0, 255).astype(np.uint8)
    if kind == "jpeg":
        return _jpeg(_scanner(img, rng), int(rng.integers(35, 60)))
    if kind.startswith("rot"):
        turn = {"rot90": 1, "rot180": 2, "rot270": 3}[kind]
        return np.ascontiguousarray(np.rot90(_scanner(img, rng), turn))
    raise ValueError(kind)


def corpus(layouts: list[SheetLayout], n: int, *, seed: int, dpi: int = 150,
           kinds: tuple[str, ...] = DEGRADATIONS, blanks: dict[str, np.ndarray] | None = None):
    """``n`` synthetic sheets cycling through ``kinds`` and ``layouts`` (yielded one by one)."""
    rng = np.random.default_rng(seed)
    blanks = blanks if blanks is not None else {lay.booklet: render_blank(lay, dpi) for lay in layouts}
    for k in range(n):
        lay = layouts[k % len(layouts)]
        kind = kinds[k % len(kinds)]
        img, pid, answers, truth = fill(blanks[lay.booklet], lay, dpi, rng)
        yield SyntheticSheet(degrade(img, kind, rng), kind, lay, pid, truth, kind != "torn", answers)


__all__ = ["DEGRADATIONS", "SyntheticSheet", "corpus", "degrade", "fill", "render_blank"]
