"""Finding an answer sheet in a scan or photo and measuring its bubbles (see docs/methods/omr.md).

* :func:`locate` — the four corner squares (fiducials) found anywhere in the picture, however the
  sheet lies (scanner, ADF with black borders, phone photo on a dark desk, turned by 0/90/180/270°),
  the page warped onto its printed geometry and turned upright by its QR code;
* :func:`measure` — each bubble's darkness against the paper right around it (local white, so
  lighting gradients and shadows cancel) and the share of its inner disc covered by pencil;
* :func:`annotate` — the straightened page with what was read drawn on it.

Everything here is about one picture; batches, layouts and items are :mod:`junheng.materials.omr_read`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from junheng.materials.omr import (
    BUBBLE_R,
    FID_SIZE,
    FIDUCIALS,
    PAGE_H,
    PAGE_W,
    PX_PER_MM,
    QR_SIZE,
    QR_X,
    QR_Y,
)

WORK_LONG = 1400  # px: long side of the working copy in which the corner squares are searched
FID_DIAG = float(np.hypot(FIDUCIALS[3][0] - FIDUCIALS[0][0], FIDUCIALS[3][1] - FIDUCIALS[0][1]))  # mm, TL–BR
FID_ANGLE = float(np.degrees(2 * np.arctan((FIDUCIALS[1][0] - FIDUCIALS[0][0]) / (FIDUCIALS[2][1] - FIDUCIALS[0][1]))))
SAMPLE_R = 1.2  # mm: the inner disc of a bubble that is measured (inside the printed ring of radius 1.9)
RING = (2.15, 2.75)  # mm: the annulus of paper just outside the printed ring (the bubble's local white)
INK = 0.4  # a pixel is "covered" when its darkness (0 paper … 1 fiducial black) is at least this


@dataclass
class Located:
    """A picture's sheet: ``warped`` (float grey page at :data:`PX_PER_MM`, upright) and the turn that
    was undone (``rotation``: how far the page lay turned clockwise in the picture, the nearest of
    0/90/180/270°), the QR text (``""`` if not
    decoded), or ``problem`` = (Chinese, English) why no sheet could be found."""

    warped: np.ndarray | None = None
    rotation: int = 0
    qr: str = ""
    problem: tuple[str, str] | None = None
    corners: np.ndarray | None = None  # the fiducial centres found (image px, TL TR BR BL of the page)


# ---------------------------------------------------------------- corner squares


def _background(small: np.ndarray) -> np.ndarray:
    """The paper's local brightness: a grey closing (max filter, then min filter) wide enough to
    remove a corner square while keeping a shadow's edge where it is, smoothed; computed on a
    quarter-size copy."""
    import cv2

    tiny = cv2.resize(small, (max(1, small.shape[1] // 4), max(1, small.shape[0] // 4)), interpolation=cv2.INTER_AREA)
    k = max(3, int(max(tiny.shape) / 17) | 1)
    bg = cv2.morphologyEx(tiny, cv2.MORPH_CLOSE, np.ones((k, k), np.uint8))
    bg = cv2.GaussianBlur(bg, (k, k), 0)
    return cv2.resize(bg, (small.shape[1], small.shape[0]), interpolation=cv2.INTER_LINEAR).astype(np.float32)


def square_candidates(small: np.ndarray) -> np.ndarray:
    """Solid dark squares in a working copy: rows ``x, y, side`` (px).  Dark means darker than half
    the local paper white; solid = at least 88 % of the outline dark; square = sides within 1 : 1.45
    and the outline filling ≥ 86 % of its bounding rectangle (a filled bubble, a disc, fills π/4)."""
    import cv2

    bg = _background(small)
    paper = np.percentile(bg, 99)
    norm = small.astype(np.float32) / np.maximum(bg, 1.0)
    dark = (norm < 0.55) & (bg > 0.3 * paper)  # not the desk around a photographed page
    bw = dark.astype(np.uint8)
    contours, hier = cv2.findContours(bw, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)  # CCOMP: also inside a dark border
    long = max(small.shape)
    out = []
    for c, hi in zip(contours, hier[0] if hier is not None else [], strict=True):
        if hi[3] != -1:  # the outline of a hole
            continue
        area = cv2.contourArea(c)
        if area < 30 or area > (long / 12) ** 2:
            continue
        (cx, cy), (rw, rh), _ = cv2.minAreaRect(c)
        if min(rw, rh) < 4 or max(rw, rh) / min(rw, rh) > 1.45 or area / (rw * rh) < 0.78:
            continue
        x, y, w, h = cv2.boundingRect(c)
        mask = np.zeros((h, w), np.uint8)
        cv2.drawContours(mask, [c - [x, y]], -1, 1, -1)
        inside = mask > 0
        if bw[y:y + h, x:x + w][inside].mean() < 0.88:
            continue
        m = cv2.moments(c)
        if m["m00"] <= 0:
            continue
        out.append((m["m10"] / m["m00"], m["m01"] / m["m00"], float(np.sqrt(area))))
    return np.array(out, dtype=float).reshape(-1, 3)


def pick_fiducials(cands: np.ndarray) -> np.ndarray | None:
    """The four candidates that form the printed rectangle of corner squares, in clockwise order
    starting at a short side (TL TR BR BL of the page, or BR BL TL TR when it is upside down), or None.

    Searched through pairs of diagonals: the two diagonals of the fiducial rectangle have about the
    same length, nearly the same midpoint (a perspective photo moves it a little) and cross at
    ``FID_ANGLE`` (68°); each square's side is about ``FID_SIZE / FID_DIAG`` of the diagonal.  Of
    all fits, the largest is taken (stray squares inside the page give smaller ones)."""
    n = len(cands)
    if n < 4:
        return None
    if n > 60:
        cands = cands[np.argsort(-cands[:, 2])[:60]]
        n = 60
    i, j = np.triu_indices(n, 1)
    p, q = cands[i, :2], cands[j, :2]
    mid, vec = (p + q) / 2, q - p
    length = np.hypot(vec[:, 0], vec[:, 1])
    side = (cands[i, 2] + cands[j, 2]) / 2
    ok = (side / np.maximum(length, 1e-9) > 0.6 * FID_SIZE / FID_DIAG) & (side / np.maximum(length, 1e-9) < 1.6 * FID_SIZE / FID_DIAG)
    ok &= np.maximum(cands[i, 2], cands[j, 2]) / np.minimum(cands[i, 2], cands[j, 2]) < 1.5
    idx = np.flatnonzero(ok)
    if len(idx) < 2:
        return None
    a, b = np.meshgrid(idx, idx, indexing="ij")
    a, b = a.ravel(), b.ravel()
    keep = a < b
    a, b = a[keep], b[keep]
    disjoint = (i[a] != i[b]) & (i[a] != j[b]) & (j[a] != i[b]) & (j[a] != j[b])
    la, lb = length[a], length[b]
    ratio = np.minimum(la, lb) / np.maximum(la, lb)
    dmid = np.hypot(*(mid[a] - mid[b]).T) / np.maximum(la, lb)
    cosang = np.abs((vec[a] * vec[b]).sum(axis=1)) / (la * lb)
    ang = np.degrees(np.arccos(np.clip(cosang, 0, 1)))
    sides = np.stack([cands[i[a], 2], cands[j[a], 2], cands[i[b], 2], cands[j[b], 2]], axis=1)
    fit = (disjoint & (ratio > 0.8) & (dmid < 0.08) & (np.abs(ang - FID_ANGLE) < 14)
           & (sides.max(axis=1) / sides.min(axis=1) < 1.6))
    if not fit.any():
        return None
    best = np.flatnonzero(fit)[np.argmax((la + lb)[fit])]
    pts = cands[[i[a[best]], j[a[best]], i[b[best]], j[b[best]]], :2]
    centre = pts.mean(axis=0)
    pts = pts[np.argsort(np.arctan2(pts[:, 1] - centre[1], pts[:, 0] - centre[0]))]  # clockwise on screen
    if np.hypot(*(pts[1] - pts[0])) > np.hypot(*(pts[2] - pts[1])):
        pts = np.roll(pts, -1, axis=0)  # start at a short side
    return pts


def _refine(gray: np.ndarray, pts: np.ndarray, side: float) -> np.ndarray:
    """Each centre again at full resolution: the dark component under the centre in a window of
    twice the square's side, thresholded halfway between its dark and light grey — kept only when
    that component has the square's area (a shadow's edge in the window would merge with it; the
    working copy's centre, found against the local white, then stays)."""
    import cv2

    out = pts.copy()
    r = max(3, int(side))
    for k, (x, y) in enumerate(pts):
        x0, y0 = max(0, int(x) - r), max(0, int(y) - r)
        win = gray[y0:int(y) + r + 1, x0:int(x) + r + 1]
        if win.size == 0:
            continue
        lo, hi = np.percentile(win, (5, 95))
        if hi - lo < 20:
            continue
        mask = (win < (lo + hi) / 2).astype(np.uint8)
        n, labels, stats, cent = cv2.connectedComponentsWithStats(mask)
        if n < 2:
            continue
        best = labels[min(int(y) - y0, labels.shape[0] - 1), min(int(x) - x0, labels.shape[1] - 1)]
        area = stats[best, cv2.CC_STAT_AREA] if best else 0
        if 0.6 * side**2 <= area <= 1.5 * side**2:  # the square alone (not merged with a shadow)
            out[k] = cent[best] + (x0, y0)
    return out


# ---------------------------------------------------------------- the page


def _qr_box(warped: np.ndarray, turned: bool) -> np.ndarray:
    m = 4.0
    x0, y0 = int((QR_X - m) * PX_PER_MM), int((QR_Y - m) * PX_PER_MM)
    x1, y1 = int((QR_X + QR_SIZE + m) * PX_PER_MM), int((QR_Y + QR_SIZE + m) * PX_PER_MM)
    h, w = warped.shape
    box = warped[h - y1:h - y0, w - x1:w - x0][::-1, ::-1] if turned else warped[y0:y1, x0:x1]
    return np.clip(box, 0, 255).astype(np.uint8)


def decode_qr(box: np.ndarray) -> str:
    """The text of the QR code in ``box`` (grey), ``""`` if none is decoded: zxing-cpp (its own local
    binariser copes with shadows and JPEG), then OpenCV's detector on a locally normalised copy."""
    import cv2
    import zxingcpp

    try:
        found = zxingcpp.read_barcodes(box, formats=zxingcpp.BarcodeFormat.QRCode)
    except (ValueError, RuntimeError):
        found = []
    for r in found:
        if r.valid and r.text:
            return r.text
    bg = cv2.GaussianBlur(cv2.dilate(box, np.ones((15, 15), np.uint8)), (15, 15), 0).astype(np.float32)
    flat = np.where(255 * box / np.maximum(bg, 1) < 150, 0, 255).astype(np.uint8)
    try:
        text, _, _ = cv2.QRCodeDetector().detectAndDecode(flat)
    except cv2.error:
        text = ""
    return text or ""


def _upside_down(warped: np.ndarray) -> bool:
    """Without a readable QR code: the QR box (top right, half black) is far darker than the same
    box turned by 180° (bottom left: item bubbles, nearly white)."""
    return float(_qr_box(warped, True).mean()) < float(_qr_box(warped, False).mean()) - 25


CORNER_NAMES = (("左上", "top left"), ("右上", "top right"), ("左下", "bottom left"), ("右下", "bottom right"))


def damaged_corners(warped: np.ndarray) -> list[int]:
    """Indices (into :data:`FIDUCIALS`) of the corner squares that are not whole on the straightened
    page: at least 90 % of each quarter of a 6 mm square inside each must be darker than halfway
    between the paper around it (90th percentile of the frame) and the square's median, and 90 %
    of a 1.5 mm frame around it (0.75–2.25 mm outside the printed edge) lighter than a quarter of
    the way (a shadow on the frame is still paper; a dark background behind a tear is not).  A
    corner torn through its square, or a square taken for another dark blob, fails; a reader must
    then report the sheet, not read it."""
    bad = []
    half = FID_SIZE / 2
    for k, (fx, fy) in enumerate(FIDUCIALS):
        x0, y0 = round((fx - half - 2.25) * PX_PER_MM), round((fy - half - 2.25) * PX_PER_MM)
        n = round((FID_SIZE + 4.5) * PX_PER_MM)
        win = warped[max(0, y0):y0 + n, max(0, x0):x0 + n]
        if win.shape != (n, n):
            bad.append(k)
            continue
        c = (np.arange(n) - (n - 1) / 2) / PX_PER_MM  # mm from the centre, per axis
        cheb = np.maximum(np.abs(c)[:, None], np.abs(c)[None, :])
        inner, frame = cheb <= 3.0, (cheb >= half + 0.75) & (cheb <= half + 2.25)
        white, black = np.percentile(win[frame], 90), np.median(win[inner])
        dark = win < (white + black) / 2
        quarters = [inner & ((c[:, None] < 0) == qy) & ((c[None, :] < 0) == qx) for qy in (0, 1) for qx in (0, 1)]
        if (white - black < 30 or min(dark[q].mean() for q in quarters) < 0.9
                or (win[frame] > black + 0.25 * (white - black)).mean() < 0.9):
            bad.append(k)
    return bad


MISSING = ("找不到四角定位标记（缺角、遮挡或不是答题卡），请重新扫描或人工录入",
           "the four corner marks were not found (torn or covered corner, or not an answer sheet): rescan or key in by hand")


def locate(gray: np.ndarray) -> Located:
    """Find the sheet in a grey picture (see the module docstring)."""
    import cv2

    h, w = gray.shape
    f = min(1.0, WORK_LONG / max(h, w))
    small = cv2.resize(gray, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA) if f < 1 else gray
    cands = square_candidates(small)
    pts = pick_fiducials(cands)
    if pts is None:
        return Located(problem=MISSING)
    side = float(np.median(cands[:, 2][np.isin(cands[:, 0], pts[:, 0])])) / f
    pts = _refine(gray, pts / f, side)
    px_per_mm = np.hypot(*(pts[2] - pts[0])) / FID_DIAG
    if px_per_mm > 1.5 * PX_PER_MM:  # downsample with area averaging before the warp (no aliasing)
        g = PX_PER_MM * 1.25 / px_per_mm
        gray = cv2.resize(gray, (round(w * g), round(h * g)), interpolation=cv2.INTER_AREA)
        pts = pts * g
    else:
        g = 1.0
    dst = np.array([FIDUCIALS[0], FIDUCIALS[1], FIDUCIALS[3], FIDUCIALS[2]], dtype=np.float32) * PX_PER_MM
    hmat = cv2.getPerspectiveTransform(pts.astype(np.float32), dst)
    size = (int(PAGE_W * PX_PER_MM), int(PAGE_H * PX_PER_MM))
    warped = cv2.warpPerspective(gray, hmat, size, flags=cv2.INTER_LINEAR, borderValue=255).astype(np.float32)
    text = decode_qr(_qr_box(warped, False))
    turned = False
    if not text:
        text = decode_qr(_qr_box(warped, True))
        turned = bool(text) or _upside_down(warped)
    if turned:
        warped = np.ascontiguousarray(warped[::-1, ::-1])
        pts = pts[[2, 3, 0, 1]]
    damaged = damaged_corners(warped)
    if damaged:
        where = [CORNER_NAMES[k] for k in damaged]
        return Located(problem=(f"{'、'.join(z for z, _ in where)}角定位标记残缺（缺角或遮挡），未读取，请重新扫描或人工录入",
                                f"corner mark damaged at {', '.join(e for _, e in where)} (torn or covered): not read; "
                                "rescan or key in by hand"), qr=text)
    edge = pts[1] - pts[0]  # the page's top edge as found in the picture
    rotation = int(round(np.degrees(np.arctan2(edge[1], edge[0])) / 90.0)) % 4 * 90
    return Located(warped=warped, rotation=rotation, qr=text, corners=(pts / g).astype(np.float32))


# ---------------------------------------------------------------- bubbles


def _disc(r0: float, r1: float) -> tuple[np.ndarray, np.ndarray]:
    """Pixel offsets (dx, dy) with r0 ≤ distance ≤ r1 (in pixels)."""
    r = int(np.ceil(r1))
    dy, dx = np.mgrid[-r:r + 1, -r:r + 1]
    d2 = dx**2 + dy**2
    inside = (d2 <= r1**2) & (d2 >= r0**2)
    return dx[inside], dy[inside]


def _sample(page: np.ndarray, x_mm: np.ndarray, y_mm: np.ndarray, offsets: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    dx, dy = offsets
    cx = np.rint(np.asarray(x_mm) * PX_PER_MM).astype(int)
    cy = np.rint(np.asarray(y_mm) * PX_PER_MM).astype(int)
    h, w = page.shape
    return page[np.clip(cy[:, None] + dy[None, :], 0, h - 1), np.clip(cx[:, None] + dx[None, :], 0, w - 1)]


def _local_white(page: np.ndarray, x: np.ndarray, y: np.ndarray, r0: float, r1: float) -> np.ndarray:
    ring = _sample(page, x, y, _disc(r0 * PX_PER_MM, r1 * PX_PER_MM))
    k = int(0.9 * ring.shape[1])
    return np.partition(ring, k, axis=1)[:, k]  # 90th percentile


def ink_level(warped: np.ndarray) -> float | None:
    """The corner squares' darkness against the paper around them (1 for black on white, lower for a
    grey, washed-out copy), or None when the page has no contrast (not a sheet)."""
    fx, fy = np.array(FIDUCIALS).T
    white = _local_white(warped, fx, fy, FID_SIZE * 0.75, FID_SIZE * 0.95)
    inner = _sample(warped, fx, fy, _disc(0, FID_SIZE * PX_PER_MM * 0.3))
    level = float(np.median(1 - np.median(inner, axis=1) / np.maximum(white, 1)))
    return level if level >= 0.35 else None


def _plane_white(ring: np.ndarray, rdx: np.ndarray, rdy: np.ndarray, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """The paper's brightness at offsets ``dx, dy`` inside each bubble: a plane ``a + b·x + c·y``
    fitted by least squares to the paper ring's pixels (rows of ``ring``), twice — first on its
    brighter half, then on the pixels within 12 % of the first fit (a pencil stroke or a
    neighbour's mark on the ring drops out).  A shadow's edge or a lighting gradient across the
    bubble is followed instead of averaged."""
    a = np.stack([np.ones_like(rdx, dtype=float), rdx, rdy], axis=1)  # K × 3
    keep = ring >= np.median(ring, axis=1, keepdims=True)
    for _ in range(2):
        w = keep.astype(float)
        m = np.einsum("nk,ki,kj->nij", w, a, a) + 1e-6 * np.eye(3)
        v = np.einsum("nk,ki,nk->ni", w, a, ring)
        coef = np.linalg.solve(m, v[..., None])[..., 0]  # N × 3
        fit = coef @ a.T
        keep = ring >= 0.88 * fit
    return coef[:, :1] + coef[:, 1:2] * dx[None, :] + coef[:, 2:3] * dy[None, :]


def measure(warped: np.ndarray, x_mm: np.ndarray, y_mm: np.ndarray, ink: float) -> tuple[np.ndarray, np.ndarray]:
    """``(darkness, cover)`` of the bubbles centred at ``x_mm, y_mm``: each pixel of the inner disc
    (radius :data:`SAMPLE_R`) gets ``(1 − grey / local white) / ink``, clipped to 0…1, where the local
    white is the plane fitted to the paper ring just outside the printed circle (:func:`_plane_white`);
    ``darkness`` is their mean, ``cover`` the share of pixels at least :data:`INK` dark."""
    rdx, rdy = _disc(RING[0] * PX_PER_MM, RING[1] * PX_PER_MM)
    dx, dy = _disc(0, SAMPLE_R * PX_PER_MM)
    ring = _sample(warped, x_mm, y_mm, (rdx, rdy)).astype(float)
    inner = _sample(warped, x_mm, y_mm, (dx, dy))
    white = _plane_white(ring, rdx / PX_PER_MM, rdy / PX_PER_MM, dx / PX_PER_MM, dy / PX_PER_MM)
    p = np.clip((1 - inner / np.maximum(white, 1)) / ink, 0, 1)
    return p.mean(axis=1), (p >= INK).mean(axis=1)


COLOURS = {"mark": (40, 170, 40), "review": (0, 140, 255), "multiple": (40, 40, 220), "blank": (170, 170, 170)}


def annotate(warped: np.ndarray, x_mm: np.ndarray, y_mm: np.ndarray, kinds: list[str], title: str) -> np.ndarray:
    """The straightened page (BGR) with a ring per bubble: green = read as a mark, orange = for
    review (low confidence or a light mark), red = a double mark, grey = blank; ``title`` on top."""
    import cv2

    img = cv2.cvtColor(np.clip(warped, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)
    r = round((BUBBLE_R + 0.5) * PX_PER_MM)
    for x, y, k in zip(x_mm, y_mm, kinds, strict=True):
        if k == "blank":
            continue
        cv2.circle(img, (round(x * PX_PER_MM), round(y * PX_PER_MM)), r, COLOURS[k], 2 if k != "mark" else 1)
    cv2.rectangle(img, (0, 0), (img.shape[1], 36), (255, 255, 255), -1)
    cv2.putText(img, title, (8, 25), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    return img


__all__ = ["INK", "MISSING", "SAMPLE_R", "Located", "annotate", "decode_qr", "ink_level", "locate", "measure",
           "pick_fiducials", "square_candidates"]
