"""``junheng fitness``: score, template, export, summary — thin over :mod:`junheng.fitness`."""

from __future__ import annotations

from pathlib import Path

import click
import polars as pl

from junheng_cli.progress import bar

SHOW_PERSONAL = click.option("--show-personal", is_flag=True, default=False,
                             help="write 姓名/学籍号/住址/出生日期 unmasked (masked by default)")


@click.group()
def fitness() -> None:
    """体质健康测试: scoring by 国家学生体质健康标准（2014年修订）, templates, exports, summaries."""


def _score_file(path: Path, battery=None):
    from junheng.fitness import read_fitness_file, score_fitness

    upload = read_fitness_file(path)
    return upload, score_fitness(upload.records, battery=battery)


def _print_warnings(warnings) -> None:
    for w in warnings[:50]:
        click.echo("  [复核/review] " + w.message(), err=True)
    if len(warnings) > 50:
        click.echo(f"  … (+{len(warnings) - 50})", err=True)


@fitness.command("score")
@click.argument("infile", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--out", "outfile", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="output file: .xlsx, .csv or .parquet")
@click.option("--dropped", default=None,
              help="items not tested this cycle, e.g. '50米跑,50米×8往返跑': 标准分 over the remaining items, "
                   "their weights rescaled to 100 (docs/methods/fitness-scoring.md)")
@SHOW_PERSONAL
def score(infile: Path, outfile: Path, show_personal: bool, dropped: str | None) -> None:
    """Score an upload-template file (xlsx/csv): the input columns plus every score column."""
    from junheng.fitness import Battery, scored_output, write_table

    battery = Battery.parse(dropped)
    if battery.dropped:
        click.echo("缩减测试项目 / reduced battery: " + "、".join(battery.dropped) + "（其余项目权重按比例调整为 100 / "
                   "the remaining weights rescaled to 100）")
    with bar(3, "体测评分 / scoring", unit="step") as b:
        upload, scored = _score_file(infile, battery)
        b.update(2)
        write_table(scored_output(upload.raw, scored, mask=not show_personal), outfile)
        b.update(1)
    _print_warnings(upload.warnings)
    n = scored.height
    done = int(scored["complete"].sum())
    exempt = int(scored["exempt"].sum())
    click.echo(f"{n} 条记录：完整 {done}，免测 {exempt}，缺项 {n - done - exempt} → {outfile}")
    click.echo(f"{n} records: {done} complete, {exempt} exempt, {n - done - exempt} incomplete → {outfile}")


def _read_roster(path: Path) -> pl.DataFrame:
    from junheng.fitness.template_io import read_raw
    from junheng.registry import PUPILS

    if path.suffix.lower() == ".parquet":
        df = pl.read_parquet(path)
    else:
        df, _ = read_raw(path)
    rename = {}
    for col in df.columns:
        for c in PUPILS.columns:
            if col in c.names() and c.field not in rename.values():
                rename[col] = c.field
    df = df.rename(rename)
    if "grade" in df.columns:
        g = df["grade"].cast(pl.Int32, strict=False)
        df = df.with_columns(pl.when(g > 10).then(g.replace_strict({11: 1, 12: 2, 13: 3, 14: 4, 15: 5, 16: 6, 21: 7,
                                                                     22: 8, 23: 9}, default=None))
                             .otherwise(g).alias("grade"))
    if "sex" in df.columns:
        df = df.with_columns(pl.col("sex").cast(pl.String).replace({"男": "1", "女": "2"}).cast(pl.Int8, strict=False))
    return df


@fitness.command("template")
@click.argument("roster", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--out", "outdir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="folder for one entry workbook per class")
def template(roster: Path, outdir: Path) -> None:
    """Write an entry workbook per class, roster filled in, with data validation on every test column."""
    from junheng.exceptions import ParameterError
    from junheng.fitness import write_entry_workbooks

    df = _read_roster(roster)
    if df.filter(pl.col("grade").is_null()).height if "grade" in df.columns else True:
        raise ParameterError("roster: every pupil needs a grade (年级 1–9 or 年级编号 11–16, 21–23)")
    paths = write_entry_workbooks(df, outdir)
    click.echo(f"{len(paths)} 个班级录入表 / class workbooks → {outdir}")


def _canonical(path: Path) -> pl.DataFrame:
    """A scored file (ours, any format) or an upload-template file → canonical scored frame."""
    from junheng.fitness import SCORE_HEADERS
    from junheng.fitness.template_io import HEADER_OF

    if path.suffix.lower() == ".parquet":
        df = pl.read_parquet(path)
    else:
        from junheng.fitness.template_io import read_raw

        df, _ = read_raw(path)
    if "complete" in df.columns or "是否完整" in df.columns:
        inverse = {h: f for f, h in {**HEADER_OF, **SCORE_HEADERS}.items()}
        df = df.rename({c: inverse[c] for c in df.columns if c in inverse and inverse[c] not in df.columns})
        return df
    _, scored = _score_file(path)
    return scored


@fitness.command("export")
@click.argument("infile", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--out", "outfile", type=click.Path(dir_okay=False, path_type=Path), required=True)
@SHOW_PERSONAL
def export(infile: Path, outfile: Path, show_personal: bool) -> None:
    """Write records in the national upload template (times as 3′45″)."""
    from junheng.fitness import national_upload, write_table

    df = _canonical(infile)
    write_table(national_upload(df, mask=not show_personal), outfile)
    click.echo(f"{df.height} 条记录 / records → {outfile}")


@fitness.command("summary")
@click.argument("infile", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--out", "outfile", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="write the table (.xlsx/.csv/.parquet); otherwise print it")
@click.option("--by", default="grade,sex", show_default=True,
              help="comma-separated grouping columns, e.g. county_code,grade,sex,location")
@click.option("--unweighted", is_flag=True, help="ignore a weight column")
def summary(infile: Path, outfile: Path | None, by: str, unweighted: bool) -> None:
    """达标率 / 优良率 / 优秀率 / 不及格率, item means and rates, BMI and vision rates by group."""
    from junheng.exceptions import ParameterError
    from junheng.fitness import summarize, write_table

    df = _canonical(infile)
    keys = [k.strip() for k in by.split(",") if k.strip()]
    missing = [k for k in keys if k not in df.columns]
    if missing:
        raise ParameterError(f"--by: no column {missing} in {infile.name}; columns: {', '.join(df.columns[:40])}")
    table = summarize(df, keys, weight=None if unweighted else "auto")
    if outfile:
        write_table(table, outfile)
        click.echo(f"{table.height} 组 / groups → {outfile}")
    else:
        cols = [*keys, "n_tested", "pass_rate", "good_rate", "excellent_rate", "fail_rate", "obesity_rate",
                "vision_poor_rate"]
        with pl.Config(tbl_rows=50, tbl_cols=-1, float_precision=3):
            click.echo(table.select([c for c in cols if c in table.columns]))


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
        pupils = pl.read_parquet(ctx.state["sample"])
        if "grade" not in pupils.columns or "name" not in pupils.columns:
            roster = pl.read_parquet(ctx.state["pupils"]) if "pupils" in ctx.state else None
            if roster is not None:
                extra = [c for c in roster.columns if c not in pupils.columns or c == "student_id"]
                pupils = pupils.join(roster.select(extra), on="student_id", how="left")
    else:
        roster = pl.read_parquet(ctx.state["pupils"])
        pupils = roster.sample(fraction=0.1, seed=ctx.seed)
    if "grade" not in pupils.columns:  # the sample frame of the contract has no grade: the cycle is grade 6
        pupils = pupils.with_columns(pl.lit(6, pl.Int8).alias("grade"))
    # the synthetic truth: county and school effects on fitness; absent pupils (3 %) have no record
    from junheng.synth import absent, area_effects, fitness_effect

    if "school_code" in pupils.columns and ("schools" in ctx.state or "county_code" in pupils.columns):
        pupils = pupils.filter(~pl.Series(absent(pupils["student_id"], ctx.seed)))
        schools = (pl.read_parquet(ctx.state["schools"], columns=["school_code", "county_code"])
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
    from junheng_web.registry.models import Pupil

    ids = pupils["student_id"].head(200).cast(pl.String).to_list()
    if Pupil.objects.filter(student_id__in=ids).count() < len(ids):
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
    scored.write_parquet(path)
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
