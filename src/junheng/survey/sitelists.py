"""The lists each test site (测试点) downloads: its sampled pupils and their subjects.

Personal data is masked unless ``unmask=True`` (a role allowed to see it): 姓名 keeps its first
character, 学籍号 keeps its type letter, region digits and last two characters — the same
convention as the fitness exports.
"""

from __future__ import annotations

import polars as pl

SITE_HEADERS = {
    "seq": "序号",
    "student_id": "学籍号",
    "name": "姓名",
    "sex": "性别",
    "class_name": "班级",
    "subject": "测试科目",
}


def _mask(frame: pl.DataFrame) -> pl.DataFrame:
    exprs = []
    if "name" in frame.columns:
        c = pl.col("name").cast(pl.String)
        exprs.append(pl.when(c.is_null()).then(None).otherwise(c.str.slice(0, 1) + pl.lit("**")).alias("name"))
    if "student_id" in frame.columns:
        c = pl.col("student_id").cast(pl.String)
        exprs.append(pl.when(c.is_null()).then(None)
                     .otherwise(c.str.slice(0, 7) + pl.lit("**********") + c.str.slice(-2)).alias("student_id"))
    return frame.with_columns(exprs) if exprs else frame


def site_list_frame(pupils: pl.DataFrame, names: pl.DataFrame | None = None, *, unmask: bool = False) -> pl.DataFrame:
    """One frame for all sites: ``school_code`` then the Chinese columns of :data:`SITE_HEADERS`,
    sorted by school, class and 学籍号."""
    df = pupils.select([c for c in ("school_code", "student_id", "sex", "subject") if c in pupils.columns])
    if names is not None and names.height:
        df = df.join(names.with_columns(pl.col("student_id").cast(pl.String)), on="student_id", how="left")
    if "sex" in df.columns:
        df = df.with_columns(pl.col("sex").cast(pl.Int64).replace_strict({1: "男", 2: "女"}, default=None,
                                                                          return_dtype=pl.String).alias("sex"))
    sort = [c for c in ("school_code", "class_name", "student_id") if c in df.columns]
    df = df.sort(sort).with_columns((pl.int_range(pl.len()).over("school_code") + 1).alias("seq"))
    if not unmask:
        df = _mask(df)
    cols = [c for c in SITE_HEADERS if c in df.columns]
    return df.select(["school_code", *cols]).rename({c: SITE_HEADERS[c] for c in cols})


def site_lists(pupils: pl.DataFrame, names: pl.DataFrame | None = None, *, unmask: bool = False) -> dict[str, pl.DataFrame]:
    """``{学校标识码: list}`` — one list per test site (here: per sampled school)."""
    frame = site_list_frame(pupils, names, unmask=unmask)
    return {str(key[0]): g.drop("school_code") for key, g in frame.group_by("school_code", maintain_order=True)}


__all__ = ["SITE_HEADERS", "site_list_frame", "site_lists"]
