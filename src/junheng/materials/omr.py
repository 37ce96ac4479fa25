"""OMR answer sheets (答题卡): the printed layout and the reader of scanned sheets.

A :class:`SheetLayout` fixes every mark on an A4 page in millimetres: four corner fiducial squares,
the pupil-id grid (one column of bubbles per character: 19 for a 学籍号 — ``G``/``J``/``L``, 17
digits, then a digit or ``X`` — or a few digits for a seat number), a QR code holding the booklet
and sheet id, and one row of bubbles per item (``A``–``H`` for choice items, ``0``–``max_score`` for
constructed items coded by scorers).  The layout is saved as JSON next to the printed PDF and read
back by :func:`read_sheets`, so printing and reading always share the same geometry.

Reading (see docs/methods/omr.md): find the four fiducials (dark, square, solid blobs nearest each
image corner), map them onto their printed positions with a homography and warp the page to
:data:`PX_PER_MM` pixels per millimetre; sample the inner disc of every bubble; scale its darkness
between the paper (white) and the fiducials (black); then classify each bubble and each item with
the thresholds :data:`FILLED` and :data:`LIGHT`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from junheng.exceptions import Issue, ParameterError
from junheng.registry.codes import student_id_problem

SCHEMA = "junheng.omr/1"
PAGE_W, PAGE_H = 210.0, 297.0
FID_SIZE = 7.0  # side of a fiducial square, mm
FIDUCIALS = ((14.0, 14.0), (196.0, 14.0), (14.0, 283.0), (196.0, 283.0))  # centres: TL, TR, BL, BR
BUBBLE_R = 1.9  # bubble radius, mm
SAMPLE_R = 1.2  # radius of the sampled inner disc, mm (inside the printed ring)
ID_X0, ID_Y0, ID_DX, ID_DY = 22.0, 52.0, 5.5, 4.6  # first id bubble centre and pitches
ITEM_Y0, ITEM_DY, ITEM_ROWS = 118.0, 6.0, 26
ITEM_COLS_X = (22.0, 84.0, 146.0)  # left edge of each item column (the item number)
ITEM_DX, ITEM_LABEL_W = 6.0, 13.0
QR_X, QR_Y, QR_SIZE = 158.0, 24.0, 30.0
PX_PER_MM = 5.0  # resolution of the warped page the reader samples

FILLED = 0.45  # darkness ≥ FILLED: a mark
LIGHT = 0.15  # LIGHT ≤ darkness < FILLED: an erasure or a light mark (for review); below: blank

STUDENT_ID_ALPHABETS = ("GJL",) + ("0123456789",) * 17 + ("0123456789X",)
LETTERS = "ABCDEFGH"


@dataclass(frozen=True, slots=True)
class SheetItem:
    item_id: str
    format: str  # single_choice | multiple_choice | constructed
    choices: str  # the bubbles' characters, in order


@dataclass(frozen=True)
class SheetLayout:
    """One booklet's answer sheet.  ``id_alphabets``: one string of characters per id column."""

    sheet_id: str
    booklet: str
    subject: str
    items: tuple[SheetItem, ...]
    id_alphabets: tuple[str, ...] = STUDENT_ID_ALPHABETS
    title: str = "学业质量监测答题卡"
    schema: str = field(default=SCHEMA)

    def __post_init__(self):
        if len(self.items) > ITEM_ROWS * len(ITEM_COLS_X):
            raise ParameterError(f"一张答题卡最多 {ITEM_ROWS * len(ITEM_COLS_X)} 题 / at most "
                                 f"{ITEM_ROWS * len(ITEM_COLS_X)} items per sheet; got {len(self.items)}")
        if not self.items:
            raise ParameterError("答题卡没有题目 / the sheet has no items")
        longest = max(len(a) for a in self.id_alphabets) if self.id_alphabets else 0
        if len(self.id_alphabets) > 19 or longest > 11:
            raise ParameterError("编号栏至多 19 列、每列 11 格 / the id grid has at most 19 columns of 11 bubbles")
        for it in self.items:
            if not 2 <= len(it.choices) <= 8:
                raise ParameterError(f"每题 2–8 个选项格 / 2–8 bubbles per item: {it.item_id} has {len(it.choices)}")

    @classmethod
    def seat_number(cls, sheet_id: str, booklet: str, subject: str, items, digits: int = 4, **kw) -> SheetLayout:
        """A layout whose id grid is a ``digits``-digit seat (or candidate) number."""
        return cls(sheet_id, booklet, subject, tuple(items), ("0123456789",) * digits, **kw)

    def to_json(self) -> str:
        d = asdict(self)
        d["items"] = [asdict(i) for i in self.items]
        return json.dumps(d, ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> SheetLayout:
        try:
            d = json.loads(text)
            if d.get("schema") != SCHEMA:
                raise ParameterError(f"不是答题卡版式文件 / not an answer-sheet layout (schema {SCHEMA})")
            d["items"] = tuple(SheetItem(**i) for i in d["items"])
            d["id_alphabets"] = tuple(d["id_alphabets"])
            return cls(**d)
        except ParameterError:
            raise
        except (ValueError, KeyError, TypeError) as exc:
            raise ParameterError(f"答题卡版式文件无法读取 / unreadable layout file: {exc}") from None

    @classmethod
    def load(cls, path: str | Path) -> SheetLayout:
        return cls.from_json(Path(path).read_text(encoding="utf-8"))

    def bubbles(self) -> pl.DataFrame:
        """Every bubble: ``part`` (id/item), ``key`` (id column number or item id), ``index`` (of the
        item or column), ``value`` (its character), ``x``, ``y`` (centre, mm)."""
        rows = []
        for c, alphabet in enumerate(self.id_alphabets):
            for r, ch in enumerate(alphabet):
                rows.append(("id", str(c + 1), c, ch, ID_X0 + c * ID_DX, ID_Y0 + r * ID_DY))
        for k, it in enumerate(self.items):
            col, row = divmod(k, ITEM_ROWS)
            x0 = ITEM_COLS_X[col] + ITEM_LABEL_W
            for j, ch in enumerate(it.choices):
                rows.append(("item", it.item_id, k, ch, x0 + j * ITEM_DX, ITEM_Y0 + row * ITEM_DY))
        return pl.DataFrame(rows, schema={"part": pl.String, "key": pl.String, "index": pl.Int32, "value": pl.String,
                                          "x": pl.Float64, "y": pl.Float64}, orient="row")

    def qr_text(self) -> str:
        return f"JH|{self.booklet}|{self.sheet_id}"


def layout_for_booklet(booklet_items: pl.DataFrame, bank: pl.DataFrame, booklet: str, *, subject: str | None = None,
                       sheet_id: str | None = None, id_digits: int | None = None) -> SheetLayout:
    """The sheet of one booklet: ``booklet_items`` (``booklet, item_id, position``, from
    :func:`junheng.assessment.booklet_items`) joined to the bank frame (``item_id, format, max_score``
    and ``n_options`` or ``options``).  ``id_digits``: a seat-number grid instead of the 学籍号."""
    sel = booklet_items.filter(pl.col("booklet") == booklet).sort("position")
    if sel.height == 0:
        raise ParameterError(f"题本中没有此题本 / no such booklet: {booklet}")
    info = {r["item_id"]: r for r in bank.to_dicts()}
    missing = [i for i in sel["item_id"] if i not in info]
    if missing:
        raise ParameterError(f"题库中缺少题目 / items not in the bank: {', '.join(missing[:10])}")
    items = []
    for iid in sel["item_id"]:
        r = info[iid]
        if r["format"] == "constructed":
            choices = "".join(str(k) for k in range(int(r.get("max_score") or 1) + 1))
        else:
            n = r.get("n_options")
            if n is None:
                opts = r.get("options")
                n = len(opts) if opts else 4
            choices = LETTERS[: int(n)]
        items.append(SheetItem(iid, r["format"], choices))
    subject = subject or str(info[sel["item_id"][0]].get("subject") or "")
    sid = sheet_id or booklet
    if id_digits:
        return SheetLayout.seat_number(sid, booklet, subject, items, digits=id_digits)
    return SheetLayout(sid, booklet, subject, tuple(items))


# ---------------------------------------------------------------- reading


def _gray(image) -> tuple[np.ndarray, str]:
    import cv2

    if isinstance(image, np.ndarray):
        img = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        return img, "image"
    name = Path(image).name
    img = cv2.imread(str(image), cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise FileNotFoundError(name)
    return img, name


def find_fiducials(gray: np.ndarray) -> np.ndarray | None:
    """Centres (TL, TR, BL, BR) of the four fiducial squares in image pixels, or None."""
    import cv2

    h, w = gray.shape
    blur = cv2.GaussianBlur(gray, (5, 5), 0)
    _, bw = cv2.threshold(blur, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    contours, _ = cv2.findContours(bw, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    side = FID_SIZE * min(w / PAGE_W, h / PAGE_H)  # expected side in pixels (page roughly fills the scan)
    cands = []
    for c in contours:
        area = cv2.contourArea(c)
        if not 0.35 * side**2 <= area <= 2.5 * side**2:
            continue
        (cx, cy), (rw, rh), _ = cv2.minAreaRect(c)
        if min(rw, rh) == 0 or max(rw, rh) / min(rw, rh) > 1.35 or area / (rw * rh) < 0.8:
            continue
        cands.append((cx, cy))
    if len(cands) < 4:
        return None
    pts = np.array(cands)
    corners = np.array([[0, 0], [w, 0], [0, h], [w, h]], dtype=float)
    d = np.linalg.norm(pts[None, :, :] - corners[:, None, :], axis=2)
    pick = d.argmin(axis=1)
    if len(set(pick.tolist())) < 4 or (d.min(axis=1) > 0.3 * np.hypot(w, h)).any():
        return None
    return pts[pick].astype(np.float32)


def _disc(radius_px: float) -> tuple[np.ndarray, np.ndarray]:
    r = int(np.ceil(radius_px))
    dy, dx = np.mgrid[-r:r + 1, -r:r + 1]
    inside = dx**2 + dy**2 <= radius_px**2
    return dx[inside], dy[inside]


def warp_page(gray: np.ndarray) -> np.ndarray | None:
    """The page warped onto its printed geometry (float grey, :data:`PX_PER_MM` px/mm, turned upright),
    or None when the fiducials are not found."""
    import cv2

    pts = find_fiducials(gray)
    if pts is None:
        return None
    dst = np.array(FIDUCIALS, dtype=np.float32) * PX_PER_MM
    hmat = cv2.getPerspectiveTransform(pts, dst)
    size = (int(PAGE_W * PX_PER_MM), int(PAGE_H * PX_PER_MM))
    warped = cv2.warpPerspective(gray, hmat, size, flags=cv2.INTER_AREA, borderValue=255).astype(np.float64)
    return warped[::-1, ::-1] if _upside_down(warped) else warped


def darkness(warped: np.ndarray, bubbles: pl.DataFrame) -> np.ndarray | None:
    """Darkness of every bubble (0 = paper, 1 = as dark as the fiducials) on a warped page, or None
    when the page has no contrast (not a sheet)."""
    dx, dy = _disc(SAMPLE_R * PX_PER_MM)
    cx = np.rint(bubbles["x"].to_numpy() * PX_PER_MM).astype(int)
    cy = np.rint(bubbles["y"].to_numpy() * PX_PER_MM).astype(int)
    mean = warped[cy[:, None] + dy[None, :], cx[:, None] + dx[None, :]].mean(axis=1)
    fx, fy = _disc(FID_SIZE * PX_PER_MM * 0.3)
    fc = np.rint(np.array(FIDUCIALS) * PX_PER_MM).astype(int)
    black = np.median(warped[fc[:, 1:2] + fy[None, :], fc[:, 0:1] + fx[None, :]])
    white = np.percentile(warped[::3, ::3], 90)
    if white - black < 40:
        return None
    return np.clip((white - mean) / (white - black), 0.0, 1.0)


def bubble_darkness(gray: np.ndarray, layout: SheetLayout, bubbles: pl.DataFrame | None = None) -> np.ndarray | None:
    """Darkness of every bubble of ``layout.bubbles()`` on a scanned page, or None when the fiducials
    are not found or the page has no contrast."""
    warped = warp_page(gray)
    return None if warped is None else darkness(warped, layout.bubbles() if bubbles is None else bubbles)


def _upside_down(warped: np.ndarray) -> bool:
    """The QR code (top right) is far darker than the same box turned by 180° (items, bottom left):
    a sheet fed upside down shows the opposite."""
    x0, y0, x1, y1 = (int(v * PX_PER_MM) for v in (QR_X, QR_Y, QR_X + QR_SIZE, QR_Y + QR_SIZE))
    h, w = warped.shape
    qr = warped[y0:y1, x0:x1].mean()
    turned = warped[h - y1:h - y0, w - x1:w - x0].mean()
    return turned < qr - 25


def classify(darkness: np.ndarray) -> np.ndarray:
    """Bubble classes: 2 filled, 1 light (erased or faint), 0 blank."""
    return np.where(darkness >= FILLED, 2, np.where(darkness >= LIGHT, 1, 0)).astype(np.int8)


RESPONSE_STATUSES = ("marked", "erased", "blank", "light", "multiple")


def read_sheets(images, layout: SheetLayout, *, progress=None) -> tuple[pl.DataFrame, list[Issue]]:
    """Read scanned sheets (paths of PNG/JPEG files or grayscale arrays) of one layout.

    Returns ``(responses, issues)``: ``responses`` in the contract's long form ``person_id, item_id,
    raw`` plus ``sheet`` (file name or number), ``position`` and ``status`` (:data:`RESPONSE_STATUSES`);
    ``raw`` is the marked character(s), ``""`` for a blank, ``"*"`` for a double mark (an invalid code
    for :func:`junheng.assessment.score_responses`).  ``issues``: per sheet, missing fiducials,
    an unreadable id column, a 学籍号 whose check character does not match (GB 11643), double marks
    and light marks (warnings), a QR code of another booklet.  A sheet fed upside down is turned.
    """
    b = layout.bubbles()
    items = b.filter(pl.col("part") == "item")
    ids = b.filter(pl.col("part") == "id")
    n_items = len(layout.items)
    fmt = np.array([it.format == "multiple_choice" for it in layout.items])
    images = list(images)
    frames, issues = [], []
    for k, image in enumerate(images):
        if progress:
            progress(k / len(images), f"{k}/{len(images)}")
        try:
            gray, name = _gray(image)
        except FileNotFoundError as exc:
            issues.append(Issue("无法读取图像", "cannot read the image", file=str(exc)))
            continue
        if name == "image":
            name = f"sheet {k + 1}"
        warped = warp_page(gray)
        dark = None if warped is None else darkness(warped, b)
        if dark is None:
            issues.append(Issue("找不到四角定位标记", "the four corner marks were not found", file=name))
            continue
        cls = classify(dark)
        issues += _check_qr(warped, layout, name)
        pid = _read_id(cls[: ids.height], dark[: ids.height], ids, name, issues)
        if pid is not None and layout.id_alphabets == STUDENT_ID_ALPHABETS:
            problem = student_id_problem(pid)
            if problem:
                issues.append(Issue(f"学籍号{problem[0]}，请核对涂卡", f"student id {problem[1]}: check the marks",
                                    file=name, column="id", value=pid))
        ic = cls[ids.height:]
        idx = items["index"].to_numpy()
        n_filled = np.bincount(idx, weights=ic == 2, minlength=n_items).astype(int)
        n_light = np.bincount(idx, weights=ic == 1, minlength=n_items).astype(int)
        marks = (pl.DataFrame({"index": idx, "value": items["value"], "on": ic == 2})
                 .filter("on").group_by("index", maintain_order=True).agg(pl.col("value").str.join("")))
        raw = np.full(n_items, "", dtype=object)
        raw[marks["index"].to_numpy()] = marks["value"].to_numpy()
        multiple = (n_filled > 1) & ~fmt
        status = np.select([multiple, n_filled >= 1, n_light > 0], ["multiple", "marked", "light"], "blank").astype(object)
        status[(status == "marked") & (n_light > 0)] = "erased"
        raw[multiple] = "*"
        ids_ = [it.item_id for it in layout.items]
        for j in np.flatnonzero(multiple):
            issues.append(Issue("多涂（同一题涂了多个选项）", "more than one bubble marked", file=name,
                                column=ids_[j], value=raw_marks(items, ic, j)))
        for j in np.flatnonzero(status == "light"):
            issues.append(Issue("涂痕过浅或已擦除，请人工核对", "light or erased mark only: check by hand", file=name,
                                column=ids_[j], severity="warning"))
        frames.append(pl.DataFrame({"sheet": name, "person_id": pid, "item_id": ids_, "position": np.arange(1, n_items + 1),
                                    "raw": raw.astype(str), "status": status.astype(str)},
                                   schema_overrides={"person_id": pl.String, "position": pl.Int32}))
    if progress:
        progress(1.0, f"{len(images)}/{len(images)}")
    schema = {"sheet": pl.String, "person_id": pl.String, "item_id": pl.String, "position": pl.Int32,
              "raw": pl.String, "status": pl.String}
    out = pl.concat(frames) if frames else pl.DataFrame(schema=schema)
    return out.select("person_id", "item_id", "raw", "status", "position", "sheet"), issues


def raw_marks(items: pl.DataFrame, ic: np.ndarray, j: int) -> str:
    sel = (items["index"].to_numpy() == j) & (ic == 2)
    return "".join(items["value"].to_numpy()[sel])


def _read_id(cls: np.ndarray, dark: np.ndarray, ids: pl.DataFrame, name: str, issues: list[Issue]) -> str | None:
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


def _check_qr(warped: np.ndarray, layout: SheetLayout, name: str) -> list[Issue]:
    """Decode the QR code from its box on the warped page (upright, known place: fast)."""
    import cv2

    m = 4.0  # mm around the code
    x0, y0 = int((QR_X - m) * PX_PER_MM), int((QR_Y - m) * PX_PER_MM)
    x1, y1 = int((QR_X + QR_SIZE + m) * PX_PER_MM), int((QR_Y + QR_SIZE + m) * PX_PER_MM)
    crop = np.clip(warped[y0:y1, x0:x1], 0, 255).astype(np.uint8)
    try:
        text, _, _ = cv2.QRCodeDetector().detectAndDecode(crop)
    except cv2.error:
        text = ""
    parts = text.split("|") if text else []
    if len(parts) >= 2 and parts[0] == "JH" and parts[1] != layout.booklet:
        return [Issue("答题卡二维码与版式不符（题本不同）", "the sheet's QR code belongs to another layout",
                      file=name, column="QR", value=text)]
    return []


__all__ = ["FILLED", "LIGHT", "RESPONSE_STATUSES", "SheetItem", "SheetLayout", "bubble_darkness", "classify",
           "darkness", "find_fiducials", "layout_for_booklet", "read_sheets", "warp_page"]
