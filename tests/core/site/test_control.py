"""The pupil's window from the proctor's events, against hand-worked timelines."""

from __future__ import annotations

import datetime as dt

from junheng.site import pupil_window

T = dt.datetime(2026, 5, 20, 9, 0, tzinfo=dt.UTC)


def m(minutes: float) -> dt.datetime:
    return T + dt.timedelta(minutes=minutes)


def test_the_worked_example_of_the_docstring():
    """09:00–10:00; started 09:05 (+5); pupil paused 09:20–09:30, room 09:25–09:35 (union 15);
    15 extra minutes: 10:00 + 5 + 15 + 15 = 10:35."""
    events = [(m(5), "start", "", None), (m(20), "pause", "p1", None), (m(30), "resume", "p1", None),
              (m(25), "pause", "", None), (m(35), "resume", "", None), (m(1), "extend", "p1", 15),
              (m(2), "checkin", "p1", None)]
    w = pupil_window(events, student_id="p1", starts_at=T, ends_at=m(60), now=m(50))
    assert w.end == m(95) and w.delay == dt.timedelta(minutes=5) and w.extra_minutes == 15
    assert w.checked_in and w.state == ""
    assert w.stopped_at(m(22)) == "paused" and w.stopped_at(m(34)) == "paused" and w.stopped_at(m(35)) is None
    other = pupil_window(events, student_id="p2", starts_at=T, ends_at=m(60), now=m(50))
    assert other.end == m(60 + 5 + 10) and not other.checked_in  # only the room's pause and delay


def test_an_open_pause_stops_the_clock_until_now():
    events = [(m(10), "pause", "p1", None)]
    w = pupil_window(events, student_id="p1", starts_at=T, ends_at=m(60), now=m(40))
    assert w.state == "paused" and w.end == m(90) and w.stopped_at(m(39)) == "paused"


def test_terminate_then_reactivate_and_early_start_and_stops_after_time_up():
    events = [(m(-3), "start", "", None), (m(10), "terminate", "p1", None), (m(12), "reactivate", "p1", None),
              (m(70), "pause", "", None), (m(80), "resume", "", None), (m(11), "resume", "p1", None)]
    w = pupil_window(events, student_id="p1", starts_at=T, ends_at=m(60), now=m(90))
    # an early start moves nothing; the terminated 2 minutes count; a pause after time-up (62) does not;
    # a resume without a pause is nothing
    assert w.end == m(62) and w.state == "" and w.stopped_at(m(11)) == "terminated"
    now_terminated = pupil_window(events[:2], student_id="p1", starts_at=T, ends_at=m(60), now=m(20))
    assert now_terminated.state == "terminated" and now_terminated.stopped_at(m(19)) == "terminated"


def test_no_events_is_the_scheduled_window():
    w = pupil_window([], student_id="p1", starts_at=T, ends_at=m(60), now=m(1))
    assert w.end == m(60) and w.stops == [] and w.state == "" and w.stopped_at(m(30)) is None
