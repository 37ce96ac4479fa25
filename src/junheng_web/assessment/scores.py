"""The pupils' scores of a cycle (the contract's *pupil scores*: EAP, five plausible values, levels):
:func:`store_scores` checks every row (a pupil of the registry and of the cycle's sample, tested
in the subject, numbers and levels consistent) and writes all or nothing in bulk SQL;
:func:`scores_frame` reads them back as a frame (what the academic dashboard estimates with).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl
from django.db import transaction

from junheng.exceptions import InputError, Issue, Issues
from junheng.io import ROW, parse_decimals, parse_integers
from junheng_web.assessment import models as m
from junheng_web.registry import importers
from junheng_web.registry.freshness import touch
from junheng_web.registry.importers import fetch_frame
from junheng_web.registry.models import Pupil, Region, School
from junheng_web.registry.regions import region_sql
from junheng_web.sampling.models import SampledPupil

PV = tuple(f"pv{k}" for k in range(1, m.N_PV + 1))
LEVEL_PV = tuple(f"level_{c}" for c in PV)
SCORE_FLOATS = ("theta_eap", "theta_se", *PV, "scale_score")
SCORE_LEVELS = (*LEVEL_PV, "level")
SCORE_COLUMNS = ("student_id", "subject", "theta_eap", "theta_se", *PV, *LEVEL_PV, "scale_score", "level")


def _parse_columns(frame: pl.DataFrame, where: dict, issues: Issues) -> tuple[pl.DataFrame, set]:
    """Numbers as Float64 and levels as Int64, whatever the file gave (text from a CSV, numbers from
    Parquet); every cell that is not a number is an issue."""
    out, reported = [], set()
    for c in (*SCORE_FLOATS, *SCORE_LEVELS):
        s = frame[c]
        if s.dtype == pl.String:
            s, bad = (parse_decimals(s) if c in SCORE_FLOATS else parse_integers(s))
        elif s.dtype.is_numeric():
            if c in SCORE_LEVELS:
                f = pl.DataFrame({"f": s.cast(pl.Float64)}).with_columns(
                    bad=pl.col("f").is_not_null() & (pl.col("f").is_nan() | pl.col("f").is_infinite()
                                                     | (pl.col("f") != pl.col("f").round(0))).fill_null(False))
                s = f.select(pl.when(pl.col("bad")).then(None).otherwise(pl.col("f")).cast(pl.Int64, strict=False))
                s, bad = s.to_series(), f["bad"]
            else:
                s, bad = s.cast(pl.Float64), pl.Series(c, [False] * frame.height)
        else:
            s, bad = pl.Series(c, [None] * frame.height, dtype=pl.Float64), s.is_not_null()
        rule = ("应为数字", "must be a number") if c in SCORE_FLOATS else ("应为整数 1–4", "must be an integer 1–4")
        for r, v in frame.filter(bad.fill_null(False))[[ROW, c]].iter_rows():
            issues.add(Issue(rule_zh=rule[0], rule_en=rule[1], **where, row=r, column=c, value=v))
            reported.add((r, c))
        out.append(s.alias(c))
    return frame.with_columns(out), reported


def _check_scores(frame: pl.DataFrame, where: dict, issues: Issues, reported: set) -> None:
    """Row rules that need no database: present, finite, SE ≥ 0, levels 1–4, one row per pupil
    (a cell already reported as not a number is not reported again)."""
    def report(mask: pl.Expr, column: str, zh: str, en: str) -> None:
        for r, v in frame.filter(mask)[[ROW, column]].iter_rows():
            if (r, column) not in reported:
                issues.add(Issue(rule_zh=zh, rule_en=en, **where, row=r, column=column, value=v))

    report(pl.col("student_id").is_null(), "student_id", "学籍号必填", "学籍号 (student_id) is required")
    report(pl.col("subject").is_null(), "subject", "学科必填", "subject is required")
    for c in SCORE_FLOATS:
        report(pl.col(c).is_null() | pl.col(c).is_nan() | pl.col(c).is_infinite(), c, "须为有限的数值，不能为空",
               "must be a finite number, not empty")
    report(pl.col("theta_se") < 0, "theta_se", "标准误不能为负", "a standard error cannot be negative")
    for c in SCORE_LEVELS:
        report(pl.col(c).is_null() | ~pl.col(c).is_between(1, 4), c, "水平须为 1–4（水平Ⅰ–Ⅳ）",
               "a level must be 1–4 (水平Ⅰ–Ⅳ)")
    report(pl.col("student_id").is_duplicated() & pl.col("student_id").is_not_null(), "student_id",
           "同一学生出现多次", "the same pupil appears more than once")
    # a higher score never has a lower level: the EAP and the five PVs of a row, each with its
    # level, must be ordered alike (one set of cut scores per subject); reported once per row
    pairs = [("scale_score", "level"), *zip(PV, LEVEL_PV)]
    crossed = [(a, b) for a in pairs for b in pairs if a < b]
    bad = pl.any_horizontal([((pl.col(va) < pl.col(vb)) & (pl.col(la) > pl.col(lb)))
                             | ((pl.col(va) > pl.col(vb)) & (pl.col(la) < pl.col(lb))) for (va, la), (vb, lb) in crossed])
    shown = pl.concat_str([pl.format("{}={}→{}", pl.lit(v), pl.col(v).round(1), pl.col(lv)) for v, lv in pairs],
                          separator=", ")
    valid = pl.all_horizontal([pl.col(c).is_finite() for c in SCORE_FLOATS]
                              + [pl.col(c).is_between(1, 4) for c in SCORE_LEVELS]).fill_null(False)
    # (rows with a bad number or level are reported above, not again here)
    for r, v in frame.filter(valid & bad.fill_null(False)).select(ROW, shown.alias("v")).iter_rows():
        issues.add(Issue(rule_zh="水平与分数的高低不一致（分数较高者水平不能较低）",
                         rule_en="levels contradict the scores (a higher score cannot have a lower level)",
                         **where, row=r, column="level", value=v))


def _sample_of(cycle) -> pl.DataFrame:
    """The cycle's sampled pupils: ``student_id, pupil_id, sampled_subject`` (one SQL query)."""
    return fetch_frame(
        f"SELECT p.student_id AS student_id, s.pupil_id AS pupil_id, s.subject AS sampled_subject "
        f"FROM {SampledPupil._meta.db_table} s JOIN {Pupil._meta.db_table} p ON p.id = s.pupil_id "
        f"WHERE s.cycle_id = %s", [cycle.pk], schema={"pupil_id": pl.Int64})


@dataclass
class StoreResult:
    rows: int
    created: int
    updated: int
    unchanged: int


def store_scores(cycle, frame: pl.DataFrame, *, file: str | None = None, sheet: str | None = None,
                 progress=None) -> StoreResult:
    """Store the pupils' scores of ``cycle`` (columns of the contract's *pupil scores*:
    ``student_id, subject, theta_eap, theta_se, pv1 … pv5, level_pv1 … level_pv5, scale_score,
    level``; text or numbers).

    Every row is checked — a pupil of the registry and of the cycle's sample, tested in the
    subject the sample assigned, finite numbers, a standard error ≥ 0, levels 1–4 for the EAP and
    for each of the five plausible values, one row per pupil — and every bad row is reported
    (:class:`InputError`) before anything is written.  Then one transaction upserts by (cycle,
    pupil) in set-based SQL; a row equal to the stored one is not rewritten, so storing the same
    file again changes nothing.  ``progress(fraction, message)`` is called along the way."""

    progress = progress or (lambda _f, _m: None)
    where = {"file": file, "sheet": sheet}  # every issue names the file (and the sheet of a workbook)
    issues = Issues()
    missing = [c for c in SCORE_COLUMNS if c not in frame.columns]
    for c in missing:
        issues.add(Issue(rule_zh="缺少列", rule_en="missing column", **where, column=c))
    extra = [c for c in frame.columns if re.fullmatch(r"(level_)?pv\d+", c) and c not in (*PV, *LEVEL_PV)]
    for c in extra:
        issues.add(Issue(rule_zh=f"应恰有 {m.N_PV} 个似真值 pv1…pv{m.N_PV} 及各自的水平 level_pv1…level_pv{m.N_PV}",
                         rule_en=f"there must be exactly {m.N_PV} plausible values pv1…pv{m.N_PV}, each with its level",
                         **where, column=c))
    issues.raise_if_errors()
    if ROW not in frame.columns:
        frame = frame.with_row_index(ROW, offset=2)  # the header is row 1
    frame = frame.select(pl.col(ROW).cast(pl.Int64), *[pl.col(c) for c in SCORE_COLUMNS]).with_columns(
        pl.col("student_id").cast(pl.String).str.strip_chars().str.to_uppercase(),
        pl.col("subject").cast(pl.String).str.strip_chars())
    progress(0.05, "校验 validating")
    frame, reported = _parse_columns(frame, where, issues)
    _check_scores(frame, where, issues, reported)
    sample = _sample_of(cycle)
    frame = frame.join(sample, on="student_id", how="left")
    unsampled = frame.filter(pl.col("pupil_id").is_null() & pl.col("student_id").is_not_null())
    if unsampled.height:
        ids = unsampled["student_id"].unique().to_list()
        known = {i for k in range(0, len(ids), 5000)
                 for i in Pupil.objects.filter(student_id__in=ids[k:k + 5000]).values_list("student_id", flat=True)}
        for r, sid in unsampled[[ROW, "student_id"]].iter_rows():
            if sid in known:
                issues.add(Issue(rule_zh=f"该学生不在 {cycle} 的样本中", rule_en=f"the pupil is not in the sample of {cycle}",
                                 **where, row=r, column="student_id", value=sid))
            else:
                issues.add(Issue(rule_zh="学籍号不在本系统名册中", rule_en="学籍号 is not in the registry", **where,
                                 row=r, column="student_id", value=sid))
    wrong = frame.filter(pl.col("pupil_id").is_not_null() & pl.col("subject").is_not_null()
                         & (pl.col("subject") != pl.col("sampled_subject")))
    for r, v, want in wrong[[ROW, "subject", "sampled_subject"]].iter_rows():
        issues.add(Issue(rule_zh=f"学科与抽样分配的测试科目（{want}）不符", rule_en=f"not the subject the sample assigned ({want})",
                         **where, row=r, column="subject", value=v))
    if issues.has_errors:
        n = len(issues.items)
        raise InputError(issues.items, f"{file or '成绩'}: {n} 处错误，未写入任何数据 / {n} error(s); nothing was written")
    progress(0.3, "写入 writing")
    rows = frame.sort("pupil_id").select(
        pl.lit(cycle.pk, pl.Int64).alias("cycle_id"), "pupil_id", "subject", pl.col("theta_eap").alias("theta"),
        "theta_se", "scale_score", "level", *PV, *LEVEL_PV)
    table = m.PupilScore._meta.db_table
    with transaction.atomic():
        importers.stage(table, rows)
        progress(0.6, "更新 upserting")
        counts = importers.upsert_staged(table, ("cycle_id", "pupil_id"), rows.columns)
        importers.drop_stage()
        touch(cycle.pk)  # the cycle's cached dashboards are stale
    progress(1.0, "完成 done")
    return StoreResult(rows.height, counts.created, counts.updated, counts.unchanged)


def scores_frame(cycle, region=None) -> pl.DataFrame:
    """The stored scores of ``cycle`` (optionally of one county or city: a Region) in the contract's
    columns, plus ``school_code``, ``county_code``, ``city_code`` — one SQL query, no model objects."""
    clause, params = region_sql(region)
    where, params = "s.cycle_id = %s" + clause, [cycle.pk, *params]
    cols = ", ".join(f"s.{c}" for c in (*PV, *LEVEL_PV))
    frame = fetch_frame(
        f"SELECT p.student_id AS student_id, s.subject AS subject, s.theta AS theta_eap, s.theta_se AS theta_se, "
        f"{cols}, s.scale_score AS scale_score, s.level AS level, sc.code AS school_code, c.code AS county_code, "
        f"pc.code AS city_code FROM {m.PupilScore._meta.db_table} s "
        f"JOIN {Pupil._meta.db_table} p ON p.id = s.pupil_id JOIN {School._meta.db_table} sc ON sc.id = p.school_id "
        f"JOIN {Region._meta.db_table} c ON c.id = sc.county_id LEFT JOIN {Region._meta.db_table} pc ON pc.id = c.parent_id "
        f"WHERE {where} ORDER BY p.student_id", params,
        schema={**{c: pl.Float64 for c in SCORE_FLOATS}, **{c: pl.Int8 for c in SCORE_LEVELS}})
    return frame.select(*SCORE_COLUMNS, "school_code", "county_code", "city_code")


__all__ = ["LEVEL_PV", "PV", "SCORE_COLUMNS", "StoreResult", "scores_frame", "store_scores"]
