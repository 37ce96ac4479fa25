"""Backdated answers (迟到作答甄别): answers that reached the server long after the time they are
stamped with, when the page cannot have been offline all that while, or after a pause or time-up
they are stamped before by more than an outage allows (docs/methods/response-forensics.md,
§ backdated answers).  Pure: DataFrames in, a frame of flags out.

The pupil's page stamps each answer with the time it was given (the server's clock) and queues it;
the server takes an answer stamped before time-up whenever it arrives, because test sites lose
their network and the page keeps answering offline.  A crafted request can abuse that by stamping
an answer early.  Two rules tell such answers from a real outage:

* **in contact** (serious) — an answer that arrived more than ``arrival_slack_s`` after its stamp
  while the *same page* (attempt and lease) was evidently online in between: an answer of that
  page stamped more than ``arrival_slack_s`` later reached the server more than ``arrival_slack_s``
  before it, or the page's idle heartbeat did.  The page's queue is first in, first out, and it
  sends a heartbeat only with an empty queue, so an honest page cannot do either;
* **after a stop** (warning) — an answer stamped before a pause, a termination or time-up that
  arrived more than ``stop_bound_s`` after it: an honest page does so only after an outage that
  long.  Its false-positive rate is the share of honest pupils with such an outage (simulated in
  :mod:`junheng.synth.delivery`).

Inputs (times: timezone-aware datetimes; the flags' clock times are written in their zone):

* ``arrivals`` — ``person_id, lease, item_id, at, received_at``: every stored answer, its stamp and
  its arrival (lease 0 — a change of no known page, from before pages had leases — is left to the
  after-a-stop rule: answers of two pages could share it);
* ``contacts`` — ``person_id, lease, first_at, last_at, gap_s``: spans of a page's heartbeats, no two
  heartbeats of a span more than ``gap_s`` apart (a single heartbeat: ``first_at == last_at``);
* ``stops`` — ``person_id, at, what``: the pupil's pauses, termination and time-up (``what``: pause,
  terminate, time_up);
* ``opens`` — ``person_id, lease, at``: when each page opened (the server's record of its load).  A
  page's opening is contact too — no answer of that page can be given before it, so one stamped
  more than ``arrival_slack_s`` before its page opened and arriving more than that after is caught
  in contact — and a stop for the pupil's earlier answers (``what`` "open"): from then on the older
  page is closed, and a same-browser reload or a second tab sends its queue at once (a crafted
  answer sent under an older page's lease, or lease 0, stamped just before a newer page opened,
  had no other rule against it).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from junheng.exceptions import ParameterError

ARRIVALS = {"person_id": pl.String, "lease": pl.Int64, "item_id": pl.String, "at": pl.Datetime("us", "UTC"),
            "received_at": pl.Datetime("us", "UTC")}
CONTACTS = {"person_id": pl.String, "lease": pl.Int64, "first_at": pl.Datetime("us", "UTC"),
            "last_at": pl.Datetime("us", "UTC"), "gap_s": pl.Float64}
STOPS = {"person_id": pl.String, "at": pl.Datetime("us", "UTC"), "what": pl.String}
OPENS = {"person_id": pl.String, "lease": pl.Int64, "at": pl.Datetime("us", "UTC")}
STOP_NAMES = {"pause": ("暂停", "pause"), "terminate": ("终止", "termination"), "time_up": ("时间到", "time-up"),
              "open": ("新页面打开", "opening of a newer page")}
LATE_SCHEMA = {"person_id": pl.String, "item_id": pl.String, "at": pl.Datetime("us", "UTC"),
               "received_at": pl.Datetime("us", "UTC"), "late_s": pl.Float64, "rule": pl.String,
               "evidence_at": pl.Datetime("us", "UTC"), "evidence": pl.String}


def _check(frame: pl.DataFrame, name: str, schema: dict) -> pl.DataFrame:
    missing = [c for c in schema if c not in frame.columns]
    if missing:
        raise ParameterError(f"{name} 缺少列 / {name} lacks columns: {', '.join(missing)}")
    return frame.select(list(schema)).cast(schema)  # any time zone in: compared as instants


def _in_contact(a: pl.DataFrame, contacts: pl.DataFrame | None, slack: dt.timedelta,
                opens: pl.DataFrame | None = None) -> pl.DataFrame:
    """Rows of ``a`` (one answer each, ``row``) with the earliest proof the page was online between
    its stamp + ``slack`` and its arrival − ``slack``: a later-stamped answer's arrival or a heartbeat."""
    lo, hi = pl.col("at") + slack, pl.col("received_at") - slack
    # the earliest arrival among the page's answers stamped after at + slack: a suffix minimum over stamps
    later = (a.sort("person_id", "lease", "at")
             .with_columns(pl.col("received_at").reverse().cum_min().reverse().over("person_id", "lease").alias("first_rx"))
             .select("person_id", "lease", pl.col("at").alias("key"), "first_rx"))
    q = a.with_columns((lo + dt.timedelta(microseconds=1)).alias("key")).sort("key")
    by_answer = (q.join_asof(later.sort("key"), on="key", by=["person_id", "lease"], strategy="forward",
                             check_sortedness=False)  # both sorted by key above
                 .filter(pl.col("first_rx") < hi)
                 .select("row", pl.col("first_rx").alias("evidence_at"), pl.lit("answer").alias("evidence")))
    found = [by_answer]
    if contacts is not None and contacts.height:
        j = a.join(contacts, on=["person_id", "lease"])
        inside = lambda c: (pl.col(c) > lo) & (pl.col(c) < hi)  # noqa: E731
        straddle = (pl.col("first_at") <= lo) & (pl.col("last_at") >= hi) & (
            (pl.col("received_at") - pl.col("at") - 2 * slack).dt.total_microseconds() > pl.col("gap_s") * 1e6)
        beat = (j.filter(inside("first_at") | inside("last_at") | straddle)
                .select("row", pl.when(inside("first_at")).then("first_at").otherwise(pl.max_horizontal("first_at", lo))
                        .alias("evidence_at"), pl.lit("heartbeat").alias("evidence")))
        found.append(beat)
    if opens is not None and opens.height:  # the page's own opening between stamp and arrival
        found.append(a.join(opens.rename({"at": "opened_at"}), on=["person_id", "lease"])
                     .filter((pl.col("opened_at") > lo) & (pl.col("opened_at") < hi))
                     .select("row", pl.col("opened_at").alias("evidence_at"), pl.lit("opened").alias("evidence")))
    return pl.concat(found).sort("evidence_at").group_by("row", maintain_order=True).first()


def _stops(stops: pl.DataFrame) -> pl.DataFrame:
    """``stops`` checked: every ``what`` a pupil's stop of :data:`STOP_NAMES` (a page's opening comes
    from ``opens``), else every bad row is named (row numbers from 1, as the frame holds them)."""
    s = _check(stops, "stops", STOPS)
    known = [k for k in STOP_NAMES if k != "open"]
    bad = s.with_row_index("row", offset=1).filter(pl.col("what").is_null() | ~pl.col("what").is_in(known))
    if bad.height:
        rows = "; ".join(f"第{r}行 / row {r}: {w!r}" for r, w in bad.select("row", "what").head(20).iter_rows())
        raise ParameterError(f"stops 的 what 须为 {'、'.join(known)} 之一 / stops' what must be one of "
                             f"{', '.join(known)} ({bad.height} bad): {rows}")
    return s


def late_answers(arrivals: pl.DataFrame, contacts: pl.DataFrame | None = None, stops: pl.DataFrame | None = None,
                 *, opens: pl.DataFrame | None = None, arrival_slack_s: float = 15.0,
                 stop_bound_s: float = 600.0) -> pl.DataFrame:
    """The answers each rule catches (``LATE_SCHEMA``: the answer, ``late_s`` its arrival minus its
    stamp, ``rule`` "contact" or "stop", ``evidence_at`` the heartbeat / later answer's arrival or
    the stop, ``evidence`` what it was).  An answer caught by both rules has a row for each."""
    if arrival_slack_s <= 0 or stop_bound_s <= 0:
        raise ParameterError("arrival_slack_s 与 stop_bound_s 须为正数 / arrival_slack_s and stop_bound_s must be positive")
    tz = arrivals.schema["at"].time_zone if "at" in arrivals.columns and isinstance(arrivals.schema["at"], pl.Datetime) else None
    a = _check(arrivals, "arrivals", ARRIVALS).drop_nulls(["at", "received_at"]).with_row_index("row")
    out = [pl.DataFrame(schema=LATE_SCHEMA)]
    slack = dt.timedelta(seconds=arrival_slack_s)
    late = pl.col("received_at") - pl.col("at")
    base = a.select("row", "person_id", "lease", "item_id", "at", "received_at",
                    (late.dt.total_microseconds() / 1e6).alias("late_s"))
    if a.height:
        c = _check(contacts, "contacts", CONTACTS) if contacts is not None else None
        o = _check(opens, "opens", OPENS) if opens is not None else None
        hit = _in_contact(a.filter(pl.col("lease") >= 1), c, slack, o)  # lease 0: no page known (before leases)
        out.append(base.join(hit, on="row").with_columns(pl.lit("contact").alias("rule")).select(list(LATE_SCHEMA)))
        # every stop holds for all the pupil's pages (``closes`` above any lease) but a page's opening,
        # which closes the earlier pages only (the page's own answers before it are rule 1's, with its slack)
        every = [] if stops is None else [_stops(stops).with_columns(closes=pl.lit(None, pl.Int64))]
        if o is not None:
            every.append(o.select("person_id", "at", pl.lit("open").alias("what"), pl.col("lease").alias("closes")))
        if sum(f.height for f in every):
            s = pl.concat(every).rename({"at": "stop_at"})
            bound = dt.timedelta(seconds=stop_bound_s)
            out.append(base.join(s, on="person_id")
                       .filter((pl.col("at") < pl.col("stop_at")) & (pl.col("received_at") > pl.col("stop_at") + bound)
                               & (pl.col("closes").is_null() | (pl.col("lease") < pl.col("closes"))))
                       .sort("stop_at").group_by("row", maintain_order=True).first()
                       .select("person_id", "item_id", "at", "received_at", "late_s", pl.lit("stop").alias("rule"),
                               pl.col("stop_at").alias("evidence_at"), pl.col("what").alias("evidence")))
    frame = pl.concat([f.cast(LATE_SCHEMA) for f in out]).sort("person_id", "rule", "at")
    if tz:
        frame = frame.with_columns(pl.col("at", "received_at", "evidence_at").dt.convert_time_zone(tz))
    return frame


# what showed the page online, in the flag's words (rule 1's ``evidence``)
WITNESS = {"answer": ("已收到该页面较晚的作答", "the page's later answer reached the server at"),
           "heartbeat": ("已收到该页面的心跳", "the page's heartbeat reached the server at"),
           "opened": ("该页面已打开", "the page was opened at")}


def _clock(t: dt.datetime) -> str:
    return t.strftime("%H:%M:%S")


def _span(seconds: float) -> tuple[str, str]:
    m, s = divmod(round(seconds), 60)
    return (f"{m} 分 {s} 秒", f"{m} min {s} s") if m else (f"{s} 秒", f"{s} s")


def late_flags(late: pl.DataFrame, *, stop_bound_s: float = 600.0, examples: int = 3) -> list[dict]:
    """One flag per pupil from :func:`late_answers`' rows (``FORENSIC_FLAG_SCHEMA`` fields, kind
    ``backdated``): serious when the in-contact rule caught an answer, else a warning; ``statistic``
    the longest lateness in seconds; ``detail`` ("中文 / English") the count and the first
    ``examples`` answers of each rule with clock times."""
    out = []
    bound_zh, bound_en = _span(stop_bound_s)
    for (pid,), rows in late.sort("person_id", "at").group_by("person_id", maintain_order=True):
        zh, en = [], []
        contact = rows.filter(pl.col("rule") == "contact")
        n_contact = contact.height
        if n_contact:
            ex = contact.head(examples).iter_rows(named=True)
            pairs = [(f"{r['item_id']} 标记于 {_clock(r['at'])}、{_clock(r['received_at'])} 到达（其间 "
                      f"{_clock(r['evidence_at'])} {WITNESS[r['evidence']][0]}）",
                      f"{r['item_id']} stamped {_clock(r['at'])}, arrived {_clock(r['received_at'])}, though "
                      f"{WITNESS[r['evidence']][1]} {_clock(r['evidence_at'])}") for r in ex]
            zh.append(f"{n_contact} 个作答在页面联网期间迟到：" + "；".join(p[0] for p in pairs))
            en.append(f"{n_contact} answer(s) arrived late while the page was online: " + "; ".join(p[1] for p in pairs))
        stop = rows.filter(pl.col("rule") == "stop")
        if stop.height:
            pairs = []
            for r in stop.head(examples).iter_rows(named=True):
                after_zh, after_en = _span((r["received_at"] - r["evidence_at"]).total_seconds())
                name_zh, name_en = STOP_NAMES[r["evidence"]]
                pairs.append((f"{r['item_id']} 标记于{name_zh} {_clock(r['evidence_at'])} 之前，{_clock(r['received_at'])} "
                              f"到达（晚 {after_zh}）",
                              f"{r['item_id']} stamped before the {name_en} at {_clock(r['evidence_at'])}, arrived "
                              f"{_clock(r['received_at'])} ({after_en} after it)"))
            zh.append(f"{stop.height} 个作答在暂停、终止、时间到或新页面打开之后超过 {bound_zh} 才到达："
                      + "；".join(p[0] for p in pairs))
            en.append(f"{stop.height} answer(s) arrived more than {bound_en} after the pause, termination, time-up or "
                      "newer page's opening they are stamped before: " + "; ".join(p[1] for p in pairs))
        out.append({"kind": "backdated", "person_id": pid, "other_id": None, "room": None,
                    "severity": "serious" if n_contact else "warning", "score": 1.0 if n_contact else 0.5,
                    "statistic": float(rows["late_s"].max()), "p_value": None,
                    "detail": "。".join(zh) + " / " + ". ".join(en)})
    return out


__all__ = ["ARRIVALS", "CONTACTS", "LATE_SCHEMA", "OPENS", "STOPS", "late_answers", "late_flags"]
