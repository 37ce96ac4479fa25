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
                   f"score {r['score']:.2f}" + (f"  {r['detail']}" if r.get("detail") else ""))


def _osd_region(ctx, param, value: str | None):
    """``--osd-region X,Y,W,H``: the camera's clock as shares 0–1 of the frame."""
    from junheng.exceptions import ParameterError
    from junheng.supervision import check_region

    if value is None:
        return None
    try:
        return check_region(value.split(","))
    except ParameterError:
        raise click.BadParameter(f"须为 4 个 0–1 之间的数 X,Y,W,H（画面宽高的比例） / must be four numbers 0–1, "
                                 f"X,Y,W,H as shares of the frame's width and height; got {value!r}") from None


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
@click.option("--osd-region", callback=_osd_region, metavar="X,Y,W,H",
              help="where the camera burns in its clock, as shares 0–1 of the frame (default: found in the picture)")
def analyse_cmd(video: Path, fps: float, settings: tuple[str, ...], outfile: Path | None,
                stats_out: Path | None, osd_region: tuple[float, float, float, float] | None) -> None:
    """分析一段录像，列出需要巡查员查看的时段 / flag the stretches of a recording a reviewer should see."""
    from junheng.io import write_table
    from junheng.supervision import detect_flags, frame_statistics, public_statistics

    params = _parameters(settings)
    with fraction_bar(f"分析 {video.name}") as progress:
        stats, info = frame_statistics(video, fps, progress=progress, osd_region=osd_region)
    flags = detect_flags(stats, params)
    click.echo(f"{video.name}: {info.duration_s:.1f} s, {info.width}×{info.height}, {info.native_fps:g} fps; "
               f"{stats.height} 帧分析 / frames analysed; {flags.height} 处标记 / flags")
    click.echo("屏显时钟 / on-screen clock: " + ("未找到（仅用画面规则） / none found (the picture rules only)"
                                             if info.osd_region is None else
                                             "x={} y={} w={} h={} px（分析画面中） / px of the analysed frame".format(
                                                 *info.osd_region)))
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
_TEXT = ("person_id", "student_id", "other_id", "item_id", "raw", "key", "model", "room", "from_raw", "to_raw", "what")
# each input of `video forensics`: its required columns (person_id may be headed student_id), its
# numbers and its moments (seconds or date-times); read through junheng.io, every bad cell reported
_FORENSIC_TABLES = {
    "responses": (("person_id", "item_id", "raw"), (), ()),
    "key": (("item_id", "key"), (), ()),
    "items": (("item_id", "model", "a", "b"), ("a", "b", "c"), ()),
    "seating": (("person_id", "room", "row", "col"), ("row", "col"), ()),
    "events": (("person_id", "item_id", "at"), ("seq", "lease"), ("at", "received_at")),
    "starts": (("person_id", "started_at"), (), ("started_at",)),
    "changes": (("person_id", "item_id", "from_raw", "to_raw"), (), ()),
    "arrivals": (("person_id", "item_id", "at", "received_at"), ("lease",), ("at", "received_at")),
    "heartbeats": (("person_id", "lease"), ("lease", "gap_s"), ("at", "first_at", "last_at")),
    "stops": (("person_id", "at", "what"), (), ("at",)),
    "opens": (("person_id", "lease", "at"), ("lease",), ("at",)),
}


def _forensic_table(path: Path | None, what: str, *, keep_rows: bool = False):
    """One input of ``video forensics`` through :func:`junheng.io.read_input`: text columns as
    text, numbers and times parsed (a bad cell is an ``InputError`` naming file, row, column and
    value), ``student_id`` taken for ``person_id``, required columns checked (``keep_rows``: each
    record's spreadsheet row kept in ``junheng.io.ROW``)."""
    from junheng import TIME_ZONE
    from junheng.exceptions import InputError, Issue
    from junheng.io import read_input

    if path is None:
        return None
    required, numbers, times = _FORENSIC_TABLES[what]
    frame = read_input(path, required=[c for c in required if c != "person_id"], string_columns=_TEXT,
                       number_columns=numbers, time_columns=times, time_zone=TIME_ZONE, keep_rows=keep_rows)
    if "student_id" in frame.columns and "person_id" not in frame.columns:
        frame = frame.rename({"student_id": "person_id"})
    if "person_id" in required and "person_id" not in frame.columns:
        raise InputError(Issue("缺少列（person_id 或 student_id）", "missing column (person_id or student_id)",
                               file=path.name, column="person_id"))
    return frame


def _stop_what() -> dict[str, str]:
    """--stops: what each row may say, in either language (the core's key or its Chinese name, from
    ``STOP_NAMES``) → the core's key; ``open`` is not a stop of this file (--opens gives those)."""
    from junheng.supervision import STOP_NAMES

    return {name: key for key, (zh, _) in STOP_NAMES.items() if key != "open" for name in (key, zh)}


def _rule_breaks(frame: pl.DataFrame, bad: pl.Expr, file: str, column: str, zh: str, en: str) -> list:
    """One issue per row of ``frame`` where ``bad`` holds (its ``__row__``, ``column``'s value as
    written: ``-1`` not ``-1.0``, a time without zero microseconds)."""
    from junheng.exceptions import Issue
    from junheng.io import ROW

    hit = frame.filter(bad.fill_null(False))
    shown = lambda v: f"{v:g}" if isinstance(v, float) else (None if v is None else str(v))  # noqa: E731
    return [Issue(zh, en, file=file, row=r, column=column, value=shown(v))
            for r, v in zip(hit[ROW].to_list(), hit[column].to_list(), strict=True)]


def _as_instants(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Times as the core's instants (zoned Datetime µs): seconds from the epoch in UTC (so second 125
    reads 00:02:05 in the flags' clock times); a naive date-time as the deployment's wall clock
    (``junheng.TIME_ZONE``, as ``video upload --started-at`` reads local times), which is also how a
    text time with an offset was read (:func:`_forensic_table`) — so both show in the flags as the
    deployment's clock, as the platform's flags do; a zoned (Parquet) column as its instant, in its zone."""
    from junheng import TIME_ZONE

    out = []
    for c in columns:
        dtype = frame.schema[c]
        if dtype.is_numeric():
            out.append(pl.from_epoch((pl.col(c) * 1e6).round().cast(pl.Int64), time_unit="us")
                       .dt.replace_time_zone("UTC").alias(c))
        elif isinstance(dtype, pl.Datetime) and dtype.time_zone is None:
            out.append(pl.col(c).cast(pl.Datetime("us")).dt.replace_time_zone(TIME_ZONE))
        else:  # a zoned Parquet column stays in its zone; an all-blank column is null
            out.append(pl.col(c).cast(pl.Datetime("us", getattr(dtype, "time_zone", None) or "UTC")))
    return frame.with_columns(out)


def _arrival_inputs(ev: pl.DataFrame | None, events: Path | None, arrivals: Path | None, heartbeats: Path | None,
                    stops: Path | None, opens: Path | None = None) -> dict:
    """The backdated-answers rule's inputs (``junheng.supervision.arrivals``) from the command's
    files: ``arrivals`` from ``--arrivals`` or the events' ``received_at`` column, ``contacts`` from
    ``--heartbeats`` (one heartbeat a row, ``at``, or spans ``first_at, last_at, gap_s``), ``stops``
    from ``--stops``, ``opens`` from ``--opens`` (``ev``: the events as read, with their rows); every
    bad row reported in one ``InputError``, nothing computed.  An event without a stamp or an arrival is left out (its
    arrival is unknown); in the other files every time is required."""
    from junheng.exceptions import InputError, Issue

    read_issues: list[Issue] = []

    def read(path: Path | None, what: str) -> pl.DataFrame | None:  # every file's bad cells, then stop
        try:
            return _forensic_table(path, what, keep_rows=True)
        except InputError as exc:
            read_issues.extend(exc.issues)
            return None

    if arrivals is None and ev is not None:
        src, a_file = ((ev.drop_nulls(["person_id", "item_id", "at", "received_at"]), events) if "received_at" in ev.columns
                       else (None, None))
    else:
        src, a_file = read(arrivals, "arrivals"), arrivals
    hb, st, op = read(heartbeats, "heartbeats"), read(stops, "stops"), read(opens, "opens")
    if read_issues:
        raise InputError(read_issues)
    if src is None:
        if hb is not None or st is not None or op is not None:
            raise ParameterError("--heartbeats、--stops 与 --opens 需要作答的到达时间：--arrivals，或 --events 的 "
                                 "received_at 列 / --heartbeats, --stops and --opens need the answers' arrival times: "
                                 "--arrivals, or a received_at column in --events")
        return {}
    issues: list[Issue] = []
    blank = ("不能为空", "must not be blank")
    whole = ("应为不小于 0 的整数（页面编号）", "must be a whole number ≥ 0 (the page's lease)")
    clocks: list[tuple[str, str, bool]] = []  # (file, column, in seconds) of every time column used
    tables = [(src, a_file, ["person_id", "item_id", "at", "received_at"])]
    if hb is not None:
        spans = "first_at" in hb.columns
        cols = ["first_at", "last_at"] if spans else ["at"]
        missing = [c for c in ((*cols, "gap_s") if spans else cols) if c not in hb.columns]
        if missing:
            raise InputError([Issue("缺少列（at，或 first_at、last_at、gap_s）", "missing column (at, or first_at, "
                                    "last_at, gap_s)", file=heartbeats.name, column=c) for c in missing])
        tables.append((hb, heartbeats, ["person_id", *cols]))
        if spans:
            issues += _rule_breaks(hb, pl.col("gap_s").is_null() | (pl.col("gap_s") < 0), heartbeats.name, "gap_s",
                                   "应为不小于 0 的秒数", "must be a number of seconds ≥ 0")
    if st is not None:
        tables.append((st, stops, ["person_id", "at", "what"]))
        issues += _rule_breaks(st, ~pl.col("what").str.strip_chars().is_in(list(_stop_what())), stops.name, "what",
                               "应为 pause/暂停、terminate/终止 或 time_up/时间到",
                               "must be pause/暂停, terminate/终止 or time_up/时间到")
    if op is not None:
        tables.append((op, opens, ["person_id", "at"]))
    for frame, path, cols in tables:
        for c in cols:
            if path is not a_file or arrivals is not None:
                issues += _rule_breaks(frame, pl.col(c).is_null(), path.name, c, *blank)
            dtype = frame.schema[c]
            if c in _TEXT or dtype == pl.Null:
                continue
            if dtype.is_temporal() and not isinstance(dtype, pl.Datetime | pl.Date):  # a Parquet duration or time of day
                issues.append(Issue("应为秒数或日期时间", "must be seconds or a date and time", file=path.name, column=c,
                                    value=str(dtype)))
            else:
                clocks.append((path.name, c, dtype.is_numeric()))
    for frame, path in ((src, a_file), (hb, heartbeats), (op, opens)):
        if frame is not None and "lease" in frame.columns:
            issues += _rule_breaks(frame, pl.col("lease").is_null() | (pl.col("lease") < 0)
                                   | (pl.col("lease") != pl.col("lease").round()), path.name, "lease", *whole)
    if (hb is not None or op is not None) and "lease" not in src.columns:
        issues.append(Issue("缺少列：心跳与页面打开须与作答按页面（lease）对应", "missing column: heartbeats and page "
                            "openings are matched to answers by page (lease)", file=a_file.name, column="lease"))
    f0, c0, sec0 = clocks[0] if clocks else (None, None, None)
    other = [Issue(f"与 {f0} 的 {c0} 不是同一种时间（一为秒数，一为日期时间）",
                   f"not on the same clock as {c0} of {f0} (one in seconds, the other date-times)", file=f, column=c)
             for f, c, sec in clocks if sec != sec0]
    if other:  # the order of a span's ends is asked only of times on one clock
        raise InputError(issues + other)
    if hb is not None and "first_at" in hb.columns:
        issues += _rule_breaks(hb, pl.col("first_at") > pl.col("last_at"), heartbeats.name, "last_at",
                               "不能早于 first_at", "must not be before first_at")
    if issues:
        raise InputError(issues)
    lease = pl.col("lease").cast(pl.Int64) if "lease" in src.columns else pl.lit(0, pl.Int64)  # 0: no page known
    out = {"arrivals": _as_instants(src, ["at", "received_at"])
           .select("person_id", lease.alias("lease"), "item_id", "at", "received_at")}
    if hb is not None:
        one = "first_at" not in hb.columns  # one heartbeat a row: a span of one
        hb = _as_instants(hb, ["at"] if one else ["first_at", "last_at"])
        out["contacts"] = hb.select("person_id", pl.col("lease").cast(pl.Int64),
                                    pl.col("at" if one else "first_at").alias("first_at"),
                                    pl.col("at" if one else "last_at").alias("last_at"),
                                    (pl.lit(0.0) if one else pl.col("gap_s")).alias("gap_s"))
    if st is not None:
        out["stops"] = _as_instants(st, ["at"]).select(
            "person_id", "at", pl.col("what").str.strip_chars().replace_strict(_stop_what()).alias("what"))
    if op is not None:
        out["opens"] = _as_instants(op, ["at"]).select("person_id", pl.col("lease").cast(pl.Int64), "at")
    return out


@video.command("forensics")
@click.option("--responses", type=_TABLE, help="final answers: person_id, item_id, raw (e.g. `materials omr` output)")
@click.option("--key", "key_file", type=_TABLE, help="item_id, key (the correct option of each choice item)")
@click.option("--items", "items_file", type=_TABLE, help="IRT item parameters (ITEMS: item_id, model, a, b, c)")
@click.option("--seating", type=_TABLE, help="seating plan: person_id (or student_id), room, row, col")
@click.option("--events", type=_TABLE, help="browser answer events: person_id, item_id, raw, at (seconds or time)[, seq]")
@click.option("--starts", type=_TABLE, help="person_id, started_at (the start of each attempt, for the first item's time)")
@click.option("--changes", type=_TABLE, help="answer changes: person_id, item_id, from_raw, to_raw (default: from --events)")
@click.option("--arrivals", type=_TABLE, help="answers' stamps and arrivals: person_id, item_id, at, received_at[, lease] "
              "(default: --events' received_at column)")
@click.option("--heartbeats", type=_TABLE, help="the pages' heartbeats: person_id, lease, at (one a row) or "
              "first_at, last_at, gap_s (spans)")
@click.option("--stops", type=_TABLE, help="pauses, terminations, time-up: person_id, at, what (pause/terminate/time_up)")
@click.option("--opens", type=_TABLE, help="when each page opened: person_id, lease, at")
@click.option("--stop-bound", type=click.FloatRange(0, min_open=True),
              help="seconds after a stop beyond which an answer stamped before it is flagged (the longest outage "
              "taken; default 600)")
@click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.001, show_default=True,
              help="level of each test")
@click.option("-o", "--out", "outfile", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="the flags (.csv / .xlsx / .parquet)")
def forensics_cmd(responses, key_file, items_file, seating, events, starts, changes, arrivals, heartbeats, stops,
                  opens, stop_bound, alpha, outfile) -> None:
    """作答数据甄别：相邻座位抄袭（ω）、作答时间异常、改错为对、迟到作答 / response forensics: copying
    between seat neighbours, response-time anomalies, wrong-to-right changes, backdated answers
    (docs/methods/response-forensics.md)."""
    from junheng.io import ROW, write_table
    from junheng.supervision import ForensicsParameters, changes_from_events, forensic_flags

    load = _forensic_table
    ev = load(events, "events", keep_rows=True)
    late = _arrival_inputs(ev, events, arrivals, heartbeats, stops, opens)
    ev = ev.drop(ROW) if ev is not None else None
    ch = load(changes, "changes")
    if ch is None and ev is not None and "raw" in ev.columns:
        ch = changes_from_events(ev)
    bound = {} if stop_bound is None else {"stop_bound_s": stop_bound}
    flags = forensic_flags(responses=load(responses, "responses"), key=load(key_file, "key"),
                           items=load(items_file, "items"), seating=load(seating, "seating"), events=ev,
                           starts=load(starts, "starts"), changes=ch, **late,
                           params=ForensicsParameters(alpha=alpha, serious_p=min(ForensicsParameters.serious_p, alpha),
                                                      **bound))
    write_table(flags, outfile)
    for r in flags.iter_rows(named=True):
        who = r["person_id"] + (f" ~ {r['other_id']}" if r["other_id"] else "")
        click.echo(f"  {r['kind']:<20} {r['severity']:<8} {who}: {r['detail']}")
    click.echo(f"{flags.height} 处标记 / flags → {outfile}")
