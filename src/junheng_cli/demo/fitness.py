"""The demo's fitness stage: synthetic results for the sampled pupils (``junheng.synth``) → the
national upload template → imported and scored by the platform (``junheng_web.fitness.services``;
through the core only when the registry lacks the pupils) → the summary by county and city."""

from __future__ import annotations

import click
import polars as pl

from junheng.io import read_frame


def demo_stage(ctx) -> None:
    """Demo: synthetic results for the sampled pupils → national template → import → score → store."""
    from junheng.fitness import national_upload, summarize_levels, write_table
    from junheng.synth import fitness_results

    out = ctx.out / "fitness"
    out.mkdir(parents=True, exist_ok=True)
    if "sample" not in ctx.state and "pupils" not in ctx.state:
        click.echo("   (no pupils yet: the registry import stage must run first; skipped)")
        return
    if "sample" in ctx.state:
        pupils = read_frame(ctx.state["sample"])
        if "grade" not in pupils.columns or "name" not in pupils.columns:
            roster = read_frame(ctx.state["pupils"]) if "pupils" in ctx.state else None
            if roster is not None:
                extra = [c for c in roster.columns if c not in pupils.columns or c == "student_id"]
                pupils = pupils.join(roster.select(extra), on="student_id", how="left")
    else:
        roster = read_frame(ctx.state["pupils"])
        pupils = roster.sample(fraction=0.1, seed=ctx.seed)
    if "grade" not in pupils.columns:  # the sample frame of the contract has no grade: the cycle is grade 6
        pupils = pupils.with_columns(pl.lit(6, pl.Int8).alias("grade"))
    # the synthetic truth: county and school effects on fitness; absent pupils (3 %) have no record
    from junheng.synth import absent, area_effects, fitness_effect

    if "school_code" in pupils.columns and ("schools" in ctx.state or "county_code" in pupils.columns):
        pupils = pupils.filter(~pl.Series(absent(pupils["student_id"], ctx.seed)))
        schools = (read_frame(ctx.state["schools"], ["school_code", "county_code"])
                   if "schools" in ctx.state else pupils.select("school_code", "county_code").unique())
        effect = fitness_effect(pupils, area_effects(schools, ctx.seed))
    else:
        effect = None
    results = fitness_results(pupils, random_state=ctx.seed, effect=effect)
    upload = out / "upload.csv"
    write_table(national_upload(results, mask=False), upload)
    ctx.output("fitness upload (national template)", upload)

    from junheng_web.bootstrap import setup

    setup()
    from junheng_web.fitness.services import demo_cycle, fitness_frame, import_fitness
    from junheng_web.registry.services import registered

    if not registered(pupils["student_id"].head(200).cast(pl.String).to_list()):
        # the registry import has not stored these pupils: score through the core only
        from junheng.fitness import read_fitness_file, score_fitness

        click.echo("   (pupils not in the platform's registry: scored without storing)")
        scored = score_fitness(read_fitness_file(upload).records)
    else:
        cycle = demo_cycle(ctx)
        result = import_fitness(upload, cycle)
        click.echo(f"   体测导入 / imported: {result.created} new, {result.updated} updated, "
                   f"{len(result.warnings)} warnings")
        scored = fitness_frame(cycle).filter(pl.col("student_id").is_in(pupils["student_id"].cast(pl.String).implode()))
    keep = [c for c in ("student_id", "school_code", "county_code", "city_code", "stratum", "location", "weight",
                        "base_weight") if c in pupils.columns and c not in scored.columns]
    if keep:
        scored = scored.join(pupils.select("student_id", *keep), on="student_id", how="left")
    if "weight" not in scored.columns and "base_weight" in scored.columns:
        scored = scored.with_columns(pl.col("base_weight").alias("weight"))
    path = out / "scored.parquet"
    write_table(scored, path)
    ctx.state["fitness_scored"] = path
    ctx.output("fitness scored records", path)
    levels = ("county_code", "city_code", None)
    table = summarize_levels(scored, levels, ("grade", "sex"))
    write_table(table, out / "summary.xlsx")
    ctx.output("fitness summary", out / "summary.xlsx")
    prov = table.filter(pl.col("level") == "all")
    for r in prov.iter_rows(named=True):
        sex = "男" if r["sex"] == 1 else "女"
        click.echo(f"   {r['grade']}年级{sex}: 达标率 {r['pass_rate']:.1%} 优良率 {r['good_rate']:.1%} "
                   f"肥胖率 {r['obesity_rate']:.1%} 视力不良率 {r['vision_poor_rate']:.1%}")
