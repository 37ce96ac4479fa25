"""Exact quantisation (四舍五入, float32 safety, time formats) and property tests of the kernel."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from junheng.fitness.items import ITEMS
from junheng.fitness.items import tested_items as items_of
from junheng.fitness.kernel import bmi_tenths, score_arrays
from junheng.fitness.quantize import to_units


def test_text_rounds_half_away_from_zero():
    s = pl.Series("x", ["8.15", "8.25", "-3.25", "-3.35", "１２．３", " 8.1 ", "abc", None])
    assert to_units(s, 10).to_list() == [82, 83, -33, -34, 123, 81, None, None]


def test_float32_values_land_on_the_threshold_they_mean():
    # 8.1 s is 8.1000004 in float32 and 8.0999999999999996 in float64: both must be 81 tenths
    for dtype in (pl.Float32, pl.Float64):
        s = pl.Series("x", [8.1, 7.8, 10.2, 16.3, -2.2], dtype=dtype)
        assert to_units(s, 10).to_list() == [81, 78, 102, 163, -22]
    grades = np.full(1, 7)
    out = score_arrays(grades, np.full(1, 2), {"run_50m": to_units(pl.Series("x", [8.1], dtype=pl.Float32), 10)
                                              .to_numpy().astype(np.int32)})
    assert out["run_50m_score"][0] == 100  # grade 7 girls: 100 points at ≤ 8.1 s


def test_float32_kernel_would_misscore_but_ours_does_not():
    # the naive float32 comparison puts 8.1 on the wrong side of 8.1
    assert not (np.float32(8.1) <= np.float64(8.1))


def test_time_formats():
    s = pl.Series("t", ["3′45″", "3'45\"", "3’45”", "3.45", "225", "3'5\"", "3.5", "2'60\"", "1′40″"])
    assert to_units(s, 1, time=True).to_list() == [225, 225, 225, 225, 225, None, None, None, 100]


@settings(max_examples=200, deadline=None)
@given(h=st.integers(800, 2500), w=st.integers(140, 2000))
def test_bmi_is_exact_half_up_to_one_decimal(h, w):
    want = (Decimal(w) / 10 / (Decimal(h) / 1000) ** 2).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    got = bmi_tenths(np.array([h], dtype=np.int32), np.array([w], dtype=np.int32))[0]
    assert Decimal(int(got)) / 10 == want


GROUPS = [(g, s, i) for g in range(1, 10) for s in (1, 2) for i in ITEMS if i.field in items_of(g, s)]


@settings(max_examples=300, deadline=None)
@given(group=st.sampled_from(GROUPS), a=st.integers(-400, 10000), b=st.integers(-400, 10000))
def test_scores_are_monotone_in_performance(group, a, b):
    grade, sex, item = group
    lo, hi = int(item.lo * item.scale), int(item.hi * item.scale)
    a, b = np.clip([a, b], lo, hi)
    better, worse = (max(a, b), min(a, b)) if item.direction == "higher_better" else (min(a, b), max(a, b))
    out = score_arrays(np.full(2, grade), np.full(2, sex), {item.field: np.array([better, worse], dtype=np.int32)})
    s = out[item.score_field]
    assert s[0] >= s[1]
    if item.bonus_field in out:
        assert out[item.bonus_field][0] >= out[item.bonus_field][1]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(50, 200), min_size=1, max_size=50))
def test_batch_scoring_does_not_depend_on_neighbours(values):
    q = np.array(values, dtype=np.int32)
    together = score_arrays(np.full(len(q), 5), np.full(len(q), 1), {"run_50m": q})["run_50m_score"]
    alone = [score_arrays(np.full(1, 5), np.full(1, 1), {"run_50m": q[i:i + 1]})["run_50m_score"][0]
             for i in range(len(q))]
    assert together.tolist() == alone


def test_every_50m_time_scores_the_same_from_float32_float64_and_text():
    # every tenth from 5.0 to 20.0 s, for every grade and sex: the float inputs must score as the text does
    tenths = np.arange(50, 201)
    text = pl.Series("run_50m", [f"{t // 10}.{t % 10}" for t in tenths])
    for grade in range(1, 10):
        for sex in (1, 2):
            frames = {}
            for name, col in (("text", text), ("f32", pl.Series("run_50m", tenths / 10, dtype=pl.Float32)),
                              ("f64", pl.Series("run_50m", tenths / 10, dtype=pl.Float64))):
                q = to_units(col, 10).to_numpy().astype(np.int32)
                frames[name] = score_arrays(np.full(len(q), grade), np.full(len(q), sex), {"run_50m": q})["run_50m_score"]
            assert (frames["text"] == frames["f32"]).all() and (frames["text"] == frames["f64"]).all()


def test_a_naive_float32_comparison_would_misscore_many_50m_times():
    # what the exact kernel avoids: comparing float32 times with float64 thresholds
    from junheng.fitness.standard import load_standard

    th = [t / 10 for _, t in load_standard().items["run_50m"].thresholds[(7, 2)]]
    times = np.arange(50, 201) / 10
    wrong = sum(1 for x in times.astype(np.float32) for t in th
                if (np.float64(x) <= np.float64(t)) != (round(float(x) * 10) <= round(t * 10)))
    assert wrong > 0


def test_score_batch_on_arrow_equals_score_fitness():
    import pyarrow as pa

    from junheng.fitness import score_batch, score_fitness

    df = pl.DataFrame({"grade": [6, 8], "sex": [2, 1], "height_cm": [150.0, 165.0], "weight_kg": [40.5, 55.0],
                       "vital_capacity": [2010, 3080], "run_50m": [8.3, 7.5]})
    batch = df.to_arrow().to_batches()[0]
    out = score_batch(batch)
    assert isinstance(out, pa.RecordBatch)
    assert pl.from_arrow(out).equals(score_fitness(df))


def test_the_two_pass_parser_gives_the_hand_worked_units():
    from junheng.fitness.quantize import units_frame

    times = ["3′45″", "3'45\"", "3’45”", "3:45", "3.45", "13'05''", "225", "3'5\"", "2'60\"", "3′45.5″", "3′45.4″",
             "-225", "3′45", "3′45'", "x", None]
    want_t = [225, 225, 225, 225, 225, 785, 225, None, None, 226, 225, None, 225, None, None, None]
    decimals = ["8.15", "8.25", "-3.25", "-3.35", "12", "-0.5", "0.05", "8.149", "1e1", "007.3", "+1.5", ".5", "1.",
                "abc", "9999999.9", None]
    want_d = [82, 83, -33, -34, 120, -5, 1, 81, None, 73, 15, 5, 10, None, 99999999, None]
    frame = pl.DataFrame({"t": times, "d": decimals, "f": [8.15] * 16},
                         schema={"t": pl.String, "d": pl.String, "f": pl.Float32})
    out = units_frame(frame, {"t": (1, True), "d": (10, False), "f": (10, False)})
    assert out["t"].to_list() == want_t
    exact = to_units(frame["d"], 10).to_list()  # the one-expression parser: the same on every cell
    assert out["d"].to_list() == exact
    assert [v for v, w in zip(out["d"].to_list(), want_d) if w is not None] == [w for w in want_d if w is not None]
    assert out["f"].to_list() == [82] * 16  # float32 8.15 is the 8.15 it means


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(
    st.from_regex(r"\A-?[0-9]{1,4}(\.[0-9]{1,3})?\Z"),
    st.from_regex(r"\A[0-9]{1,2}[′'’:.][0-9]{2}(\.[0-9])?([″\"”]|'')?\Z"),
    st.from_regex(r"\A[0-9]{1,4}\Z"),
    st.text(alphabet="0123456789.′'\"-:x", max_size=7), st.none()), min_size=1, max_size=40))
def test_the_two_pass_parser_equals_the_exact_parsers_on_any_text(cells):
    from junheng.fitness.quantize import units_frame

    s = pl.Series("x", cells, dtype=pl.String).str.strip_chars()
    s = s.set(s == "", None)
    frame = pl.DataFrame({"t": s, "d": s, "u": s})
    out = units_frame(frame, {"t": (1, True), "d": (10, False), "u": (1, False)})
    assert out["t"].to_list() == to_units(s, 1, time=True).to_list()
    assert out["d"].to_list() == to_units(s, 10).to_list()
    assert out["u"].to_list() == to_units(s, 1).to_list()


def test_scoring_from_the_checked_units_equals_scoring_the_records():
    from junheng.fitness import check_upload, national_upload, score_fitness
    from junheng.synth.fitness import fitness_results

    rng = np.random.default_rng(4)
    n = 400
    pupils = pl.DataFrame({"student_id": [f"L41010120120101{k:04d}" for k in range(n)], "sex": rng.integers(1, 3, n),
                           "grade": rng.integers(1, 10, n), "name": ["学生"] * n, "class_code": ["01"] * n,
                           "class_name": ["一班"] * n})
    recs = fitness_results(pupils, 4).with_columns(pl.col("weight_kg").clip(14, 200), pl.col("height_cm").clip(80, 250))
    raw = national_upload(recs, mask=False).with_columns(pl.int_range(1, n + 1).alias("__row__"))
    upload, issues = check_upload(raw.with_columns(pl.all().exclude("__row__").cast(pl.String)))
    assert upload is not None, [i.message() for i in issues if i.severity == "error"][:3]
    a = score_fitness(upload.records, units=upload.units)
    b = score_fitness(upload.records)
    assert a.equals(b)
