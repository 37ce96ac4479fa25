"""Write frames (by extension) and annotate a rejected workbook for the person who sent it."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl

from junheng.exceptions import Issue, ParameterError
from junheng.io._normalise import header_key

RED = "FFFFC7CE"
YELLOW = "FFFFEB9C"


def write_table(frame: pl.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` to ``path`` as .parquet, .csv (UTF-8 with BOM, so Excel opens it) or .xlsx."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        frame.write_parquet(path)
    elif suffix == ".csv":
        with path.open("wb") as fh:
            fh.write(b"\xef\xbb\xbf")
            frame.write_csv(fh)
    elif suffix == ".xlsx":
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet("data")
        ws.append(frame.columns)
        for row in frame.iter_rows():
            ws.append(row)
        wb.save(path)
    else:
        raise ParameterError(f"不支持的输出格式 {suffix!r} / unsupported output format {suffix!r} (.parquet, .csv, .xlsx)")
    return path


def _issue_text(issues: list[Issue]) -> str:
    return "\n".join(i.message() for i in issues)[:30000]


def annotate_workbook(source_path: str | Path, issues: list[Issue], out_path: str | Path) -> Path:
    """A copy of the workbook with every cell named by an issue filled (red: error, yellow:
    warning) and an Excel comment holding the bilingual message; a sheet ``问题清单`` lists all
    issues. For a CSV (or .xls) source the data is written to a new .xlsx and annotated there."""
    from openpyxl import Workbook, load_workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill

    source_path, out_path = Path(source_path), Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    if source_path.suffix.lower() in {".xlsx", ".xlsm"}:
        shutil.copyfile(source_path, out_path)
        wb = load_workbook(out_path)
        sheet_names = {i.sheet for i in issues if i.sheet}
        ws = wb[next(iter(sheet_names))] if len(sheet_names) == 1 and next(iter(sheet_names)) in wb.sheetnames \
            else wb.worksheets[0]
    else:
        from junheng.io._read import read_table

        raw = read_table(source_path, expected_headers=[i.column for i in issues if i.column])
        wb = Workbook()
        ws = wb.active
        ws.title = "data"
        for _ in range(raw.header_row - 1):
            ws.append([])
        ws.append(raw.columns)
        prev = raw.header_row
        for row in raw.frame.select([*raw.columns, "__row__"]).iter_rows():
            for _ in range(row[-1] - prev - 1):
                ws.append([])
            ws.append(list(row[:-1]))
            prev = row[-1]
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
    listing = wb.create_sheet("问题清单")
    listing.append(["严重性 severity", "行 row", "列 column", "值 value", "规则 rule", "说明 message"])
    for i in issues:
        listing.append([i.severity, i.row, i.column, None if i.value is None else str(i.value),
                        f"{i.rule_zh} / {i.rule_en}", i.message()])
    wb.save(out_path)
    return out_path
