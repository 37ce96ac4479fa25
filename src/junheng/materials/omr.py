"""OMR answer sheets (答题卡): the printed layout and the reader of scanned sheets.

A :class:`SheetLayout` fixes every mark on an A4 page in millimetres: four corner fiducial squares,
the pupil-id grid (one column of bubbles per character: 19 for a 学籍号 — ``G``/``J``/``L``, 17
digits, then a digit or ``X`` — or a few digits for a seat number), a QR code holding the booklet
and sheet id, and one row of bubbles per item (``A``–``H`` for choice items, ``0``–``max_score`` for
constructed items coded by scorers).  The layout is saved as JSON next to the printed PDF and read
back by :func:`read_sheets`, so printing and reading always share the same geometry.

Reading (see docs/methods/omr.md) is :mod:`junheng.materials.omr_page` (one picture: find the
sheet, straighten it, measure its bubbles) and :mod:`junheng.materials.omr_read` (a batch: layouts
by QR code, content hashes, items, issues, the manual-review queue).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import polars as pl

from junheng.exceptions import ParameterError
from junheng.io import read_bytes

SCHEMA = "junheng.omr/1"
PAGE_W, PAGE_H = 210.0, 297.0
FID_SIZE = 7.0  # side of a fiducial square, mm
FIDUCIALS = ((14.0, 14.0), (196.0, 14.0), (14.0, 283.0), (196.0, 283.0))  # centres: TL, TR, BL, BR
BUBBLE_R = 1.9  # bubble radius, mm
ID_X0, ID_Y0, ID_DX, ID_DY = 22.0, 52.0, 5.5, 4.6  # first id bubble centre and pitches
ITEM_Y0, ITEM_DY, ITEM_ROWS = 118.0, 6.0, 26
ITEM_COLS_X = (22.0, 84.0, 146.0)  # left edge of each item column (the item number)
ITEM_DX, ITEM_LABEL_W = 6.0, 13.0
QR_X, QR_Y, QR_SIZE = 158.0, 24.0, 30.0
PX_PER_MM = 5.0  # resolution of the warped page the reader samples

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
        """The layout file ``path``, read through :func:`junheng.io.read_bytes` (a missing file or
        one over the size limit is refused before it is read)."""
        path = Path(path)
        try:
            text = read_bytes(path).decode("utf-8")
        except UnicodeDecodeError:
            raise ParameterError(f"{path.name}: 不是答题卡版式文件（应为 UTF-8 JSON） / not an answer-sheet layout "
                                 "(expected UTF-8 JSON)") from None
        try:
            return cls.from_json(text)
        except ParameterError as exc:
            raise ParameterError(f"{path.name}: {exc}") from None

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


__all__ = ["BUBBLE_R", "FIDUCIALS", "FID_SIZE", "PAGE_H", "PAGE_W", "PX_PER_MM", "QR_SIZE", "QR_X", "QR_Y", "STUDENT_ID_ALPHABETS", "SheetItem",
           "SheetLayout", "layout_for_booklet"]
