"""Response scoring: keys, partial credit, missing codes kept apart, invalid codes reported."""

from __future__ import annotations

import polars as pl
import pytest

from junheng.assessment import (
    REPORTING,
    MissingTreatment,
    bank_from_json,
    channel_conflicts,
    expand_booklets,
    missing_summary,
    score_responses,
    to_wide,
)
from junheng.exceptions import InputError, ParameterError

BANK = bank_from_json({"schema": "junheng.itembank/1", "items": [
    {"item_id": "Q1", "subject": "数学", "format": "single_choice", "key": "B", "options": ["a", "b", "c", "d"]},
    {"item_id": "Q2", "subject": "数学", "format": "multiple_choice", "key": "AC", "max_score": 2,
     "options": ["a", "b", "c", "d"]},
    {"item_id": "Q3", "subject": "数学", "format": "constructed", "max_score": 2},
    {"item_id": "Q4", "subject": "数学", "format": "constructed", "max_score": 2,
     "score_map": {"20": 2, "21": 2, "10": 1, "70": 0, "79": 0}},
    {"item_id": "Q5", "subject": "数学", "format": "single_choice", "key": "D", "options": ["a", "b", "c", "d"]},
]})


def _resp(rows):
    return pl.DataFrame(rows, schema=["person_id", "item_id", "raw", "position"], orient="row")


def test_keys_partial_credit_and_codes():
    r = _resp([
        ("p1", "Q1", "b", 1), ("p1", "Q2", "ca", 2), ("p1", "Q3", "2", 3), ("p1", "Q4", "21", 4), ("p1", "Q5", "A", 5),
        ("p2", "Q1", "C", 1), ("p2", "Q2", "A", 2), ("p2", "Q3", "0", 3), ("p2", "Q4", "10", 4), ("p2", "Q5", "D", 5),
        ("p3", "Q1", "B", 1), ("p3", "Q2", "A,B", 2), ("p3", "Q3", "1", 3), ("p3", "Q4", "79", 4), ("p3", "Q5", "D", 5),
    ])
    s = score_responses(r, BANK).sort("person_id", "item_id")
    assert s["score"].to_list() == [1, 2, 2, 2, 0,  0, 1, 0, 1, 1,  1, 0, 1, 0, 1]
    assert set(s["status"].cast(pl.String)) == {"valid"}


def test_omitted_vs_not_reached_vs_not_administered():
    r = _resp([
        ("p1", "Q1", "", 1), ("p1", "Q2", "AC", 2), ("p1", "Q3", None, 3), ("p1", "Q4", "9", 4), ("p1", "Q5", "", 5),
        ("p2", "Q1", "B", 1), ("p2", "Q2", "N", 2), ("p2", "Q3", "", 3), ("p2", "Q4", "20", 4), ("p2", "Q5", "", 5),
    ])
    s = score_responses(r, BANK).sort("person_id", "item_id")
    assert s["status"].cast(pl.String).to_list() == [
        "omitted", "valid", "not_reached", "not_reached", "not_reached",
        "valid", "not_administered", "omitted", "valid", "not_reached"]
    # calibration default: omitted 0, not reached / not administered missing
    assert s["score"].to_list() == [0, 2, None, None, None, 1, None, 0, 2, None]
    s2 = score_responses(r, BANK, treatment=REPORTING).sort("person_id", "item_id")
    assert s2["score"].to_list() == [0, 2, 0, 0, 0, 1, None, 0, 2, 0]
    ms = missing_summary(s).filter(pl.col("item_id") == "Q5").row(0, named=True)
    assert ms["not_reached"] == 1.0 and ms["n"] == 2
    w = to_wide(s)
    assert w.columns == ["person_id", "Q1", "Q2", "Q3", "Q4", "Q5"] and w.row(1) == ("p2", 1, None, 0, 2, None)


def test_without_positions_blank_is_omitted():
    r = pl.DataFrame({"person_id": ["p1"], "item_id": ["Q5"], "raw": [""]})
    assert score_responses(r, BANK)["status"].cast(pl.String).to_list() == ["omitted"]


def test_invalid_codes_all_reported_with_rows():
    r = pl.DataFrame({"person_id": ["p1", "p1", "p2", "p3"], "item_id": ["Q1", "Q3", "Q1", "QX"],
                      "raw": ["E", "5", "B", "A"]})
    with pytest.raises(InputError) as exc:
        score_responses(r, BANK, file="resp.csv")
    assert [i.value for i in exc.value.issues] == ["QX"]  # unknown items first
    r = r.filter(pl.col("item_id") != "QX")
    with pytest.raises(InputError) as exc:
        score_responses(r, BANK, file="resp.csv")
    assert [(i.row, i.value) for i in exc.value.issues] == [(2, "E"), (3, "5")]
    assert "resp.csv" in exc.value.issues[0].message()
    s = score_responses(r, BANK, treatment=MissingTreatment(invalid=0))
    assert s["score"].to_list() == [0, 0, 1]


def test_two_answers_of_one_pupil_to_one_item_are_refused_not_picked():
    """A browser export and an OMR file merged: p1 has Q1 from both channels (B from the browser, C
    on paper).  Scoring both would let the wide frame keep whichever came last (to_wide scatters:
    the later row wins) — so every such row is refused, with its channel, and nothing is scored."""
    r = pl.DataFrame({"person_id": ["p1", "p1", "p2", "p1"], "item_id": ["Q1", "Q5", "Q1", "Q1"],
                      "raw": ["B", "D", "B", "C"], "channel": ["browser", "browser", "browser", "paper"]})
    with pytest.raises(InputError) as exc:
        score_responses(r, BANK, file="merged.csv")
    assert [(i.row, i.column, i.value) for i in exc.value.issues] == [
        (2, "person_id", "p1 Q1 (browser)"), (5, "person_id", "p1 Q1 (paper)")]
    assert "merged.csv" in exc.value.issues[0].message() and "decide" in exc.value.issues[0].rule_en
    # once a person kept one channel, the same file scores
    s = score_responses(r.filter(pl.col("channel") == "browser"), BANK)
    assert s.filter(pl.col("person_id") == "p1")["score"].to_list() == [1, 1]


def test_channel_conflicts_lists_pupils_with_two_channels_and_both_sources():
    answers = pl.DataFrame({
        "person_id": ["p1", "p1", "p2", "p3", "p3", "p1"],
        "subject": ["数学", "数学", "数学", "数学", "数学", "语文"],
        "channel": ["browser", "paper", "browser", "paper", "paper", "paper"],
        "source": ["场次 101", "scan.pdf:3", "场次 101", "a.png", "b.png", "scan.pdf:9"],
        "answered": [12, 30, 40, 30, 30, 20]})
    c = channel_conflicts(answers)
    # p2 one channel; p3 two sheets but one channel (the OMR reader reports that itself); p1's 语文 one channel
    assert c.select("person_id", "subject").rows() == [("p1", "数学")]
    row = c.row(0, named=True)
    assert row["channels"] == ["browser", "paper"] and row["answered"] == [12, 30]
    assert row["sources"] == "browser: 场次 101 (12)；paper: scan.pdf:3 (30)"
    assert channel_conflicts(answers.filter(pl.col("channel") == "paper")).height == 0
    with pytest.raises(ParameterError, match="channel"):
        channel_conflicts(answers.drop("channel"))


def test_treatment_parameters_checked():
    with pytest.raises(ParameterError, match="omitted"):
        MissingTreatment(omitted=1)


def test_expand_booklets_adds_unanswered_items():
    assignment = pl.DataFrame({"student_id": ["p1", "p2"], "booklet": ["B01", "B02"]})
    bi = pl.DataFrame({"booklet": ["B01", "B01", "B01", "B02", "B02"], "item_id": ["Q1", "Q3", "Q5", "Q2", "Q5"],
                       "position": [1, 2, 3, 1, 2]})
    resp = pl.DataFrame({"person_id": ["p1", "p2"], "item_id": ["Q3", "Q2"], "raw": ["1", "AC"]})
    s = score_responses(expand_booklets(resp, assignment, bi), BANK).sort("person_id", "position")
    assert s["status"].cast(pl.String).to_list() == ["omitted", "valid", "not_reached", "valid", "not_reached"]
    w = to_wide(s, ["Q1", "Q2", "Q3", "Q4", "Q5"])
    assert w.row(0) == ("p1", 0, None, 1, None, None)  # Q2 and Q4 not in p1's booklet


def test_encode_is_exact_with_nulls_and_given_categories():
    import numpy as np

    from junheng.assessment._codes import encode

    s = pl.Series(["b", None, "a", "b", "c"])
    codes, cats = encode(s)
    assert cats == ["a", "b", "c"] and codes.tolist() == [1, -1, 0, 1, 2]
    assert encode(s, ["c", "b"])[0].tolist() == [1, -1, -1, 1, 0]
    assert encode(pl.Series([30, 10, None]))[0].tolist() == [1, 0, -1]
    rng = np.random.default_rng(0)
    ids = pl.Series([f"G{i:018d}" for i in range(5000)]).gather(rng.integers(0, 5000, 20000))
    codes, cats = encode(ids)
    assert cats == sorted(set(ids.to_list())) and (np.array(cats)[codes] == ids.to_numpy()).all()
