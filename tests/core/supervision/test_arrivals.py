"""Backdated answers (junheng.supervision.arrivals): hand-worked pages for each rule and its edges,
then the simulated null — honest pages that lose the network (junheng.synth.delivery) are never
caught by the in-contact rule — and crafted answers, which are."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from junheng.exceptions import ParameterError
from junheng.supervision.arrivals import late_answers, late_flags
from junheng.supervision.forensics import ForensicsParameters, forensic_flags
from junheng.synth import backdate, honest_delivery

T = dt.datetime(2026, 6, 1, 2, 0, tzinfo=dt.UTC)  # 10:00 in Beijing
UTC = pl.Datetime("us", "UTC")


def at(minutes: float) -> dt.datetime:
    return T + dt.timedelta(minutes=minutes)


def answers(*rows) -> pl.DataFrame:
    """(person, lease, item, stamp minute, arrival minute)."""
    return pl.DataFrame([(p, lease, i, at(s), at(r)) for p, lease, i, s, r in rows],
                        schema={"person_id": pl.String, "lease": pl.Int64, "item_id": pl.String, "at": UTC,
                                "received_at": UTC}, orient="row")


def contacts(*rows, gap_s: float = 25.0) -> pl.DataFrame:
    return pl.DataFrame([(p, lease, at(a), at(b), gap_s) for p, lease, a, b in rows],
                        schema={"person_id": pl.String, "lease": pl.Int64, "first_at": UTC, "last_at": UTC,
                                "gap_s": pl.Float64}, orient="row")


def stops(*rows) -> pl.DataFrame:
    return pl.DataFrame([(p, at(m), w) for p, m, w in rows], schema={"person_id": pl.String, "at": UTC, "what": pl.String},
                        orient="row")


def test_a_stop_of_no_known_kind_is_refused_naming_every_bad_row():
    """The core checks a stop's ``what`` (it was a KeyError in late_flags for any caller but the CLI)."""
    s = stops(("p", 5, "pause"), ("p", 6, "Pause"), ("p", 7, None), ("p", 8, "open"))
    with pytest.raises(ParameterError) as e:
        late_answers(answers(("p", 1, "I1", 4, 30)), stops=s)
    assert "row 2: 'Pause'" in str(e.value) and "row 3: None" in str(e.value) and "row 4: 'open'" in str(e.value)
    assert "row 1" not in str(e.value) and "(3 bad)" in str(e.value)


def test_a_later_stamped_answer_of_the_same_page_arriving_first_proves_contact():
    late = late_answers(answers(("p", 1, "I1", 0, 10), ("p", 1, "I2", 5, 5.02)))
    assert late.select("item_id", "rule", "evidence").rows() == [("I1", "contact", "answer")]
    assert late["evidence_at"][0] == at(5.02) and late["late_s"][0] == pytest.approx(600)


@pytest.mark.parametrize("case, rows", [
    # the later answer came from another page (the pupil moved to another computer): no proof
    ("another page", [("p", 1, "I1", 0, 10), ("p", 2, "I2", 5, 5.02)]),
    # stamped within the slack (15 s) of the late one: a text box's debounce can invert them
    ("stamps within the slack", [("p", 1, "I1", 0, 10), ("p", 1, "I2", 0.2, 0.21)]),
    # arrived within the slack before it: the same drain after an outage
    ("arrivals within the slack", [("p", 1, "I1", 0, 10), ("p", 1, "I2", 5, 9.9)]),
    # an outage: everything queued in it arrives together, in order
    ("an honest outage", [("p", 1, "I1", 0, 10), ("p", 1, "I2", 5, 10.001), ("p", 1, "I3", 11, 11.001)]),
    # another pupil's answer is no evidence about this page
    ("another pupil", [("p", 1, "I1", 0, 10), ("q", 1, "I2", 5, 5.02)]),
    # no page known (lease 0, before leases): two pages may share it
    ("no page", [("p", 0, "I1", 0, 10), ("p", 0, "I2", 5, 5.02)]),
])
def test_no_proof_of_contact(case, rows):
    assert late_answers(answers(*rows)).height == 0, case


def test_heartbeats_between_stamp_and_arrival_prove_contact():
    a = answers(("p", 1, "I1", 0, 10))
    hit = late_answers(a, contacts(("p", 1, 2, 3)))
    assert hit.select("rule", "evidence").rows() == [("contact", "heartbeat")] and hit["evidence_at"][0] == at(2)
    # a span ending within the slack after the stamp, or starting within the slack before the arrival: none
    assert late_answers(a, contacts(("p", 1, -5, 0.2), ("p", 1, 9.8, 12))).height == 0
    # a span covering the whole wait (heartbeats at most 25 s apart): contact at the stamp + the slack
    cover = late_answers(a, contacts(("p", 1, -1, 11)))
    assert cover["evidence_at"][0] == at(0.25)
    # … but not when the wait is within the span's own gap: the heartbeats may fall outside it
    short = answers(("p", 1, "I1", 0, 1))  # 60 s: 30 s between stamp + slack and arrival − slack
    assert late_answers(short, contacts(("p", 1, -1, 11), gap_s=60)).height == 0
    assert late_answers(short, contacts(("p", 1, -1, 11), gap_s=25)).height == 1
    # heartbeats of another page of the attempt: no proof
    assert late_answers(a, contacts(("p", 2, 2, 3))).height == 0


def test_an_answer_stamped_before_a_stop_arriving_after_it_by_more_than_the_bound():
    s = stops(("p", 5, "pause"), ("p", 60, "time_up"))
    assert late_answers(answers(("p", 1, "I1", 4, 9.99)), stops=s, stop_bound_s=300).height == 0
    hit = late_answers(answers(("p", 1, "I1", 4, 10.01)), stops=s, stop_bound_s=300)
    assert hit.select("rule", "evidence").rows() == [("stop", "pause")] and hit["evidence_at"][0] == at(5)
    # stamped after the pause (its resume let it in): no stop before it
    assert late_answers(answers(("p", 1, "I1", 6, 30)), stops=s, stop_bound_s=300).height == 0
    # time-up: the first stop after the stamp is named
    hit = late_answers(answers(("p", 1, "I1", 59, 80)), stops=s, stop_bound_s=600)
    assert hit.select("evidence").rows() == [("time_up",)]
    # another pupil's stop does not apply
    assert late_answers(answers(("q", 1, "I1", 4, 30)), stops=s, stop_bound_s=300).height == 0


def test_the_flag_gives_clock_times_in_the_frames_zone_and_is_serious_only_in_contact():
    a = answers(("p", 1, "I1", 0, 10), ("p", 1, "I2", 5, 5.02), ("q", 1, "I1", 59, 80))
    a = a.with_columns(pl.col("at", "received_at").dt.convert_time_zone("Asia/Shanghai"))
    late = late_answers(a, stops=stops(("q", 60, "time_up")), stop_bound_s=600)
    flags = {f["person_id"]: f for f in late_flags(late, stop_bound_s=600)}
    assert flags["p"]["severity"] == "serious" and flags["q"]["severity"] == "warning"
    zh, sep, en = flags["p"]["detail"].partition(" / ")  # the reviewer's page shows one language of two
    assert "I1 标记于 10:00:00、10:10:00 到达（其间 10:05:01 已收到该页面较晚的作答）" in zh and "stamped" not in zh
    assert "I1 stamped 10:00:00, arrived 10:10:00" in en and " / " not in en
    assert "stamped before the time-up at 11:00:00, arrived 11:20:00 (20 min 0 s after it)" in flags["q"]["detail"]
    assert "超过 10 分 0 秒才到达" in flags["q"]["detail"].replace(" 才", "才")
    assert flags["q"]["statistic"] == pytest.approx(21 * 60)


def test_forensic_flags_take_the_arrivals_and_their_parameters():
    a = answers(("p", 1, "I1", 0, 10), ("p", 1, "I2", 5, 5.02))
    flags = forensic_flags(arrivals=a)
    assert flags.select("kind", "person_id", "severity").rows() == [("backdated", "p", "serious")]
    # a slack wider than the wait: no proof
    assert forensic_flags(arrivals=a, params=ForensicsParameters(arrival_slack_s=400)).height == 0
    with pytest.raises(ParameterError):
        late_answers(a.drop("lease"))
    with pytest.raises(ParameterError):
        ForensicsParameters(stop_bound_s=0)


def test_honest_pages_losing_the_network_are_never_caught_in_contact_and_crafted_ones_are():
    frames = honest_delivery(sessions=12, pupils=40, random_state=11)
    late = late_answers(**frames, stop_bound_s=600)
    assert late.filter(pl.col("rule") == "contact").height == 0
    # the null is not empty: honest outages make answers late, and across a stop some by more than the bound
    lateness = (frames["arrivals"]["received_at"] - frames["arrivals"]["at"]).dt.total_seconds()
    assert (lateness > 120).sum() > 20
    crafted, who = backdate(frames, back_s=300, random_state=3)
    caught = late_answers(**crafted, stop_bound_s=600).filter((pl.col("item_id") == "X") & (pl.col("rule") == "contact"))
    assert caught["person_id"].n_unique() >= 0.8 * len(who)
    after, who = backdate(frames, back_s=10, after_end_s=900, random_state=3)
    caught = late_answers(**after, stop_bound_s=600).filter((pl.col("item_id") == "X") & (pl.col("rule") == "stop"))
    assert caught["person_id"].n_unique() == len(who)


def opens(*rows) -> pl.DataFrame:
    """(person, lease, minute the page opened)."""
    return pl.DataFrame([(p, lease, at(m)) for p, lease, m in rows],
                        schema={"person_id": pl.String, "lease": pl.Int64, "at": UTC}, orient="row")


def test_an_answer_stamped_before_its_own_page_opened_is_caught_in_contact():
    """(Clock times in UTC here.) Page 2 opened at 10:20 and never sent a heartbeat or another answer (a crafted client); at
    10:40 it sends I3 stamped 10:05.  No page gives an answer before it is loaded: the opening is
    the proof of contact.  An honest late answer of the page — stamped after it opened, delayed by
    an outage — is not caught, nor one within the slack of the opening (the clock correction)."""
    o = opens(("p", 1, 0), ("p", 2, 20))
    crafted = answers(("p", 2, "I3", 5, 40))
    assert late_answers(crafted).height == 0  # without the openings nothing catches it
    hit = late_answers(crafted, opens=o)  # (a page's opening is a stop for the earlier pages only: next test)
    assert hit.select("rule", "evidence").rows() == [("contact", "opened")] and hit["evidence_at"][0] == at(20)
    flag = late_flags(hit)[0]
    assert flag["severity"] == "serious" and "the page was opened at 02:20:00" in flag["detail"]
    assert "（其间 02:20:00 该页面已打开）" in flag["detail"]
    # late by an outage; stamped 10 s before the opening (within the slack of the page's clock correction)
    honest = answers(("p", 2, "I3", 21, 40), ("p", 2, "I4", 20 - 10 / 60, 40))
    assert late_answers(honest, opens=o).height == 0
    # another page's opening is no proof of contact for this page (a computer swap)
    assert late_answers(answers(("p", 1, "I3", 5, 40)), opens=o).filter(pl.col("rule") == "contact").height == 0


@pytest.mark.parametrize("lease", [1, 0])
def test_a_newer_pages_opening_is_a_stop_for_answers_stamped_before_it(lease):
    """The pupil reloaded at 10:20 (page 2) and answers on page 2; at 10:45 a request sends I3
    under page 1 (or lease 0, no page), stamped 10:19:50 — before page 2 closed page 1, so the
    server takes it.  No heartbeat or answer of page 1 lies between: only the opening of page 2,
    25 minutes before the arrival, catches it (a warning, as an outage that long could).  A
    reload's queue sent at once, or a swapped computer back online within the bound, is not."""
    o = opens(("p", 1, 0), ("p", 2, 20))
    crafted = answers(("p", lease, "I3", 20 - 10 / 60, 45), ("p", 2, "I4", 21, 21.01))
    assert late_answers(crafted, stops=stops(("p", 60, "time_up"))).height == 0  # before: no rule
    hit = late_answers(crafted, stops=stops(("p", 60, "time_up")), opens=o)
    assert hit.select("item_id", "rule", "evidence").rows() == [("I3", "stop", "open")]
    assert hit["evidence_at"][0] == at(20)
    flag = late_flags(hit)[0]
    assert flag["severity"] == "warning" and "新页面打开 02:20:00 之前" in flag["detail"]
    assert "stamped before the opening of a newer page at 02:20:00" in flag["detail"]
    assert late_answers(answers(("p", 1, "I3", 19, 20.05)), opens=o).height == 0  # a reload's queue, at once
    assert late_answers(answers(("p", 1, "I5", 15, 29)), opens=o).height == 0  # a swapped computer, back in 9 min


def test_forensic_flags_pass_the_page_openings_on():
    flags = forensic_flags(arrivals=answers(("p", 2, "I3", 5, 40)), opens=opens(("p", 2, 20)))
    assert flags.select("kind", "person_id", "severity").rows() == [("backdated", "p", "serious")]
    with pytest.raises(ParameterError):
        late_answers(answers(("p", 2, "I3", 5, 40)), opens=opens(("p", 2, 20)).drop("lease"))


def test_the_simulated_heartbeat_is_recorded_as_coarsely_as_the_platform_records_it():
    """Hand-worked, 10 s poll (gap 25 s, step 12.5 s): heartbeats at 0, 10, 20, 30, 40 s are one span
    whose recorded end moves at 20 (older than 12.5 s) and at 40, not at 10 or 30. With the page
    silent from 30 s to 48 s (18 s, under the gap) the recorded end is still 20 s: 28 s before 48,
    over the gap — a new span, where exact ends (the old simulation) kept one span 0–48 s."""
    from junheng.synth.delivery import PageModel, _spans

    m = PageModel()
    assert (m.gap_s, m.step_share * m.gap_s) == (25.0, 12.5)
    assert _spans(np.array([0.0, 10, 20, 30, 40]), 25.0, 12.5) == [(0.0, 40.0)]
    assert _spans(np.array([0.0, 10, 20, 30, 48]), 25.0, 12.5) == [(0.0, 20.0), (48.0, 48.0)]
    assert _spans(np.array([0.0, 10, 20, 30, 45]), 25.0, 12.5) == [(0.0, 45.0)]  # exactly the gap: continued
    assert _spans(np.array([]), 25.0, 12.5) == []
    # honest_delivery's contact spans are these: no span ends more than a step before a heartbeat
    frames = honest_delivery(sessions=2, pupils=5, random_state=4)
    c = frames["contacts"]
    assert (c["gap_s"] == 25.0).all() and (c["last_at"] >= c["first_at"]).all()


def test_the_spans_of_many_pages_at_once_are_each_pages_own():
    """The simulation records every page's spans in one array pass (``_spans_of_pages``): the hand-worked
    pages above, an empty one, unsorted heartbeats and a page of dense heartbeats (every 2.5 s: the
    record moves only at the first past 12.5 s, so at 15 and 30, not at each) give, page by page and
    in order, the spans worked out for each alone."""
    from junheng.synth.delivery import _spans_of_pages

    pages = [np.array([0.0, 10, 20, 30, 40]), np.array([]), np.array([48.0, 0, 20, 10, 30]),
             np.arange(0, 33, 2.5), np.array([0.0, 10, 20, 30, 45])]
    of, first, last = _spans_of_pages(pages, 25.0, 12.5)
    assert list(zip(of.tolist(), first.tolist(), last.tolist(), strict=True)) == [
        (0, 0.0, 40.0), (2, 0.0, 20.0), (2, 48.0, 48.0), (3, 0.0, 30.0), (4, 0.0, 45.0)]
    # a step longer than the gap: the end never moves (20 is within the step of 0), and 40, more than
    # the gap after the recorded end 0, starts a span, as 70 does after 40
    of, first, last = _spans_of_pages([np.array([0.0, 20, 40, 70])], 25.0, 30.0)
    assert list(zip(first.tolist(), last.tolist(), strict=True)) == [(0.0, 0.0), (40.0, 40.0), (70.0, 70.0)]
