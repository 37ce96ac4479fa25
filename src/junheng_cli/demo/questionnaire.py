"""The demo's questionnaire stage: the student questionnaire answered by the sampled pupils
(``junheng.synth``, driven by their achievement) → a GB18030 responses file → read and checked,
scale scores, α, frequencies and factor gaps (``junheng.questionnaire``) → stored in the platform
(``junheng_web.questionnaires.services``)."""

from __future__ import annotations

from pathlib import Path

import click
import polars as pl

from junheng.io import read_frame, write_table

# 低 < 2.5 ≤ 中 < 3.5 ≤ 高: below the midpoint of 不太同意 and 比较同意, agreeing, agreeing strongly
DEMO_CUTS = (2.5, 3.5)
DEMO_FACTORS = ("sleep_ok", "homework_ok", "left_behind", "confidence_group", "teacher_rel_group")


def _demo_pupils(ctx) -> pl.DataFrame | None:
    """The sampled pupils (or a tenth of the grade-6 roster), with their achievement when scored."""
    if "sample" in ctx.state:
        pupils = read_frame(ctx.state["sample"])
    elif "pupils" in ctx.state:
        roster = read_frame(ctx.state["pupils"])
        if "grade" in roster.columns:
            roster = roster.filter(pl.col("grade") == 6)
        pupils = roster.sample(fraction=0.1, seed=ctx.seed)
    else:
        return None
    if "academic_scores" in ctx.state:
        scores = read_frame(ctx.state["academic_scores"], ["student_id", "scale_score"])
        pupils = pupils.join(scores.with_columns(pl.col("student_id").cast(pl.String)), on="student_id", how="left")
    return pupils


def _write_gb18030(frame: pl.DataFrame, path: Path) -> Path:
    """A CSV as many schools' software writes it: GB18030, Chinese headers."""
    return write_table(frame, path, encoding="gb18030")


def _demo_weights(ctx) -> pl.DataFrame | None:
    """The pupils' full-sample and JK2 replicate weights (only those columns read), None before the sample stage."""
    if "replicates" not in ctx.state:
        return None
    return read_frame(ctx.state["replicates"], ["student_id", "school_code", "weight", "rep_*"])


def _demo_gaps(ctx, weights: pl.DataFrame | None, scales: pl.DataFrame, groups: pl.DataFrame) -> pl.DataFrame | None:
    """相关因素: achievement by questionnaire factor, per subject, SEs from the JK2 replicates."""
    from junheng.questionnaire import factor_gaps
    from junheng.survey import ReplicateDesign

    if weights is None or "academic_scores" not in ctx.state:
        return None
    scores = read_frame(ctx.state["academic_scores"]).select("student_id", "subject", pl.col("^pv\\d+$"))
    data = (weights.filter(pl.col("weight") > 0).join(scores, on="student_id", how="inner")
            .join(scales, on="student_id", how="left").join(groups, on="student_id", how="left"))
    design = ReplicateDesign(data, "weight", "rep_*", method="jk2")
    return factor_gaps(design, [f for f in DEMO_FACTORS if f in data.columns], pv="pv*", by="subject")


def _demo_shares(weights: pl.DataFrame | None, scales: pl.DataFrame, q) -> str:
    """The province's indicator shares as the reports and the summary page give them: weighted,
    with replicate SEs (``survey.proportion`` on the replicate design); unweighted shares of the
    respondents only when no weights exist yet (said so)."""
    from junheng.survey import ReplicateDesign, proportion

    ids = [i for i in q.indicators if i.id in scales.columns]
    if weights is None:
        shares = scales.select(pl.col(i.id).mean() for i in ids).row(0, named=True)
        return "（未加权 / unweighted）" + ", ".join(f"{i.name} {shares[i.id]:.1%}" for i in ids
                                                   if shares[i.id] is not None)
    design = ReplicateDesign(weights.filter(pl.col("weight") > 0).join(scales, on="student_id", how="inner"),
                             "weight", "rep_*", method="jk2")
    parts = []
    for i in ids:
        r = proportion(design, i.id, levels=[True]).row(0, named=True)
        if r["estimate"] is not None:
            parts.append(f"{i.name} {r['estimate']:.1%} (SE {r['se']:.1%})")
    return ", ".join(parts)


def demo_stage(ctx) -> None:
    """Demo: the student questionnaire answered by the sampled pupils (driven by their achievement)
    → a GB18030 responses file → read and checked → scale scores, α, frequencies, factor gaps."""
    import time

    from junheng.exceptions import InputError
    from junheng.questionnaire import (
        item_frequencies,
        read_responses,
        reliability,
        save_questionnaire,
        scale_groups,
        scale_scores,
    )
    from junheng.synth import student_questionnaire, synth_responses

    pupils = _demo_pupils(ctx)
    if pupils is None:
        click.echo("   (no pupils yet: the registry import or sampling stage must run first; skipped)")
        return
    t0 = time.perf_counter()
    out = ctx.out / "questionnaire"
    out.mkdir(parents=True, exist_ok=True)
    q = student_questionnaire()
    ctx.state["questionnaire"] = save_questionnaire(q, out / "student_questionnaire.json")
    ctx.output("questionnaire definition (JSON)", ctx.state["questionnaire"])
    answers = synth_responses(pupils, q, ctx.seed, missing_code=9)
    path = _write_gb18030(answers.rename({"respondent_id": "学籍号", "school_code": "学校标识码"}), out / "responses.csv")
    ctx.output("questionnaire responses (GB18030 CSV)", path)
    responses, issues = read_responses(path, q)
    if any(i.severity == "error" for i in issues):
        raise InputError(issues)
    ctx.state["questionnaire_responses"] = write_table(responses, out / "responses.parquet")
    click.echo(f"   {responses.height}/{pupils.height} 名学生交回问卷 / pupils returned the questionnaire, "
               f"{len(q.items)} 题 items, 读取并检查 read and checked ({time.perf_counter() - t0:.1f} s)")
    _store_demo(ctx, q, path, pupils)

    scores = scale_scores(responses, q)
    scales = scores.drop("school_code", strict=False).rename({"respondent_id": "student_id"})
    ctx.state["questionnaire_scales"] = write_table(scales, out / "scales.parquet")
    ctx.output("questionnaire scale scores and indicators", ctx.state["questionnaire_scales"])
    rel = reliability(responses, q)
    write_table(rel, out / "reliability.csv")
    ctx.output("questionnaire reliability (Cronbach's α)", out / "reliability.csv")
    wcol = next((c for c in ("weight", "base_weight") if c in pupils.columns), None)
    weighted = responses
    if wcol is not None:
        weighted = responses.join(pupils.select(pl.col("student_id").alias("respondent_id"), wcol),
                                  on="respondent_id", how="left")
    write_table(item_frequencies(weighted, q, weight=wcol), out / "frequencies.csv")
    ctx.output("questionnaire frequencies", out / "frequencies.csv")
    click.echo("   α: " + ", ".join(f"{r['name']} {r['alpha']:.2f}" for r in rel.iter_rows(named=True)
                                    if r["alpha"] is not None))
    weights = _demo_weights(ctx)
    click.echo("   " + _demo_shares(weights, scales, q))

    t = time.perf_counter()
    groups = scale_groups(scales, q, cuts=DEMO_CUTS)
    gaps = _demo_gaps(ctx, weights, scales, groups)
    if gaps is None:
        click.echo("   (no replicate weights or plausible values yet: factor gaps skipped)")
        return
    write_table(gaps, out / "factor_gaps.csv")
    ctx.output("相关因素 factor gaps (achievement by questionnaire factor)", out / "factor_gaps.csv")
    math = gaps.filter(pl.col("is_gap") & (pl.col("subject") == "数学") & pl.col("estimate").is_not_null())
    for r in math.iter_rows(named=True):
        click.echo(f"   数学 {r['factor']} {r['category']}: {r['estimate']:+.1f} (SE {r['se']:.1f})")
    click.echo(f"   相关因素 factor gaps: {gaps.height} rows ({time.perf_counter() - t:.1f} s)")


def _store_demo(ctx, q, path: Path, pupils: pl.DataFrame) -> None:
    """Demo: the definition and the responses into the platform (the registry stage stored the pupils)."""
    import time

    from junheng_web.bootstrap import setup

    setup()
    from junheng_web.fitness.services import demo_cycle
    from junheng_web.questionnaires.services import define, import_responses
    from junheng_web.registry.services import registered

    if not registered(pupils["student_id"].head(200).cast(pl.String).to_list()):
        click.echo("   (pupils not in the platform's registry: responses not stored)")
        return
    t = time.perf_counter()
    cycle = demo_cycle(ctx)
    stored, _ = define(cycle, q.to_json())
    result = import_responses(path, cycle, stored, None, file_name=path.name)
    click.echo(f"   平台 / platform: {stored.code} — {result['created']} new, {result['updated']} updated, "
               f"{result['unchanged']} unchanged, {len(result.get('warnings', []))} warnings "
               f"({time.perf_counter() - t:.1f} s)")
