"""``junheng delivery …``: the academic test taken in the pupils' browsers (在线测试).

``export`` writes a cycle's browser answers as the raw responses that ``junheng irt`` and
``junheng.assessment.score_responses`` read (one row per booklet item, blanks kept so that omitted
and not-reached items are told apart by position).  A pupil with answers both in the browser and
on a read paper sheet is flagged for the reviewers and left out until one chooses which counts.
"""

from __future__ import annotations

from pathlib import Path

import click

from junheng_cli.platform import platform_cycle


@click.group("delivery")
def delivery() -> None:
    """在线测试：导出学生在浏览器中的作答 / the browser test: export the pupils' answers."""


@delivery.command("export")
@click.option("--year", type=click.IntRange(2000, 2100), required=True, help="the monitoring cycle's year")
@click.option("--grade", type=click.IntRange(1, 9), default=6, show_default=True, help="the monitoring cycle's grade")
@click.option("--subject", type=click.Choice(["语文", "数学", "英语", "科学"]), help="one subject only (default: all)")
@click.option("--unmask", is_flag=True,
              help="person_id = 学籍号 (default: the attempt's UUID, so the file carries no personal id)")
@click.option("-o", "--out", "outfile", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="the raw responses (.parquet / .csv / .xlsx)")
def export_cmd(year: int, grade: int, subject: str | None, unmask: bool, outfile: Path) -> None:
    """导出作答为计分所需的原始作答 / write the answers as raw responses for scoring."""
    cycle = platform_cycle(year, grade)
    import polars as pl

    from junheng.io import write_table
    from junheng_web.delivery.services import responses_frame
    from junheng_web.omr.services import check_channels
    from junheng_web.supervision.services import held_pupils

    check_channels(cycle, subject)  # answers from the browser and a paper sheet: flagged, held until chosen
    held = held_pupils(cycle, subject)
    frame = responses_frame(cycle, subject=subject, pseudonymous=not unmask, held=held)
    write_table(frame, outfile)
    blank = frame.filter(pl.col("raw") == "").height
    click.echo(f"{frame['person_id'].n_unique()} 名学生 / pupils, {frame.height} 行 / rows "
               f"({blank} 空白 / blank) → {outfile}")
    if held:
        n = len({pid for pid, _subject in held})
        click.echo(f"{n} 名学生既有在线作答又有答题卡（同一科目），待审核员选定以哪一份为准，该科目未导出 / "
                   f"{n} pupils answered both in the browser and on a paper sheet (in one subject): that subject is "
                   "held out until a reviewer chooses which counts (视频巡查审核队列 / the reviewers' queue)")
