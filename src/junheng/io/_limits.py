"""Bounds on what a file a person supplied may cost to read, checked before the file is parsed.

A spreadsheet declares its own size, and a few hundred bytes can declare billions of cells: a
single value in cell XFD1048576 makes a dense reader allocate 16384 × 1048576 cells. So before
python-calamine (or openpyxl) touches a workbook, :func:`check_workbook` walks the zip package
with bounded memory — counting the bytes it really inflates, never trusting the sizes the zip
declares — and looks at the cells that are really there, ignoring the ``<dimension>`` element:

- the file itself (``max_file_bytes``), the zip's entry count, the bytes inflated from all its
  parts (``max_uncompressed_bytes``) and each large part's compression ratio (``max_ratio``);
- every XML part: a document type declaration (``<!DOCTYPE``/``<!ENTITY``: entity expansion, the
  "billion laughs", external entities) or a non-UTF-8 encoding is refused outright;
- the sheet to be read: the last row and column holding a cell with content, and their product
  (the area a reader fills from A1) against ``max_rows``, ``max_columns``, ``max_cells``.

:func:`check_text` does the same for a CSV's bytes (size, NUL bytes, line length, rows, columns).

Every refusal is an :class:`~junheng.exceptions.InputError` naming the file, the sheet, the row
and column where the limit is crossed and the limit, in Chinese and English. The defaults hold a
province's roster sheet (about 200 000 rows × 30 columns) with room to spare; an operator changes
them with the environment variables ``JUNHENG_MAX_ROWS``, ``JUNHENG_MAX_COLUMNS``,
``JUNHENG_MAX_CELLS``, ``JUNHENG_MAX_FILE_MB`` and ``JUNHENG_MAX_UNCOMPRESSED_MB``.

One module on purpose (over 400 lines): every bound on a hostile file lives here, so a reviewer
reads the whole defence in one place; the workbook walk and its limits change together.
"""

from __future__ import annotations

import os
import re
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from junheng.exceptions import InputError, Issue

_MB = 1 << 20


@dataclass(frozen=True)
class ReadLimits:
    """What one file may hold. ``max_cells`` bounds rows × columns of a table (a CSV's memory is
    bounded by its size too); ``max_sheet_cells`` bounds a workbook's area from A1, which the
    reader allocates cell by cell (≈ 32 bytes a cell, whether it holds anything or not)."""

    max_rows: int = 20_000_000  # long-format files (pupils × items) pass; a sheet stops at 1,048,576 anyway
    max_columns: int = 1_000
    max_cells: int = 100_000_000
    max_sheet_cells: int = 12_000_000  # the memory bound: kept when a caller raises max_cells
    max_file_bytes: int = 200 * _MB
    max_uncompressed_bytes: int = 1024 * _MB
    max_ratio: int = 250
    max_zip_entries: int = 10_000
    max_line_bytes: int = 1 * _MB

    @classmethod
    def from_env(cls, environ=None) -> ReadLimits:
        """The defaults, overridden by ``JUNHENG_MAX_*`` environment variables (whole numbers)."""
        env = os.environ if environ is None else environ
        base = cls()
        changes: dict[str, int] = {}
        for var, name, unit in (("JUNHENG_MAX_ROWS", "max_rows", 1), ("JUNHENG_MAX_COLUMNS", "max_columns", 1),
                                ("JUNHENG_MAX_CELLS", "max_cells", 1), ("JUNHENG_MAX_CELLS", "max_sheet_cells", 1),
                                ("JUNHENG_MAX_FILE_MB", "max_file_bytes", _MB),
                                ("JUNHENG_MAX_UNCOMPRESSED_MB", "max_uncompressed_bytes", _MB)):
            text = env.get(var, "").strip()
            if text:
                try:
                    value = int(text)
                except ValueError:
                    continue  # a typo in the environment must not stop every import; the default holds
                if value > 0:
                    changes[name] = value * unit
        return replace(base, **changes)


def _refuse(zh: str, en: str, file: str, **kw) -> InputError:
    return InputError(Issue(zh, en, file=file, **kw))


def column_letter(i: int) -> str:
    """0-based column index → Excel letters (0 → A, 16383 → XFD)."""
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n


_CHUNK = 1 << 20
_DECL = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|c)(?=[\s/>])([^>]*)>")
# any cell tag but the plain <c r="…: no attributes, another first attribute, a namespace prefix
_OTHER_CELL = re.compile(rb'<(?:[A-Za-z_][\w.-]*:c[\s/>]|c(?=[\s/>])(?! r="))')
_SIMPLE_REF = re.compile(rb'<c r="([A-Za-z]+)([0-9]+)"')
_ROW_REF = re.compile(rb'\br\s*=\s*["\']([0-9]+)["\']')
_REF_VALUE = re.compile(rb'\br\s*=\s*(["\'])(.*?)\1')
_STRICT_REF = re.compile(rb"([A-Za-z]{1,3})([0-9]{1,7})")


class _Bounds:
    """The last row and column holding a cell. Excel, WPS, LibreOffice and openpyxl write every
    cell as ``<c r="AB12" …>``; when each cell of a chunk has exactly that form (no other cell tag,
    as many references as ``<c r="``) the chunk is read in one regular-expression pass (every cell counted, even one holding only a style: an over-estimate
    is safe). Otherwise (cells without ``r``, attributes in another order, a namespace prefix)
    the chunk is followed tag by tag, placing cells as a reader does — the n-th cell of a row in
    column n, a row without ``r`` after the previous one — and skipping style-only cells."""

    def __init__(self):
        self.max_row = 0
        self.max_col = 0
        self.bad_ref: str | None = None
        self._row = 0
        self._col = 0

    def feed(self, text: bytes) -> None:
        refs = _SIMPLE_REF.findall(text)
        if _OTHER_CELL.search(text) or text.count(b'<c r="') != len(refs):  # a cell in another form
            self._walk(text)
            return
        if refs:
            self.max_col = max(self.max_col, max(_column_number(c.upper()) for c in {c for c, _ in refs}))
            self.max_row = max(self.max_row, max(map(int, {r for _, r in refs})))
        last = _TAG.match(text, max(text.rfind(b"<row"), 0))
        if last and last.group(1) == b"row" and (r := _ROW_REF.search(last.group(2))):
            self._row = int(r.group(1))  # where a later chunk without references would continue

    def _walk(self, text: bytes) -> None:
        for m in _TAG.finditer(text):
            kind, attrs = m.group(1), m.group(2)
            if kind == b"row":
                r = _ROW_REF.search(attrs)
                self._row = int(r.group(1)) if r else self._row + 1
                self._col = 0
                continue
            ref = _REF_VALUE.search(attrs)
            if ref:
                strict = _STRICT_REF.fullmatch(ref.group(2))
                if strict is None:  # " XFD1048576" is read by some readers as XFD1048576: refuse, never guess
                    self.bad_ref = ref.group(2)[:40].decode("latin-1")
                    return
                self._col, row = _column_number(strict.group(1).upper()), int(strict.group(2))
            else:
                self._col, row = self._col + 1, self._row
            if not attrs.rstrip().endswith(b"/"):
                self.max_row = max(self.max_row, row)
                self.max_col = max(self.max_col, self._col)


_ODS_TAG = re.compile(rb"<(/?)table:(table-row|table-cell|covered-table-cell|table)(?=[\s/>])([^>]*)>")
_ODS_ROWS = re.compile(rb'number-rows-repeated\s*=\s*["\']([0-9]+)["\']')
_ODS_COLS = re.compile(rb'number-columns-repeated\s*=\s*["\']([0-9]+)["\']')


class _OdsBounds(_Bounds):
    """The same for an OpenDocument sheet (``content.xml``), where one element may stand for many
    rows or cells (``number-rows-repeated``, ``number-columns-repeated``): a repeated cell with a
    value counts as every cell it repeats; empty repeats (LibreOffice pads every sheet with them)
    count as nothing."""

    def __init__(self):
        super().__init__()
        self._repeat = 1
        self._row_has = False

    def feed(self, text: bytes) -> None:
        for m in _ODS_TAG.finditer(text):
            closing, kind, attrs = m.group(1), m.group(2), m.group(3)
            if kind == b"table":
                if not closing:
                    self._row = 0
                continue
            if kind == b"table-row":
                if closing:
                    if self._row_has:
                        self.max_row = max(self.max_row, self._row + self._repeat)
                    self._row += self._repeat
                    continue
                r = _ODS_ROWS.search(attrs)
                self._repeat, self._col, self._row_has = (int(r.group(1)) if r else 1), 0, False
                if attrs.rstrip().endswith(b"/"):
                    self._row += self._repeat
                continue
            if closing:
                continue
            c = _ODS_COLS.search(attrs)
            n = int(c.group(1)) if c else 1
            if b"value-type" in attrs or not attrs.rstrip().endswith(b"/"):
                self.max_col = max(self.max_col, self._col + n)
                self._row_has = True
            self._col += n


def _small_part(z: zipfile.ZipFile, name: str) -> bytes:
    """A part that is small in any real workbook (at most 16 MB inflated, else refused as unknown)."""
    with z.open(name) as fh:
        data = fh.read(16 * _MB + 1)
    if len(data) > 16 * _MB:
        raise KeyError(name)
    return data


def _sheet_parts(z: zipfile.ZipFile, file: str) -> dict[str, str]:
    """Sheet name → worksheet part name, in workbook order; {} when the parts cannot tell (then every
    worksheet is checked). Parsed by defusedxml: a declaration there is refused, not expanded."""
    try:
        wb = SafeET.fromstring(_small_part(z, "xl/workbook.xml"))
        rels = SafeET.fromstring(_small_part(z, "xl/_rels/workbook.xml.rels"))
    except (KeyError, ElementTree.ParseError, DefusedXmlException, zipfile.BadZipFile, OSError, ValueError,
            EOFError, RuntimeError, NotImplementedError):
        return {}
    target = {}
    for rel in rels:
        rid, tgt = rel.get("Id"), rel.get("Target") or ""
        part = tgt.lstrip("/") if tgt.startswith("/") else str(PurePosixPath("xl") / tgt)
        target[rid] = os.path.normpath(part).replace(os.sep, "/")
    out: dict[str, str] = {}
    for el in wb.iter():
        if el.tag.rsplit("}", 1)[-1] != "sheet":
            continue
        rid = next((v for k, v in el.attrib.items() if k.rsplit("}", 1)[-1] == "id"), None)
        name = el.get("name")
        if name is not None and rid in target:
            out[name] = target[rid]
    return out


def check_size(path: Path, limits: ReadLimits) -> None:
    """Refuse a file larger than ``limits.max_file_bytes`` before reading any of it."""
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise _refuse(f"文件过大（{size // _MB} MB，上限 {limits.max_file_bytes // _MB} MB）",
                      f"the file is too large ({size // _MB} MB; the limit is {limits.max_file_bytes // _MB} MB)",
                      path.name)


def check_workbook(path: Path, sheet: str | None = None, limits: ReadLimits | None = None) -> tuple[int, int]:
    """Refuse a workbook that would cost more than ``limits`` to read (see the module's notes).

    ``.xlsx``/``.xlsm``/``.ods`` are zip packages and are checked part by part; for any other
    format only the file size is checked here (the reader checks the area it loaded). Returns the
    last used row and column (1-based) of the sheet checked, (0, 0) when not known."""
    limits = limits or ReadLimits.from_env()
    file = path.name
    check_size(path, limits)
    if not zipfile.is_zipfile(path):
        if path.suffix.lower() in {".xlsx", ".xlsm", ".ods"}:
            raise _refuse("文件已损坏或不是 Excel 工作簿（不是有效的 zip 包）",
                          "the file is damaged or not an Excel workbook (not a valid zip package)", file)
        return 0, 0
    try:
        z = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _refuse("文件已损坏（zip 包无法打开）", f"the file is damaged (the zip package cannot be opened: {exc})",
                      file) from None
    with z:
        infos = z.infolist()
        if len(infos) > limits.max_zip_entries:
            raise _refuse(f"压缩包包含的部件过多（{len(infos)} 个）", f"the package has too many parts ({len(infos)})", file)
        xml_parts = [i for i in infos if not i.is_dir() and i.filename.lower().endswith((".xml", ".rels", ".vml"))]
        sheets = _sheet_parts(z, file) if any(i.filename == "xl/workbook.xml" for i in infos) else {}
        if sheets:
            name = sheet if sheet is not None else next(iter(sheets))
            target = sheets.get(name)
        else:
            name, target = sheet, None
        total = 0
        extent = (0, 0)
        # the workbook and relationships first: a declaration there is refused before the sheet is read
        xml_parts.sort(key=lambda i: (i.filename.startswith("xl/worksheets/"), i.filename))
        for info in xml_parts:
            if info.filename == "content.xml" and path.suffix.lower() == ".ods":
                bounds: _Bounds | None = _OdsBounds()
            elif info.filename == target or (target is None and info.filename.startswith("xl/worksheets/")
                                             and info.filename.endswith(".xml")):
                bounds = _Bounds()
            else:
                bounds = None
            total = _scan_part(z, info, file, name if info.filename == target else None, limits, total, bounds)
            if bounds is not None:
                extent = max(extent, (bounds.max_row, bounds.max_col), key=lambda e: e[0] * e[1])
    return extent


def _scan_part(z: zipfile.ZipFile, info: zipfile.ZipInfo, file: str, sheet: str | None, limits: ReadLimits,
               total: int, bounds: _Bounds | None) -> int:
    part = info.filename
    inflated = 0
    tail = b""
    first = True
    try:
        with z.open(info) as fh:
            while True:
                chunk = fh.read(_CHUNK)
                if not chunk:
                    break
                inflated += len(chunk)
                total += len(chunk)
                if total > limits.max_uncompressed_bytes:
                    raise _refuse(f"工作簿解压后超过 {limits.max_uncompressed_bytes // _MB} MB 上限（疑似 zip 炸弹）",
                                  f"the workbook inflates beyond the {limits.max_uncompressed_bytes // _MB} MB limit "
                                  "(a zip bomb?)", file, value=part)
                if inflated > 16 * _MB and inflated > limits.max_ratio * max(info.compress_size, 1):
                    raise _refuse(f"压缩比异常（超过 {limits.max_ratio}:1，疑似 zip 炸弹）",
                                  f"abnormal compression ratio (over {limits.max_ratio}:1; a zip bomb?)", file,
                                  value=part)
                if first:
                    first = False
                    head = chunk[:4]
                    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in chunk[:200]:
                        raise _refuse("工作簿的 XML 部件不是 UTF-8 编码，拒绝读取",
                                      "an XML part of the workbook is not UTF-8; refused", file, value=part)
                text = tail + chunk
                if _DECL.search(text):
                    raise _refuse("工作簿包含 XML 实体/文档类型声明（可能是 XXE 或“十亿笑声”攻击），拒绝读取",
                                  "the workbook contains XML entity / DOCTYPE declarations (XXE or a "
                                  "'billion laughs' attack); refused", file, sheet=sheet, value=part)
                cut = text.rfind(b"<")
                if cut < 0 or len(text) - cut > 64 * 1024:
                    cut = len(text)
                if bounds is not None:
                    bounds.feed(text[:cut])
                    _check_bounds(bounds, file, sheet, limits)
                tail = text[cut:]
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError) as exc:
        raise _refuse("文件已损坏（zip 部件无法解压）", f"the file is damaged (a zip part cannot be inflated: {exc})",
                      file, value=part) from None
    except RuntimeError as exc:  # an encrypted entry
        raise _refuse("工作簿已加密或受密码保护，无法读取", f"the workbook is encrypted or password-protected ({exc})",
                      file) from None
    if bounds is not None and tail:
        bounds.feed(tail)
        _check_bounds(bounds, file, sheet, limits)
    return total


def _check_bounds(b: _Bounds, file: str, sheet: str | None, limits: ReadLimits) -> None:
    if b.bad_ref is not None:
        raise _refuse("单元格引用无法识别（文件已损坏或被篡改）", "a cell reference cannot be understood (a damaged or "
                      "tampered file)", file, sheet=sheet, value=b.bad_ref)
    check_area(b.max_row, b.max_col, file, sheet, limits, sheet_area=True)


def check_area(rows: int, columns: int, file: str, sheet: str | None, limits: ReadLimits, *,
               sheet_area: bool = False) -> None:
    """Refuse a sheet whose last used row/column (1-based) exceeds the limits; the refusal names
    the last row and column that hold something. ``sheet_area``: a workbook's area, to be
    allocated whole (``max_sheet_cells`` applies too)."""
    last = column_letter(columns - 1) if columns else None
    where = {"row": rows or None, "column": last}
    if rows > limits.max_rows:
        raise _refuse(f"表格行数超过上限 {limits.max_rows:,}（请删除多余的行或拆分文件）",
                      f"the sheet has more rows than the limit of {limits.max_rows:,} (delete stray rows or split "
                      "the file)", file, sheet=sheet, **where)
    if columns > limits.max_columns:
        raise _refuse(f"表格列数超过上限 {limits.max_columns:,}（第 {last} 列仍有内容）",
                      f"the sheet has more columns than the limit of {limits.max_columns:,} (column {last} still "
                      "has content)", file, sheet=sheet, **where)
    cap = min(limits.max_cells, limits.max_sheet_cells) if sheet_area else limits.max_cells
    if rows * columns > cap:
        raise _refuse(f"表格范围过大：A1:{last}{rows} 共 {rows * columns:,} 个单元格，上限 "
                      f"{cap:,}（远处的单元格有内容？请删除多余的行列）",
                      f"the used area is too large: A1:{last}{rows} spans {rows * columns:,} cells; the limit is "
                      f"{cap:,} (a stray value far away? delete the extra rows and columns)", file,
                      sheet=sheet, **where)


def check_text(data: bytes, file: str, limits: ReadLimits | None = None) -> None:
    """Refuse a CSV's bytes holding NUL bytes (a binary or UTF-16 file), lines too long or too many
    rows (its size is checked before it is read: :func:`check_size`)."""
    import numpy as np

    limits = limits or ReadLimits.from_env()
    buf = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(buf == 10)
    nul = data.find(b"\x00")
    if nul >= 0:
        row = int(np.searchsorted(newlines, nul)) + 1
        raise _refuse("文件含有 NUL 字节（不是文本文件，或是没有 BOM 的 UTF-16）",
                      "the file contains NUL bytes (not a text file, or UTF-16 without a byte-order mark)", file, row=row)
    if len(newlines) + 1 > limits.max_rows + 1:
        raise _refuse(f"表格行数超过上限 {limits.max_rows:,}", f"the file has more rows than the limit of {limits.max_rows:,}",
                      file, row=limits.max_rows + 1)
    ends = np.concatenate([newlines, [len(data)]])
    starts = np.concatenate([[0], newlines + 1])
    lengths = ends - starts
    if len(lengths) and int(lengths.max()) > limits.max_line_bytes:
        row = int(np.argmax(lengths)) + 1
        raise _refuse(f"第 {row} 行过长（{int(lengths.max()):,} 字节，上限 {limits.max_line_bytes:,}）",
                      f"row {row} is too long ({int(lengths.max()):,} bytes; the limit is {limits.max_line_bytes:,})",
                      file, row=row)


def check_package(path: Path, limits: ReadLimits | None = None) -> None:
    """Any zip package a person supplied (a QTI item package …): the same checks as a workbook's —
    file size, entry count, bytes really inflated, compression ratio, and every XML part free of
    entity/DTD declarations — before any part is read."""
    check_workbook(path, None, limits)


__all__ = ["ReadLimits", "check_area", "check_package", "check_size", "check_text", "check_workbook", "column_letter"]
