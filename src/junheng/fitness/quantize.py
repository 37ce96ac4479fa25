"""Exact quantisation of measurements to the standard's resolution, as integers.

Thresholds are compared at the resolution the standard prints them (tenths of a second or
centimetre, whole counts, whole seconds for endurance runs). Comparing binary floats instead
goes wrong: 8.1 is not representable, and in float32 ``8.1 > 8.1`` can come out either way.
So every value is first turned into an integer count of resolution units:

* text (what files hold) is parsed as an exact decimal (Polars ``Decimal``) — no float ever;
* integers are scaled exactly;
* floats (a Parquet column someone wrote as float) are rounded with a tolerance of a few ulps
  of the input's own precision, so that a float32 8.1 is read as the 8.1 it was meant to be.

Rounding is 四舍五入: half away from zero (8.15 s → 8.2 s; −3.25 cm → −3.3 cm), not
Python's / NumPy's round-half-to-even. ``mode="up"`` instead rounds any excess up (进一),
the reading rule of the standard's 测试细则 for some timed items (10.11 s read as 10.2 s); it
is offered for offices that apply it but is not the default.

Endurance times are written ``3′45″``, ``3'45"``, ``3’45”`` or ``3.45`` (分.秒; exactly two
digits of seconds), or as plain seconds (``225``).
"""

from __future__ import annotations

import re
from typing import Literal

import numpy as np
import polars as pl

Rounding = Literal["half_up", "up"]
MISSING = np.iinfo(np.int32).min  # sentinel for "no value" in the NumPy kernel
UNITS_MAX = int(np.iinfo(np.int32).max)  # a value beyond ±this many units saturates (never wraps, never MISSING)

_FULL = "０１２３４５６７８９．－＋：，　"
_HALF = "0123456789.-+:, "
_MICRO = 1_000_000


_FROM = [*_FULL, " ", "\t", "\u00a0", ","]
_TO = [*_HALF[:-2], "", "", "", "", "", ""]  # full-width comma and space, space, tab, nbsp, comma → removed


def normalize_text(s: pl.Expr) -> pl.Expr:
    """Full-width digits and marks → ASCII, spaces and thousands commas removed; empty → null.

    One Aho–Corasick pass (``str.replace_many``), not a pass per character.
    """
    s = s.str.replace_many(_FROM, _TO)
    return pl.when(s != "").then(s)


NEEDS_NORMALIZING = "[" + "".join(re.escape(c) for c in _FROM) + "]"
# the same test as a literal search (``str.contains_any``, Aho–Corasick): 1.5–1.6× less CPU than the
# regex class on 200,000 cells (benchmarks/fitness_checks.py)
NORMALIZED_CHARS = list(_FROM)


def normalize_series(s: pl.Series) -> pl.Series:
    """:func:`normalize_text` on a Series, rewriting only the cells that need it.

    Nearly every cell of a real file is already plain ASCII: one character-class scan finds the
    few holding full-width marks, spaces or commas, and only those go through the replacement.
    """
    odd = (s.str.contains_any(NORMALIZED_CHARS) | (s == "")).fill_null(False)
    if not odd.any():
        return s
    idx = odd.arg_true()
    fixed = s.gather(idx).to_frame("x").select(normalize_text(pl.col("x"))).to_series()
    return s.clone().scatter(idx, fixed)


def _round_micro(micro: pl.Expr, scale: int, mode: Rounding) -> pl.Expr:
    """Integer micro-units → integer units of 1/scale, half away from zero (or up).

    ``micro`` is read three times: pass a column, not a parse (see :func:`units_frame`)."""
    step = _MICRO // scale
    mag = micro.abs()
    q = (mag + step // 2) // step if mode == "half_up" else (mag + step - 1) // step
    return (pl.when(micro < 0).then(-q).otherwise(q)).clip(-UNITS_MAX, UNITS_MAX).cast(pl.Int32)


def text_to_units(s: pl.Expr, scale: int, mode: Rounding = "half_up", *, normalized: bool = False) -> pl.Expr:
    """Decimal text → Int32 units of ``1/scale`` (exact); unparseable or empty → null.

    ``normalized=True`` skips :func:`normalize_text` for text already through it."""
    micro = (s if normalized else normalize_text(s)).cast(pl.Decimal(24, 6), strict=False).to_physical().cast(
        pl.Int64, strict=False)  # beyond Int64 micro-units (≈ 9·10¹² base units): not a number anyone measured
    return _round_micro(micro, scale, mode)


_TIME_RE = r"^(\d{1,2})(?:[′'’:]|\.)(\d{2}(?:\.\d+)?)(?:[″\"”]|'')?$"


def time_text_to_seconds(s: pl.Expr, mode: Rounding = "half_up", *, normalized: bool = False) -> pl.Expr:
    """``3′45″`` / ``3'45"`` / ``3.45`` (分.秒) / plain seconds ``225`` → Int32 seconds; else null.

    Seconds must be written with two digits (``3'5"`` is rejected, as the national system does)
    and be below 60.
    """
    t = s if normalized else normalize_text(s)
    parts = t.str.extract_groups(_TIME_RE)
    minutes = parts.struct.field("1").cast(pl.Int64, strict=False)
    sec_micro = parts.struct.field("2").cast(pl.Decimal(24, 6), strict=False).to_physical().cast(pl.Int64)
    mmss = pl.when(sec_micro < 60 * _MICRO).then(minutes * 60 * _MICRO + sec_micro)
    plain = pl.when(t.str.contains(r"^\d+$")).then(t.cast(pl.Int64, strict=False) * _MICRO)
    return _round_micro(pl.coalesce(mmss, plain), 1, mode)


_MARKS = ["′", "'", "’", ":", ".", "″", '"', "”"]
_MMSS_PLAIN = r"^[0-9]{1,2}[′'’:.][0-5][0-9](?:[″\"”]|'')?$"


def units_frame(frame: pl.DataFrame, specs: dict[str, tuple[int, bool]]) -> pl.DataFrame:
    """Every column of ``frame`` named in ``specs`` (name → (scale, time)) as Int32 units with
    nulls: text exactly as :func:`text_to_units` / :func:`time_text_to_seconds` (normalised text),
    numbers as :func:`units_expr` — all columns in parallel.

    Two passes, so that no parse is evaluated twice (Polars does not share a sub-expression
    used several times in one expression): the first parses (text → micro-units as one integer;
    times of the usual forms ``m′ss″`` / ``m'ss"`` / ``m:ss`` / ``m.ss`` with whole seconds, or
    plain seconds, marks dropped and read as one integer ``m·100 + ss``), the second rounds and
    combines. Times in any other accepted form (fractions of a second) go through the exact
    parser, only on those cells."""
    names = [c for c in frame.columns if c in specs]
    first, second, times = [], [], []
    for c in names:
        scale, time = specs[c]
        x, dtype = pl.col(c), frame.schema[c]
        if dtype == pl.String and time:
            times.append(c)
            first += [x.str.contains(_MMSS_PLAIN).alias(f"{c}\0mmss"),
                      x.str.replace_many(_MARKS, [""] * len(_MARKS)).str.to_integer(strict=False).alias(f"{c}\0v"),
                      pl.when(x.str.contains(r"^[0-9]{1,7}$")).then(x.str.to_integer(strict=False)).alias(f"{c}\0s")]
            v = pl.col(f"{c}\0v")
            second.append(pl.when(pl.col(f"{c}\0mmss")).then(v // 100 * 60 + v % 100)
                          .otherwise(pl.col(f"{c}\0s")).cast(pl.Int32).alias(c))
        elif dtype == pl.String:
            first.append(x.cast(pl.Decimal(24, 6), strict=False).to_physical().cast(pl.Int64, strict=False).alias(c))
            second.append(_round_micro(pl.col(c), scale, "half_up").alias(c))
        else:
            first.append(units_expr(c, dtype, scale, time=time).alias(c))
            second.append(pl.col(c))
    out = frame.select(first).select(second) if names else pl.DataFrame()
    if not times or not frame.height:
        return out
    left = out.select((pl.col(c).is_null() & frame[c].is_not_null()).any() for c in times).row(0)
    fixes = []
    for c, any_left in zip(times, left):
        if any_left:
            idx = (out[c].is_null() & frame[c].is_not_null()).arg_true()
            exact = frame[c].gather(idx).to_frame("x").select(time_text_to_seconds(pl.col("x"), normalized=True))
            fixes.append(out[c].scatter(idx, exact.to_series()))
    return out.with_columns(fixes) if fixes else out


def float_to_units(x: np.ndarray, scale: int, mode: Rounding = "half_up") -> np.ndarray:
    """Float measurements → Int32 units of ``1/scale``; NaN → :data:`MISSING`.

    The tolerance absorbs the representation error of the input dtype (float32 8.1 is
    8.1000004; float64 8.15 is 8.1499999999999995), which is far below the hundredths a device
    records.
    """
    x = np.asarray(x)
    tol = 1e-3 if x.dtype == np.float32 else 1e-7
    v = x.astype(np.float64) * scale
    q = np.abs(v)
    if mode == "half_up":
        q += 0.5 + tol
        np.floor(q, out=q)
    else:
        q -= tol
        np.ceil(q, out=q)
    np.minimum(q, UNITS_MAX, out=q)  # saturate: a float beyond Int32 would cast to anything
    np.copysign(q, v, out=q)
    q[np.isnan(v)] = MISSING
    return q.astype(np.int32)


def units_to_float(s: pl.Series, scale: int) -> pl.Series:
    """Integer units → Float64 base units, correctly rounded (NumPy true division; Polars' scalar
    division multiplies by the reciprocal and turns 81 / 10 into 8.100000000000001)."""
    if scale == 1:
        return s
    # NaN (from nulls) → null
    return pl.Series(s.name, s.cast(pl.Float64).to_numpy() / scale).fill_nan(None)


def _int_units_expr(c: pl.Expr, scale: int) -> pl.Expr:
    """Whole numbers × ``scale`` as Int32, saturating at ±:data:`UNITS_MAX` (a huge integer would
    otherwise wrap round to a plausible value or fail the cast)."""
    return (c.cast(pl.Int64, strict=False).clip(-UNITS_MAX, UNITS_MAX) * scale).clip(-UNITS_MAX, UNITS_MAX).cast(pl.Int32)


def units_expr(name: str, dtype: pl.DataType, scale: int, *, time: bool = False,
               mode: Rounding = "half_up") -> pl.Expr:
    """The expression form of :func:`to_units` (Int32 with nulls), run by Polars on all cores."""
    c = pl.col(name)
    if dtype == pl.String or dtype == pl.Categorical:
        c = c.cast(pl.String)
        return time_text_to_seconds(c, mode) if time else text_to_units(c, scale, mode)
    if dtype.is_integer():
        return _int_units_expr(c, scale)
    if dtype.is_float():
        tol = 1e-3 if dtype == pl.Float32 else 1e-7
        v = c.cast(pl.Float64) * scale
        mag = ((v.abs() + (0.5 + tol)).floor() if mode == "half_up" else (v.abs() - tol).ceil()).clip(upper_bound=UNITS_MAX)
        q = pl.when(v < 0).then(-mag).otherwise(mag)
        return pl.when(v.is_nan()).then(None).otherwise(q).cast(pl.Int32)
    if dtype == pl.Null:
        return c.cast(pl.Int32)
    if isinstance(dtype, pl.Decimal):
        return _round_micro(c.cast(pl.Decimal(24, 6)).to_physical().cast(pl.Int64), scale, mode)
    raise TypeError(f"column {name!r}: cannot read {dtype} as a measurement")


def to_units(s: pl.Series, scale: int, *, time: bool = False, mode: Rounding = "half_up") -> pl.Series:
    """Any column (text, integer, float) → Int32 units of ``1/scale`` with nulls."""
    name = s.name
    if s.dtype == pl.String or s.dtype == pl.Categorical:
        expr = pl.col(name).cast(pl.String)
        out = (time_text_to_seconds(expr, mode) if time else text_to_units(expr, scale, mode))
        return s.to_frame().select(out.alias(name)).to_series()
    if s.dtype.is_integer():
        return s.to_frame().select(_int_units_expr(pl.col(name), scale)).to_series()
    if s.dtype.is_float():
        q = float_to_units(s.fill_null(np.nan).to_numpy(), scale, mode)
        return pl.Series(name, q).set(s.is_null() | s.is_nan(), None) if s.len() else pl.Series(name, [], pl.Int32)
    if s.dtype == pl.Null:
        return pl.Series(name, [None] * s.len(), pl.Int32)
    if isinstance(s.dtype, pl.Decimal):
        micro = pl.col(name).cast(pl.Decimal(24, 6)).to_physical().cast(pl.Int64)
        return s.to_frame().select(_round_micro(micro, scale, mode).alias(name)).to_series()
    raise TypeError(f"column {name!r}: cannot read {s.dtype} as a measurement")


__all__ = ["MISSING", "UNITS_MAX", "units_frame", "float_to_units", "units_expr", "units_to_float", "NEEDS_NORMALIZING", "NORMALIZED_CHARS", "normalize_series", "normalize_text", "text_to_units", "time_text_to_seconds", "to_units"]
