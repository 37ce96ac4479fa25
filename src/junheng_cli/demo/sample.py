"""The demo's sampling and weighting stages: the cycle's sample drawn from the imported registry
(``junheng.survey.draw_sample``, files written as ``junheng sample draw`` writes them) and saved in
the platform; then final and 80 JK2 replicate weights (``junheng.survey.final_weights``) and the
fitness estimates with their SEs (``junheng.fitness.fitness_estimates``)."""

from __future__ import annotations

import click
import polars as pl

from junheng.io import read_frame, write_table
from junheng_cli.survey import write_sample


def sample_stage(ctx) -> None:
    """Demo: draw the cycle's sample from the imported registry (about 168,000 pupils at scale 1)."""
    from junheng.survey import FrameRules, SampleParams

    out = ctx.out / "sample"
    if "schools" in ctx.state and "pupils" in ctx.state:
        schools = read_frame(ctx.state["schools"])
        pupils = read_frame(ctx.state["pupils"])
    elif "synth_dir" in ctx.state:
        # no import stage yet: the same synthetic province, regenerated from the demo's seed
        from junheng.synth import province

        prov = province(ctx.scale, ctx.seed)
        schools = prov.schools.join(prov.regions.select("county_code", "city_code"), on="county_code", how="left")
        pupils = prov.pupils
        click.echo("   (registry frames regenerated from the synthetic province's seed)")
    else:
        click.echo("   (no registry frames yet: the import stage must run first; skipped)")
        return
    params = SampleParams(target_pupils=max(int(round(168_000 * ctx.scale)), 200), random_state=ctx.seed)
    result = write_sample(schools, pupils, params, FrameRules(grade=6), out)
    sample = result["sample"]
    write_table(sample.schools, out / "schools.parquet")
    ctx.state["sample"] = out / "pupil_sample.parquet"
    ctx.state["sample_schools"] = out / "schools.parquet"
    ctx.output("pupil sample", out / "pupil_sample.parquet")
    ctx.output("sampled schools and replacements", out / "schools.csv")
    ctx.output("test-site lists (masked)", out / "sites")
    ctx.output("frame exclusions and rates", out / "exclusion_rates.csv")
    s = result["summary"]
    click.echo(f"   {s['schools']} 所学校（另 {s['replacements']} 所替补）, {s['pupils']} 名学生; "
               f"排除率 / exclusion rate {s['exclusion_rate']:.2%}")
    if s["unreportable"]:
        click.echo(f"   {s['unreportable']} 个县的学科结果无法达到最小报告规则，原因见 / counties that cannot be "
                   f"reported, and why: {out / 'allocation.csv'}")
    _save_sample_to_db(sample, ctx, out)


BASE_YEAR = 2021
"""The demo's previous cycle: the base year of the reporting scale (two cycles, issue 13.9)."""


def _refusals(ctx, sample, out) -> None:
    """Demo realism (the synthetic truth's refusing schools, about 2 %, at least one): each refusing
    school is replaced on the platform by its first replacement (``sampling.services.replace_school``:
    it takes the original's weight and gets its own pupils), and the sample files are rewritten
    from the platform's record, so that the later stages test the replacement schools' pupils."""
    from junheng.synth import refusing_schools
    from junheng_web.sampling.services import demo_cycle, pupil_sample, replace_sampled

    cycle = demo_cycle()
    sampled = sample.schools.filter(pl.col("sampled") & pl.col("replacement_1").is_not_null()
                                    & ~pl.col("certainty").fill_null(False))
    refused = refusing_schools(sampled["school_code"], ctx.seed)
    swaps = replace_sampled(cycle, refused)
    replace_sampled(demo_cycle(BASE_YEAR), refused)  # the base cycle tested the same schools
    if not swaps:
        return
    schools = sample.schools
    for old, new in swaps:
        orig = schools.filter(pl.col("school_code") == old).row(0, named=True)
        schools = schools.with_columns(
            pl.when(pl.col("school_code") == old).then(False)
            .when(pl.col("school_code") == new).then(True).otherwise(pl.col("sampled")).alias("sampled"),
            *[pl.when(pl.col("school_code") == new).then(pl.lit(orig[c])).otherwise(pl.col(c)).alias(c)
              for c in ("school_weight", "pi", "certainty") if c in schools.columns])
    write_table(schools, out / "schools.parquet")
    drawn = read_frame(out / "pupil_sample.parquet")
    db = pupil_sample(cycle).with_columns(pl.col("sex").cast(drawn.schema.get("sex", pl.Int8)))
    write_table(db.select([c for c in drawn.columns if c in db.columns]), out / "pupil_sample.parquet")
    click.echo(f"   {len(swaps)} 所学校拒绝参加，由第一替补学校替代 / schools refused and were replaced: "
               + ", ".join(f"{a}→{b}" for a, b in swaps))


def _save_sample_to_db(sample, ctx=None, out=None) -> None:
    """Persist the sample for the web platform when the registry is in the database, and lay out
    the test sites: the province tests in one half-day (6 月 16 日 09:00–10:00, every school)."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from junheng_web.bootstrap import setup

    setup()
    from junheng_web.registry.services import has_registry
    from junheng_web.sampling.services import demo_cycle, save_sample
    from junheng_web.testsites.services import sites_per_school

    if not has_registry():
        click.echo("   (registry not in the database: sample kept as files only)")
        return
    cycle = demo_cycle()
    run = save_sample(cycle, sample)
    click.echo(f"   样本已存入数据库 / saved to the database (run {run.pk})")
    # the previous cycle (the base year) on the same sampled schools — a shortcut of the synthetic
    # province, whose roster holds one cohort — so that both years' results are stored
    save_sample(demo_cycle(BASE_YEAR), sample)
    if ctx is not None:
        _refusals(ctx, sample, out)
    day = dt.datetime(cycle.year, 6, 16, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    n = sites_per_school(cycle, day)
    click.echo(f"   {n} 个测试点（每校一个，每科一个场次）/ test sites, one per school, a session per subject")


def store_weights_in_db(w: pl.DataFrame) -> None:
    """The platform's copy of the weights (the dashboards estimate with them), when the sample stage
    saved the sample in the database."""
    from junheng_web.bootstrap import setup

    setup()
    from junheng_web.sampling.services import demo_cycle, has_sample, store_weights

    cycle = demo_cycle()
    if not has_sample(cycle):
        click.echo("   (no sample in the database: weights kept as a file only)")
        return
    ws = store_weights(cycle, w, method="jk2")
    click.echo(f"   权重已存入数据库 / weights stored in the database (weight set {ws.pk})")


def _responded(ctx, pupils: pl.DataFrame):
    """Who has data: in the fitness or academic results when those stages ran; else the synthetic
    truth's non-response (``junheng.synth``: absent pupils, schools that refuse)."""
    from junheng.synth import absent, refusing_schools

    ids = []
    for key in ("fitness_scored", "academic_scores"):
        if key in ctx.state:
            ids.append(read_frame(ctx.state[key], ["student_id"])["student_id"].cast(pl.String))
    if ids:
        have = pl.concat(ids).unique()
        return pupils["student_id"].is_in(have.implode()).to_numpy(), "fitness/academic records"
    refusing = refusing_schools(pupils["school_code"], ctx.seed)
    away = absent(pupils["student_id"], ctx.seed)
    return ~away & ~pupils["school_code"].is_in(refusing).to_numpy(), "simulated"


def weights_stage(ctx) -> None:
    """Demo: non-response-adjusted weights and 80 JK2 replicates; fitness aggregates with SEs."""
    from junheng.fitness import fitness_estimates
    from junheng.survey import final_weights

    if "sample" not in ctx.state:
        click.echo("   (no sample yet: the sample stage must run first; skipped)")
        return
    out = ctx.out / "sample"
    pupils = read_frame(ctx.state["sample"])
    schools = read_frame(ctx.state["sample_schools"])
    resp, source = _responded(ctx, pupils)
    # post-stratified to each county's grade enrolment in the frame
    county_totals = (schools.group_by("county_code").agg(pl.col("mos").sum().cast(pl.Float64).alias("total"))
                     .filter(pl.col("county_code").is_in(pupils["county_code"].unique().implode())))
    w = final_weights(pupils, schools, resp, method="jk2", replicates=80, margins=[county_totals], random_state=ctx.seed)
    path = out / "weights.parquet"
    write_table(w, path)
    ctx.state["replicates"] = path
    ctx.output("final and replicate weights (JK2, 80)", path)
    store_weights_in_db(w)
    click.echo(f"   {int(resp.sum())}/{pupils.height} 名学生有数据 / pupils with data ({source}); "
               f"Σ weight = {w['weight'].sum():,.0f}")
    if "fitness_scored" in ctx.state:
        table = fitness_estimates(read_frame(ctx.state["fitness_scored"]), w, pupils)
        est_path = out / "fitness_estimates.csv"
        write_table(table, est_path)  # UTF-8 with BOM
        ctx.output("fitness estimates with standard errors", est_path)
        prov = table.filter(pl.col("level") == "province")
        for r in prov.iter_rows(named=True):
            if r["estimate"] is not None:
                click.echo(f"   {r['statistic']}: {r['estimate']:.4f} (SE {r['se']:.4f})")
