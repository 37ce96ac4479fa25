"""``junheng video …``: the video supervision of test sessions (视频监督).

``analyse`` runs the core on one file (no platform needed); ``upload`` stores a recording for a
session of the platform and analyses it through the same services as the upload page.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path

import click
import polars as pl

from junheng.exceptions import ParameterError
from junheng_cli.platform import platform_cycle
from junheng_cli.progress import fraction_bar

_FILE = click.argument("video", type=click.Path(exists=True, dir_okay=False, path_type=Path))
_FPS = click.option("--fps", type=float, default=1.0, show_default=True,
                    help="frames analysed per second of video (the time resolution of the flags)")
_SET = click.option("--set", "settings", multiple=True, metavar="NAME=VALUE",
                    help="change one threshold of FlagParameters (docs/methods/video-flags.md); repeatable")


def _parameters(settings: tuple[str, ...]):
    from junheng.supervision import FlagParameters

    names = {f.name for f in dataclasses.fields(FlagParameters)}
    values: dict[str, float] = {}
    for item in settings:
        name, _, value = item.partition("=")
        name = name.strip()
        if name not in names:
            raise ParameterError(f"没有阈值 {name!r} / no threshold {name!r}; 可选 / one of: {', '.join(sorted(names))}")
        try:
            values[name] = float(value)
        except ValueError:
            raise ParameterError(f"阈值 {name} 须为数字 / threshold {name} must be a number; got {value!r}") from None
    return FlagParameters(**values)


def _echo_flags(flags) -> None:
    for r in flags.iter_rows(named=True):
        click.echo(f"  {r['start_s']:8.1f}–{r['end_s']:8.1f} s  {r['kind']:<13} {r['severity']:<8} "
                   f"score {r['score']:.2f}")


@click.group("video")
def video() -> None:
    """视频监督：分析考场录像、上传到平台 / video supervision: analyse test-room recordings, upload them."""


@video.command("analyse")
@_FILE
@_FPS
@_SET
@click.option("-o", "--out", "outfile", type=click.Path(dir_okay=False, path_type=Path),
              help="write the flags (.csv / .xlsx / .parquet)")
@click.option("--stats", "stats_out", type=click.Path(dir_okay=False, path_type=Path),
              help="also write the per-frame statistics (.csv / .parquet)")
def analyse_cmd(video: Path, fps: float, settings: tuple[str, ...], outfile: Path | None,
                stats_out: Path | None) -> None:
    """分析一段录像，列出需要巡查员查看的时段 / flag the stretches of a recording a reviewer should see."""
    from junheng.io import write_table
    from junheng.supervision import detect_flags, frame_statistics

    params = _parameters(settings)
    with fraction_bar(f"分析 {video.name}") as progress:
        stats, info = frame_statistics(video, fps, progress=progress)
    flags = detect_flags(stats, params)
    click.echo(f"{video.name}: {info.duration_s:.1f} s, {info.width}×{info.height}, {info.native_fps:g} fps; "
               f"{stats.height} 帧分析 / frames analysed; {flags.height} 处标记 / flags")
    _echo_flags(flags)
    if outfile is not None:
        write_table(flags, outfile)
        click.echo(f"→ {outfile}")
    if stats_out is not None:
        # the 8×8 fingerprint as 64 grey levels separated by spaces (CSV has no arrays)
        thumb = pl.col("thumb").arr.to_list().list.eval(pl.element().cast(pl.String)).list.join(" ")
        write_table(stats.with_columns(thumb), stats_out)
        click.echo(f"→ {stats_out}")


@video.command("upload")
@click.option("--year", type=click.IntRange(2000, 2100), required=True, help="the monitoring cycle's year")
@click.option("--grade", type=click.IntRange(1, 9), default=6, show_default=True, help="the monitoring cycle's grade")
@click.option("--site", "site_code", required=True, help="the test site's code (测试点编号)")
@click.option("--session", required=True,
              help="the session: its number (#id on the site page) or its subject (语文, 数学, …)")
@click.option("--room", help="the room (考场), when the subject has several sessions at the site")
@click.option("--started-at", type=click.DateTime(["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]),
              help="when the recording started (local time; default: the session's scheduled start)")
@_FPS
@_FILE
def upload_cmd(year: int, grade: int, site_code: str, session: str, room: str | None, started_at: datetime | None,
               fps: float, video: Path) -> None:
    """把录像上传到平台并分析 / store a recording for a session of the platform and flag it (same file again: no-op)."""
    cycle = platform_cycle(year, grade)
    from django.utils import timezone

    from junheng_web.supervision.services import analyse_recording, session_validity, store_recording
    from junheng_web.testsites.services import find_session

    obj = find_session(cycle, site_code, session, room)
    if started_at is not None:
        started_at = timezone.make_aware(started_at)
    rec, created = store_recording(obj, video, started_at=started_at)
    if not created:
        click.echo(f"{video.name}: 已上传过，未作改动 / already uploaded for this session, unchanged")
        return
    with fraction_bar(f"分析 {video.name}") as progress:
        result = analyse_recording(rec, fps=fps, progress=progress)
    click.echo(f"{video.name} → {obj}: {result['duration_s']} s; 画面标记 picture flags {result['picture_flags']}, "
               f"时间标记 schedule flags {result['schedule_flags']}; 场次 session: {session_validity(obj)}")
