"""``junheng report``: the annual monitoring report, county reports and school sheets (HTML + PDF).

Thin: parse → :mod:`junheng.reports` → print paths.  Inputs are the frames of
``docs/dev/contracts.md``; ``--data DIR`` takes them from a demo output folder.
"""

from __future__ import annotations

from pathlib import Path

import click

from junheng_cli.progress import bar

_LAYOUT = {  # where the demo leaves each input under its output folder
    "schools": "registry/schools.parquet",
    "weights": "sample/weights.parquet",
    "sample": "sample/pupil_sample.parquet",
    "fitness": "fitness/scored.parquet",
    "scores": "academic/scores.parquet",
    "checklist": "reports/checklist.csv",
    "questionnaire": "questionnaire/scales.parquet",
    "questionnaire_definition": "questionnaire/student_questionnaire.json",
    "previous": "academic/base_year/estimates.csv",
    "linking": "academic/linking.json",
    "cut_scores": "academic/cut_scores.json",
    "config": "reports/report.json",
}


def _inputs(data, schools, weights, sample, fitness, scores, checklist, year, seed, questionnaire=None,
            questionnaire_definition=None, config=None, doc_number="", issue_date=""):
    from junheng.reports import inputs_from_paths

    given = {"schools": schools, "weights": weights, "sample": sample, "fitness": fitness, "scores": scores,
             "checklist": checklist, "questionnaire": questionnaire,
             "questionnaire_definition": questionnaire_definition}
    given |= {"previous": None, "linking": None, "cut_scores": None, "config": config}  # --data folder
    paths = {k: (v if v is not None else (Path(data) / _LAYOUT[k] if data else None)) for k, v in given.items()}
    if paths["schools"] is None:
        raise click.UsageError("需要 --schools 或 --data / give --schools or --data")
    return inputs_from_paths(**paths, year=year, seed=seed, doc_number=doc_number or "", issue_date=issue_date or "")


def _options(f):
    opts = [
        click.option("--data", type=click.Path(file_okay=False, path_type=Path),
                     help="a demo output folder (registry/, sample/, fitness/, academic/, reports/checklist.csv)"),
        click.option("--schools", type=click.Path(dir_okay=False, path_type=Path), help="schools frame (.parquet/.csv)"),
        click.option("--weights", type=click.Path(dir_okay=False, path_type=Path), help="final + replicate weights"),
        click.option("--sample", type=click.Path(dir_okay=False, path_type=Path), help="pupil sample"),
        click.option("--fitness", type=click.Path(dir_okay=False, path_type=Path), help="scored fitness records"),
        click.option("--scores", type=click.Path(dir_okay=False, path_type=Path), help="academic pupil scores"),
        click.option("--checklist", type=click.Path(dir_okay=False, path_type=Path),
                     help="checklist CSV (county_code, year, G1..G15, Q1..Q8, recognition, V1..V6)"),
        click.option("--year", type=int, default=2022, show_default=True),
        click.option("--seed", type=int, default=None, help="the seed recorded in the appendix"),
        click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("reports"),
                     show_default=True),
        click.option("--pdf/--no-pdf", default=True, show_default=True),
        click.option("--config", type=click.Path(dir_okay=False, path_type=Path),
                     help="report configuration JSON (doc_number 文号, issue_date, issuer; "
                          "default: reports/report.json under --data)"),
        click.option("--doc-number", default="", help="文号 on the cover, e.g. 豫教督办〔2023〕5号 (wins over --config)"),
        click.option("--issue-date", default="", help="date on the cover, e.g. 2023年6月30日 (wins over --config)"),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def _questionnaire_options(f):
    opts = [
        click.option("--questionnaire", type=click.Path(dir_okay=False, path_type=Path),
                     help="student questionnaire scale scores and indicators (`junheng questionnaire scales` "
                          "output; student_id + scales + Boolean indicators) for the 相关因素 chapter"),
        click.option("--questionnaire-definition", type=click.Path(dir_okay=False, path_type=Path),
                     help="the questionnaire's JSON definition (names; scales cut into 低/中/高)"),
        click.option("--cuts", type=str, default=None,
                     help="scale cut points for 低/中/高, e.g. 2.5,3.5 (default: the scale range in equal parts)"),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def _cuts(text: str | None) -> tuple[float, ...] | None:
    if not text:
        return None
    try:
        return tuple(float(x) for x in text.split(","))
    except ValueError:
        raise click.BadParameter(f"须为逗号分隔的数 / comma-separated numbers: {text!r}", param_hint="--cuts") from None


_force = click.option("--force", is_flag=True,
                      help="render every PDF again, even one whose HTML is unchanged since it was last rendered")


@click.group()
def report() -> None:
    """监测报告 / the annual monitoring report, county reports and school sheets."""


@report.command("annual")
@_options
@_questionnaire_options
@_force
@click.option("--counties/--no-counties", default=False, show_default=True, help="also every county report")
@click.option("--processes", type=int, default=2, show_default=True)
def annual(data, schools, weights, sample, fitness, scores, checklist, year, seed, out, pdf, config, doc_number,
           issue_date, questionnaire, questionnaire_definition, cuts, force, counties, processes):
    """全省年度监测报告 / the province's annual report (and, with --counties, all county reports)."""
    from dataclasses import replace

    from junheng.reports import build, write_reports

    inp = _inputs(data, schools, weights, sample, fitness, scores, checklist, year, seed, questionnaire,
                  questionnaire_definition, config, doc_number, issue_date)
    tb = build(replace(inp, questionnaire_cuts=_cuts(cuts)))
    codes = tb["resource"]["county_code"].to_list() if counties else []
    with bar(len(codes) + 1, "报告 PDF") as b:
        written = write_reports(tb, out, counties=codes, pdf=pdf, processes=processes, reuse=not force,
                                progress=b.update)
    _print(written, tb.missing)


@report.command("county")
@click.argument("code")
@_options
@_questionnaire_options
@_force
def county(code, data, schools, weights, sample, fitness, scores, checklist, year, seed, out, pdf, config, doc_number,
           issue_date, questionnaire, questionnaire_definition, cuts, force):
    """县级监测报告 / one county's report (against its city and the province)."""
    from dataclasses import replace

    from junheng.reports import build, write_reports

    inp = _inputs(data, schools, weights, sample, fitness, scores, checklist, year, seed, questionnaire,
                  questionnaire_definition, config, doc_number, issue_date)
    tb = build(replace(inp, questionnaire_cuts=_cuts(cuts)))
    _print(write_reports(tb, out, counties=[code], annual=False, pdf=pdf, processes=1, reuse=not force), tb.missing)


@report.command("school")
@click.argument("code")
@_options
def school(code, data, schools, weights, sample, fitness, scores, checklist, year, seed, out, pdf, config, doc_number,
           issue_date):
    """学校监测简表 / one school's sheet (resource indicators and participation only)."""
    from junheng.reports import build, school_html, school_pdf

    tb = build(_inputs(data, schools, weights, sample, fitness, scores, checklist, year, seed, config=config,
                       doc_number=doc_number, issue_date=issue_date))
    html = school_html(tb, code)
    d = Path(out) / "school"
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{code}.html").write_text(html, "utf-8")
    written = {"html": [d / f"{code}.html"], "pdf": []}
    if pdf:
        written["pdf"].append(Path(school_pdf(tb, code, d / f"{code}.pdf")))
    _print(written, tb.missing)


def _print(written, missing) -> None:
    for kind in ("html", "pdf", "csv"):
        for p in written.get(kind, []):
            click.echo(str(p))
    if written.get("reused"):
        click.echo(f"{len(written['reused'])} 个 PDF 的内容未变，未重新生成（--force 全部重新生成） / "
                   f"{len(written['reused'])} PDF(s) unchanged, kept (--force renders all)", err=True)
    if missing:
        click.echo("缺少 / missing: " + "；".join(missing), err=True)
