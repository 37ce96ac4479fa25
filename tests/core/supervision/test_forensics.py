"""Response forensics against simulations with known truth: honest pupils drawn from a 3PL model
with distractor shares (the null — the false-positive rate must stay at about alpha), then
planted copiers, rapid guessers, pupils answering in step and wrong-to-right erasers, which must be
found; the Poisson-binomial tail against brute-force enumeration."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl
import pytest

from junheng.exceptions import ParameterError
from junheng.supervision.forensics import (
    ForensicsParameters,
    change_anomalies,
    changes_from_events,
    copying_indices,
    forensic_flags,
    neighbour_pairs,
    poisson_binomial_tail,
    timing_anomalies,
    timing_pairs,
)

J, ROWS, COLS = 40, 6, 8
OPTIONS = "ABCD"


def _bank(rng):
    a = rng.uniform(0.8, 2.0, J)
    b = rng.normal(0, 1, J)
    c = rng.uniform(0.1, 0.25, J)
    items = pl.DataFrame({"item_id": [f"i{j:02d}" for j in range(J)], "model": ["3pl"] * J, "a": a, "b": b, "c": c})
    key = rng.integers(0, 4, J)
    g = rng.dirichlet([2.0, 2.0, 2.0], J)  # shares of the three distractors among wrong answers
    return items, key, g


def _honest(rng, n_rooms, items, key, g, omit=0.02):
    theta = rng.normal(0, 1, n_rooms * ROWS * COLS)
    a, b, c = (items[x].to_numpy() for x in "abc")
    p = c + (1 - c) / (1 + np.exp(-a * (theta[:, None] - b)))
    correct = rng.random(p.shape) < p
    choice = np.empty(p.shape, dtype=np.int64)
    for j in range(J):
        wrong_opts = [k for k in range(4) if k != key[j]]
        choice[:, j] = np.where(correct[:, j], key[j], np.array(wrong_opts)[
            (rng.random(len(theta))[:, None] > np.cumsum(g[j])[None, :]).sum(axis=1).clip(0, 2)])
    raw = np.array(list(OPTIONS))[choice].astype(object)
    raw[rng.random(raw.shape) < omit] = ""
    persons = np.array([f"p{i:05d}" for i in range(len(theta))])
    seat = np.arange(len(theta)) % (ROWS * COLS)
    seating = pl.DataFrame({"person_id": persons, "room": (np.arange(len(theta)) // (ROWS * COLS)).astype(str),
                            "row": seat // COLS + 1, "col": seat % COLS + 1})
    return persons, theta, raw, seating


def _long(persons, raw):
    return pl.DataFrame({"person_id": np.repeat(persons, J), "item_id": np.tile([f"i{j:02d}" for j in range(J)], len(persons)),
                         "raw": raw.ravel().astype(str)})


def _keyframe(key):
    return pl.DataFrame({"item_id": [f"i{j:02d}" for j in range(J)], "key": [OPTIONS[k] for k in key]})


def test_poisson_binomial_tail_equals_enumeration():
    rng = np.random.default_rng(1)
    p = rng.uniform(0, 1, (3, 7))
    for r in range(3):
        for k in range(9):
            brute = sum(np.prod([p[r, j] if s[j] else 1 - p[r, j] for j in range(7)])
                        for s in itertools.product((0, 1), repeat=7) if sum(s) >= k)
            assert poisson_binomial_tail(p[r:r + 1], np.array([k]))[0] == pytest.approx(brute, abs=1e-12)


def test_neighbours_are_side_and_corner_seats():
    s = pl.DataFrame({"person_id": ["a", "b", "c", "d"], "room": "1", "row": [1, 1, 2, 3], "col": [1, 2, 2, 3]})
    pairs = neighbour_pairs(s)
    assert set(zip(pairs["person_id"], pairs["other_id"])) == {("a", "b"), ("b", "a"), ("a", "c"), ("c", "a"),
                                                               ("b", "c"), ("c", "b"), ("c", "d"), ("d", "c")}
    side = neighbour_pairs(s, diagonal=False)
    assert set(zip(side["person_id"], side["other_id"])) == {("a", "b"), ("b", "a"), ("b", "c"), ("c", "b")}
    with pytest.raises(ParameterError, match="lacks columns"):
        neighbour_pairs(s.drop("row"))


def test_copying_null_rate_and_power():
    rng = np.random.default_rng(2026)
    items, key, g = _bank(rng)
    persons, theta, raw, seating = _honest(rng, 25, items, key, g)  # 1200 honest pupils
    honest = copying_indices(_long(persons, raw), _keyframe(key), items, seating)
    n_tests = honest.height
    assert n_tests == 25 * 304  # 152 neighbour pairs (sides and corners) in a 6 × 8 room, both orders
    # the null: ω is about N(0, 1) and its exact tail is conservative at alpha = 0.001 and 0.01
    assert abs(honest["omega"].mean()) < 0.1 and 0.85 < honest["omega"].std() < 1.15
    for alpha in (0.001, 0.01):
        assert (honest["p_omega"] < alpha).mean() <= 1.5 * alpha
        assert (honest["p_ii"] < alpha).mean() <= 1.5 * alpha
    # planted copiers: 40 pupils copy 75 % of the items from their right-hand neighbour
    copied = raw.copy()
    copiers = [r * ROWS * COLS + s for r in range(20) for s in (9, 27)]
    for cpr in copiers:
        take = rng.random(J) < 0.75
        copied[cpr, take] = raw[cpr + 1, take]
    res = copying_indices(_long(persons, copied), _keyframe(key), items, seating)
    truth = pl.DataFrame({"person_id": persons[copiers], "other_id": persons[np.array(copiers) + 1]})
    hit = res.join(truth, on=["person_id", "other_id"])
    assert hit.height == len(copiers)
    assert (hit["p_omega"] < 0.001).mean() >= 0.8


def _events(rng, persons, raw, speed, step=None):
    beta = rng.normal(3.5, 0.4, J)  # e^3.5 ≈ 33 s an item
    t = np.exp(beta[None, :] - speed[:, None] + rng.normal(0, 0.4, (len(persons), J)))
    if step is not None:
        for a, b in step:
            t[b] = t[a] * np.exp(rng.normal(0, 0.05, J))
    at = np.cumsum(t, axis=1)
    ev = pl.DataFrame({"person_id": np.repeat(persons, J), "item_id": np.tile([f"i{j:02d}" for j in range(J)], len(persons)),
                       "raw": raw.ravel().astype(str), "at": at.ravel()})
    starts = pl.DataFrame({"person_id": persons, "started_at": np.zeros(len(persons))})
    return ev, starts


def test_timing_null_rate_and_planted_anomalies():
    rng = np.random.default_rng(7)
    items, key, g = _bank(rng)
    persons, theta, raw, seating = _honest(rng, 10, items, key, g)
    speed = rng.normal(0, 0.3, len(persons))
    ev, starts = _events(rng, persons, raw, speed)
    ta = timing_anomalies(ev, starts=starts)
    assert (ta["p_lt"] < 0.01).mean() <= 0.02 and (ta["rapid_share"] >= 0.25).sum() == 0
    tp = timing_pairs(ev, seating, starts=starts)
    assert tp.height > 1500 and (tp["p_r"] < 0.01).mean() <= 0.02
    # planted: 10 rapid guessers (every other item in 1–3 s), 10 pairs answering in step
    fast = np.arange(5, len(persons), 48)[:10]
    pairs = [(r * 48 + 20, r * 48 + 21) for r in range(10)]
    ev2, _ = _events(np.random.default_rng(7), persons, raw, speed, step=pairs)
    at = ev2["at"].to_numpy().reshape(len(persons), J).copy()
    for f in fast:
        t = np.diff(np.concatenate([[0.0], at[f]]))
        t[::2] = rng.uniform(1, 3, (J + 1) // 2)
        at[f] = np.cumsum(t)
    ev2 = ev2.with_columns(pl.Series("at", at.ravel()))
    flags = forensic_flags(events=ev2, starts=starts, seating=seating)
    rapid = set(flags.filter(pl.col("kind") == "rapid")["person_id"])
    assert rapid == set(persons[fast])
    same = set(zip(*flags.filter(pl.col("kind") == "same_timing").select("person_id", "other_id")))
    assert {(persons[a], persons[b]) for a, b in pairs} <= same and len(same) <= len(pairs) + 3


def test_wrong_to_right_changes():
    rng = np.random.default_rng(11)
    items, key, g = _bank(rng)
    persons, theta, raw, seating = _honest(rng, 10, items, key, g, omit=0.0)
    a, b, c = (items[x].to_numpy() for x in "abc")
    p = c + (1 - c) / (1 + np.exp(-a * (theta[:, None] - b)))
    rows = []
    # honest changes: 10 % of answers are re-drawn from the pupil's own model, conditioned on differing
    first = raw.copy()
    for i, j in zip(*np.nonzero(rng.random(raw.shape) < 0.1), strict=True):
        old = OPTIONS.index(raw[i, j])
        probs = np.array([p[i, j] if k == key[j] else (1 - p[i, j]) * g[j][[x for x in range(4) if x != key[j]].index(k)]
                          for k in range(4)])
        probs[old] = 0
        new = rng.choice(4, p=probs / probs.sum())
        first[i, j] = raw[i, j]
        raw[i, j] = OPTIONS[new]
        rows.append((persons[i], f"i{j:02d}", first[i, j], OPTIONS[new]))
    # planted: 10 pupils whose wrong answers were turned right after the test (8 items each)
    erasers = np.arange(3, len(persons), 48)[:10]
    for i in erasers:
        wrong = [j for j in range(J) if raw[i, j] != OPTIONS[key[j]]][:8]
        for j in wrong:
            rows.append((persons[i], f"i{j:02d}", raw[i, j], OPTIONS[key[j]]))
            raw[i, j] = OPTIONS[key[j]]
    changes = pl.DataFrame(rows, schema=["person_id", "item_id", "from_raw", "to_raw"], orient="row")
    res = change_anomalies(changes, _long(persons, raw), _keyframe(key), items)
    honest = res.filter(~pl.col("person_id").is_in(persons[erasers].tolist()))
    assert honest.height > 300 and (honest["p_wtr"] < 0.01).mean() <= 0.02
    flags = forensic_flags(responses=_long(persons, raw), key=_keyframe(key), items=items, changes=changes)
    flagged = set(flags.filter(pl.col("kind") == "answer_changes")["person_id"])
    assert len(flagged & set(persons[erasers])) >= 8 and len(flagged - set(persons[erasers])) <= 1


def test_changes_from_events_and_parameters():
    ev = pl.DataFrame({"person_id": ["a"] * 5, "item_id": ["i1", "i1", "i1", "i2", "i1"], "raw": ["A", "A", "", "B", "C"],
                       "at": [1.0, 2.0, 3.0, 4.0, 5.0]})
    assert changes_from_events(ev).rows() == [("a", "i1", "A", "C")]
    with pytest.raises(ParameterError, match="alpha"):
        ForensicsParameters(alpha=1.5)


def test_every_statistic_at_once_on_honest_rooms_gives_few_false_flags():
    """forensic_flags at its default levels (alpha = 0.001, serious below 1e-6) on 8 honest rooms
    with times and honest changes: the false flags a reviewer would see.  Expected about 0.3 per
    room from the null rates (docs/methods/response-forensics.md); at most one per room, none
    serious, no rapid flag."""
    rng = np.random.default_rng(31)
    items, key, g = _bank(rng)
    persons, theta, raw, seating = _honest(rng, 8, items, key, g)
    ev, starts = _events(rng, persons, raw, rng.normal(0, 0.3, len(persons)))
    a, b, c = (items[x].to_numpy() for x in "abc")
    p = c + (1 - c) / (1 + np.exp(-a * (theta[:, None] - b)))
    rows = []  # honest changes: 10 % of answers re-drawn from the pupil's own model, conditioned on differing
    for i, j in zip(*np.nonzero((rng.random(raw.shape) < 0.1) & (raw != "")), strict=True):
        others = [x for x in range(4) if x != key[j]]
        probs = np.array([p[i, j] if k == key[j] else (1 - p[i, j]) * g[j][others.index(k)] for k in range(4)])
        probs[OPTIONS.index(raw[i, j])] = 0
        new = OPTIONS[rng.choice(4, p=probs / probs.sum())]
        rows.append((persons[i], f"i{j:02d}", raw[i, j], new))
        raw[i, j] = new
    changes = pl.DataFrame(rows, schema=["person_id", "item_id", "from_raw", "to_raw"], orient="row")
    flags = forensic_flags(responses=_long(persons, raw), key=_keyframe(key), items=items, seating=seating,
                           events=ev, starts=starts, changes=changes)
    assert flags.height <= 8, flags.select("kind", "person_id", "p_value")
    assert (flags["severity"] == "serious").sum() == 0 and (flags["kind"] == "rapid").sum() == 0


def test_start_times_on_another_clock_than_the_answers_are_refused():
    """Answer times as date-times and start times as seconds (or the reverse) were subtracted as
    numbers: the first item took 1.78 × 10⁹ s. Now refused, naming both columns."""
    from datetime import datetime

    from junheng.supervision.forensics import item_times

    events = pl.DataFrame({"person_id": ["p1", "p1"], "item_id": ["i1", "i2"],
                           "at": [datetime(2026, 6, 1, 9, 0, 30), datetime(2026, 6, 1, 9, 1, 0)]})
    seconds = pl.DataFrame({"person_id": ["p1"], "started_at": [0.0]})
    with pytest.raises(ParameterError, match="started_at and at are on different clocks"):
        item_times(events, seconds)
    same = pl.DataFrame({"person_id": ["p1"], "started_at": [datetime(2026, 6, 1, 9, 0, 0)]})
    assert sorted(item_times(events, same)["seconds"].to_list()) == [30.0, 30.0]


def test_the_serious_level_must_not_exceed_alpha():
    """serious_p above alpha made every flag serious — one confirmation then voids the pupils' data —
    and turned the score's scale upside down (0 at alpha, 1 at serious_p). Refused."""
    with pytest.raises(ParameterError, match="serious_p"):
        ForensicsParameters(alpha=0.001, serious_p=0.01)
    assert ForensicsParameters(alpha=0.01, serious_p=0.01).serious_p == 0.01
