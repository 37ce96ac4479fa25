"""Read a spreadsheet or CSV a person supplied into a table of normalised strings.

Every cell becomes a string (see :mod:`junheng.io._normalise`); Excel numbers that are whole
(``12.0``) are written ``12``, Excel date cells ``YYYY-MM-DD``. The header row is found among the
first rows by counting cells that match the expected headers, so a title row above the headers
(merged across the sheet) or a two-row header with merged group cells still reads. Blank rows
are dropped; ``__row__`` keeps the row number a person sees in Excel (1-based, header counted).

One module on purpose (over 400 lines): every input format's reading (CSV encodings, xlsx, xls,
ods, Parquet) ends in the same normalised frame; the shared header search ties them together.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from junheng.exceptions import InputError, Issue
from junheng.io._limits import ReadLimits, check_area, check_size, check_text, check_workbook, column_letter
from junheng.io._normalise import header_key, normalise_frame, normalise_text

ROW = "__row__"
HEADER_SCAN_ROWS = 30
EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods"}
CSV_SUFFIXES = {".csv", ".txt"}


@dataclass
class RawTable:
    """A table as read: ``frame`` has one String column per header (as written, normalised) plus
    ``__row__`` (Int64, the spreadsheet row); ``header_row`` is the 1-based row of the headers;
    ``column_index`` maps each header to its 0-based column in the sheet (for annotation)."""

    frame: pl.DataFrame
    file: str
    sheet: str | None
    header_row: int
    path: Path
    encoding: str | None = None
    column_index: dict[str, int] = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        return [c for c in self.frame.columns if c != ROW]

    def __len__(self) -> int:
        return self.frame.height

    def __getitem__(self, column: str) -> pl.Series:
        return self.frame[column]

    def issue(self, rule_zh: str, rule_en: str, **kw) -> Issue:
        """An :class:`Issue` located in this file and sheet."""
        return Issue(rule_zh, rule_en, file=self.file, sheet=self.sheet, **kw)


def _expected_keys(expected_headers) -> set[str]:
    if expected_headers is None:
        return set()
    if hasattr(expected_headers, "columns") and hasattr(expected_headers, "key"):  # a Schema
        names: Iterable[str] = [n for c in expected_headers.columns for n in c.names()]
    else:
        names = expected_headers
    return {header_key(n) for n in names if n}


def _excel_cell(v: object) -> str | None:
    """One Excel cell as text: whole floats without ``.0``, dates as ISO, booleans as 是/否."""
    if v is None or v == "":
        return None
    t = type(v)
    if t is str:
        return v
    if t is float:
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else format(v, ".15g")
    if t is int:
        return str(v)
    if t is bool:
        return "是" if v else "否"
    if t is dt.datetime:
        return v.date().isoformat() if v.time() == dt.time(0) else v.isoformat(sep=" ")
    if t is dt.date:
        return v.isoformat()
    if t is dt.time:
        return v.isoformat()
    if t is dt.timedelta:
        s = int(v.total_seconds())
        return f"{s // 60}'{s % 60:02d}\""
    return str(v)


_NUMERIC = {float, int, type(None)}
_TEMPORAL = {dt.datetime, dt.date, type(None)}
_TEXT = {str, type(None)}


def _excel_column(values: tuple) -> pl.Series:
    """One column of Excel cells as text, vectorised when the column has one kind of cell
    (text, numbers or dates — the usual case); mixed columns go cell by cell."""
    kinds = set(map(type, values))
    if str in kinds and len(kinds) > 1:  # blank cells come as "" in otherwise numeric/date columns
        values = tuple(None if v == "" else v for v in values)
        kinds = set(map(type, values))
    if kinds <= _TEXT:
        return pl.Series(values, dtype=pl.String)
    if kinds <= _NUMERIC:
        f = pl.DataFrame({"v": pl.Series(values, dtype=pl.Float64)})
        whole = (pl.col("v") == pl.col("v").floor()) & (pl.col("v").abs() < 1e15)
        return f.select(pl.when(whole).then(pl.col("v").cast(pl.Int64).cast(pl.String))
                        .otherwise(pl.col("v").round_sig_figs(15).cast(pl.String))).to_series()
    if kinds <= _TEMPORAL:
        f = pl.DataFrame({"v": pl.Series([v if v is None or type(v) is dt.datetime
                                          else dt.datetime(v.year, v.month, v.day) for v in values],
                                         dtype=pl.Datetime("us"))})
        midnight = pl.col("v").dt.time() == dt.time(0)
        return f.select(pl.when(midnight).then(pl.col("v").dt.strftime("%Y-%m-%d"))
                        .otherwise(pl.col("v").dt.strftime("%Y-%m-%d %H:%M:%S"))).to_series()
    return pl.Series([_excel_cell(v) for v in values], dtype=pl.String)


def _read_excel(path: Path, sheet: str | None,
                limits: ReadLimits) -> tuple[list[list[str | None]], list[tuple], str]:
    """(first rows as text with merged header cells filled, every column's raw values, sheet name).

    The package is checked first (:func:`~junheng.io._limits.check_workbook`: sizes, entity
    declarations, the area really used), so calamine never allocates more than the limits allow."""
    from python_calamine import CalamineWorkbook

    check_workbook(path, sheet, limits)
    try:
        wb = CalamineWorkbook.from_path(str(path))
        names = wb.sheet_names
    except Exception as exc:  # calamine raises its own errors for a damaged or encrypted file
        raise InputError(Issue("无法读取该 Excel 文件（文件已损坏或已加密）", f"cannot read this Excel file ({exc})",
                               file=path.name)) from None
    if not names:
        raise InputError(Issue("工作簿中没有工作表", "the workbook has no sheet", file=path.name))
    if sheet is None:
        sheet_name = names[0]
    elif sheet in names:
        sheet_name = sheet
    else:
        raise InputError(Issue(f"找不到工作表（现有: {'、'.join(names)}）", f"no such sheet (the file has: {', '.join(names)})",
                               file=path.name, value=sheet))
    try:
        ws = wb.get_sheet_by_name(sheet_name)
        end = ws.end
        if end is not None:  # the area the rows below fill from A1 (an .xls is not checked before loading)
            check_area(end[0] + 1, end[1] + 1, path.name, sheet_name, limits, sheet_area=True)
        rows = ws.to_python(skip_empty_area=False)
    except InputError:
        raise
    except Exception as exc:  # a damaged sheet part
        raise InputError(Issue("无法读取该工作表（内容已损坏）", f"cannot read this sheet (damaged content: {exc})",
                               file=path.name, sheet=sheet_name)) from None
    width = max((len(r) for r in rows), default=0)
    if any(len(r) != width for r in rows):
        rows = [list(r) + [""] * (width - len(r)) for r in rows]
    head = [[_excel_cell(v) for v in r] for r in rows[:HEADER_SCAN_ROWS]]
    # a merged cell holds its value in the top-left cell only: copy it across the range in the
    # first rows, so that merged header cells name every column they span
    try:
        merged = ws.merged_cell_ranges or []
    except Exception:  # .xls/.ods may not report merged ranges
        merged = []
    for (r0, c0), (r1, c1) in merged:
        if r0 >= len(head):
            continue
        v = head[r0][c0]
        for r in range(r0, min(r1, len(head) - 1) + 1):
            for c in range(c0, min(c1, width - 1) + 1):
                if head[r][c] is None:
                    head[r][c] = v
    columns = list(zip(*rows)) if rows else []
    return head, columns, sheet_name


_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def decode_csv(data: bytes, file: str | None = None) -> tuple[str, str]:
    """Text and encoding of a CSV: UTF-16 when it starts with a byte-order mark (Excel's "Unicode
    text"), UTF-8 (with or without BOM) when it decodes strictly, else GB18030 — unless some lines
    are UTF-8 and others GB18030 (two files pasted together), which is refused with those rows.

    ``file`` names the file in the error when neither decodes."""
    if data.startswith(_UTF16_BOMS):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise InputError(Issue("UTF-16 文件中有无效的字节", "invalid bytes in a UTF-16 file", file=file)) from exc
    try:
        return data.decode("utf-8-sig"), ("utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8")
    except UnicodeDecodeError:
        pass
    utf8_rows = _utf8_lines(data)
    if utf8_rows:
        raise InputError([Issue("文件混用了两种编码：这一行是 UTF-8，其他行是 GB18030（请统一另存为一种编码）",
                                "the file mixes two encodings: this row is UTF-8, other rows GB18030 (save the whole "
                                "file in one encoding)", file=file, row=r) for r in utf8_rows])
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as exc:
        raise InputError(Issue("文件编码无法识别（应为 UTF-8 或 GB18030）",
                               "unknown text encoding (expected UTF-8 or GB18030)", file=file)) from exc


def _common_hanzi(text: str) -> int:
    """How many characters of ``text`` are among the 3 755 most common hanzi (GB 2312 level 1)."""
    n = 0
    for ch in text:
        if ch >= "\u4e00":
            try:
                lead = ch.encode("gb2312")[0]
            except UnicodeEncodeError:
                continue
            n += 0xB0 <= lead <= 0xD7
    return n


def _utf8_lines(data: bytes) -> list[int]:
    """1-based numbers of the lines of a (mostly GB18030) file that read better as UTF-8: they
    decode strictly as UTF-8 and give more common hanzi that way than as GB18030."""
    lines = pl.Series(data.decode("utf-8", errors="replace").split("\n"))
    candidates = lines.str.contains(r"[^\x00-\x7f]") & ~lines.str.contains("\ufffd", literal=True)
    out = []
    raw_lines = None
    for i in candidates.arg_true().to_list():
        raw_lines = raw_lines or data.split(b"\n")
        as_utf8 = lines[i]
        as_gb = raw_lines[i].decode("gb18030", errors="replace")
        if _common_hanzi(as_utf8) > _common_hanzi(as_gb):
            out.append(i + 1)
    return out


def read_bytes(path: str | Path, *, digest=None, limits: ReadLimits | None = None) -> bytes:
    """A whole file's bytes, refused beyond the size limit before any is read; ``digest`` (a
    :mod:`hashlib` object), when given, is fed the file's name and then its bytes — so a caller
    that versions its inputs by their bytes reads each file once."""
    path = Path(path)
    if not path.is_file():
        raise InputError(Issue("文件不存在", "file not found", file=path.name))
    check_size(path, limits or ReadLimits.from_env())
    data = path.read_bytes()
    if digest is not None:
        digest.update(path.name.encode())
        digest.update(data)
    return data


def read_json(path: str | Path, *, digest=None, what: tuple[str, str] = ("JSON 文件", "JSON file")) -> object:
    """A JSON file (UTF-8, with or without BOM) through :func:`read_bytes` (size limit, ``digest``);
    a file that is not valid UTF-8 JSON is an :class:`InputError` naming it and ``what`` it is
    (Chinese, English)."""
    import json

    path = Path(path)
    try:
        return json.loads(read_bytes(path, digest=digest).decode("utf-8-sig"))
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise InputError(Issue(f"无法读取{what[0]}（不是有效的 UTF-8 JSON）", f"cannot read the {what[1]} (not valid "
                               "UTF-8 JSON)", file=path.name, value=str(exc)[:120])) from None


def _csv_text(path: Path, limits: ReadLimits, digest=None) -> tuple[bytes, str, str]:
    """A CSV's bytes, decoded text and encoding, after the size, NUL and line checks."""
    data = read_bytes(path, digest=digest, limits=limits)
    if data.startswith(_UTF16_BOMS):
        text, enc = decode_csv(data, file=path.name)
        check_text(text.encode("utf-8"), path.name, limits)
    else:
        check_text(data, path.name, limits)
        text, enc = decode_csv(data, file=path.name)
    return data, text, enc


def _csv_source(data: bytes, text: str, enc: str) -> io.BytesIO | io.StringIO:
    """What Polars parses: UTF-8 bytes as they are (it skips a BOM), other encodings as the decoded text."""
    return io.BytesIO(data) if enc in ("utf-8", "utf-8-sig") else io.StringIO(text)


def _read_csv(path: Path, limits: ReadLimits) -> tuple[pl.DataFrame, str]:
    data, text, enc = _csv_text(path, limits)
    if not text or text.isspace():  # isspace stops at the first other character; strip() would copy the text
        return pl.DataFrame(), enc
    blank, first = _first_line(text)
    separator = "\t" if "\t" in first and "," not in first else ","
    source = _csv_source(data, text, enc)
    try:
        # the blank lines above the first line with text are skipped, not parsed: Polars takes the
        # width of the table from the first line it parses and would cut every later row to one cell
        frame = pl.read_csv(source, has_header=False, infer_schema=False, truncate_ragged_lines=True,
                            quote_char='"', separator=separator, skip_lines=blank)
        if blank:  # put them back as empty rows, so that row numbers stay the file's line numbers
            frame = pl.concat([pl.DataFrame(schema=frame.schema).clear(blank), frame])
    except pl.exceptions.PolarsError:  # a quote inside a field (3'45" in a fitness file): the tolerant reader
        try:
            frame = _csv_tolerant(text, separator)
        except InputError as exc:
            raise InputError([Issue(i.rule_zh, i.rule_en, file=path.name) for i in exc.issues]) from None
    check_area(frame.height, frame.width, path.name, None, limits)
    return frame, enc


def _first_line(text: str) -> tuple[int, str]:
    """(lines of white space before it, the first line of ``text`` holding more than white space),
    found by ``str.find`` (no copy of the text: a StringIO over a 100 MB file costs ≈ 0.17 CPU-s
    before the first line is read)."""
    start = skipped = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end + 1
        if not text[start:end].isspace():
            return skipped, text[start:end]
        start, skipped = end, skipped + 1
    return skipped, ""


def _csv_tolerant(text: str, separator: str) -> pl.DataFrame:
    """Python's CSV reader, which takes a quote inside a field as text; rows cut or padded to the
    width of the first row with text (as :func:`_read_csv` with Polars' ``truncate_ragged_lines``)."""
    import csv

    try:
        rows = list(csv.reader(io.StringIO(text), delimiter=separator))
    except csv.Error as exc:  # a field beyond the csv module's limit
        raise InputError(Issue("CSV 文件格式错误，无法读取", f"the CSV file is malformed and cannot be read ({exc})",
                               file=None)) from None
    width = next((len(r) for r in rows if any(c.strip() for c in r)), 0)  # the first row with text, as above
    cols = list(zip(*[(r + [None] * width)[:width] for r in rows])) if rows else []
    return pl.DataFrame({f"column_{j + 1}": pl.Series(c, dtype=pl.String) for j, c in enumerate(cols)})


def _find_header(head_rows: list[list[str | None]], keys: set[str]) -> int:
    """0-based index of the header row among ``head_rows``: most cells matching ``keys``; without
    expected headers, the first row that is not blank."""
    best, best_n = None, 0
    for i, row in enumerate(head_rows):
        n = sum(1 for v in row if v is not None and header_key(v) in keys)
        if n > best_n:
            best, best_n = i, n
    if best is not None:
        return best
    for i, row in enumerate(head_rows):
        if any(v is not None for v in row):
            return i
    return 0


def _header_names(row: list[str | None], above: list[list[str | None]]) -> list[str]:
    names: list[str] = []
    seen: dict[str, int] = {}
    for j, v in enumerate(row):
        name = normalise_text(v)
        if name is None:  # a header merged vertically from the row above
            for prev in reversed(above):
                if j < len(prev) and prev[j] is not None:
                    name = normalise_text(prev[j])
                    break
        if name is None:
            name = f"({column_letter(j)})"
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        else:
            seen[name] = 1
        names.append(name)
    return names


def drop_empty_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` without the rows whose every column but ``__row__`` is null (``frame`` itself
    when no row is: a column without nulls settles it from the kept null counts, and a filter,
    which copies every column, runs only when a row goes)."""
    value_cols = [c for c in frame.columns if c != ROW]
    if not value_cols or frame.height == 0 or any(frame[c].null_count() == 0 for c in value_cols):
        return frame
    kept = frame.select(pl.any_horizontal(pl.col(value_cols).is_not_null())).to_series()
    return frame if kept.all() else frame.filter(kept)


def read_table(path: str | Path, *, sheet: str | None = None, expected_headers=None,
               limits: ReadLimits | None = None) -> RawTable:
    """Read ``path`` (.xlsx/.xls/.xlsm/.ods via python-calamine, .csv in UTF-8/UTF-8-BOM/GB18030/UTF-16).

    ``limits`` bound what the file may cost (default :meth:`ReadLimits.from_env`); a file beyond
    them is refused before it is parsed, with the row or column where the limit is crossed.

    ``expected_headers`` (a :class:`~junheng.registry.schemas.Schema` or header names) locates
    the header row among the first 30 rows. Returns a :class:`RawTable` of normalised strings.
    Raises :class:`~junheng.exceptions.InputError` for an unreadable file.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(Issue("文件不存在", "file not found", file=path.name))
    limits = limits or ReadLimits.from_env()
    suffix = path.suffix.lower()
    keys = _expected_keys(expected_headers)
    encoding = None
    if suffix in EXCEL_SUFFIXES:
        head, columns, sheet_name = _read_excel(path, sheet, limits)
        h = _find_header(head, keys)
        names = _header_names(head[h] if head else [], head[:h])
        frame = normalise_frame(pl.DataFrame([_excel_column(col[h + 1:]).alias(n) for n, col in zip(names, columns)]))
    elif suffix in CSV_SUFFIXES:
        sheet_name = None
        raw, encoding = _read_csv(path, limits)
        if raw.width == 0:
            raise InputError(Issue("文件是空的", "the file is empty", file=path.name))
        raw = normalise_frame(raw)
        head = [list(r) for r in raw.head(HEADER_SCAN_ROWS).iter_rows()]
        h = _find_header(head, keys)
        names = _header_names(head[h], head[:h])
        frame = raw.slice(h + 1).rename(dict(zip(raw.columns, names)))
    else:
        raise InputError(Issue("不支持的文件类型（应为 .xlsx/.xls/.csv）", "unsupported file type (use .xlsx, .xls or .csv)",
                               file=path.name, value=path.suffix))
    frame = frame.with_columns(pl.int_range(h + 2, h + 2 + frame.height, dtype=pl.Int64).alias(ROW))
    frame = drop_empty_rows(frame)
    value_cols = [c for c in frame.columns if c != ROW]
    # a column with neither a header nor any value is an artefact of the sheet's used range
    drop = [c for c in value_cols if c.startswith("(") and frame[c].null_count() == frame.height]
    frame = frame.drop(drop)
    index = {n: j for j, n in enumerate(names) if n not in drop}
    return RawTable(frame=frame, file=path.name, sheet=sheet_name, header_row=h + 1, path=path, encoding=encoding,
                    column_index=index)


def frame_columns(names: Iterable[str], patterns: Iterable[str]) -> list[str]:
    """The names of ``names`` matched by ``patterns`` (exact names or fnmatch globs such as
    ``rep_*``): in the order of the patterns (as Polars' ``columns=``), a glob's matches in file
    order, each name once; a pattern matching nothing is left for the caller to report."""
    from fnmatch import fnmatchcase

    names = list(names)
    out: dict[str, None] = {}
    for p in patterns:
        out.update((c, None) for c in names if c == p or fnmatchcase(c, p))
    return list(out)


PARQUET_SUFFIXES = {".parquet", ".pq"}


def read_frame(path: str | Path, columns: Iterable[str] | None = None, *, infer: bool = False,
               string_columns: Iterable[str] = (), digest=None) -> pl.DataFrame:
    """A table a program wrote, one header row: Parquet with its types, or a CSV (UTF-8, UTF-8
    with BOM, GB18030, UTF-16 with BOM) with every column as text — never inferred unless
    ``infer`` (then from the first 10,000 rows, ``string_columns`` kept as text); otherwise the
    caller types it (e.g. :func:`junheng.indicators.schemas.conform`). For files people edit use
    :func:`read_table`.

    ``columns`` (names or globs, see :func:`frame_columns`) reads only those columns: a projection
    of a Parquet scan (the others are never decoded, so the file-size limit is not applied) or of
    the CSV parser. The reader's limits apply; an unreadable file is an :class:`InputError`.

    ``digest`` (a :mod:`hashlib` object): the whole file is read into memory once, its name and
    bytes fed to the digest (:func:`read_bytes`), and parsed from there."""
    path = Path(path)
    if not path.is_file():
        raise InputError(Issue("文件不存在", "file not found", file=path.name))
    suffix = path.suffix.lower()
    limits = ReadLimits.from_env()
    try:
        if suffix in PARQUET_SUFFIXES:
            if digest is not None:
                frame = pl.read_parquet(io.BytesIO(read_bytes(path, digest=digest, limits=limits)))
                return frame if columns is None else frame.select(frame_columns(frame.columns, columns))
            if columns is None:
                check_size(path, limits)
                return pl.read_parquet(path)
            scan = pl.scan_parquet(path)  # no size limit: only the projected columns are decoded
            return scan.select(frame_columns(scan.collect_schema().names(), columns)).collect()
        if suffix in CSV_SUFFIXES:
            data, text, enc = _csv_text(path, limits, digest)
            picked = None
            if columns is not None:
                picked = frame_columns(pl.read_csv(_csv_source(data, text, enc), n_rows=0).columns, columns)
            if not infer:
                return pl.read_csv(_csv_source(data, text, enc), columns=picked, infer_schema=False)
            keep = {c: pl.String for c in string_columns if picked is None or c in picked}
            return pl.read_csv(_csv_source(data, text, enc), columns=picked, infer_schema_length=10_000,
                               schema_overrides=keep)
    except InputError:
        raise
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputError(Issue("无法读取文件", "cannot read the file", file=path.name, value=str(exc)[:160])) from None
    raise InputError(Issue("不支持的文件类型（应为 .parquet 或 .csv）", "unsupported file type (use .parquet or .csv)",
                           file=path.name, value=path.suffix))


def read_input(path: str | Path, *, required: Iterable[str] = (), string_columns: Iterable[str] = (),
               number_columns: Iterable[str] = (), time_columns: Iterable[str] = (), time_zone: str = "UTC",
               keep_rows: bool = False) -> pl.DataFrame:
    """A table for a command that takes Parquet, CSV or Excel alike: Parquet with its types
    (:func:`read_frame`), a CSV/Excel file through :func:`read_table` (every value text, blanks
    null, no ``__row__``); missing ``required`` columns are reported together, ``string_columns``
    are cast to text, ``number_columns`` parsed as decimals (Float64) and ``time_columns`` as
    seconds or date-times (:func:`junheng.io.parse_times`; a text time with an offset as ``time_zone``'s
    wall clock) where present — every cell that does not
    parse is reported (file, row, column, value) in one :class:`InputError`, nothing returned.
    ``keep_rows``: the spreadsheet row of each record stays in ``__row__`` (``junheng.io.ROW``), for
    a caller that checks more rules and names the rows."""
    from junheng.io._parse import parse_decimals, parse_times

    path = Path(path)
    required = tuple(required)
    if path.suffix.lower() in PARQUET_SUFFIXES:
        df = read_frame(path)
        df = df.with_columns(pl.int_range(2, 2 + df.height, dtype=pl.Int64).alias(ROW))
    else:
        df = read_table(path, expected_headers=required or None).frame
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputError([Issue("缺少列", "missing column", file=path.name, column=c) for c in missing])
    casts = [pl.col(c).cast(pl.String) for c in string_columns if c in df.columns]
    df = df.with_columns(casts) if casts else df
    issues: list[Issue] = []
    rules = {"number": ("应为数字", "must be a number"),
             "time": ("应为秒数或日期时间（如 2026-06-01 09:00:05）", "must be seconds or a date and time (e.g. 2026-06-01 09:00:05)")}
    for kind, cols in (("number", number_columns), ("time", time_columns)):
        for c in cols:
            if c not in df.columns:
                continue
            s = df[c]
            if s.dtype.is_numeric():
                df = df.with_columns(s.cast(pl.Float64))
                continue
            if s.dtype.is_temporal() or s.dtype == pl.Null:
                continue
            text = s.cast(pl.String)
            values, bad = parse_decimals(text) if kind == "number" else parse_times(text, time_zone)
            rows = df[ROW].filter(bad).to_list()
            issues += [Issue(*rules[kind], file=path.name, row=r, column=c, value=v)
                       for r, v in zip(rows, text.filter(bad).to_list(), strict=True)]
            df = df.with_columns(values.alias(c))
    if issues:
        raise InputError(issues)
    return df if keep_rows else df.drop(ROW)


def open_parquet(path: str | Path):
    """A Parquet file opened to be read batch by batch (``.schema_arrow``, ``.iter_batches``): the
    census-size path, which never holds the whole file. An unreadable file is an :class:`InputError`."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.is_file():
        raise InputError(Issue("文件不存在", "file not found", file=path.name))
    try:
        return pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as exc:
        raise InputError(Issue("无法读取 Parquet 文件", "cannot read the Parquet file", file=path.name,
                               value=str(exc)[:160])) from None


def read_package_table(package: str, name: str) -> pl.DataFrame:
    """A reference table shipped inside a package (``junheng.registry.data`` …): a UTF-8 CSV with a
    header row, every column as text, an empty cell null. A missing or broken table is a packaging
    bug: ``ReferenceDataError``."""
    from importlib import resources

    from junheng.exceptions import ReferenceDataError

    try:
        data = resources.files(package).joinpath(name).read_bytes()
        return pl.read_csv(data, infer_schema=False)
    except (OSError, ModuleNotFoundError, pl.exceptions.PolarsError) as exc:
        raise ReferenceDataError(f"参考数据缺失或损坏 / reference table missing or broken: {package}/{name} ({exc})") from exc
