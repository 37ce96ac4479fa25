"""Vectorised parsers over normalised string Series: each returns ``(values, bad)``.

``values`` holds the parsed values (null where the cell is blank or bad); ``bad`` is a Boolean
Series, true where a cell is not blank but could not be parsed — so a validator builds one
:class:`~junheng.exceptions.Issue` per bad cell at once. Blank cells are never bad here (whether
a value is required is the validator's rule).
"""

from __future__ import annotations

import polars as pl

# Excel stores a date as the number of days since 1899-12-30 (the 1900 leap-year bug folded in
# for serials ≥ 61, i.e. every date after 1900-02-28). Serials 61 … 2958465 (9999-12-31).
EXCEL_EPOCH = pl.date(1899, 12, 30)

_YMD = r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:\s+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
_COMPACT = r"^(\d{4})(\d{2})(\d{2})$"
_SERIAL = r"^(\d{2,7})(?:\.0+)?$"


def _frame(s: pl.Series) -> pl.DataFrame:
    return pl.DataFrame({"s": s.cast(pl.String)})


def parse_dates(s: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Dates written ``2011-09-01``, ``2011/9/1``, ``2011.9.1``, ``2011年9月1日``, ``20110901`` or as an
    Excel serial number (``40787``); a trailing time of day is ignored. Impossible dates
    (2011-02-30) are bad. Returns (Date Series, bad mask)."""
    f = _frame(s)
    ymd = pl.col("s").str.extract_groups(_YMD)
    compact = pl.col("s").str.extract_groups(_COMPACT)
    serial = pl.col("s").str.extract(_SERIAL, 1).cast(pl.Int64, strict=False)

    def build(groups: pl.Expr) -> pl.Expr:
        y = groups.struct.field("1")
        m = groups.struct.field("2").str.zfill(2)
        d = groups.struct.field("3").str.zfill(2)
        return pl.concat_str([y, m, d], separator="-").str.to_date("%Y-%m-%d", strict=False)

    is_compact = pl.col("s").str.contains(_COMPACT)
    from_serial = pl.when(serial.is_between(61, 2958465)).then(
        EXCEL_EPOCH + pl.duration(days=serial)).otherwise(None).cast(pl.Date)
    out = f.select(
        pl.coalesce(build(ymd), pl.when(is_compact).then(build(compact)).otherwise(
            pl.when(~is_compact).then(from_serial))).alias(s.name),
    ).to_series()
    bad = s.is_not_null() & out.is_null()
    return out, bad.alias(s.name)


def parse_integers(s: pl.Series, dtype: pl.DataType = pl.Int64) -> tuple[pl.Series, pl.Series]:
    """Whole numbers: ``12``, ``+12``, ``-3``, ``12.0`` (an Excel number), ``1,234``. Returns (Int, bad)."""
    f = _frame(s)
    cleaned = pl.col("s").str.replace_all(r"^([+-]?\d{1,3}(?:,\d{3})+)(\.0+)?$", "$1").str.replace_all(",", "")
    m = cleaned.str.extract(r"^([+-]?\d+)(?:\.0+)?$", 1)
    out = f.select(m.cast(dtype, strict=False).alias(s.name)).to_series()
    bad = s.is_not_null() & out.is_null()
    return out, bad.alias(s.name)


def parse_decimals(s: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Decimal numbers (``3.5``, ``-0.25``, ``1,234.5``, ``1e3``). Returns (Float64, bad)."""
    f = _frame(s)
    cleaned = pl.when(pl.col("s").str.contains(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")).then(
        pl.col("s").str.replace_all(",", "")).otherwise(pl.col("s"))
    numeric = cleaned.str.contains(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
    out = f.select(pl.when(numeric).then(cleaned.cast(pl.Float64, strict=False)).alias(s.name)).to_series()
    bad = s.is_not_null() & out.is_null()
    return out, bad.alias(s.name)


_NAIVE = ("%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y/%m/%d %H:%M:%S%.f", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M")
_AWARE = ("%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%.fZ")


def parse_times(s: pl.Series, zone: str = "UTC") -> tuple[pl.Series, pl.Series]:
    """Moments: a number of seconds (``12.5``; the whole column then stays Float64 seconds) or a
    date and time (``2026-06-01 09:00:05``, ``2026-06-01T09:00:05.250``, with ``+08:00``/``Z``
    converted to ``zone``'s wall clock — so ``09:00:05+08:00`` and ``01:00:05Z`` both read 09:00:05 in
    ``"Asia/Shanghai"``; without, taken as written).  Returns (Float64 seconds or naive Datetime
    (µs), bad mask); a column mixing numbers and times has its numbers bad."""
    seconds, bad = parse_decimals(s)
    if not bad.any():
        return seconds, bad
    f = _frame(s)
    naive = [pl.col("s").str.strptime(pl.Datetime("us"), fmt, strict=False) for fmt in _NAIVE]
    aware = [pl.col("s").str.strptime(pl.Datetime("us", "UTC"), fmt, strict=False).dt.convert_time_zone(zone)
             .dt.replace_time_zone(None) for fmt in _AWARE]
    out = f.select(pl.coalesce(*aware, *naive).alias(s.name)).to_series()
    bad = s.is_not_null() & out.is_null()
    return out, bad.alias(s.name)
