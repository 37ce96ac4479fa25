"""``junheng video forensics`` with arrival times, heartbeats and stops: the backdated-answers rule
(junheng.supervision.arrivals) from files — a hand-worked session read from GB18030 CSV as date-times
and from Excel as seconds gives the flags derived by hand below; bad rows exit 2, each one named.

The session (stamps → arrivals; page = lease; the in-contact margin is 15 s, the stop bound 600 s):

* P1, page 1: I1 09:00:00 → 09:00:01, I2 09:01:00 → 09:20:00, I3 09:05:00 → 09:05:02.  I3 is stamped
  after I2 + 15 s and arrived at 09:05:02, before I2's arrival − 15 s (09:19:45): the page was online
  while I2 waited — **serious**, I2 1140 s late, evidence "later answer" at 09:05:02.  (I1: the
  earliest later-stamped arrival, 09:05:02, is after its arrival − 15 s; I3: nothing after it.)
* P2, page 1: I1 09:02:00 → 09:30:00; a heartbeat of page 1 at 09:10:00 lies in (09:02:15, 09:29:45)
  — **serious**, 1680 s late, evidence "heartbeat" at 09:10:00.
* P3, page 1: I1 09:03:00 → 09:08:00, I2 09:04:00 → 09:08:01 — an outage, first in first out: I2's
  arrival is not before 09:07:45.  A heartbeat of *page 2* at 09:06:00 is another page's (no
  evidence about page 1's queue) and page 1's heartbeat at 09:08:30 comes after — **no flag** (a
  rule that ignored the page would flag P3).
* P4, page 1: I1 09:38:00 → 09:55:00; a pause at 09:30:00 (I1 is stamped after it) and time-up at
  09:40:00: I1 arrived 15 min after time-up, beyond 600 s — **warning**, 1020 s late.  With
  ``--stop-bound 1200`` (20 min) no flag.
* P5, page 1: I1 09:39:00 → 09:45:00, time-up 09:40:00: 5 min after it, within the bound — no flag.
* P6, page 0 (no known page): as P1 (I1 09:01:00 → 09:20:00, I2 09:05:00 → 09:05:02) but the
  in-contact rule needs a page; time-up 09:40:00 after both arrivals — **no flag**.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
from click.testing import CliRunner

from junheng.io import write_table
from junheng_cli.main import cli

T0 = dt.datetime(2026, 6, 1, 9)
ANSWERS = [  # person, lease, item, stamp (s after 09:00), arrival (s after 09:00)
    ("P1", 1, "I1", 0, 1), ("P1", 1, "I2", 60, 1200), ("P1", 1, "I3", 300, 302),
    ("P2", 1, "I1", 120, 1800),
    ("P3", 1, "I1", 180, 480), ("P3", 1, "I2", 240, 481),
    ("P4", 1, "I1", 2280, 3300),
    ("P5", 1, "I1", 2340, 2700),
    ("P6", 0, "I1", 60, 1200), ("P6", 0, "I2", 300, 302),
]
BEATS = [("P2", 1, 600), ("P3", 2, 360), ("P3", 1, 510)]  # person, lease, heartbeat (s after 09:00)
STOPS = [("P4", 1800, "暂停"), ("P4", 2400, "时间到"), ("P5", 2400, "时间到"), ("P6", 2400, "时间到")]
EXPECTED = {"P1": ("serious", 1140.0), "P2": ("serious", 1680.0), "P4": ("warning", 1020.0)}


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def clock(seconds: float) -> str:
    return (T0 + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%d %H:%M:%S")


def backdated(path: Path) -> dict:
    flags = pl.read_csv(path, infer_schema=False).filter(pl.col("kind") == "backdated")
    return {r["person_id"]: (r["severity"], float(r["statistic"]), r["detail"]) for r in flags.iter_rows(named=True)}


def flagged(out: Path, *args) -> dict:
    """``junheng video forensics`` on these files, writing ``out``: it must succeed; its backdated flags."""
    r = run("video", "forensics", *args, "-o", out)
    assert r.exit_code == 0, r.output
    return backdated(out)


def flagged_tables(tmp_path: Path, **tables: tuple[pl.DataFrame, str]) -> dict:
    """Each ``option=(frame, file name)`` written (``write_table``, by the name's suffix) and passed as
    ``--option``: :func:`flagged` on them."""
    args = []
    for option, (frame, name) in tables.items():
        write_table(frame, tmp_path / name)
        args += [f"--{option}", tmp_path / name]
    return flagged(tmp_path / "flags.csv", *args)


def write_date_times(tmp_path: Path) -> tuple[Path, Path, Path]:
    """The session as GB18030 CSV files with date-times, the way a spreadsheet in China saves them."""
    arrivals = pl.DataFrame([(p, lease, i, clock(a), clock(r)) for p, lease, i, a, r in ANSWERS], orient="row",
                            schema=["person_id", "lease", "item_id", "at", "received_at"])
    beats = pl.DataFrame([(p, lease, clock(t)) for p, lease, t in BEATS], orient="row", schema=["person_id", "lease", "at"])
    stops = pl.DataFrame([(p, clock(t), w) for p, t, w in STOPS], orient="row", schema=["student_id", "at", "what"])
    paths = tmp_path / "到达.csv", tmp_path / "心跳.csv", tmp_path / "暂停.csv"
    for frame, path in zip((arrivals, beats, stops), paths, strict=True):
        write_table(frame, path, encoding="gb18030")
    return paths


def test_hand_worked_session_from_gb18030_date_times(tmp_path):
    arrivals, beats, stops = write_date_times(tmp_path)
    assert "时间到".encode("gb18030") in stops.read_bytes()  # really GB18030, not UTF-8
    r = run("video", "forensics", "--arrivals", arrivals, "--heartbeats", beats, "--stops", stops,
            "-o", tmp_path / "flags.csv")
    assert r.exit_code == 0, r.output
    got = backdated(tmp_path / "flags.csv")
    assert {p: v[:2] for p, v in got.items()} == EXPECTED
    assert ("I2 stamped 09:01:00, arrived 09:20:00, though the page's later answer reached the server at 09:05:02"
            in got["P1"][2])
    assert "I1 stamped 09:02:00, arrived 09:30:00, though the page's heartbeat reached the server at 09:10:00" in got["P2"][2]
    assert "I1 stamped before the time-up at 09:40:00, arrived 09:55:00 (15 min 0 s after it)" in got["P4"][2]
    assert "I1 标记于时间到 09:40:00 之前，09:55:00 到达（晚 15 分 0 秒）" in got["P4"][2]
    # the output keeps its format: one printed line per flag, the new kind among them
    assert "  backdated            serious  P1: 1 个作答在页面联网期间迟到" in r.output
    assert "3 处标记 / flags" in r.output
    # a longer bound: P4's answer 15 min after time-up is within it
    assert set(flagged(tmp_path / "flags.csv", "--arrivals", arrivals, "--heartbeats", beats, "--stops", stops,
                       "--stop-bound", 1200)) == {"P1", "P2"}
    # without the heartbeats P2 has no evidence; without the stops P4 has none
    assert {p: v[:2] for p, v in flagged(tmp_path / "flags.csv", "--arrivals", arrivals).items()} == {"P1": EXPECTED["P1"]}


def test_hand_worked_session_from_excel_seconds_and_the_events_arrival_column(tmp_path):
    """The same session in seconds from the start (clock times read from 00:00:00), the arrivals
    as a column of ``--events``, the heartbeats as spans: P2's page was heard from 00:01:40 to
    00:30:00 with no two beats more than 30 s apart, so it was online across I1's whole wait (from
    its stamp + 15 s, 00:02:15); page 2 of P3 was heard 00:05:00–00:06:40 (another page), page 1
    from 00:08:30."""
    events = pl.DataFrame([(p, lease, i, "A", float(a), float(r)) for p, lease, i, a, r in ANSWERS], orient="row",
                          schema=["person_id", "lease", "item_id", "raw", "at", "received_at"])
    spans = pl.DataFrame([("P2", 1, 100.0, 1800.0, 30.0), ("P3", 2, 300.0, 400.0, 30.0), ("P3", 1, 510.0, 540.0, 30.0)],
                         orient="row", schema=["person_id", "lease", "first_at", "last_at", "gap_s"])
    stops = pl.DataFrame([(p, float(t), {"暂停": "pause", "时间到": "time_up"}[w]) for p, t, w in STOPS], orient="row",
                         schema=["person_id", "at", "what"])
    got = flagged_tables(tmp_path, events=(events, "events.xlsx"), heartbeats=(spans, "spans.xlsx"),
                         stops=(stops, "stops.xlsx"))
    assert {p: v[:2] for p, v in got.items()} == EXPECTED
    assert "I2 stamped 00:01:00, arrived 00:20:00, though the page's later answer reached the server at 00:05:02" in got["P1"][2]
    assert "I1 stamped 00:02:00, arrived 00:30:00, though the page's heartbeat reached the server at 00:02:15" in got["P2"][2]
    assert "stamped before the time-up at 00:40:00, arrived 00:55:00" in got["P4"][2]
    # a span whose beats may be 30 min apart says nothing about the 28 min between: P2 is not caught
    write_table(spans.with_columns(pl.lit(1800.0).alias("gap_s")), tmp_path / "spans.xlsx")
    assert set(flagged(tmp_path / "flags.csv", "--events", tmp_path / "events.xlsx",
                       "--heartbeats", tmp_path / "spans.xlsx")) == {"P1"}


def test_every_bad_row_is_named_and_nothing_is_written(tmp_path, cli_refused):
    arrivals, beats, stops = write_date_times(tmp_path)
    a = pl.read_csv(arrivals, encoding="gb18030", infer_schema=False)
    a = a.with_columns(pl.when(pl.int_range(pl.len()) == 1).then(pl.lit("九点")).otherwise("at").alias("at"))
    write_table(a, arrivals, encoding="gb18030")
    b = pl.read_csv(beats, encoding="gb18030", infer_schema=False)
    write_table(b.with_columns(pl.when(pl.int_range(pl.len()) == 2).then(pl.lit("半小时后")).otherwise("at").alias("at")),
                beats, encoding="gb18030")
    out = tmp_path / "flags.csv"
    r = run("video", "forensics", "--arrivals", arrivals, "--heartbeats", beats, "--stops", stops, "-o", out)
    # the bad times of both files at once, each by file, row, column and value
    cli_refused(r, 2)
    assert not out.exists()
    assert "到达.csv 第3行 at" in r.output and "九点" in r.output and "心跳.csv 第4行 at" in r.output
    assert "半小时后" in r.output and "must be seconds or a date and time" in r.output
    # times that parse, but rows that break the rules: every one named
    a = pl.read_csv(arrivals, encoding="gb18030", infer_schema=False).with_columns(
        at=pl.when(pl.col("at") == "九点").then(pl.lit(clock(60))).otherwise("at"),
        lease=pl.Series(["1", "1.5", "1", "-1", "1", "1", "1", "1", "0", "0"]),
        received_at=pl.when(pl.int_range(pl.len()) == 6).then(None).otherwise("received_at"))
    write_table(a, arrivals, encoding="gb18030")
    write_table(pl.DataFrame({"person_id": ["P2", "P3"], "lease": ["1", "1"], "first_at": [clock(700), clock(0)],
                              "last_at": [clock(600), clock(10)], "gap_s": ["30", "-5"]}), beats, encoding="gb18030")
    write_table(pl.DataFrame({"student_id": ["P4", "P4"], "at": [clock(1800), clock(2400)], "what": ["午休", "时间到"]}),
                stops, encoding="gb18030")
    r = run("video", "forensics", "--arrivals", arrivals, "--heartbeats", beats, "--stops", stops, "-o", out)
    cli_refused(r, 2)
    assert not out.exists()
    for where, value in (("到达.csv 第3行 lease", "1.5"), ("到达.csv 第5行 lease", "-1"), ("到达.csv 第8行 received_at", None),
                         ("心跳.csv 第2行 last_at", None), ("心跳.csv 第3行 gap_s", "-5"), ("暂停.csv 第2行 what", "午休")):
        assert where in r.output, (where, r.output)
        assert value is None or f"'{value}'" in r.output
    assert "must be a whole number ≥ 0" in r.output and "must be pause/暂停, terminate/终止 or time_up/时间到" in r.output
    assert r.output.count("第") == 6, r.output


def test_clocks_leases_and_arrivals_must_fit_together(tmp_path, cli_refused):
    arrivals, beats, stops = write_date_times(tmp_path)
    out = tmp_path / "flags.csv"
    # heartbeats in seconds beside arrivals in date-times: two clocks, refused by name
    write_table(pl.DataFrame({"person_id": ["P2"], "lease": [1], "at": [600.0]}), tmp_path / "hb.xlsx")
    r = run("video", "forensics", "--arrivals", arrivals, "--heartbeats", tmp_path / "hb.xlsx", "-o", out)
    assert r.exit_code == 2 and not out.exists()
    assert "hb.xlsx" in r.output and "not on the same clock as at of 到达.csv" in r.output
    (tmp_path / "a2.csv").write_bytes(arrivals.read_bytes())
    # heartbeats are matched to answers by page: arrivals without a lease column cannot use them
    write_table(pl.read_csv(arrivals, encoding="gb18030", infer_schema=False).drop("lease"), arrivals, encoding="gb18030")
    r = run("video", "forensics", "--arrivals", arrivals, "--heartbeats", beats, "-o", out)
    assert r.exit_code == 2 and "到达.csv" in r.output and "lease" in r.output and not out.exists()
    # … but the stops rule needs no page: P4's warning alone (P1's answers are page 0 now)
    assert {p: v[:2] for p, v in flagged(out, "--arrivals", arrivals, "--stops", stops).items()} == {"P4": EXPECTED["P4"]}
    # a span with one end in seconds and the other a date-time, a blank pupil: named, no traceback
    write_table(pl.DataFrame({"person_id": ["P2", None], "lease": ["1", "1"], "first_at": ["100", "200"],
                              "last_at": [clock(600), clock(700)], "gap_s": ["30", "30"]}), beats, encoding="gb18030")
    r = run("video", "forensics", "--arrivals", tmp_path / "a2.csv", "--heartbeats", beats, "-o", out)
    cli_refused(r, 2)
    assert "心跳.csv first_at" in r.output and "心跳.csv 第3行 person_id" in r.output and "must not be blank" in r.output
    # stops without any arrival times: said so, not ignored
    r = run("video", "forensics", "--stops", stops, "-o", out)
    assert r.exit_code == 2 and "--arrivals" in r.output and "received_at" in r.output


def test_parquet_times_with_zones_are_instants_and_the_clock_is_the_answers_zone(tmp_path):
    """Parquet keeps its types: the answers in Beijing time, the stops in UTC (09:40 in Beijing is
    01:40 UTC) — the same instants, so the same flags, and the clock times are Beijing's."""
    bj = pl.Datetime("us", "Asia/Shanghai")
    start = dt.datetime(2026, 6, 1, 9, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    at = lambda s: start + dt.timedelta(seconds=s)  # noqa: E731
    arrivals = pl.DataFrame([(p, lease, i, at(a), at(r)) for p, lease, i, a, r in ANSWERS], orient="row",
                            schema={"person_id": pl.String, "lease": pl.Int64, "item_id": pl.String, "at": bj,
                                    "received_at": bj})
    beats = pl.DataFrame([(p, lease, at(t)) for p, lease, t in BEATS], orient="row",
                         schema={"person_id": pl.String, "lease": pl.Int64, "at": bj})
    stops = pl.DataFrame([(p, at(t), w) for p, t, w in STOPS], orient="row",
                         schema={"person_id": pl.String, "at": bj, "what": pl.String}
                         ).with_columns(pl.col("at").dt.convert_time_zone("UTC"))
    for frame, name in ((arrivals, "a.parquet"), (beats, "h.parquet"), (stops, "s.parquet")):
        frame.write_parquet(tmp_path / name)
    got = flagged(tmp_path / "flags.csv", "--arrivals", tmp_path / "a.parquet", "--heartbeats", tmp_path / "h.parquet",
                  "--stops", tmp_path / "s.parquet")
    assert {p: v[:2] for p, v in got.items()} == EXPECTED
    assert "I1 stamped before the time-up at 09:40:00, arrived 09:55:00" in got["P4"][2]


def test_text_times_with_an_offset_are_shown_on_the_deployments_clock(tmp_path):
    """Text times with an offset were read as UTC and labelled so: the flags said 01:01:00 for an answer
    stamped 09:01:00+08:00, and answers written with +08:00 against stops written without an offset (the
    deployment's wall clock, Beijing) were 8 h apart — P4's time-up fell before its answers. Now an offset
    time is read on the deployment's clock (junheng.TIME_ZONE), as the platform's flags show it:
    answers with +08:00, heartbeats in UTC (Z), stops as written — the same instants, the same flags."""
    from junheng import TIME_ZONE

    assert TIME_ZONE == "Asia/Shanghai"
    z = lambda s: (T0 + dt.timedelta(seconds=s) - dt.timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    arrivals = pl.DataFrame([(p, lease, i, clock(a) + "+08:00", clock(r).replace(" ", "T") + "+08:00")
                             for p, lease, i, a, r in ANSWERS], orient="row",
                            schema=["person_id", "lease", "item_id", "at", "received_at"])
    beats = pl.DataFrame([(p, lease, z(t)) for p, lease, t in BEATS], orient="row", schema=["person_id", "lease", "at"])
    stops = pl.DataFrame([(p, clock(t), w) for p, t, w in STOPS], orient="row", schema=["person_id", "at", "what"])
    got = flagged_tables(tmp_path, arrivals=(arrivals, "a.csv"), heartbeats=(beats, "h.csv"), stops=(stops, "s.csv"))
    assert {p: v[:2] for p, v in got.items()} == EXPECTED
    assert "I2 stamped 09:01:00, arrived 09:20:00, though the page's later answer reached the server at 09:05:02" in got["P1"][2]
    assert "I1 stamped 09:02:00, arrived 09:30:00, though the page's heartbeat reached the server at 09:10:00" in got["P2"][2]
    assert "I1 stamped before the time-up at 09:40:00, arrived 09:55:00" in got["P4"][2]


def test_page_openings_from_a_file(tmp_path):
    """``--opens``: a page's opening is contact for its own answers and a stop for the older pages'.

    * P7: page 1 opened 09:00:00, page 2 at 09:20:00.  Page 1's I1 stamped 09:19:00 arrived 09:35:00,
      15 min after page 2 opened (beyond 600 s) — **warning**, 960 s late; page 2's I2 09:21:00 →
      09:21:01 is on time.
    * P8: page 2 opened 09:20:00, its I1 is stamped 09:10:00 and arrived 09:30:00: the opening lies in
      (09:10:15, 09:29:45), the answer was stamped before its own page existed — **serious**, 1200 s.
    * P9: page 1's I1 stamped 09:19:00 arrived 09:22:00 — a reload sends the queue at once, 2 min
      after page 2 opened at 09:20:00 is within the bound — no flag.
    """
    answers = [("P7", 1, "I1", 1140, 2100), ("P7", 2, "I2", 1260, 1261), ("P8", 2, "I1", 600, 1800),
               ("P9", 1, "I1", 1140, 1320)]
    opens = [("P7", 1, 0), ("P7", 2, 1200), ("P8", 1, 0), ("P8", 2, 1200), ("P9", 1, 0), ("P9", 2, 1200)]
    a = pl.DataFrame([(p, lease, i, clock(s), clock(r)) for p, lease, i, s, r in answers], orient="row",
                     schema=["student_id", "lease", "item_id", "at", "received_at"])
    o = pl.DataFrame([(p, lease, clock(t)) for p, lease, t in opens], orient="row", schema=["student_id", "lease", "at"])
    write_table(a, tmp_path / "到达.csv", encoding="gb18030")
    write_table(o, tmp_path / "页面.csv", encoding="gb18030")
    got = flagged(tmp_path / "flags.csv", "--arrivals", tmp_path / "到达.csv", "--opens", tmp_path / "页面.csv")
    assert {p: v[:2] for p, v in got.items()} == {"P7": ("warning", 960.0), "P8": ("serious", 1200.0)}
    assert "I1 stamped before the opening of a newer page at 09:20:00, arrived 09:35:00 (15 min 0 s after it)" in got["P7"][2]
    assert "I1 stamped 09:10:00, arrived 09:30:00, though the page was opened at 09:20:00" in got["P8"][2]
    # openings are pages: arrivals without a lease column cannot use them
    write_table(a.drop("lease"), tmp_path / "到达.csv", encoding="gb18030")
    r = run("video", "forensics", "--arrivals", tmp_path / "到达.csv", "--opens", tmp_path / "页面.csv",
            "-o", tmp_path / "f2.csv")
    assert r.exit_code == 2 and "到达.csv lease" in r.output and not (tmp_path / "f2.csv").exists()


def test_a_stop_without_what_is_a_named_bad_row(tmp_path, cli_refused):
    # a blank ``what`` passed the what-rule (a null is not "not in the list") and reached the flag's
    # text as a stop of no name: a KeyError traceback when it was the answer's stop
    arrivals, _, stops = write_date_times(tmp_path)
    write_table(pl.DataFrame({"student_id": ["P4", "P4"], "at": [clock(1800), clock(2400)], "what": ["暂停", None]}),
                stops, encoding="gb18030")
    out = tmp_path / "flags.csv"
    r = CliRunner().invoke(cli, ["video", "forensics", "--arrivals", str(arrivals), "--stops", str(stops), "-o", str(out)])
    cli_refused(r, 2)
    assert not out.exists()
    assert "暂停.csv 第3行 what" in r.output and "must not be blank" in r.output, r.output
