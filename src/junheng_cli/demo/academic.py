"""The demo's academic stage: synthetic items and booklets → responses of the sampled pupils →
scoring → classical analysis → the annual pipeline (``junheng.assessment.annual_scores``:
calibration, linking to the base year, EAP + 5 PVs, levels) → the platform's record
(``junheng_web.assessment.services``)."""

from __future__ import annotations

import json
import time

import click
import polars as pl


def _demo_pupils(ctx) -> pl.DataFrame | None:
    if "sample" in ctx.state:
        return pl.read_parquet(ctx.state["sample"])
    if "pupils" in ctx.state:
        roster = pl.read_parquet(ctx.state["pupils"])
        if "grade" in roster.columns:
            roster = roster.filter(pl.col("grade") == 6)
        return roster.sample(fraction=0.1, seed=ctx.seed)
    return None


def _dif_pairs(groups: pl.DataFrame) -> tuple[tuple[str, str, str], ...]:
    """The demo's DIF comparisons: girls against boys, rural against urban pupils."""
    pairs = [("sex", "1", "2")] if "sex" in groups.columns else []
    if "location" in groups.columns:
        locs = groups["location"].drop_nulls().unique().sort().to_list()
        urban = next((x for x in locs if "城" in x), locs[0] if locs else None)
        rural = next((x for x in locs if "乡" in x or "村" in x), locs[-1] if locs else None)
        if urban and rural and urban != rural:
            pairs.append(("location", urban, rural))
    return tuple(pairs)


def demo_stage(ctx) -> None:
    """Demo: the academic test of the sampled pupils, scored, analysed, calibrated and stored."""
    from junheng.assessment import CALIBRATION, item_analysis, save_bank, score_responses
    from junheng.assessment.files import write_sheets
    from junheng.synth import base_year, current_year, synth_tests

    pupils = _demo_pupils(ctx)
    if pupils is None:
        click.echo("   (no pupils yet: the registry import or sampling stage must run first; skipped)")
        return
    out = ctx.out / "academic"
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    test = synth_tests(ctx.seed)
    save_bank(test.bank, out / "item_bank.json")
    ctx.output("academic item bank (JSON)", out / "item_bank.json")
    (out / "designs.json").write_text(json.dumps(
        {s: d.to_json() for s, d in test.designs.items()}, ensure_ascii=False, indent=1), encoding="utf-8")
    # pupils are numbered (person_id = row of ``asg``) so the analysis groups by integers, not 学籍号
    asg, raw = current_year(pupils, test, ctx.seed, integer_ids=True)
    asg = asg.with_row_index("person_id").with_columns(pl.col("person_id").cast(pl.Int64))
    n_base = max(1000, min(10000, pupils.height // 16))
    base_asg, base_raw = base_year(test, n_base, ctx.seed + 7, integer_ids=True)
    click.echo(f"   {asg.height} pupils × 24 items ({raw.height} responses); base year {base_asg.height} pupils "
               f"({time.perf_counter() - t0:.1f} s)")

    from junheng_web.bootstrap import setup

    setup()
    from junheng_web.assessment.services import store_test
    from junheng_web.fitness.services import demo_cycle

    t = time.perf_counter()
    cycle = demo_cycle(ctx)
    store_test(cycle, test.bank, test.designs, test.blocks,
               pupils.select("student_id", "school_code", *(["subject"] if "subject" in pupils.columns else [])),
               seed=ctx.seed)
    click.echo(f"   题库/题本/分配已入库 / bank, designs and assignments stored ({time.perf_counter() - t:.1f} s)")

    t = time.perf_counter()
    scored = score_responses(raw, test.bank, treatment=CALIBRATION)
    base_scored = score_responses(base_raw, test.bank, treatment=CALIBRATION)
    bk = asg.select("person_id", "booklet")
    background = pupils.select("student_id", *[pl.col(c).cast(pl.String) for c in ("sex", "location")
                                               if c in pupils.columns])
    groups = asg.select("person_id", "student_id").join(background, on="student_id", how="left").drop("student_id")
    sheets = item_analysis(scored, test.bank, booklets=bk, groups=groups, dif=_dif_pairs(groups),
                           item_info=test.params.select("item_id", "subject", "model", "block", "anchor"))
    write_sheets(sheets, out / "item_analysis.xlsx")
    ctx.output("academic item analysis", out / "item_analysis.xlsx")
    st = sheets["items"]
    click.echo(f"   计分与经典分析 / scored and analysed: mean p {st['p_value'].mean():.2f}, "
               f"mean item-rest r {st['item_rest'].mean():.2f}, alpha {sheets['alpha']['alpha'].min():.2f}–"
               f"{sheets['alpha']['alpha'].max():.2f} ({time.perf_counter() - t:.1f} s)")
    for name in ("dif_sex", "dif_location"):
        if name in sheets:
            counts = sheets[name].group_by(pl.col("ets").str.slice(0, 1)).len().sort("ets")
            click.echo(f"   {name}: " + ", ".join(f"{r[0]} {r[1]}" for r in counts.iter_rows()))

    t = time.perf_counter()
    scores = _annual(ctx, test, scored, base_scored, asg, groups, out)
    path = out / "scores.parquet"
    scores.write_parquet(path)
    ctx.state["academic_scores"] = path
    ctx.output("academic pupil scores", path)
    click.echo(f"   IRT 标定、链接、计分 / calibrated, linked, scored ({time.perf_counter() - t:.1f} s)")
    store_demo_scores(cycle, scores)
    lv = scores.group_by("subject").agg(pl.col("scale_score").mean().alias("mean"),
                                        (pl.col("level") >= 2).mean().alias("mid_plus"))
    for r in lv.sort("subject").iter_rows(named=True):
        click.echo(f"   {r['subject']}: 平均 {r['mean']:.0f}, 中等及以上 {r['mid_plus']:.1%}")


def _annual(ctx, test, scored, base_scored, asg, groups: pl.DataFrame, out) -> pl.DataFrame:
    """Run the annual pipeline (PVs conditioned on sex and location), write the linked item
    parameters and reporting scales, and return the scores keyed by ``student_id``."""
    from junheng.assessment import annual_scores

    def report(fit) -> None:  # one line per subject as it finishes (the progress report)
        truth = asg.filter(pl.col("subject") == fit.subject)["theta_true"]
        click.echo(f"   {fit.subject}: base ℓ = {fit.base_loglik:.1f} ({fit.base_iterations} EM cycles, converged "
                   f"{fit.base_converged}); this year ℓ = {fit.loglik:.1f} ({fit.iterations} cycles, converged "
                   f"{fit.converged}); latent mean {fit.latent_mean:+.3f} SD {fit.latent_sd:.3f} on the base scale "
                   f"(generated: {truth.mean():+.3f}, {truth.std():.3f})")

    subjects = {s: test.params.filter(pl.col("subject") == s)["item_id"].to_list() for s in test.designs}
    anchors = test.params.filter(pl.col("anchor"))["item_id"].to_list()
    conditioning = [c for c in ("sex", "location") if c in groups.columns]
    result = annual_scores(scored, base_scored, subjects, anchors, background=groups, conditioning=conditioning,
                           random_state=ctx.seed, on_subject=report)
    result.items.write_csv(out / "items_calibrated.csv")
    ctx.output("academic item parameters (linked to the base year)", out / "items_calibrated.csv")
    (out / "reporting_scale.json").write_text(json.dumps(result.scales, ensure_ascii=False, indent=1),
                                              encoding="utf-8")
    ids = asg.select("person_id", "student_id")
    return result.scores.join(ids, on="person_id", how="left").select("student_id", pl.exclude("person_id",
                                                                                              "student_id"))


def store_demo_scores(cycle, scores: pl.DataFrame) -> None:
    """The platform's record of the scores (what the academic dashboard and the progress page read),
    when the sample is in the database (the sample stage saved it)."""
    from junheng_web.assessment.services import has_sample, store_scores

    if not has_sample(cycle):
        click.echo("   (no sample in the database: scores kept as a file only)")
        return
    t = time.perf_counter()
    r = store_scores(cycle, scores, file="scores.parquet")
    click.echo(f"   成绩已入库 / scores stored: {r.created} new, {r.updated} updated, {r.unchanged} unchanged "
               f"({time.perf_counter() - t:.1f} s)")
