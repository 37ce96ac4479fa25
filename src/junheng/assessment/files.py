"""Reading the assessment's tables (CSV in UTF-8 / UTF-8 BOM / GB18030, Parquet, Excel); writing is
:func:`junheng.io.write_table` / :func:`junheng.io.write_sheets` (re-exported here)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from junheng.exceptions import InputError, Issue
from junheng.io import ROW, read_frame, write_sheets, write_table
from junheng.io import read_table as io_read_table


def read_table(path: str | Path, *, required: tuple[str, ...] = (), string_columns: tuple[str, ...] = ()) -> pl.DataFrame:
    """Read a Parquet table (:func:`junheng.io.read_frame`), or a CSV/Excel table through
    :func:`junheng.io.read_table` (encoding detected, header row found, full-width characters
    normalised; every value a string, blanks null); missing ``required`` columns are reported together."""
    path = Path(path)
    if path.suffix.lower() == ".parquet":
        df = read_frame(path)
    else:
        df = io_read_table(path, expected_headers=required or None).frame.drop(ROW)
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputError([Issue(rule_zh="缺少列", rule_en="missing column", file=path.name, column=c) for c in missing])
    casts = [pl.col(c).cast(pl.String) for c in string_columns if c in df.columns]
    return df.with_columns(casts) if casts else df


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


__all__ = ["mask_key", "pseudonymise", "read_table", "write_sheets", "write_table"]
