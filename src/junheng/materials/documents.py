"""Printable test-day documents: seating plans, login cards and answer sheets (HTML → PDF, xlsx).

HTML is rendered with Jinja2 templates and turned into PDF by the reports' WeasyPrint helper
(:func:`junheng.reports.render.html_to_pdf`; fonts Noto Sans CJK SC from fontconfig).  Names and
学籍号 are masked (:func:`junheng.fitness.export.mask_personal`) unless ``unmask=True`` — the caller
decides who may see them.
"""

from __future__ import annotations

from pathlib import Path

import jinja2
import polars as pl
from markupsafe import Markup, escape

from junheng.fitness.export import mask_personal
from junheng.io import save_workbook
from junheng.materials import omr
from junheng.materials.seating import Room, room_grid
from junheng.reports.render import html_to_pdf, stylesheet, template_env


def _env() -> jinja2.Environment:
    return template_env("junheng.materials")


def _css() -> Markup:
    return stylesheet("junheng.materials", "materials.css")


def _personal(frame: pl.DataFrame, unmask: bool) -> pl.DataFrame:
    return frame if unmask else mask_personal(frame)


def write_pdf(html: str, path: str | Path) -> Path:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return Path(html_to_pdf(html, path))


# ---------------------------------------------------------------- seating plans


def seating_html(plan: pl.DataFrame, rooms: list[Room], *, title: str = "座位表", meta: str = "",
                 unmask: bool = False) -> str:
    """One page per room: the grid seen from the front (讲台) and the list by seat."""
    shown = _personal(plan, unmask)
    pages = []
    for room in rooms:
        sub = shown.filter(pl.col("room") == room.name)
        if sub.height:
            pages.append({"room": room, "grid": room_grid(sub, room), "rows": sub.to_dicts()})
    return _env().get_template("seating.html").render(css=_css(), title=title, meta=meta, pages=pages)


SEATING_HEADERS = {"room": "考场", "seat": "座位号", "row": "行", "col": "列", "student_id": "学籍号", "name": "姓名",
                   "school_code": "学校标识码", "subject": "科目", "booklet": "题本", "conflicts": "相邻同校/同题本"}


def seating_xlsx(plan: pl.DataFrame, rooms: list[Room], path: str | Path, *, unmask: bool = False) -> Path:
    """The plan as a workbook: sheet 座位表 (one row per pupil) and one grid sheet per room."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment

    shown = _personal(plan, unmask)
    cols = [c for c in SEATING_HEADERS if c in shown.columns]
    wb = Workbook()
    ws = wb.active
    ws.title = "座位表"
    ws.append([SEATING_HEADERS[c] for c in cols])
    for row in shown.select(cols).iter_rows():
        ws.append(list(row))
    for room in rooms:
        g = wb.create_sheet(f"考场 {room.name}"[:31])
        g.append(["讲台 / front"])
        for cells in room_grid(shown, room):
            g.append(["" if c is None else
                      "\n".join(str(c.get(k) or "") for k in ("seat", "name", "student_id", "booklet") if k in c)
                      for c in cells])
        for r in g.iter_rows(min_row=2):
            for c in r:
                c.alignment = Alignment(wrap_text=True, vertical="top")
    return save_workbook(wb, path)


# ---------------------------------------------------------------- login cards


def _qr_svg(text: str) -> Markup:
    """A QR code (segno) as an inline SVG scaled by CSS, with a quiet zone of two modules."""
    import segno

    n = len(segno.make_qr(text, error="m").matrix)
    return Markup(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {n + 4} {n + 4}">'
                  f'{_qr_paths(text, 2, 2, n)}</svg>')


def cards_html(cards: pl.DataFrame, *, title: str = "学业质量监测 登录卡", unmask: bool = False, per_page: int = 8) -> str:
    """One card per row of ``cards`` (``student_id, code`` and any of ``name, site, room, seat,
    subject, booklet``), ``per_page`` cards (2 × 4) to an A4 page with dashed cut lines.  A null
    ``code`` prints a card without code and QR (for readers who may not sign pupils in)."""
    shown = _personal(cards, unmask).to_dicts()
    for c in shown:
        c["qr"] = _qr_svg(c["code"]) if c.get("code") else ""
    pages = [shown[i:i + per_page] for i in range(0, len(shown), per_page)]
    return _env().get_template("cards.html").render(css=_css(), title=title, pages=pages)


# ---------------------------------------------------------------- answer sheets


def _qr_paths(text: str, x: float, y: float, size: float) -> str:
    import segno

    qr = segno.make_qr(text, error="m")
    m = [list(r) for r in qr.matrix]
    n = len(m)
    u = size / n
    rects = []
    for i, row in enumerate(m):
        j = 0
        while j < n:
            if row[j]:
                k = j
                while k < n and row[k]:
                    k += 1
                rects.append(f"M{x + j * u:.3f} {y + i * u:.3f}h{(k - j) * u:.3f}v{u:.3f}h{-(k - j) * u:.3f}z")
                j = k
            else:
                j += 1
    return f'<path d="{"".join(rects)}" fill="#000"/>'


def sheet_svg(layout: omr.SheetLayout, *, pupil_label: str = "") -> str:
    """The answer sheet as one SVG in millimetres (the geometry of :meth:`SheetLayout.bubbles`)."""
    e = escape
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {omr.PAGE_W:g} {omr.PAGE_H:g}" '
           f'width="{omr.PAGE_W:g}mm" height="{omr.PAGE_H:g}mm" font-family="Noto Sans CJK SC">']
    h = omr.FID_SIZE / 2
    for cx, cy in omr.FIDUCIALS:
        out.append(f'<rect x="{cx - h}" y="{cy - h}" width="{omr.FID_SIZE}" height="{omr.FID_SIZE}" fill="#000"/>')
    out.append(f'<text x="90" y="24" font-size="6" text-anchor="middle" font-weight="bold">{e(layout.title)}</text>')
    out.append(f'<text x="90" y="32" font-size="3.6" text-anchor="middle">科目 Subject：{e(layout.subject)}　'
               f'题本 Booklet：{e(layout.booklet)}　卡号 Sheet：{e(layout.sheet_id)}</text>')
    if pupil_label:
        out.append(f'<text x="90" y="38" font-size="3.4" text-anchor="middle">{e(pupil_label)}</text>')
    out.append(_qr_paths(layout.qr_text(), omr.QR_X, omr.QR_Y, omr.QR_SIZE))
    id_name = "学籍号 Student ID" if len(layout.id_alphabets) == 19 else "座位号 Seat number"
    out.append(f'<text x="{omr.ID_X0 - 2}" y="{omr.ID_Y0 - 9}" font-size="3.2">{id_name}（先填写，再涂黑对应格 / write, then fill）</text>')
    for c in range(len(layout.id_alphabets)):
        x = omr.ID_X0 + c * omr.ID_DX
        out.append(f'<rect x="{x - 2.5}" y="{omr.ID_Y0 - 7.5}" width="5" height="5" fill="none" stroke="#666" stroke-width="0.2"/>')
    for r in layout.bubbles().iter_rows(named=True):
        out.append(f'<circle cx="{r["x"]:.2f}" cy="{r["y"]:.2f}" r="{omr.BUBBLE_R}" fill="none" stroke="#777" stroke-width="0.25"/>'
                   f'<text x="{r["x"]:.2f}" y="{r["y"] + 0.8:.2f}" font-size="2.2" fill="#aaa" text-anchor="middle">{e(r["value"])}</text>')
    for k in range(len(layout.items)):
        col, row = divmod(k, omr.ITEM_ROWS)
        y = omr.ITEM_Y0 + row * omr.ITEM_DY
        out.append(f'<text x="{omr.ITEM_COLS_X[col] + 8}" y="{y + 1.2:.2f}" font-size="3.2" text-anchor="end">{k + 1}</text>')
    out.append(f'<text x="105" y="{omr.ITEM_Y0 - 7}" font-size="3.2" text-anchor="middle">用 2B 铅笔将所选答案涂满涂黑；修改时用橡皮擦干净。'
               'Fill one bubble fully with a 2B pencil; erase cleanly to change.</text>')
    out.append("</svg>")
    return "".join(out)


def sheets_html(layouts: list[omr.SheetLayout]) -> str:
    return _env().get_template("sheets.html").render(css=_css(), sheets=[Markup(sheet_svg(lay)) for lay in layouts])


__all__ = ["cards_html", "seating_html", "seating_xlsx", "sheet_svg", "sheets_html", "write_pdf"]
