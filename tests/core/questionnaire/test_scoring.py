"""Scale scores, indicators, Cronbach's α, frequencies and scale groups against hand-worked examples."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from junheng.exceptions import ParameterError
from junheng.questionnaire import (
    item_frequencies,
    load_questionnaire,
    reliability,
    scale_groups,
    scale_scores,
)
from junheng.synth.questionnaire import student_questionnaire, synth_responses

ROWS = pl.DataFrame({
    "respondent_id": ["a", "b", "c", "d", "e"],
    "Q01": [1, 2, 1, None, 9],            # 9: a missing code (the frame was not validated)
    "Q02": [4, 2, 1, 9, 3],
    "Q03": [3, None, None, 2, 3],
    "Q04": [1, 4, None, 3, 2],            # reverse-coded: 5 − x
    "Q05": [10.0, 9.5, None, 99.0, 14.0],  # 99 h: out of range, no answer
    "Q06": [60.0, 61.0, 0.0, None, 300.0],
}, schema_overrides={c: pl.Int64 for c in ("Q01", "Q02", "Q03", "Q04")})


def test_scale_scores_by_hand(small_q):
    out = scale_scores(ROWS, small_q)
    assert out.columns == ["respondent_id", "interest", "sleep_ok", "homework_ok", "boarding"]
    # a: (4 + 3 + (5 − 1)) / 3; b: (2 + (5 − 4)) / 2; c: one valid answer < min_items 2;
    # d: 9 is no answer → (2 + (5 − 3)) / 2; e: (3 + 3 + (5 − 2)) / 3
    expected = [11 / 3, 1.5, None, 2.0, 3.0]
    got = out["interest"].to_list()
    assert got[2] is None
    np.testing.assert_allclose([g for g in got if g is not None], [e for e in expected if e is not None], rtol=1e-15)
    assert out["sleep_ok"].to_list() == [True, False, None, None, True]
    assert out["homework_ok"].to_list() == [True, False, True, None, False]
    assert out["boarding"].to_list() == [True, False, True, None, None]
    assert out.schema["interest"] == pl.Float64 and out.schema["boarding"] == pl.Boolean


def test_alpha_hand_worked_two_items(small_def):
    """Items x = (1, 2, 3) and y = (2, 1, 3): s²_x = s²_y = 1, totals (3, 3, 6) with s²_T = 3, so
    α = 2/(2 − 1) · (1 − 2/3) = 2/3. The second item is stored reverse-worded (5 − y)."""
    small_def["scales"] = [{"id": "s", "name": "s", "items": ["Q02", "Q03"], "reverse": ["Q03"]}]
    q = load_questionnaire(small_def)
    frame = pl.DataFrame({"respondent_id": ["1", "2", "3", "4"], "Q02": [1, 2, 3, 4], "Q03": [3, 4, 2, None]})
    rel = reliability(frame, q)
    assert rel.row(0) == ("s", "s", 2, 3, pytest.approx(2 / 3, rel=1e-14))


def test_alpha_equals_the_covariance_matrix_formula():
    """α = k/(k − 1) · (1 − tr C / ΣC) with C the items' covariance matrix (NumPy, complete cases)."""
    q = student_questionnaire()
    pupils = pl.DataFrame({"student_id": [f"S{i}" for i in range(3000)],
                           "theta": np.random.default_rng(5).normal(size=3000)})
    r = synth_responses(pupils, q, random_state=5)
    rel = {row["scale"]: row for row in reliability(r, q).iter_rows(named=True)}
    for s in q.scales:
        x = r.select(s.items).to_numpy().astype(float)
        for j, i in enumerate(s.items):
            if i in s.reverse:
                x[:, j] = 5 - x[:, j]
        x = x[~np.isnan(x).any(axis=1)]
        c = np.cov(x, rowvar=False, ddof=1)
        k = len(s.items)
        alpha = k / (k - 1) * (1 - np.trace(c) / c.sum())
        assert rel[s.id]["n"] == x.shape[0]
        assert rel[s.id]["alpha"] == pytest.approx(alpha, rel=1e-12)
        assert 0.6 < alpha < 0.9  # the synthetic scales hold together like real ones


def test_alpha_undefined_cases(small_def):
    small_def["scales"] = [{"id": "one", "name": "one", "items": ["Q02"]}]
    q = load_questionnaire(small_def)
    assert reliability(ROWS, q)["alpha"].to_list() == [None]


def test_frequencies_by_hand(small_q):
    frame = ROWS.with_columns(pl.Series("w", [1.0, 2.0, 3.0, 4.0, 5.0]))
    f = item_frequencies(frame, small_q, weight="w").filter(pl.col("item_id") == "Q01")
    # answered: code 1 (a, c: w 1 + 3), code 2 (b: w 2); no answer: d (null), e (9): w 4 + 5 of 15
    assert f.rows() == [("Q01", 1, "寄宿", 2, pytest.approx(4 / 6)), ("Q01", 2, "不寄宿", 1, pytest.approx(2 / 6)),
                        ("Q01", None, "未作答", 2, pytest.approx(9 / 15))]
    plain = item_frequencies(frame, small_q).filter(pl.col("item_id") == "Q02")
    assert plain["n"].to_list() == [1, 1, 1, 1, 1] and plain["code"].to_list() == [1, 2, 3, 4, None]
    assert plain["share"].to_list()[:4] == [0.25] * 4 and plain["share"][4] == pytest.approx(0.2)
    assert set(item_frequencies(frame, small_q)["item_id"]) == {"Q01", "Q02", "Q03", "Q04"}  # choice items only
    with pytest.raises(ParameterError, match="weight column not found"):
        item_frequencies(frame, small_q, weight="nope")


def test_scale_groups_boundaries(small_q):
    scores = pl.DataFrame({"respondent_id": list("abcdefg"), "interest": [1.0, 1.99, 2.0, 2.5, 3.0, 4.0, None]})
    g = scale_groups(scores, small_q)  # 1–4 in three equal parts: cuts 2 and 3, left-closed
    assert g.columns == ["respondent_id", "interest_group"]
    assert g["interest_group"].cast(pl.String).to_list() == ["低", "低", "中", "中", "高", "高", None]
    assert g.schema["interest_group"] == pl.Enum(["低", "中", "高"])
    g = scale_groups(scores, small_q, cuts={"interest": [2.5]}, labels=["不高", "高"])
    assert g["interest_group"].cast(pl.String).to_list() == ["不高", "不高", "不高", "高", "高", "高", None]
    with pytest.raises(ParameterError, match="increasing"):
        scale_groups(scores, small_q, cuts=[3, 2])


def test_scale_scores_needs_the_item_columns(small_q):
    with pytest.raises(ParameterError, match="lack item columns"):
        scale_scores(ROWS.drop("Q03"), small_q)
