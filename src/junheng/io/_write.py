"""Every file the core writes: frames by extension, styled workbooks, the annotated copy of a
rejected workbook — all through here, so that every one of them is safe to open.

**Formula injection** (OWASP "CSV injection"): a text cell that starts with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return — or their full-width forms ``＝ ＋ － ＠``, which Excel and WPS
also accept — is a formula to a spreadsheet program: a pupil named ``=HYPERLINK("http://…")``
becomes a live link in every export. CSV cells of that kind get a leading apostrophe; workbook
cells are written as text (never as a formula). Numbers are never touched: a negative number
in a numeric column stays a number, and a text cell that is just a number (``-5``, ``+3.5``) is
left as it is, since a spreadsheet reads it as that number, not as a formula.

Files are written under a temporary name and renamed, so nothing half-written is ever found
under the real name.
"""

from __future__ import annotations

import math
import os
import re
import secrets
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

import polars as pl

from junheng.exceptions import InputError, Issue, ParameterError
from junheng.io._normalise import header_key

RED = "FFFFC7CE"
YELLOW = "FFFFEB9C"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
_FIRST = frozenset(FORMULA_PREFIXES)
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_DANGER = "^[=+\\-@\t\r＝＋－＠]"
_NUMBER = r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$"


def is_formula_like(value: object) -> bool:
    """True for text a spreadsheet program would run as a formula (see the module's notes)."""
    return (type(value) is str and value[:1] in _FIRST and _PLAIN_NUMBER.fullmatch(value) is None)


def neutralise_expr(expr: pl.Expr) -> pl.Expr:
    """A String expression with every formula-like value prefixed by an apostrophe (for CSV)."""
    danger = expr.str.contains(_DANGER) & ~expr.str.contains(_NUMBER)
    return pl.when(danger).then(pl.lit("'") + expr).otherwise(expr)


def neutralise_text(value: object) -> object:
    """:func:`neutralise_expr` for one value (headers, single cells)."""
    return "'" + value if is_formula_like(value) else value


def csv_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` ready for a CSV a person opens: formula-like text neutralised (cells and headers);
    numeric columns unchanged. Categorical columns and Enums with a formula-like label become
    text; an Enum whose labels are all safe stays an Enum (Polars writes its labels) and is not
    scanned cell by cell (the scored fitness file's five grade columns)."""
    safe = [c for c, t in frame.schema.items() if isinstance(t, pl.Enum)
            and not any(is_formula_like(v) for v in t.categories.to_list())]
    flat = frame.with_columns(pl.col(pl.Enum, pl.Categorical).exclude(safe).cast(pl.String))
    cols = [c for c, t in flat.schema.items() if t == pl.String]
    if cols and flat.height:  # one parallel scan; only columns holding a risky first character are rewritten
        risky = flat.select(pl.col(c).str.contains(_DANGER).any().alias(c) for c in cols).row(0)
        cols = [c for c, r in zip(cols, risky) if r]
    flat = flat.with_columns(neutralise_expr(pl.col(c)).alias(c) for c in cols)
    renames = {c: neutralise_text(c) for c in flat.columns if is_formula_like(c)}
    return flat.rename(renames) if renames else flat


FILE_MODE = 0o660  # less the umask: group as the deployment chooses, never others (personal data)


@contextmanager
def _atomic(path: Path):
    """A temporary path beside ``path``, renamed onto it when the block succeeds.

    The temporary file is created with mode 0660 less the process umask (and a folder's default
    ACL), not as ``mkstemp`` does (0600 whatever the umask): a deployment that shares output
    folders within a group sets its umask (e.g. 002) and gets group-readable files, but the files
    (exports may name pupils) are never readable by every user of the machine, whatever the umask —
    a shell's usual 022 gives 0640, not a plain ``open``'s 0644; a umask of 077 gives 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    for _ in range(100):  # a random name, created exclusively: no other writer's file is ever taken
        tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.part"
        try:
            os.close(os.open(tmp, flags, FILE_MODE))
            break
        except FileExistsError:
            continue
    else:
        raise FileExistsError(f"no free temporary name beside {path}")
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_csv_text(frame: pl.DataFrame, **kw) -> str:
    """The CSV text of ``frame`` with formula-like cells neutralised (for a download built in memory)."""
    return csv_safe(frame).write_csv(**kw)


def write_table(frame: pl.DataFrame, path: str | Path, *, sheet: str = "data", encoding: str = "utf-8-sig",
                date_format: str | None = None) -> Path:
    """Write ``frame`` to ``path`` by extension: .parquet; .csv (UTF-8 with BOM so Excel opens it,
    or ``encoding``, e.g. ``gb18030``); .xlsx (one sheet, bold frozen header). CSV and xlsx cells
    are neutralised against formula injection."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        # zstd level 1: ≈ 11 % less CPU than Polars' default level for ≈ 5 % more bytes, measured on the
        # 55-column scored file (docs/guide/fitness.md, "Writing")
        with _atomic(path) as tmp:
            frame.write_parquet(tmp, compression="zstd", compression_level=1)
    elif suffix == ".csv":
        if encoding.replace("_", "-").lower() in ("utf-8", "utf-8-sig", "utf8"):
            with _atomic(path) as tmp, open(tmp, "wb") as f:  # straight from Polars' writer, no text in between
                if encoding.lower().endswith("sig"):
                    f.write(b"\xef\xbb\xbf")
                csv_safe(frame).write_csv(f, date_format=date_format)
        else:
            text = write_csv_text(frame, date_format=date_format)
            with _atomic(path) as tmp:
                tmp.write_bytes(text.encode(encoding))
    elif suffix == ".xlsx":
        write_sheets({sheet: frame}, path)
    else:
        raise ParameterError(f"不支持的输出格式 {suffix!r} / unsupported output format {suffix!r} (.parquet, .csv, .xlsx)")
    return path


CENSUS_ROW_GROUP = 1 << 17  # records per row group of a census file: the unit a census task reads


def write_census_parquet(frame, path: str | Path, *, row_group_size: int = CENSUS_ROW_GROUP,
                         nullable: Iterable[str] | None = None, progress=None) -> Path:
    """Write ``frame`` as a census-scale Parquet file, laid out to be read a few columns at a time.

    ``frame`` is a DataFrame, or an iterable of DataFrames of one schema (a file read batch by
    batch): then the file is streamed, never more than about two row groups in memory, and
    ``nullable`` must name the columns holding a null anywhere (a measure named or not: it never
    holds one), since the schema is written before the first batch (a null in another column is a
    :class:`ParameterError`); ``progress(n)`` is called with each batch's record count.

    * Numeric measure columns (:data:`junheng.fitness.CENSUS_MEASURES`, the census reader's list) hold no nulls: a missing measure is NaN,
      which every junheng reader takes as no value, as it takes a null; whole-number measure
      columns become Float64 (exact for every integer below 2^53; beyond 2^31 a measure saturates
      either way), float ones keep their own type (Float32 and Float64 values are quantised with
      different tolerances).
    * Every column without a null is written as a *required* Parquet field, so it has no
      definition levels: on the benchmark's file (items missing for most records, in random order)
      decoding the levels and the values around the nulls was half of reading the 18 columns the
      census needs.
    * Every column dictionary-encoded while its values repeat (pyarrow's writer), pages not
      compressed (the dictionary codes are already a few bits a value; snappy saved 10 % of the
      size for 25 % more CPU in reading), row groups of ``row_group_size`` records.

    The other columns' values and types are those of ``frame``. Reading the 18 columns the census
    needs costs about half the CPU of the previous census layout (nullable columns, snappy) and a
    third of Polars' default file, for 15 bytes a record (docs/guide/census.md). Written under a
    temporary name and renamed: nothing partial is left on an error."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    if isinstance(frame, pl.DataFrame):
        batches: Iterable[pl.DataFrame] = [frame]
        nullable = [c for c in frame.columns if c not in _census_measures(frame.schema) and frame[c].null_count()]
    elif nullable is None:
        raise ParameterError("write_census_parquet: 分批写入时须给出 nullable / batches need nullable= (the columns "
                             "holding a null)")
    else:
        batches = frame
    nullable = set(nullable)
    schema = writer = None
    pending: list[pl.DataFrame] = []
    held = 0
    with _atomic(path) as tmp:
        try:
            for batch in batches:
                measures = _census_measures(batch.schema)
                batch = batch.with_columns(pl.col(c).cast(pl.Float64) if batch.schema[c].is_integer() else pl.col(c)
                                           for c in measures).with_columns(pl.col(measures).fill_null(float("nan")))
                if schema is None:
                    arrow = batch.head(0).to_arrow()
                    schema = pa.schema([f.with_nullable(f.name in nullable and f.name not in measures) for f in arrow.schema])
                    writer = pq.ParquetWriter(tmp, schema, compression="none", use_dictionary=True)
                stray = [c for c in batch.columns if not schema.field(c).nullable and batch[c].null_count()]
                if stray:
                    raise ParameterError(f"write_census_parquet: 列 {stray} 有空值，但不在 nullable 中 / column(s) "
                                         f"{stray} hold a null but are not in nullable")
                pending.append(batch)
                held += batch.height
                while held >= row_group_size:
                    block = pl.concat(pending, how="vertical_relaxed") if len(pending) > 1 else pending[0]
                    writer.write_table(block.head(row_group_size).to_arrow().cast(schema), row_group_size=row_group_size)
                    rest = block.slice(row_group_size)
                    pending, held = ([rest] if rest.height else []), rest.height
                if progress is not None:
                    progress(batch.height)
            if schema is None:
                raise ParameterError("write_census_parquet: 没有数据 / no frame to write")
            if held:
                block = pl.concat(pending, how="vertical_relaxed") if len(pending) > 1 else pending[0]
                writer.write_table(block.to_arrow().cast(schema), row_group_size=row_group_size)
        finally:
            if writer is not None:
                writer.close()
    return path


def _census_measures(schema) -> list[str]:
    """The numeric measure columns of ``schema``: those of the census reader's list (imported here,
    when a file is written: junheng.fitness imports this package)."""
    from junheng.fitness.items import CENSUS_MEASURES

    return [c for c in CENSUS_MEASURES if c in schema and (schema[c].is_integer() or schema[c].is_float())]


def _safe_cell(ws, value):
    """A value for a write-only sheet: formula-like text as a text cell, NaN as blank."""
    from openpyxl.cell import WriteOnlyCell

    if type(value) is float and math.isnan(value):
        return None
    if is_formula_like(value):
        cell = WriteOnlyCell(ws, value=value)
        cell.data_type = "s"
        return cell
    return value


def write_sheets(sheets: dict[str, pl.DataFrame], path: str | Path) -> Path:
    """Several frames into one workbook, one sheet each (name cut to Excel's 31 characters), the
    header row bold and frozen; text never becomes a formula. Streams (openpyxl write-only)."""
    path = Path(path)
    wb = _sheets_workbook(sheets)
    with _atomic(path) as tmp:
        wb.save(tmp)
    return path


def table_bytes(frame: pl.DataFrame, fmt: str, *, sheet: str = "data") -> bytes:
    """``frame`` as a download built in memory: ``csv`` (UTF-8 with BOM) or ``xlsx``, neutralised
    against formula injection like every file :func:`write_table` writes."""
    if fmt == "csv":
        return b"\xef\xbb\xbf" + write_csv_text(frame).encode("utf-8")
    if fmt == "xlsx":
        import io

        buf = io.BytesIO()
        _sheets_workbook({sheet: frame}).save(buf)
        return buf.getvalue()
    raise ParameterError(f"格式须为 csv 或 xlsx / fmt must be csv or xlsx; got {fmt!r}")


def _sheets_workbook(sheets: dict[str, pl.DataFrame]):
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    for name, frame in sheets.items():
        ws = wb.create_sheet(str(name)[:31])
        ws.freeze_panes = "A2"
        header = []
        for c in frame.columns:
            cell = WriteOnlyCell(ws, value=c)
            cell.data_type = "s"
            cell.font = bold
            header.append(cell)
        ws.append(header)
        flat = frame.with_columns(pl.col(pl.Enum, pl.Categorical).cast(pl.String))
        for row in flat.iter_rows():
            ws.append([_safe_cell(ws, v) for v in row])
    return wb


def neutralise_workbook(wb) -> None:
    """Turn every formula and formula-like text cell of an (openpyxl, not write-only) workbook into
    text, so that opening the file runs nothing."""
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f" or is_formula_like(cell.value):
                    cell.data_type = "s"


def save_workbook(wb, path: str | Path) -> Path:
    """Save a workbook the core built with openpyxl (styles, validation, comments): every cell
    neutralised (:func:`neutralise_workbook`), written under a temporary name and renamed."""
    path = Path(path)
    neutralise_workbook(wb)
    with _atomic(path) as tmp:
        wb.save(tmp)
    return path


def _issue_text(issues: list[Issue]) -> str:
    return "\n".join(i.message() for i in issues)[:30000]


ANNOTATE_MAX_CELLS = 1_000_000  # beyond this the copy would cost openpyxl gigabytes: list the issues only


def _listing_only(note: tuple[str, str]):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "说明"
    ws.append([note[0]])
    ws.append([note[1]])
    return wb, None


def _annotation_base(source_path: Path, issues: list[Issue]):
    """(workbook, sheet to mark) — a copy of the source, or (a workbook with a note, None) when the
    source cannot be copied safely (refused by the reader's limits, or too large to copy)."""
    from openpyxl import Workbook, load_workbook

    from junheng.io._limits import check_workbook
    from junheng.io._read import read_table

    too_big = ("文件过大或无法读取，未复制原表；问题见“问题清单”工作表",
               "the file is too large or unreadable to copy; the issues are listed on the sheet 问题清单")
    sheet_names = {i.sheet for i in issues if i.sheet}
    if source_path.suffix.lower() in {".xlsx", ".xlsm"}:
        try:
            rows, cols = check_workbook(source_path, next(iter(sheet_names)) if len(sheet_names) == 1 else None)
        except InputError:
            return _listing_only(too_big)
        if rows * cols > ANNOTATE_MAX_CELLS:
            return _listing_only(too_big)
        try:  # cached values, not formulas: the copy shows what was read, and runs nothing
            wb = load_workbook(source_path, data_only=True)
        except Exception:  # noqa: BLE001 — a package the reader accepted but openpyxl cannot load
            return _listing_only(too_big)
        name = next(iter(sheet_names)) if len(sheet_names) == 1 else None
        return wb, (wb[name] if name in wb.sheetnames else wb.worksheets[0])
    try:
        raw = read_table(source_path, expected_headers=[i.column for i in issues if i.column])
    except InputError:
        return _listing_only(too_big)
    if raw.frame.height * max(len(raw.columns), 1) > ANNOTATE_MAX_CELLS:
        return _listing_only(too_big)
    wb = Workbook()
    ws = wb.active
    ws.title = "数据"  # a person opens it: the sheet is named in Chinese like the issue list beside it
    for _ in range(raw.header_row - 1):
        ws.append([])
    ws.append(raw.columns)
    prev = raw.header_row
    for row in raw.frame.select([*raw.columns, "__row__"]).iter_rows():
        for _ in range(row[-1] - prev - 1):
            ws.append([])
        ws.append(list(row[:-1]))
        prev = row[-1]
    return wb, ws


def annotate_workbook(source_path: str | Path, issues: list[Issue], out_path: str | Path) -> Path:
    """A copy of the workbook with every cell named by an issue filled (red: error, yellow:
    warning) and an Excel comment holding the bilingual message; a sheet ``问题清单`` lists all
    issues. For a CSV (or .xls) source the data is written to a new .xlsx and annotated there.
    A source beyond the reader's limits, or over :data:`ANNOTATE_MAX_CELLS` cells, is not copied:
    the workbook then holds a note and the issue list. Nothing in it is a formula."""
    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill

    source_path, out_path = Path(source_path), Path(out_path)
    wb, ws = _annotation_base(source_path, issues)
    if ws is None:
        _issue_listing(wb, issues)
        return save_workbook(wb, out_path)
    # where the headers are: the row among the first 30 with most issue columns
    wanted = {header_key(i.column) for i in issues if i.column}
    best, best_n = 1, -1
    for r, cells in enumerate(ws.iter_rows(min_row=1, max_row=30, values_only=True), start=1):
        n = sum(1 for v in cells if v is not None and header_key(v) in wanted)
        if n > best_n:
            best, best_n = r, n
    columns: dict[str, int] = {}
    for j, v in enumerate(next(ws.iter_rows(min_row=best, max_row=best, values_only=True), ()), start=1):
        if v is not None:
            columns.setdefault(header_key(v), j)
    by_cell: dict[tuple[int, int], list[Issue]] = {}
    for i in issues:
        if i.row is None:
            continue
        col = columns.get(header_key(i.column), 1) if i.column else 1
        by_cell.setdefault((i.row, col), []).append(i)
    fills = {"error": PatternFill("solid", fgColor=RED), "warning": PatternFill("solid", fgColor=YELLOW)}
    for (r, c), cell_issues in by_cell.items():
        cell = ws.cell(row=r, column=c)
        severity = "error" if any(i.severity == "error" for i in cell_issues) else "warning"
        cell.fill = fills[severity]
        cell.comment = Comment(_issue_text(cell_issues), "junheng", width=420, height=160)
    _issue_listing(wb, issues)
    return save_workbook(wb, out_path)


def _issue_listing(wb, issues: list[Issue]) -> None:
    listing = wb.create_sheet("问题清单")
    listing.append(["严重性 severity", "行 row", "列 column", "值 value", "规则 rule", "说明 message"])
    for i in issues:
        listing.append([i.severity, i.row, i.column, None if i.value is None else str(i.value),
                        f"{i.rule_zh} / {i.rule_en}", i.message()])
