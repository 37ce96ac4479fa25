"""A minimal, fast, deterministic one-sheet .xlsx writer (Office Open XML, ECMA-376 Part 1).

openpyxl needs tens of seconds for the 30 000-row school list of a full-size province on a
loaded machine and stamps the save time into the file. This writer builds the sheet XML with
vectorised Polars string expressions (numbers as ``<v>``, text as inline strings), writes the
five package parts with a fixed zip time stamp, and so gives the same bytes for the same
frame. The files open in Excel/WPS and read back with openpyxl and python-calamine (tested).
Text is written as inline strings, so no cell is ever a formula.
"""

from __future__ import annotations

import io
import zipfile

import polars as pl

from junheng.io._limits import column_letter

_ZIP_TIME = (2022, 9, 1, 0, 0, 0)
_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<Relationships xmlns="{_PKG_REL_NS}"><Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>'
)
_WB_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<Relationships xmlns="{_PKG_REL_NS}"><Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/></Relationships>'
)


def _column_letters(n: int) -> list[str]:
    return [column_letter(i) for i in range(n)]


def _escape(expr: pl.Expr) -> pl.Expr:
    return (expr.str.replace_all("&", "&amp;", literal=True).str.replace_all("<", "&lt;", literal=True)
            .str.replace_all(">", "&gt;", literal=True))


def _cells(df: pl.DataFrame, letters: list[str], first_row: int) -> pl.Series:
    """One ``<row>`` element per frame row."""
    row_no = (pl.int_range(pl.len(), dtype=pl.Int64) + first_row).cast(pl.String)
    parts = []
    for name, letter in zip(df.columns, letters):
        col = pl.col(name)
        ref = pl.concat_str([pl.lit(f'<c r="{letter}'), row_no])
        if df.schema[name].is_numeric():
            cell = pl.concat_str([ref, pl.lit('"><v>'), col.cast(pl.String), pl.lit("</v></c>")])
        else:
            cell = pl.concat_str([ref, pl.lit('" t="inlineStr"><is><t>'), _escape(col.cast(pl.String)),
                                  pl.lit("</t></is></c>")])
        parts.append(pl.when(col.is_null()).then(pl.lit("")).otherwise(cell))
    row = pl.concat_str([pl.lit('<row r="'), row_no, pl.lit('">'), *parts, pl.lit("</row>")])
    return df.select(row.alias("row"))["row"]


def xlsx_bytes(df: pl.DataFrame, headers: list[str], sheet: str) -> bytes:
    """The .xlsx file of ``df`` under the header row ``headers`` on one sheet named ``sheet``."""
    letters = _column_letters(len(headers))
    head = _cells(pl.DataFrame({f"h{i}": [h] for i, h in enumerate(headers)}), letters, 1)[0]
    body = "".join(_cells(df, letters, 2).to_list()) if df.height else ""
    last = f"{letters[-1]}{df.height + 1}"
    sheet_xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<worksheet xmlns="{_NS}" xmlns:r="{_REL_NS}"><dimension ref="A1:{last}"/>'
        '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" '
        'state="frozen"/></sheetView></sheetViews>'
        f"<sheetData>{head}{body}</sheetData></worksheet>"
    )
    name = sheet.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
    workbook = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<workbook xmlns="{_NS}" xmlns:r="{_REL_NS}"><sheets>'
        f'<sheet name="{name}" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for path, text in (("[Content_Types].xml", _CONTENT_TYPES), ("_rels/.rels", _ROOT_RELS),
                           ("xl/workbook.xml", workbook), ("xl/_rels/workbook.xml.rels", _WB_RELS),
                           ("xl/worksheets/sheet1.xml", sheet_xml)):
            info = zipfile.ZipInfo(path, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, text.encode("utf-8"))
    return out.getvalue()
