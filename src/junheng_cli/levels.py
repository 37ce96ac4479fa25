"""``junheng levels``: standard setting — the ordered item booklet for a panel, a panel's
judgements → cut scores stored with their provenance, and the cuts in force.

Thin: parse → ``junheng.irt.standard_setting`` / ``junheng_web.assessment.services`` → print → exit.
"""

from __future__ import annotations

from pathlib import Path

import click
import polars as pl

from junheng.exceptions import ParameterError

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
_SUBJECT = click.Choice(["语文", "数学", "英语", "科学"])


def _items(path: Path, subject: str) -> pl.DataFrame:
    from junheng.io import read_input as read_table

    items = read_table(path, required=("item_id", "model", "a", "b"))
    if "subject" in items.columns:
        items = items.filter(pl.col("subject").cast(pl.String) == subject)
    if items.height == 0:
        raise ParameterError(f"{path.name}: 没有 {subject} 的题目参数 / no item parameters for {subject}")
    num = [c for c in items.columns if c in ("a", "b", "c") or (c.startswith("b_") and c[2:].isdigit())]
    return items.with_columns([pl.col(c).cast(pl.Float64, strict=False) for c in num])


def _scale(path: Path | None, subject: str) -> dict | None:
    if path is None:
        return None
    from junheng.io import read_json

    scales = read_json(path, what=("报告量尺文件", "reporting-scale file"))
    if subject not in scales:
        raise ParameterError(f"{path.name}: 没有 {subject} 的报告量尺 / no reporting scale for {subject}")
    return scales[subject]


@click.group()
def levels() -> None:
    """学业水平分数线 / standard setting: cut scores of 水平Ⅰ–Ⅳ (Bookmark, modified Angoff)."""


@levels.command("booklet")
@click.option("--items", "items_path", type=_FILE, required=True, help="calibrated item parameters (items_calibrated.csv)")
@click.option("--subject", type=_SUBJECT, required=True)
@click.option("--scale", "scale_path", type=_FILE, help="reporting_scale.json: adds each page's location on the reporting scale")
@click.option("--rp", type=float, default=0.67, show_default=True, help="response probability of the booklet")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
def booklet(items_path: Path, subject: str, scale_path: Path | None, rp: float, output: Path) -> None:
    """The ordered item booklet: one page per score point, ordered by its RP67 location."""
    from junheng import irt
    from junheng.io import write_table

    oib = irt.ordered_item_booklet(_items(items_path, subject), rp=rp)
    sc = _scale(scale_path, subject)
    if sc is not None:
        rs = irt.ReportingScale.from_constants(sc["theta_mean"], sc["theta_sd"], sc.get("mean", 500.0), sc.get("sd", 100.0))
        oib = oib.with_columns(pl.Series("scale_location", rs.transform(oib["location"].to_numpy())))
    write_table(oib, output)
    click.echo(f"{subject}: {oib.height} 页 / pages → {output}")


@levels.command("set")
@click.option("--subject", type=_SUBJECT, required=True)
@click.option("--method", type=click.Choice(["bookmark", "angoff"]), required=True)
@click.option("--judgements", "judgements_path", type=_FILE, required=True,
              help="bookmark: panellist, round, cut, page; angoff: panellist, round, cut, item_id, rating")
@click.option("--items", "items_path", type=_FILE, required=True, help="calibrated item parameters (items_calibrated.csv)")
@click.option("--scale", "scale_path", type=_FILE, required=True, help="reporting_scale.json of the base year")
@click.option("--panel", required=True, help="the panel's name, e.g. 省学业质量标准专家组")
@click.option("--date", "date", required=True, help="the meeting's date, YYYY-MM-DD")
@click.option("--statistic", type=click.Choice(["median", "mean"]), default="median", show_default=True)
@click.option("--rp", type=float, default=0.67, show_default=True)
def set_(subject, method, judgements_path: Path, items_path: Path, scale_path: Path, panel, date, statistic, rp) -> None:
    """Import a panel's judgements, compute the cut scores and store them with their provenance."""
    from junheng.io import read_input as read_table

    judgements = read_table(judgements_path, string_columns=("panellist", "cut", "item_id"))
    from junheng_web.bootstrap import setup

    setup()
    from junheng_web.assessment.services import set_cut_scores

    c = set_cut_scores(subject, method, judgements, _items(items_path, subject), _scale(scale_path, subject),
                       panel=panel, date=date, statistic=statistic, rp=rp, file=judgements_path.name)
    ses = [c.se_2, c.se_3, c.se_4]
    click.echo(f"{subject} {c.get_method_display()}，{c.panel}，{c.date}，{c.rounds} 轮，{c.panellists} 位专家：")
    for name, cut, se in zip(("Ⅱ 中等", "Ⅲ 良好", "Ⅳ 优秀"), (c.cut_2, c.cut_3, c.cut_4), ses):
        click.echo(f"  水平{name} ≥ {cut:.1f}" + (f"  (SE {se:.1f})" if se is not None else ""))
    click.echo("已保存 / stored")




@levels.command("show")
def show() -> None:
    """The cut scores in force per subject, and who set them (暂定 = no panel has met)."""
    from junheng_web.bootstrap import setup

    setup()
    from junheng_web.assessment.services import all_cut_scores

    for subject, c in all_cut_scores().items():
        cuts = " / ".join(f"{x:.1f}" for x in c.cuts)
        click.echo(f"{subject}: {cuts}  —  {c.label()}")
