"""Explicit column types of every input file of the indicators and reports (issue 13, point 1).

A CSV column that is empty from top to bottom has no type of its own: a reader that infers
types makes it text, and a text column that meets a Boolean one (``coalesce`` of the checklist's
``Q9`` with the monitoring result) turns every verdict into a string that is never ``True``.  So
nothing here is inferred: each input has a declared schema (exact names, plus name patterns for
``pv1..``, ``rep_1..``), every column found is parsed to its declared type, and every cell that
cannot be parsed is reported (file, row, column, value, rule — 中文 / English), all at once.

Schemas: :data:`CHECKLIST` (``reports/checklist.csv``), :data:`SCHOOLS` (the registry's schools
frame with the resource figures), :data:`SCORES` (pupil scale scores and levels), :data:`WEIGHTS`
(final and replicate weights), :data:`SAMPLE` (the pupil sample).  Columns a schema does not name
are left as they are (they are not read by the indicators).
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from junheng.exceptions import Issue, Issues, ParameterError

_ID = pl.String
_TRUE = ("true", "t", "1", "1.0", "yes", "y", "是", "对", "√", "✓", "达到", "已达到", "符合")
_FALSE = ("false", "f", "0", "0.0", "no", "n", "否", "错", "×", "✗", "未达到", "不符合")

GOV_ITEMS = tuple(f"G{i}" for i in range(1, 16))
QUALITY_ITEMS = tuple(f"Q{i}" for i in range(1, 10))
VETO_ITEMS = tuple(f"V{i}" for i in range(1, 7))

#: The checklist (政府保障程度 G1–G15, 教育质量 Q1–Q9, 社会认可度, 一票否决 V1–V6) per county and year.
CHECKLIST: dict[str, pl.DataType] = {
    "county_code": _ID, "year": pl.Int32,
    **{c: pl.Boolean for c in (*GOV_ITEMS, *QUALITY_ITEMS)},
    "recognition": pl.Float64,
    **{c: pl.Boolean for c in VETO_ITEMS},
}

#: The schools frame: identity, stage, grade enrolment and the resource figures of 第九条.
SCHOOLS: dict[str, pl.DataType] = {
    "school_code": _ID, "county_code": _ID, "city_code": _ID, "name": pl.String, "stage": pl.String,
    "location": pl.String, "is_teaching_point": pl.Boolean,
    **{f"enrol_g{g}": pl.Int64 for g in range(1, 10)},
    "teachers_above_qualification": pl.Float64, "key_teachers": pl.Float64, "pe_arts_teachers": pl.Float64,
    "teaching_area_m2": pl.Float64, "sports_area_m2": pl.Float64, "equipment_value_yuan": pl.Float64,
    "multimedia_classrooms": pl.Float64,
}

#: Pupil scores: scale score, plausible values and their levels.
SCORES: dict[str, pl.DataType] = {
    "student_id": _ID, "school_code": _ID, "county_code": _ID, "city_code": _ID, "subject": pl.String,
    "sex": pl.Int64, "location": pl.String, "theta": pl.Float64, "scale_score": pl.Float64, "level": pl.Int64,
    r"^pv\d+$": pl.Float64, r"^level_pv\d+$": pl.Int64,
}

#: Final and replicate weights.
WEIGHTS: dict[str, pl.DataType] = {
    "student_id": _ID, "school_code": _ID, "county_code": _ID, "zone": pl.Int64, "member": pl.Int64,
    "responded": pl.Boolean, "weight": pl.Float64, r"^rep_\d+$": pl.Float64,
}

#: The pupil sample (the columns the reports join from it).
SAMPLE: dict[str, pl.DataType] = {
    "student_id": _ID, "school_code": _ID, "county_code": _ID, "city_code": _ID, "stratum": pl.String,
    "sex": pl.Int64, "location": pl.String, "subject": pl.String, "school_weight": pl.Float64,
    "pupil_weight": pl.Float64, "base_weight": pl.Float64,
}


def _declared(schema: dict[str, pl.DataType], column: str) -> pl.DataType | None:
    if column in schema:
        return schema[column]
    for key, dtype in schema.items():
        if key.startswith("^") and re.match(key, column):
            return dtype
    return None


def _parse(s: pl.Series, dtype: pl.DataType) -> tuple[pl.Series, pl.Series]:
    """(values, bad) for one column: strings parsed, numbers cast; bad = present but unparseable."""
    if s.dtype == dtype:
        return s, pl.Series(s.name, [False] * s.len(), dtype=pl.Boolean)
    if s.dtype == pl.Null:
        return pl.Series(s.name, [None] * s.len(), dtype=dtype), pl.Series(s.name, [False] * s.len())
    if dtype == pl.String:
        if s.dtype.is_float():  # a code written as 410102.0 by a spreadsheet
            whole = s.is_not_null() & (s == s.round(0))
            text = pl.select(pl.when(whole).then(s.cast(pl.Int64, strict=False).cast(pl.String))
                             .otherwise(s.cast(pl.String))).to_series().alias(s.name)
            return text, pl.Series(s.name, [False] * s.len())
        return s.cast(pl.String), pl.Series(s.name, [False] * s.len())
    text = s.cast(pl.String).str.strip_chars()
    text = pl.select(pl.when(text == "").then(None).otherwise(text)).to_series().alias(s.name)
    if dtype == pl.Boolean:
        low = text.str.to_lowercase()
        out = pl.select(pl.when(low.is_in(_TRUE)).then(True).when(low.is_in(_FALSE)).then(False)
                        .otherwise(None)).to_series().alias(s.name)
    elif dtype.is_integer():
        f = text.cast(pl.Float64, strict=False)
        whole = f.is_not_null() & (f == f.round(0))
        out = pl.select(pl.when(whole).then(f).otherwise(None)).to_series().cast(dtype, strict=False).alias(s.name)
    else:
        out = text.cast(dtype, strict=False)
    bad = (text.is_not_null() & out.is_null()).fill_null(False)
    return out, bad


_TYPE_NAMES = {pl.Boolean: ("是/否", "yes/no (true/false)"), pl.Float64: ("数值", "a number"),
               pl.Int64: ("整数", "a whole number"), pl.Int32: ("整数", "a whole number"),
               pl.String: ("文本", "text")}


def conform(frame: pl.DataFrame, schema: dict[str, pl.DataType], *, file: str | None = None,
            row_column: str | None = None) -> pl.DataFrame:
    """``frame`` with every column the ``schema`` declares parsed to its declared type.

    Strings are parsed (booleans from true/false, 1/0, 是/否, 达到/未达到 …; blank = null); numbers
    are cast; an all-blank column becomes a null column *of the declared type*.  Every cell that
    is present but cannot be parsed is an :class:`Issue` (row = spreadsheet row: ``row_column`` or
    the frame row + 2); all are raised together as :class:`~junheng.exceptions.InputError`.
    """
    issues = Issues()
    cols = []
    for name in frame.columns:
        dtype = _declared(schema, name)
        if dtype is None or name == row_column:
            continue
        values, bad = _parse(frame.get_column(name), dtype)
        if bad.any():
            zh, en = _TYPE_NAMES.get(dtype, (str(dtype), str(dtype)))
            rows = (frame.get_column(row_column) if row_column else pl.int_range(frame.height, eager=True) + 2)
            for r, v in zip(rows.filter(bad).to_list(), frame.get_column(name).filter(bad).to_list()):
                issues.add(Issue(f"须为{zh}", f"must be {en}", file=file, row=int(r), column=name, value=v))
        cols.append(values)
    issues.raise_if_errors("输入文件有类型错误，未作计算 / bad values in an input file; nothing computed")
    return frame.with_columns(cols) if cols else frame


def read_typed(path: str | Path, schema: dict[str, pl.DataType], *, digest=None) -> pl.DataFrame:
    """Read a Parquet or CSV input (:func:`junheng.io.read_frame`: a CSV in UTF-8, UTF-8 with BOM or
    GB18030, every column as text — no type is ever inferred) and :func:`conform` it to ``schema``.
    ``digest``: fed the file's name and bytes as it is read (``read_frame``)."""
    from junheng.io import read_frame as read_file

    p = Path(path)
    if p.suffix not in (".parquet", ".csv"):
        raise ParameterError(f"只接受 .parquet 或 .csv / only .parquet or .csv files: {p}")
    return conform(read_file(p, digest=digest), schema, file=p.name)


__all__ = ["CHECKLIST", "SAMPLE", "SCHOOLS", "SCORES", "WEIGHTS", "conform", "read_typed"]
