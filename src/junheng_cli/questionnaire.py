"""``junheng questionnaire``: entry templates, checking and scoring of 相关因素调查问卷 responses.

Thin over :mod:`junheng.questionnaire`. The group is open: the platform's commands (storing a
definition, importing responses) are added to it by the web side's module.
"""

from __future__ import annotations

from pathlib import Path

import click
import polars as pl

from junheng_cli.platform import platform_cycle
from junheng_cli.progress import bar, fraction_bar

_DEF = click.argument("definition", type=click.Path(exists=True, dir_okay=False, path_type=Path))
_RESP = click.argument("responses", type=click.Path(exists=True, dir_okay=False, path_type=Path))
_SHEET = click.option("--sheet", default=None, help="worksheet to read (default: the first)")


@click.group()
def questionnaire() -> None:
    """相关因素调查问卷: entry templates, checking and scoring of questionnaire responses."""


def _print_warnings(issues) -> None:
    warnings = [i for i in issues if i.severity == "warning"]
    for w in warnings[:50]:
        click.echo("  [警告/warning] " + w.message(), err=True)
    if len(warnings) > 50:
        click.echo(f"  … (+{len(warnings) - 50})", err=True)


def _read(definition: Path, responses: Path, sheet: str | None, annotate: Path | None = None):
    """(questionnaire, responses frame, warnings); every error printed and exit 2 when the file has any."""
    from junheng.exceptions import InputError
    from junheng.io import annotate_workbook
    from junheng.questionnaire import load_questionnaire, read_responses

    with bar(2, f"检查 {responses.name}", unit="step") as b:
        q = load_questionnaire(definition)
        b.update(1)
        frame, issues = read_responses(responses, q, sheet=sheet)
        b.update(1)
    errors = [i for i in issues if i.severity == "error"]
    if errors:
        if annotate is not None:
            annotate_workbook(responses, issues, annotate)
            click.echo(f"标注了错误的工作簿 / annotated workbook: {annotate}", err=True)
        raise InputError(issues, f"{responses.name}: {len(errors)} 处错误，未处理 / {len(errors)} error(s), "
                                 "nothing was processed")
    return q, frame, issues


@questionnaire.command("template")
@_DEF
@click.option("-o", "--out", "outfile", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="the entry workbook to write (.xlsx)")
@click.option("--rows", type=click.IntRange(1, 100000), default=1000, show_default=True,
              help="data rows that get Excel data validation")
def template_cmd(definition: Path, outfile: Path, rows: int) -> None:
    """写出录入模板 / write an entry workbook (.xlsx) for a questionnaire definition (JSON)."""
    from junheng.exceptions import ParameterError
    from junheng.questionnaire import load_questionnaire, template

    if outfile.suffix.lower() != ".xlsx":
        raise ParameterError(f"模板须为 .xlsx / the template must be .xlsx; got {outfile.name}")
    q = load_questionnaire(definition)
    template(q, outfile, rows=rows)
    click.echo(f"{q.code} {q.title}: {len(q.items)} 题 items → {outfile}")


@questionnaire.command("check")
@_DEF
@_RESP
@_SHEET
@click.option("--annotate", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="where to write the annotated workbook when the file has errors (.xlsx)")
def check(definition: Path, responses: Path, sheet: str | None, annotate: Path | None) -> None:
    """检查作答文件 / check a responses file (.xlsx/.xls/.csv) against the definition: every bad cell."""
    q, frame, issues = _read(definition, responses, sheet, annotate)
    _print_warnings(issues)
    items = frame.select(pl.exclude("respondent_id", "school_code"))
    rate = items.select(pl.all().is_not_null().sum()).sum_horizontal().item() / max(items.width * items.height, 1)
    click.echo(f"{responses.name}: {frame.height} 份问卷，无错误，作答率 {rate:.1%} / "
               f"{frame.height} respondents, no errors, {rate:.1%} of items answered")


@questionnaire.command("scales")
@_DEF
@_RESP
@_SHEET
@click.option("-o", "--out", "outfile", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="scale scores and indicators per respondent (.csv, .parquet or .xlsx)")
@click.option("--reliability", "reliability_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="also write Cronbach's α per scale to this file (.csv, .parquet or .xlsx)")
@click.option("--frequencies", "frequencies_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="also write the answer frequencies per item and option to this file")
def scales(definition: Path, responses: Path, sheet: str | None, outfile: Path, reliability_out: Path | None,
           frequencies_out: Path | None) -> None:
    """计算量表分与指标 / scale scores (mean of valid, reverse-coded answers) and indicators per respondent."""
    from junheng.io import write_table
    from junheng.questionnaire import item_frequencies, reliability, scale_scores

    q, frame, issues = _read(definition, responses, sheet)
    _print_warnings(issues)
    with bar(3, "量表计分 / scoring", unit="step") as b:
        scores = scale_scores(frame, q)
        write_table(scores, outfile)
        b.update(1)
        rel = reliability(frame, q)
        if reliability_out is not None:
            write_table(rel, reliability_out)
        b.update(1)
        if frequencies_out is not None:
            write_table(item_frequencies(frame, q), frequencies_out)
        b.update(1)
    click.echo(f"{frame.height} 份问卷 / respondents → {outfile}")
    for r in rel.iter_rows(named=True):
        alpha = "—" if r["alpha"] is None else f"{r['alpha']:.3f}"
        mean = scores[r["scale"]].mean()
        mean_text = "—" if mean is None else f"{mean:.2f}"
        click.echo(f"  {r['name']} ({r['scale']}): {r['n_items']} 题 items, α = {alpha} (n = {r['n']}), "
                   f"均值 mean {mean_text}")
    for ind in q.indicators:
        share = scores[ind.id].mean()
        click.echo(f"  {ind.name} ({ind.id}): {'—' if share is None else f'{share:.1%}'}")


# ---------------------------------------------------------------------------------------------
# the platform's commands: definitions and responses in the database (junheng_web.questionnaires)

_YEAR = click.option("--year", type=click.IntRange(2000, 2100), required=True, help="the monitoring cycle's year")
_GRADE = click.option("--grade", type=click.IntRange(1, 9), default=6, show_default=True,
                      help="the monitoring cycle's grade")


@questionnaire.command("define")
@_YEAR
@_GRADE
@_DEF
def define_cmd(year: int, grade: int, definition: Path) -> None:
    """在平台上保存问卷定义 / store a questionnaire definition (JSON) for a cycle of the platform."""
    cycle = platform_cycle(year, grade)
    from junheng_web.questionnaires.services import define

    q, changed = define(cycle, definition)
    state = "已保存 / stored" if changed else "未变 / unchanged"
    click.echo(f"{q.code} {q.title} ({cycle}): {state}")


@questionnaire.command("import")
@_YEAR
@_GRADE
@click.option("--questionnaire", "code", required=True, help="the questionnaire's code (e.g. S2022)")
@_RESP
def import_cmd(year: int, grade: int, code: str, responses: Path) -> None:
    """把作答数据导入平台 / import a responses file into the platform: all or nothing, idempotent."""
    from junheng.exceptions import InputError

    cycle = platform_cycle(year, grade)
    from junheng_web.questionnaires.services import find_questionnaire, import_responses

    q = find_questionnaire(cycle, code)
    with fraction_bar(f"导入 {responses.name}") as progress:
        try:
            result = import_responses(responses, cycle, q, None, file_name=responses.name, progress=progress)
        except InputError as exc:
            path = exc.annotated_path
            if path:
                click.echo(f"标注了错误的工作簿 / annotated workbook: {path}", err=True)
            raise
    for w in result.get("warnings", [])[:50]:
        click.echo("  [警告/warning] " + w, err=True)
    click.echo(f"{responses.name}: {result['rows']} 行 rows — 新增 created {result['created']}, "
               f"更新 updated {result['updated']}, 未变 unchanged {result['unchanged']}")
