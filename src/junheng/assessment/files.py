"""Reading and writing the assessment's tables (CSV in UTF-8 / UTF-8 BOM / GB18030, Parquet, Excel)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from junheng.exceptions import InputError, Issue
from junheng.io import ROW
from junheng.io import read_table as io_read_table
from junheng.io import write_table as io_write_table


def read_table(path: str | Path, *, required: tuple[str, ...] = (), string_columns: tuple[str, ...] = ()) -> pl.DataFrame:
    """Read a Parquet table, or a CSV/Excel table through :func:`junheng.io.read_table` (encoding
    detected, header row found, full-width characters normalised; every value a string, blanks
    null); missing ``required`` columns are reported together."""
    path = Path(path)
    if path.suffix.lower() == ".parquet":
        try:
            df = pl.read_parquet(path)
        except Exception as exc:  # noqa: BLE001 — any reader failure is a bad file, told to the person
            raise InputError(Issue(rule_zh="无法读取文件", rule_en="cannot read the file", file=path.name,
                                   value=str(exc)[:160])) from None
    else:
        df = io_read_table(path, expected_headers=required or None).frame.drop(ROW)
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputError([Issue(rule_zh="缺少列", rule_en="missing column", file=path.name, column=c) for c in missing])
    casts = [pl.col(c).cast(pl.String) for c in string_columns if c in df.columns]
    return df.with_columns(casts) if casts else df


def write_table(df: pl.DataFrame, path: str | Path) -> Path:
    """Write by the suffix: xlsx with a bold, frozen header (:func:`write_sheets`); Parquet and
    CSV (UTF-8 with BOM) through :func:`junheng.io.write_table`, which refuses other suffixes."""
    if Path(path).suffix.lower() == ".xlsx":
        return write_sheets({"data": df}, path)
    return io_write_table(df, path)


def write_sheets(sheets: dict[str, pl.DataFrame], path: str | Path) -> Path:
    """Several frames into one workbook (openpyxl), one sheet each, header row bold and frozen."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook()
    wb.remove(wb.active)
    for name, df in sheets.items():
        ws = wb.create_sheet(name[:31])
        ws.append(df.columns)
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in df.iter_rows():
            ws.append([None if isinstance(v, float) and v != v else v for v in row])
        ws.freeze_panes = "A2"
    wb.save(path)
    return path


def pseudonymise(ids: pl.Series, key: str) -> pl.Series:
    """Replace pupil ids by keyed pseudonyms ``P`` + 16 hex digits (BLAKE2b keyed with ``key``).

    The same key gives the same pseudonym in every file, so masked files still join to each
    other; without the key the 学籍号 cannot be recovered or confirmed.
    """
    import hashlib

    k = key.encode("utf-8")[:64]
    uniq = ids.cast(pl.String).unique().drop_nulls()
    mapping = {u: "P" + hashlib.blake2b(u.encode("utf-8"), key=k, digest_size=8).hexdigest() for u in uniq.to_list()}
    return ids.cast(pl.String).replace_strict(mapping, default=None, return_dtype=pl.String)


def mask_key() -> str:
    """The installation's pseudonym key: ``JUNHENG_MASK_KEY``, else a random key kept in
    ``$JUNHENG_HOME/mask.key`` (created on first use)."""
    import os
    import secrets

    if os.environ.get("JUNHENG_MASK_KEY"):
        return os.environ["JUNHENG_MASK_KEY"]
    home = Path(os.environ.get("JUNHENG_HOME", Path.home() / ".junheng"))
    path = home / "mask.key"
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32), encoding="ascii")
        path.chmod(0o600)
    return path.read_text(encoding="ascii").strip()
