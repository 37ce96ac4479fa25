"""Reading and writing the assessment's tables (CSV in UTF-8 / UTF-8 BOM / GB18030, Parquet, Excel)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from junheng.exceptions import InputError, Issue
from junheng.io import decode_csv
from junheng.io import write_table as io_write_table


def read_table(path: str | Path, *, required: tuple[str, ...] = (), string_columns: tuple[str, ...] = ()) -> pl.DataFrame:
    """Read a CSV/Parquet/xlsx table; ids and raw responses stay strings; missing columns are reported."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            df = pl.read_parquet(path)
        elif suffix in (".xlsx", ".xls"):
            from python_calamine import CalamineWorkbook

            rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
            header = [str(h).strip() for h in rows[0]]
            body = [["" if v is None else str(v) for v in r] for r in rows[1:]]
            df = pl.DataFrame(body, schema=dict.fromkeys(header, pl.String), orient="row")
        else:
            text, _ = decode_csv(path.read_bytes(), file=path.name)
            df = pl.read_csv(text.encode("utf-8"), infer_schema_length=0)
            df = df.with_columns([pl.col(c).str.strip_chars() for c in df.columns])
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 — any reader failure is a bad file, told to the person
        raise InputError(Issue(rule_zh="无法读取文件", rule_en="cannot read the file", file=path.name,
                               value=str(exc)[:160])) from None
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
