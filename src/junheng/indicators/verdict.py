"""The county's overall 优质均衡 verdict with its reasons, and change from last year.

Source: 教督〔2017〕6号 第九条–第十二条 and the 不予认定 items (POLICY.md §1.7): a county passes
when every school unit passes the resource test and every CV is within its limit, all 15
政府保障程度 items and all 9 教育质量 items are met, 社会认可度 ≥ 85 %, and no 一票否决 item holds.

Checklist data (entered per county and year): ``county_code, year, G1..G15, Q1..Q9`` (bool;
``Q9`` may be left null and is then taken from the monitoring results), ``recognition``
(share 0–1), ``V1..V6`` (bool, True = the veto item occurred).
"""

from __future__ import annotations

import polars as pl

from junheng.exceptions import Issue, Issues, ParameterError
from junheng.indicators.schemas import CHECKLIST, GOV_ITEMS, QUALITY_ITEMS, VETO_ITEMS, conform
from junheng.io import read_package_table


def checklist_items() -> pl.DataFrame:
    """``id, part, title`` of the 15 + 9 checklist items and the 6 veto items."""
    return read_package_table("junheng.indicators.data", "checklist_items_2017.csv").fill_null("")


RECOGNITION_MIN = 0.85


def validate_checklist(checklist: pl.DataFrame, source: str = "checklist") -> pl.DataFrame:
    """Every bad cell reported (row as in a spreadsheet, header = row 1); returns the frame typed
    by the declared schema :data:`junheng.indicators.schemas.CHECKLIST` (an empty ``Q9`` column
    read from a CSV is a null *Boolean* column, never text)."""
    need = ["county_code", "year", *GOV_ITEMS, *QUALITY_ITEMS[:-1], "recognition", *VETO_ITEMS]
    missing = [c for c in need if c not in checklist.columns]
    if missing:
        raise ParameterError(f"核查表缺少列 / checklist lacks columns: {missing}")
    checklist = conform(checklist, CHECKLIST, file=source)
    issues = Issues()
    idx = checklist.with_row_index("_r")
    for c in (*GOV_ITEMS, *QUALITY_ITEMS[:-1], *VETO_ITEMS):
        bad = idx.filter(pl.col(c).is_null())
        for r, v in bad.select("_r", c).iter_rows():
            issues.add(Issue("须填写是/否", "must be yes/no", file=source, row=r + 2, column=c, value=v))
    rec = idx.filter(pl.col("recognition").is_null() | (pl.col("recognition") < 0) | (pl.col("recognition") > 1))
    for r, v in rec.select("_r", "recognition").iter_rows():
        issues.add(Issue("社会认可度须为0–1之间的比例", "recognition must be a share in [0, 1]", file=source,
                         row=r + 2, column="recognition", value=v))
    dup = idx.filter(pl.struct("county_code", "year").is_duplicated())
    for r, v in dup.select("_r", "county_code").iter_rows():
        issues.add(Issue("同一区县同一年度重复", "duplicate county and year", file=source, row=r + 2,
                       column="county_code", value=v))
    issues.raise_if_errors("核查表有误，未作评估 / bad checklist; nothing evaluated")
    if "Q9" not in checklist.columns:
        checklist = checklist.with_columns(pl.lit(None, dtype=pl.Boolean).alias("Q9"))
    return checklist


def county_verdict(resource: pl.DataFrame, checklist: pl.DataFrame, quality: pl.DataFrame | None = None,
                   *, year: int, names: dict[str, str] | None = None) -> pl.DataFrame:
    """Overall verdict per county for ``year``.

    ``resource``: :func:`junheng.indicators.resources.county_resource_verdict`;
    ``checklist``: see module docstring; ``quality``: per county, ``quality_pass`` over all
    subjects (from :func:`junheng.indicators.quality.quality_indicator`), used for ``Q9`` unless
    the checklist gives it: 未达到 when any subject's ``quality_verdict`` is 未达到, 达到 when all
    are 达到, otherwise 无法判定（差距在抽样误差内）.  The reason names each subject short of 达到
    (its Ⅲ级以上 share and verdict) and, when the between-school share is pooled over the subjects
    (``pooled_between_share``), that share once.  Returns ``county_code, year, resource_pass,
    quality`` (Q9: 达到 / 未达到 / 无法判定), ``overall`` (达到; 无法判定 when the only open points
    are undecidable; else 未达到), ``gov_met, quality_met, recognition, recognition_ok, vetoes,
    overall_pass, reasons`` (list of Chinese sentences, empty when the county passes).
    """
    items = dict(checklist_items().select("id", "title").iter_rows())
    cl = validate_checklist(checklist).filter(pl.col("year") == year)
    if quality is not None and quality.height:
        q = quality
        if "quality_verdict" not in q.columns:  # a frame of point verdicts only
            q = q.with_columns(quality_verdict=pl.col("quality_pass").replace_strict(
                {True: "达到", False: "未达到"}, default=None, return_dtype=pl.String))
        share = (pl.col("share_l3") * 100).round(1).cast(pl.String).fill_null("—")
        pooled = "pooled_between_share" in q.columns
        spread = (pl.lit("") if pooled else
                  pl.concat_str(pl.lit("，校际方差占比"), (pl.col("between_share") * 100).round(1).cast(pl.String),
                                pl.lit("%")) if "between_share" in q.columns else
                  pl.concat_str(pl.lit("，校际差异率"), pl.col("diff_rate").round(3).cast(pl.String)))
        # with the share pooled over the subjects: each subject's Ⅲ级以上 verdict, then the pooled share once
        shown = pl.col("level_verdict").fill_null("无法判定") if pooled else pl.col("quality_verdict")
        q = q.with_columns(pl.col("quality_verdict").fill_null("无法判定"))  # withheld (too few pupils)
        q = q.group_by("county_code", maintain_order=True).agg(
            _q9_verdict=pl.when((pl.col("quality_verdict") == "未达到").any()).then(pl.lit("未达到"))
            .when((pl.col("quality_verdict") == "达到").all()).then(pl.lit("达到")).otherwise(pl.lit("无法判定")),
            _q9_detail=pl.concat_str(pl.col("subject"), pl.lit("（Ⅲ级以上"), share, pl.lit("%"), spread.fill_null(""),
                                     pl.lit("："), shown, pl.lit("）")).filter(shown != "达到").str.join("；"),
            **({"_q9_pooled": pl.concat_str(
                pl.lit("校际方差占比（各科合并）"), (pl.col("pooled_between_share").first() * 100).round(1).cast(pl.String),
                pl.lit("%："), pl.col("diff_verdict").fill_null("无法判定").first())} if pooled else {}),
        )
        if pooled:
            q = q.with_columns(_q9_detail=pl.when(pl.col("_q9_pooled").is_null() | pl.col("_q9_pooled").str.ends_with("：达到"))
                               .then(pl.col("_q9_detail")).otherwise(pl.concat_str(
                                   pl.col("_q9_detail"), pl.when(pl.col("_q9_detail") != "").then(pl.lit("；"))
                                   .otherwise(pl.lit("")), pl.col("_q9_pooled")))).drop("_q9_pooled")
        q = q.with_columns(_q9=pl.col("_q9_verdict").replace_strict({"达到": True, "未达到": False}, default=None,
                                                                     return_dtype=pl.Boolean))
        cl = cl.join(q, on="county_code", how="left").with_columns(
            _q9_given=pl.col("Q9"), Q9=pl.coalesce("Q9", "_q9"))
    else:
        cl = cl.with_columns(_q9_detail=pl.lit(""), _q9_given=pl.col("Q9"), _q9_verdict=pl.lit(None, pl.String))
    df = resource.join(cl, on="county_code", how="full", coalesce=True)
    rows = []
    for r in df.iter_rows(named=True):
        reasons: list[str] = []
        open_only: list[str] = []  # reasons that are missing evidence, not failures
        res_ok = bool(r.get("resource_pass"))
        if r.get("n_units") is None:
            reasons.append("无资源配置数据")
            open_only.append(reasons[-1])
        else:
            if not r["schools_pass"]:
                reasons.append(f"资源配置：{r['n_units'] - r['n_units_pass']} 个学校（学部）未达到“至少6项达标、余项不低于85%”")
            if not r["cv_pass"]:
                reasons.append(f"资源配置：差异系数超限（{r['failing_cv'].replace(',', '、')}）")
        gov_missing = [g for g in GOV_ITEMS if r.get(g) is not True]
        q_missing = [q for q in QUALITY_ITEMS if r.get(q) is not True]
        for g in gov_missing:
            reasons.append(f"政府保障程度 {g} 未达到：{items[g]}")
        for q in q_missing:
            if q == "Q9" and r.get("Q9") is None and r.get("_q9_verdict") == "无法判定":
                reasons.append(f"教育质量 Q9 无法判定（差距在抽样误差内）：{items[q]}（{r['_q9_detail']}）")
                open_only.append(reasons[-1])
            elif q == "Q9" and r.get("Q9") is None:
                reasons.append("教育质量 Q9 无法判定：缺少质量监测结果或样本不足")
                open_only.append(reasons[-1])
            else:
                detail = f"（{r['_q9_detail']}）" if q == "Q9" and r.get("_q9_detail") else ""
                reasons.append(f"教育质量 {q} 未达到：{items[q]}{detail}")
        rec = r.get("recognition")
        rec_ok = rec is not None and rec >= RECOGNITION_MIN
        if rec is None:
            reasons.append("无社会认可度调查结果")
            open_only.append(reasons[-1])
        elif not rec_ok:
            reasons.append(f"社会认可度 {rec * 100:.1f}% 低于85%")
        vetoes = [v for v in VETO_ITEMS if r.get(v) is True]
        for v in vetoes:
            reasons.append(f"一票否决：{items[v]}")
        q9 = "达到" if r.get("Q9") is True else "未达到" if r.get("Q9") is False else "无法判定"
        undecided_only = bool(reasons) and len(open_only) == len(reasons)
        rows.append({
            "county_code": r["county_code"], "year": year, "resource_pass": res_ok, "quality": q9,
            "overall": "达到" if not reasons else "无法判定" if undecided_only else "未达到",
            "gov_met": len(GOV_ITEMS) - len(gov_missing), "quality_met": len(QUALITY_ITEMS) - len(q_missing),
            "recognition": rec, "recognition_ok": rec_ok, "vetoes": len(vetoes),
            "overall_pass": not reasons, "reasons": reasons,
        })
    out = pl.DataFrame(rows, schema={"county_code": pl.String, "year": pl.Int32, "resource_pass": pl.Boolean,
                                     "quality": pl.String, "overall": pl.String,
                                     "gov_met": pl.Int32, "quality_met": pl.Int32, "recognition": pl.Float64,
                                     "recognition_ok": pl.Boolean, "vetoes": pl.Int32, "overall_pass": pl.Boolean,
                                     "reasons": pl.List(pl.String)})
    if names:
        out = out.with_columns(county_name=pl.col("county_code").replace_strict(names, default=None))
    return out.sort("county_code")


def verdicts_table(verdict: pl.DataFrame) -> pl.DataFrame:
    """The published verdicts file (``reports/verdicts.csv``): ``county_code, county_name,
    resources_met`` (资源配置 all met), ``quality`` (Q9: 达到 / 未达到 / 无法判定), ``overall``
    (达到 / 未达到 / 无法判定) and ``reasons`` (the reasons joined by "；")."""
    v = verdict if "county_name" in verdict.columns else verdict.with_columns(county_name=pl.lit(None, pl.String))
    return v.select("county_code", "county_name", pl.col("resource_pass").alias("resources_met"), "quality",
                    "overall", pl.col("reasons").list.join("；").alias("reasons")).sort("county_code")


def change(this: pl.DataFrame, last: pl.DataFrame) -> pl.DataFrame:
    """Change from last year per county: verdicts then/now, items met then/now, and
    ``change`` ∈ 新达标 / 不再达标 / 保持达标 / 仍未达标 / 无上年数据."""
    prev = last.select("county_code", pl.col("overall_pass").alias("pass_last"),
                       pl.col("gov_met").alias("gov_met_last"), pl.col("quality_met").alias("quality_met_last"),
                       pl.col("recognition").alias("recognition_last"))
    out = this.join(prev, on="county_code", how="left")
    return out.with_columns(change=pl.when(pl.col("pass_last").is_null()).then(pl.lit("无上年数据"))
                            .when(pl.col("overall_pass") & ~pl.col("pass_last")).then(pl.lit("新达标"))
                            .when(~pl.col("overall_pass") & pl.col("pass_last")).then(pl.lit("不再达标"))
                            .when(pl.col("overall_pass")).then(pl.lit("保持达标"))
                            .otherwise(pl.lit("仍未达标")))
