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
    from junheng.supervision import detect_flags, frame_statistics, public_statistics

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
        write_table(public_statistics(stats).with_columns(thumb), stats_out)  # the core says which columns are public
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
               f"时间标记 schedule flags {result['schedule_flags']}; 场次 session: {session_validity(obj)}; "
               f"人脸检测 face detector: {result['detector']}")


@video.command("reanalyse")
@click.option("--year", type=click.IntRange(2000, 2100), required=True, help="the monitoring cycle's year")
@click.option("--grade", type=click.IntRange(1, 9), default=6, show_default=True, help="the monitoring cycle's grade")
@click.option("--site", "site_code", required=True, help="the test site's code (测试点编号)")
@click.option("--session", required=True, help="the session: its number or its subject")
@click.option("--room", help="the room (考场), when the subject has several sessions at the site")
@click.option("--wait/--no-wait", default=True, show_default=True,
              help="follow the job's progress until every recording is analysed")
@_FPS
@_SET
def reanalyse_cmd(year: int, grade: int, site_code: str, session: str, room: str | None, wait: bool, fps: float,
                  settings: tuple[str, ...]) -> None:
    """把场次的全部录像重新分析（每个录像一个后台任务，由工作进程并行） / analyse every recording of a
    session again: one background job per recording, run by the platform's workers (``manage.py runjobs``)."""
    import time

    from junheng_web.jobs.models import Job
    from junheng_web.supervision.services import queue_session_analysis
    from junheng_web.testsites.services import find_session

    obj = find_session(platform_cycle(year, grade), site_code, session, room)
    job = queue_session_analysis(obj, fps=fps, params=_parameters(settings) if settings else None)
    click.echo(f"任务 job #{job.pk}: {job.children.count()} 个录像 recordings queued")
    if not wait:
        return
    from junheng_web.jobs.runner import settle

    with fraction_bar(f"分析 {obj}") as progress:
        while job.status == Job.Status.RUNNING:
            settle(job.pk)
            job.refresh_from_db()
            progress(job.progress / 100, job.message)
            if job.status == Job.Status.RUNNING:
                time.sleep(1)
    if job.status == Job.Status.FAILED:
        raise click.ClickException(job.error)
    click.echo(f"{obj}: " + ", ".join(f"{k} {v}" for k, v in job.result.items()))


_TABLE = click.Path(exists=True, dir_okay=False, path_type=Path)
_TEXT = ("person_id", "student_id", "other_id", "item_id", "raw", "key", "model", "room", "from_raw", "to_raw")
# each input of `video forensics`: its required columns (person_id may be headed student_id), its
# numbers and its moments (seconds or date-times); read through junheng.io, every bad cell reported
_FORENSIC_TABLES = {
    "responses": (("person_id", "item_id", "raw"), (), ()),
    "key": (("item_id", "key"), (), ()),
    "items": (("item_id", "model", "a", "b"), ("a", "b", "c"), ()),
    "seating": (("person_id", "room", "row", "col"), ("row", "col"), ()),
    "events": (("person_id", "item_id", "at"), ("seq",), ("at",)),
    "starts": (("person_id", "started_at"), (), ("started_at",)),
    "changes": (("person_id", "item_id", "from_raw", "to_raw"), (), ()),
}


def _forensic_table(path: Path | None, what: str):
    """One input of ``video forensics`` through :func:`junheng.io.read_input`: text columns as
    text, numbers and times parsed (a bad cell is an ``InputError`` naming file, row, column and
    value), ``student_id`` taken for ``person_id``, required columns checked."""
    from junheng.exceptions import InputError, Issue
    from junheng.io import read_input

    if path is None:
        return None
    required, numbers, times = _FORENSIC_TABLES[what]
    frame = read_input(path, required=[c for c in required if c != "person_id"], string_columns=_TEXT,
                       number_columns=numbers, time_columns=times)
    if "student_id" in frame.columns and "person_id" not in frame.columns:
        frame = frame.rename({"student_id": "person_id"})
    if "person_id" in required and "person_id" not in frame.columns:
        raise InputError(Issue("缺少列（person_id 或 student_id）", "missing column (person_id or student_id)",
                               file=path.name, column="person_id"))
    return frame


@video.command("forensics")
@click.option("--responses", type=_TABLE, help="final answers: person_id, item_id, raw (e.g. `materials omr` output)")
@click.option("--key", "key_file", type=_TABLE, help="item_id, key (the correct option of each choice item)")
@click.option("--items", "items_file", type=_TABLE, help="IRT item parameters (ITEMS: item_id, model, a, b, c)")
@click.option("--seating", type=_TABLE, help="seating plan: person_id (or student_id), room, row, col")
@click.option("--events", type=_TABLE, help="browser answer events: person_id, item_id, raw, at (seconds or time)[, seq]")
@click.option("--starts", type=_TABLE, help="person_id, started_at (the start of each attempt, for the first item's time)")
@click.option("--changes", type=_TABLE, help="answer changes: person_id, item_id, from_raw, to_raw (default: from --events)")
@click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.001, show_default=True,
              help="level of each test")
@click.option("-o", "--out", "outfile", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="the flags (.csv / .xlsx / .parquet)")
def forensics_cmd(responses, key_file, items_file, seating, events, starts, changes, alpha, outfile) -> None:
    """作答数据甄别：相邻座位抄袭（ω）、作答时间异常、改错为对 / response forensics: copying between seat
    neighbours, response-time anomalies, wrong-to-right changes (docs/methods/response-forensics.md)."""
    from junheng.io import write_table
    from junheng.supervision import ForensicsParameters, changes_from_events, forensic_flags

    load = _forensic_table
    ev = load(events, "events")
    ch = load(changes, "changes")
    if ch is None and ev is not None and "raw" in ev.columns:
        ch = changes_from_events(ev)
    flags = forensic_flags(responses=load(responses, "responses"), key=load(key_file, "key"),
                           items=load(items_file, "items"), seating=load(seating, "seating"), events=ev,
                           starts=load(starts, "starts"), changes=ch,
                           params=ForensicsParameters(alpha=alpha, serious_p=min(ForensicsParameters.serious_p, alpha)))
    write_table(flags, outfile)
    for r in flags.iter_rows(named=True):
        who = r["person_id"] + (f" ~ {r['other_id']}" if r["other_id"] else "")
        click.echo(f"  {r['kind']:<20} {r['severity']:<8} {who}: {r['detail']}")
    click.echo(f"{flags.height} 处标记 / flags → {outfile}")
