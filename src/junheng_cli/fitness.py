"""``junheng fitness``: score, template, export, summary, census, census-layout — thin over :mod:`junheng.fitness` and :mod:`junheng.engine`."""

from __future__ import annotations

from pathlib import Path

import click
import polars as pl

from junheng.io import read_frame
from junheng_cli.progress import bar

SHOW_PERSONAL = click.option("--show-personal", is_flag=True, default=False,
                             help="write 姓名/学籍号/住址/出生日期 unmasked (masked by default)")


@click.group()
def fitness() -> None:
    """体质健康测试: scoring by 国家学生体质健康标准（2014年修订）, templates, exports, summaries."""


def _score_file(path: Path, battery=None):
    from junheng.fitness import census_limits, read_fitness_file, score_fitness

    upload = read_fitness_file(path, limits=census_limits())  # an operator's own file: census-size limits
    return upload, score_fitness(upload.records, battery=battery, units=upload.units)


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
    """Score an upload-template file (xlsx/csv/parquet): the input columns plus every score column."""
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
    from junheng.fitness import read_raw
    from junheng.registry import PUPILS

    if path.suffix.lower() == ".parquet":
        df = read_frame(path)
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
        raise ParameterError("名单中每名学生都须有年级（年级 1–9 或 年级编号 11–16、21–23） / roster: every pupil needs a grade (年级 1–9 or "
                             "年级编号 11–16, 21–23)")
    paths = write_entry_workbooks(df, outdir)
    click.echo(f"{len(paths)} 个班级录入表 / class workbooks → {outdir}")


def _canonical(path: Path) -> pl.DataFrame:
    """A scored file (ours, any format) or an upload-template file → canonical scored frame."""
    from junheng.fitness import HEADER_OF, SCORE_HEADERS, grade_of_code

    if path.suffix.lower() == ".parquet":
        df = read_frame(path)
    else:
        from junheng.fitness import census_limits, read_raw

        df, _ = read_raw(path, limits=census_limits())
    if "complete" in df.columns or "是否完整" in df.columns:
        inverse = {h: f for f, h in {**HEADER_OF, **SCORE_HEADERS}.items()}
        df = df.rename({c: inverse[c] for c in df.columns if c in inverse and inverse[c] not in df.columns})
        if "grade" not in df.columns and "grade_code" in df.columns:  # `fitness score`'s output of a template file
            df = df.with_columns(grade_of_code(pl.col("grade_code")).alias("grade"))
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
    from junheng.fitness import summarize

    df = _canonical(infile)
    keys = [k.strip() for k in by.split(",") if k.strip()]
    missing = [k for k in keys if k not in df.columns]
    if missing:
        raise ParameterError(f"--by: {infile.name} 中没有列 {missing} / no column {missing} in {infile.name}; "
                             f"columns: {', '.join(df.columns[:40])}")
    table = summarize(df, keys, weight=None if unweighted else "auto", file=infile.name)
    _emit_rates(table, keys, outfile, f"{table.height} 组 / groups")


def _emit_rates(table: pl.DataFrame, keys: list[str], outfile: Path | None, written: str) -> None:
    """Write the rates table, or print its main rates."""
    from junheng.fitness import write_table

    if outfile:
        write_table(table, outfile)
        click.echo(f"{written} → {outfile}")
        return
    cols = [*keys, "n_tested", "pass_rate", "good_rate", "excellent_rate", "fail_rate", "obesity_rate",
            "vision_poor_rate"]
    with pl.Config(tbl_rows=50, tbl_cols=-1, float_precision=3):
        click.echo(table.select([c for c in cols if c in table.columns]))


@fitness.command("census")
@click.argument("source")
@click.option("-o", "--out", "outfile", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="write the table (.xlsx/.csv/.parquet); otherwise print it")
@click.option("--by", default="grade,sex", show_default=True,
              help="comma-separated grouping columns, e.g. province_code,county_code,grade,sex")
@click.option("--weight", default=None, help="a weight column: Hájek-weighted rates (default: unweighted)")
@click.option("--engine", type=click.Choice(["local", "spark"]), default="local", show_default=True,
              help="local: record batches streamed on this machine; spark: the same kernel in Spark mapInArrow")
def census(source: str, outfile: Path | None, by: str, weight: str | None, engine: str) -> None:
    """Census scale: Parquet of canonical records → score → aggregate, streamed (never the scored file).

    SOURCE is a Parquet file; with --engine spark also a folder or an hdfs:// / s3a:// URI."""
    from junheng.engine import census_summary

    keys = [k.strip() for k in by.split(",") if k.strip()]
    table = census_summary(source, keys, weight=weight, engine=engine)
    n = int(table["n_records"].sum())
    _emit_rates(table, keys, outfile, f"{n} 条记录，{table.height} 组 / {n} records, {table.height} groups")


def _census_sources(source: Path) -> list[Path]:
    """The Parquet file, or the folder's ``*.parquet`` files in name order, that ``census-layout`` rewrites."""
    from junheng.exceptions import InputError, Issue

    if source.is_dir():
        files = sorted(p for p in source.iterdir() if p.is_file() and p.suffix.lower() == ".parquet"
                       and not p.name.startswith("."))
        if not files:
            raise InputError(Issue("文件夹中没有 .parquet 文件", "the folder holds no .parquet file", file=source.name))
        return files
    if source.suffix.lower() in {".csv", ".xlsx", ".xls"}:
        raise InputError(Issue("普查读取 Parquet 规范记录；上报模板文件请先 junheng fitness score … -o scored.parquet",
                               "the census reads Parquet of canonical records; for an upload-template file run "
                               "junheng fitness score … -o scored.parquet first", file=source.name))
    return [source]


@fitness.command("census-layout")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--out", "outfile", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="the census-layout Parquet file to write (never the input)")
def census_layout(source: Path, outfile: Path) -> None:
    """Rewrite census input into the census layout (NaN for a missing measure, required fields,
    dictionary pages uncompressed, row groups of 2^17), streamed row group by row group.

    SOURCE is a Parquet file of canonical records, or a folder of them (one schema; written in
    name order into one file). `fitness census` then reads the file with less CPU; its table is the same."""
    from junheng.exceptions import ParameterError
    from junheng.fitness import rewrite_census_parquet

    files = _census_sources(source)
    out = outfile.resolve()
    if any(out == f.resolve() for f in files) or (source.is_dir() and out.is_relative_to(source.resolve())):
        raise ParameterError(f"输出不能是输入或写入输入文件夹 / the output {outfile} must not be the input or lie inside "
                             f"the input folder {source}")
    with bar(0, "普查布局 / census layout", unit="rec") as b:
        def counted(n: int) -> None:  # the footers read: the bar's length
            b.total = n
            b.refresh()

        total = rewrite_census_parquet(files, outfile, label=source.name, progress=b.update, on_total=counted)
    click.echo(f"{total} 条记录，{len(files)} 个文件 → {outfile}（普查布局）")
    click.echo(f"{total} records, {len(files)} file(s) → {outfile} (census layout)")
