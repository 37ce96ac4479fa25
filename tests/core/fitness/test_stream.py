"""The streaming path (read → score → partial sums per batch → merge) equals the in-memory path."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from junheng.fitness import score_fitness, summarize
from junheng.fitness._fused import AVAILABLE
from junheng.fitness.stream import summarize_parquet
from junheng.synth.fitness import fitness_results

ENGINES = ["numpy", pytest.param("fused", marks=pytest.mark.skipif(not AVAILABLE, reason="numba not installed"))]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("weighted", [False, True])
def test_streaming_summary_equals_in_memory_summary(tmp_path, weighted, engine):
    rng = np.random.default_rng(5)
    n = 20_000
    pupils = pl.DataFrame({"student_id": np.arange(n).astype(str), "sex": rng.integers(1, 3, n),
                           "grade": rng.integers(1, 10, n)})
    recs = fitness_results(pupils, 5).with_columns(
        pl.Series("county", rng.choice(["410102", "410103", "410104"], n)),
        pl.Series("weight", rng.uniform(0.5, 3.0, n)))
    path = tmp_path / "r.parquet"
    recs.write_parquet(path)
    w = "weight" if weighted else None
    by = ["county", "grade", "sex"]
    streamed = summarize_parquet(path, by, weight=w, batch_rows=3000, threads=2, engine=engine)
    direct = summarize(score_fitness(pl.read_parquet(path)), by, weight=w)
    assert streamed.height == 54
    _assert_same(streamed, direct)


def _recs(n: int, seed: int = 9) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    pupils = pl.DataFrame({"student_id": np.arange(n).astype(str), "sex": rng.integers(1, 3, n),
                           "grade": rng.integers(1, 10, n)})
    return fitness_results(pupils, seed)


def _assert_same(streamed: pl.DataFrame, direct: pl.DataFrame) -> None:
    assert streamed.columns == direct.columns and streamed.height == direct.height
    for c in direct.columns:
        a, b = streamed[c], direct[c]
        if a.dtype.is_float():
            np.testing.assert_allclose(a.to_numpy(), b.cast(pl.Float64).to_numpy(), rtol=1e-9, equal_nan=True)
        else:
            assert a.cast(pl.String).to_list() == b.cast(pl.String).to_list(), c


@pytest.mark.parametrize("engine", ENGINES)
def test_edge_case_columns_give_the_in_memory_table(tmp_path, engine):
    """float32 and nullable integer measures, NaN and null, values beyond the import range, narrow
    grade/sex types, and key columns taking each grouping path (small-range integers, integers with
    nulls, a wide integer range, text) — all scored and summed as score_fitness + summarize do."""
    n = 9000
    rng = np.random.default_rng(3)
    recs = _recs(n)
    run = recs["run_50m"].to_numpy().copy()
    run[::7] = np.nan  # NaN in a float column: no value
    recs = recs.with_columns(
        pl.Series("run_50m", run).cast(pl.Float32),                         # float32, NaN and nulls
        pl.col("sit_and_reach").cast(pl.Float32),
        pl.when(pl.int_range(n) % 11 == 0).then(None).otherwise(pl.col("rope_skipping")).cast(pl.Int16)
        .alias("rope_skipping"),                                             # nullable Int16
        pl.when(pl.int_range(n) % 13 == 0).then(pl.lit(99_999.0)).otherwise(pl.col("vital_capacity"))
        .alias("vital_capacity"),                                            # far beyond the table: clipped
        pl.when(pl.int_range(n) % 17 == 0).then(pl.lit(-3.0)).otherwise(pl.col("height_cm")).alias("height_cm"),
        pl.col("grade").cast(pl.Int8), pl.col("sex").cast(pl.UInt8),
        pl.Series("county", (410100 + rng.integers(0, 5, n)).astype(np.int32)),
        pl.Series("school", [None if r < 0.1 else int(k) for r, k in zip(rng.random(n), rng.integers(0, 3, n))],
                  dtype=pl.Int64),
        pl.Series("wide", rng.choice([0, 1_000_000, 5_000_000_000], n)),
        pl.Series("location", rng.choice(["城区", "镇区", "乡村"], n)),
        (pl.int_range(n) // 400).cast(pl.Int32).alias("block"),  # a new key range in every batch
    )
    path = tmp_path / "edge.parquet"
    recs.write_parquet(path, row_group_size=2500)
    for by in (["county", "grade", "sex"], ["school", "wide", "location", "grade"], ["block", "sex"], []):
        streamed = summarize_parquet(path, by, batch_rows=1000, threads=2, engine=engine)
        _assert_same(streamed, summarize(score_fitness(pl.read_parquet(path)), by))


@pytest.mark.parametrize("engine", ENGINES)
def test_values_of_untested_items_and_the_census_layout_give_the_in_memory_table(tmp_path, engine):
    """Every item measured for every pupil (the compiled pass skips the items a grade and sex are not
    tested on: those values must add nothing), exempt pupils with values, and the file written in the
    census layout (write_census_parquet: dictionary pages, required fields; whole-number measures
    stored as Float64) — read back with the frame's values, and summarised as score_fitness +
    summarize do."""
    from junheng.fitness.items import ITEMS
    from junheng.io import write_census_parquet

    n = 6000
    rng = np.random.default_rng(11)
    recs = _recs(n, seed=4)
    filled = []
    for item in ITEMS:  # each item's missing values drawn from its own import range (whole units)
        lo, hi = int(item.lo * item.scale), int(item.hi * item.scale)
        draw = pl.Series(rng.integers(lo, hi + 1, n) / item.scale).cast(recs[item.field].dtype)
        filled.append(pl.coalesce(pl.col(item.field), pl.lit(draw)).alias(item.field))
    recs = recs.with_columns(filled).with_columns(pl.Series("exempt", rng.random(n) < 0.05),
                                                  pl.Series("county", (410100 + rng.integers(0, 4, n)).astype(np.int32)))
    assert all(recs[i.field].null_count() == 0 for i in ITEMS)
    path = write_census_parquet(recs, tmp_path / "census.parquet", row_group_size=1500)
    back = pl.read_parquet(path)
    ints = [i.field for i in ITEMS if recs[i.field].dtype.is_integer()]
    assert ints and all(back[c].dtype == pl.Float64 for c in ints)
    measures = ["height_cm", "weight_kg", *(i.field for i in ITEMS), "vision_left", "vision_right"]
    assert back.equals(recs.with_columns(pl.col(ints).cast(pl.Float64)).with_columns(pl.col(measures).fill_null(np.nan)))
    by = ["county", "grade", "sex"]
    streamed = summarize_parquet(path, by, batch_rows=700, threads=2, engine=engine)
    _assert_same(streamed, summarize(score_fitness(recs), by))


@pytest.mark.parametrize("engine", ENGINES)
def test_the_census_layout_gives_the_table_of_the_frame_it_was_written_from(tmp_path, engine):
    """Missing measures (nulls in the frame, NaN in the census layout), float32 and whole-number
    measures, a missing item column and exempt pupils: the census file's table equals the in-memory
    path's on the frame itself and the local engine's on the same frame written by Polars (nulls
    kept), to the last digit."""
    from junheng.io import write_census_parquet

    n = 7000
    rng = np.random.default_rng(21)
    recs = _recs(n, seed=6).with_columns(
        pl.col("run_50m").cast(pl.Float32), pl.Series("exempt", rng.random(n) < 0.03),
        pl.Series("county", (410100 + rng.integers(0, 5, n)).astype(np.int32))).drop("pull_ups")
    assert recs["run_50m"].null_count() and recs["vital_capacity"].null_count() and recs["height_cm"].null_count()
    census, plain = tmp_path / "census.parquet", tmp_path / "plain.parquet"
    write_census_parquet(recs, census, row_group_size=1100)
    recs.write_parquet(plain, row_group_size=1100)
    back = pl.read_parquet(census)
    assert back["run_50m"].dtype == pl.Float32 and back["run_50m"].null_count() == 0
    assert back["run_50m"].is_nan().sum() == recs["run_50m"].null_count()
    by = ["county", "grade", "sex"]
    streamed = summarize_parquet(census, by, batch_rows=500, threads=2, engine=engine)
    direct = summarize(score_fitness(recs), by)
    _assert_same(streamed, direct)
    _assert_same(summarize(score_fitness(back), by), direct)  # the eager path on the census file: NaN is no value
    assert streamed.equals(summarize_parquet(plain, by, batch_rows=500, threads=2, engine=engine))


@pytest.mark.parametrize("engine", ENGINES)
def test_float_key_columns_group_nan_and_signed_zeros_as_the_in_memory_path(tmp_path, engine):
    """A crafted file grouped by a float column holding 0.0 and −0.0 (equal numbers, two bit
    patterns: the NumPy engine summed one of the two groups over the other and lost its records)
    and NaN (one group per batch and thread before: a NaN key never equals another NaN), nulls and
    ±inf: one group each, as Polars' group-by gives them, every record counted once."""
    n = 6000
    keys = np.array([0.0, -0.0, np.nan, np.inf, -np.inf, 1.5])[np.arange(n) % 6]
    recs = _recs(n, seed=13).with_columns(
        pl.Series("block", keys).set(pl.Series(np.arange(n) % 11 == 0), None),  # nulls too
        pl.Series("county", (410100 + np.arange(n) % 3).astype(np.int32)))
    path = tmp_path / "keys.parquet"
    recs.write_parquet(path, row_group_size=1000)
    for by in (["block"], ["county", "block", "sex"]):
        streamed = summarize_parquet(path, by, batch_rows=400, threads=2, engine=engine)
        direct = summarize(score_fitness(recs), by)
        assert int(streamed["n_records"].sum()) == n
        assert streamed.height == direct.height == recs.select(by).unique().height
        _assert_same(streamed, direct)


def test_the_census_writer_writes_the_measures_the_census_reads(tmp_path):
    """One list (junheng.fitness.CENSUS_MEASURES, built from the standard's items), not a copy in
    junheng.io kept equal by a test: every measure the reader stacks is NaN-filled by the writer."""
    from junheng.fitness import CENSUS_MEASURES, ITEMS
    from junheng.fitness.stream import _MEASURES
    from junheng.io import write_census_parquet

    # the reader converts column k of CENSUS_MEASURES by _MEASURES[k]: the same measure, both eyes by the acuity's
    assert [m.field for m in _MEASURES] == [*CENSUS_MEASURES[:-2], "vision", "vision"]
    assert {i.field for i in ITEMS} < set(CENSUS_MEASURES)
    frame = pl.DataFrame({f: pl.Series([1, None], dtype=pl.Int32) for f in CENSUS_MEASURES})
    path = write_census_parquet(frame.with_columns(grade=pl.lit(1), sex=pl.lit(1)), tmp_path / "c.parquet")
    back = pl.read_parquet(path)
    assert all(back[f].dtype == pl.Float64 and back[f].null_count() == 0 and back[f].is_nan()[1] for f in CENSUS_MEASURES)


def test_tasks_are_runs_of_row_groups_of_at_least_a_batch():
    """Every row group once, in order; a task is one row group when the groups hold a batch or more,
    else consecutive groups until they do (the last task may hold fewer)."""
    from junheng.fitness.stream import _tasks

    assert _tasks(np.array([0, 100, 200, 250]), 100) == [[0], [1], [2]]
    assert _tasks(np.array([0, 10, 20, 30, 40, 45]), 25) == [[0, 1, 2], [3, 4]]
    assert _tasks(np.array([0, 0, 5, 5]), 100) == [[0, 1, 2]]  # empty row groups too
    assert _tasks(np.array([0, 7]), 100) == [[0]]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("row_group", [1300, 90])
def test_invalid_grade_or_sex_lists_every_record_by_number(tmp_path, engine, row_group):
    """Row groups larger than a batch (a task each) and smaller (a task of several: its first record's
    number is its first group's)."""
    from junheng.exceptions import InputError

    n = 5000
    recs = _recs(n)
    grade = recs["grade"].to_list()
    sex = recs["sex"].to_list()
    grade[0], grade[2604], sex[2604], sex[4999] = 0, None, 3, None
    recs = recs.with_columns(pl.Series("grade", grade, dtype=pl.Int32), pl.Series("sex", sex, dtype=pl.Int32))
    path = tmp_path / "bad.parquet"
    recs.write_parquet(path, row_group_size=row_group)  # the bad records fall in different row groups and tasks
    with pytest.raises(InputError) as info:
        summarize_parquet(path, ["grade", "sex"], batch_rows=500, threads=2, engine=engine)
    found = sorted((i.row, i.column, i.value) for i in info.value.errors)
    assert found == [(1, "grade", 0), (2605, "grade", None), (2605, "sex", 3), (5000, "sex", None)]
    assert all(i.file == "bad.parquet" for i in info.value.errors)
    text = str(info.value)
    assert "3 条记录的年级或性别无效" in text and "3 record(s) with an invalid grade or sex" in text
    assert "第1行" in text and "年级应为 1–9 的整数" in text and "sex must be 1 (male) or 2 (female)" in text


@pytest.mark.parametrize("engine", ENGINES)
def test_a_weight_that_is_nan_infinite_or_negative_is_listed_by_record_number(tmp_path, engine):
    """One NaN, infinite or negative weight made every weighted rate and mean of its group NaN (the
    table's cells blank, no message); a null weight is 0 and stays allowed."""
    from junheng.exceptions import InputError

    n = 5000
    w = np.full(n, 1.5)
    w[[0, 2604, 4999]] = [np.nan, np.inf, -0.5]
    recs = _recs(n).with_columns(pl.Series("w", w).set(pl.Series(np.arange(n) == 10), None))
    path = tmp_path / "w.parquet"
    recs.write_parquet(path, row_group_size=1300)
    with pytest.raises(InputError) as info:
        summarize_parquet(path, ["grade", "sex"], weight="w", batch_rows=500, threads=2, engine=engine)
    found = sorted((i.row, i.column, i.value) for i in info.value.errors)
    assert [(r, c) for r, c, _ in found] == [(1, "w"), (2605, "w"), (5000, "w")]
    assert np.isnan(found[0][2]) and found[1][2] == np.inf and found[2][2] == -0.5
    text = str(info.value)
    assert "3 条记录的年级、性别或权重无效" in text and "权重应为非负的有限数" in text and "finite number ≥ 0" in text
    eager = _raised(lambda: summarize(score_fitness(pl.read_parquet(path)), ["grade", "sex"], weight="w", file="w.parquet"))
    assert [(i.row, i.column, i.file, i.rule_en) for i in eager.errors] == \
        [(i.row, i.column, i.file, i.rule_en) for i in sorted(info.value.errors, key=lambda i: i.row)]  # one check, one style
    assert "w.parquet: 3 条记录的权重无效，未汇总" in str(eager)
    ok = recs.with_columns(pl.col("w").fill_nan(1.0).clip(0.0, 2.0))
    ok.write_parquet(path, row_group_size=1300)
    table = summarize_parquet(path, ["grade", "sex"], weight="w", batch_rows=500, threads=2, engine=engine)
    assert table["pass_rate"].null_count() == 0


def _raised(call):
    from junheng.exceptions import InputError

    with pytest.raises(InputError) as info:
        call()
    return info.value


def test_missing_columns_are_named_in_chinese_and_english(tmp_path):
    from junheng.exceptions import InputError

    path = tmp_path / "r.parquet"
    _recs(100).drop("sex").write_parquet(path)
    with pytest.raises(InputError) as info:
        summarize_parquet(path, ["county_code", "grade"], weight="w")
    msgs = [i.message() for i in info.value.errors]
    assert [i.column for i in info.value.errors] == ["sex", "county_code", "w"]
    assert all(i.file == "r.parquet" for i in info.value.errors)
    assert "缺少必需列“sex”" in msgs[0] and "required column sex is missing" in msgs[0]
    assert "没有分组列“county_code”（--by）" in msgs[1] and "no grouping column county_code (--by)" in msgs[1]
    assert "没有权重列“w”" in msgs[2] and "no weight column w (--weight)" in msgs[2]
    assert "height_cm" in msgs[0]  # the file's columns are listed


def test_the_compiled_unit_conversion_equals_the_numpy_reference():
    from junheng.fitness import _fused
    from junheng.fitness.quantize import float_to_units

    if not _fused.AVAILABLE:
        pytest.skip("numba not installed")
    x = np.array([8.15, -3.25, 8.1, 0.0, -0.0, np.nan, 1e6, 12.35, 2.5], np.float64)
    for arr, tol in ((x, 1e-7), (x.astype(np.float32), 1e-3)):
        for scale in (1, 10, 100):
            out = np.empty(arr.shape[0], np.int32)
            _fused.float_units(arr, scale, 0.5 + tol, out)
            np.testing.assert_array_equal(out, float_to_units(arr, scale))
    assert float_to_units(np.array([8.15]), 10)[0] == 82  # half away from zero, exact at the tenth


@pytest.mark.skipif(not AVAILABLE, reason="numba not installed")
def test_a_float_null_is_missing_whatever_its_data_slot_holds():
    """Float columns are converted from their Arrow buffers: a null whose data slot holds a plausible
    height (170.0, as a slice or another writer may leave it) is still no value, in a sliced array too."""
    import pyarrow as pa

    from junheng.fitness import stream
    from junheng.fitness.quantize import MISSING

    data = pa.py_buffer(np.array([99.0, 170.0, 170.0, 150.25, np.nan], np.float64).tobytes())
    validity = pa.py_buffer(np.packbits([1, 0, 1, 1, 1], bitorder="little").tobytes())
    height = pa.Array.from_buffers(pa.float64(), 5, [validity, data], null_count=1).slice(1)
    batch = pa.RecordBatch.from_pydict({"height_cm": height, "grade": [1, 1, 1, 1], "sex": [1, 1, 1, 1]})
    units, *_ = stream._stacked_units(batch, 4)
    assert units[0].tolist() == [MISSING, 1700, 1503, MISSING]  # null, 170.0 cm, 150.25 → 150.3, NaN


def test_the_census_run_restores_the_default_memory_pool(tmp_path):
    import pyarrow as pa

    before = pa.default_memory_pool().backend_name
    frame = fitness_results(pl.DataFrame({"student_id": ["1", "2"], "grade": [1, 2], "sex": [1, 2]}), 1)
    frame.drop("student_id").write_parquet(tmp_path / "f.parquet")
    summarize_parquet(tmp_path / "f.parquet", ["grade"])
    assert pa.default_memory_pool().backend_name == before


@pytest.mark.parametrize("engine", ["numpy", *(["fused"] if AVAILABLE else [])])
def test_integers_beyond_int32_saturate_instead_of_wrapping(engine):
    """2³² + 5 as a grade is not grade 5, and 2³² + 1700 as a height (×10 units) is not 170 cm:
    a cast to Int32 would wrap both round to plausible values."""
    import pyarrow as pa

    from junheng.exceptions import InputError
    from junheng.fitness.stream import batch_partials

    bad_grade = pa.record_batch({"grade": pa.array([5, 2**32 + 5], pa.int64()), "sex": pa.array([1, 1], pa.int64())})
    with pytest.raises(InputError) as err:
        batch_partials(bad_grade, ("grade",), None, {}, engine=engine, first_row=0, file="c.parquet")
    assert [i.row for i in err.value.errors] == [2]
    def bmi_class(height: int) -> list[float]:
        batch = pa.record_batch({"grade": pa.array([5], pa.int64()), "sex": pa.array([1], pa.int64()),
                                 "height_cm": pa.array([height], pa.int64()), "weight_kg": pa.array([35], pa.int64())})
        return list(batch_partials(batch, ("grade",), None, {}, engine=engine)[0]["W_bmi_class"][0])

    # 2³² + 140 cm × 10 units wraps round to 140 cm (a normal BMI at 35 kg); saturated it is the
    # class of any absurdly tall pupil
    assert bmi_class(2**32 + 140) == bmi_class(10**6) != bmi_class(140)


def test_units_saturate_beyond_int32_in_every_reader():
    from junheng.fitness.quantize import UNITS_MAX, float_to_units, text_to_units, to_units, units_expr

    assert float_to_units(np.array([1e12, -1e12, np.inf, 170.0]), 10).tolist() == [UNITS_MAX, -UNITS_MAX, UNITS_MAX,
                                                                                   1700]
    ints = pl.Series("x", [2**32 + 170, -(2**40), 170], pl.Int64)
    assert to_units(ints, 10).to_list() == [UNITS_MAX, -UNITS_MAX, 1700]
    frame = pl.DataFrame({"i": ints, "f": [1e13, -1e13, 17.0], "t": ["99999999999", "9" * 30, "170.5"]})
    out = frame.select(units_expr("i", pl.Int64, 10), units_expr("f", pl.Float64, 10),
                       text_to_units(pl.col("t"), 10).alias("t"))
    assert out.rows() == [(UNITS_MAX, UNITS_MAX, UNITS_MAX), (-UNITS_MAX, -UNITS_MAX, None), (1700, 170, 1705)]


@pytest.mark.parametrize("engine", ["numpy", *(["fused"] if AVAILABLE else [])])
def test_group_keys_whose_ranges_multiply_beyond_int64_are_the_files_keys(engine):
    """Five key columns of 8192 values each: 2⁶⁵ packed codes. Packed into one Int64 they wrapped
    round, and most groups came back under keys that are not in the file."""
    import pyarrow as pa

    from junheng.fitness.stream import batch_partials

    n, rng = 8192, np.random.default_rng(7)
    cols = {f"k{j}": pa.array([f"v{x}" for x in rng.permutation(n)]) for j in range(4)}
    cols["k4"] = pa.array(rng.permutation(n) * 1_000_003)  # an integer column too wide to code by subtraction
    exempt = np.array([v.endswith("7") for v in cols["k0"].to_pylist()])
    batch = pa.record_batch({"grade": pa.array(np.full(n, 5)), "sex": pa.array(np.full(n, 1)),
                             "exempt": pa.array(exempt), **cols})
    truth = list(zip(*(c.to_pylist() for c in cols.values()), strict=True))
    key_index = {}
    p, ids = batch_partials(batch, tuple(cols), None, key_index, engine=engine)
    assert set(key_index) == set(truth) and (p["n_records"] == 1).all()
    local = {int(g): j for j, g in enumerate(ids)}
    # each key's sums are its own record's (exempt exactly when its k0 ends in 7)
    assert all(p["n_exempt"][local[key_index[k]]] == k[0].endswith("7") for k in truth)


@pytest.mark.parametrize("engine", ENGINES)
def test_null_weights_add_nothing_as_in_the_in_memory_table(tmp_path, engine):
    """A record whose weight is null adds nothing to a weighted rate or mean — ``summarize`` reads
    a null weight as 0 — so its group's rates are those of the others, not NaN; hand-checked too:
    the table equals the file's with those weights written as 0."""
    n = 3000
    rng = np.random.default_rng(8)
    w = rng.uniform(0.5, 3.0, n)
    recs = _recs(n).with_columns(pl.Series("weight", [None if k % 10 == 0 else float(x) for k, x in enumerate(w)]))
    path, zero = tmp_path / "w.parquet", tmp_path / "w0.parquet"
    recs.write_parquet(path, row_group_size=1000)
    recs.with_columns(pl.col("weight").fill_null(0.0)).write_parquet(zero, row_group_size=1000)
    by = ["grade", "sex"]
    streamed = summarize_parquet(path, by, weight="weight", batch_rows=700, threads=2, engine=engine)
    direct = summarize(score_fitness(pl.read_parquet(path)), by, weight="weight")
    assert streamed["pass_rate"].null_count() == 0 and streamed.height == 18
    _assert_same(streamed, direct)
    _assert_same(streamed, summarize_parquet(zero, by, weight="weight", batch_rows=700, threads=2, engine=engine))


@pytest.mark.parametrize("engine", ENGINES)
def test_a_file_without_some_item_columns_gives_the_in_memory_table(tmp_path, engine):
    """An item the file has no column for is no value for every record (its pupils are incomplete),
    in every engine — the NumPy reference path included."""
    recs = _recs(3000).drop("pull_ups", "sit_and_reach")
    path = tmp_path / "fewer.parquet"
    recs.write_parquet(path, row_group_size=1000)
    by = ["grade", "sex"]
    streamed = summarize_parquet(path, by, batch_rows=700, threads=2, engine=engine)
    direct = summarize(score_fitness(pl.read_parquet(path)), by)
    assert (streamed["n_incomplete"] > 0).all()
    _assert_same(streamed, direct)


@pytest.mark.parametrize("engine", ENGINES)
def test_unsigned_keys_beyond_int64_are_the_files_keys(tmp_path, engine):
    """UInt64 key values of 2⁶³ and more (read back as such, each group its own records): the
    compiled path's min/max went through Int64 and wrapped round — an OverflowError, or a radix
    of −2⁶³ taken for a small range."""
    n = 3000
    rng = np.random.default_rng(12)
    recs = _recs(n)
    by = ["k", "sex"]
    for values in ([2**63, 2**63 + 1, 2**63 + 2], [5, 2**63 + 5], [2**64 - 1, 0]):
        keys = pl.Series("k", rng.choice(np.array(values, dtype=np.uint64), n), dtype=pl.UInt64)
        path = tmp_path / "u64.parquet"
        recs.with_columns(keys).write_parquet(path, row_group_size=1000)
        streamed = summarize_parquet(path, by, batch_rows=500, threads=2, engine=engine)
        assert sorted(set(streamed["k"].to_list())) == sorted(values)
        _assert_same(streamed, summarize(score_fitness(pl.read_parquet(path)), by))


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("weighted", [False, True])
def test_many_tasks_on_two_threads_give_the_in_memory_table(tmp_path, engine, weighted):
    """More tasks than threads (the compiled engine adds a thread's tasks into one set of sums):
    the table is the in-memory one, weighted or not."""
    rng = np.random.default_rng(3)
    recs = _recs(9_000, seed=4).with_columns(pl.Series("county", rng.choice(["a", "b", "c", "d"], 9_000)),
                                             pl.Series("weight", rng.uniform(0.5, 3.0, 9_000)))
    path = tmp_path / "r.parquet"
    recs.write_parquet(path, row_group_size=400)  # 23 row groups: tasks of one (compiled) or 8 tasks of 3 (NumPy)
    w = "weight" if weighted else None
    streamed = summarize_parquet(path, ["county", "grade", "sex"], weight=w, batch_rows=150, threads=2, engine=engine)
    _assert_same(streamed, summarize(score_fitness(pl.read_parquet(path)), ["county", "grade", "sex"], weight=w))


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("bad", [False, True])
def test_every_file_handle_opened_is_closed(tmp_path, monkeypatch, engine, bad):
    """The footer's handle and each worker thread's one are closed when the run ends, whether the
    table is made or the file is refused (not left to the garbage collector)."""
    from junheng.exceptions import InputError
    from junheng.fitness import stream

    opened, original = [], stream.open_parquet

    def recorded(path):
        opened.append(original(path))
        return opened[-1]

    monkeypatch.setattr(stream, "open_parquet", recorded)
    recs = _recs(2_000)
    if bad:
        recs = recs.with_columns(pl.Series("grade", [0] + recs["grade"].to_list()[1:], dtype=pl.Int32))
    path = tmp_path / "r.parquet"
    recs.write_parquet(path, row_group_size=300)
    if bad:
        with pytest.raises(InputError):
            summarize_parquet(path, ["grade", "sex"], batch_rows=300, threads=2, engine=engine)
    else:
        summarize_parquet(path, ["grade", "sex"], batch_rows=300, threads=2, engine=engine)
    assert len(opened) >= 2 and all(f.closed for f in opened)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_task_reads_its_row_groups_one_a_call(tmp_path, monkeypatch, engine):
    """One ``iter_batches`` over several row groups keeps what it has read until it ends: the NumPy
    engine's tasks (an eighth of the file each) grew with the file, peak RSS 397 → 501 MB from 4 to
    16 million records (docs/guide/census.md "Memory"). Each call now reads one row group."""
    from junheng.fitness import stream

    calls, original = [], stream.open_parquet

    def recorded(path):
        f = original(path)
        read = f.iter_batches

        def iter_batches(*args, **kw):
            calls.append(list(kw["row_groups"]))
            return read(*args, **kw)

        f.iter_batches = iter_batches
        return f

    monkeypatch.setattr(stream, "open_parquet", recorded)
    recs = _recs(9_000, seed=4)
    path = tmp_path / "r.parquet"
    recs.write_parquet(path, row_group_size=400)  # 23 row groups: the NumPy engine's 8 tasks take 3 each
    streamed = summarize_parquet(path, ["grade", "sex"], batch_rows=150, threads=2, engine=engine)
    assert sorted(calls) == [[g] for g in range(23)]
    _assert_same(streamed, summarize(score_fitness(pl.read_parquet(path)), ["grade", "sex"]))


def test_the_numpy_engine_holds_a_few_batches_sums_not_one_set_a_batch():
    """Its per-batch group sums (a few MB each with thousands of groups) were kept to the end of a
    task and added up then: memory grew with the task. They are folded every few batches now, so 30
    batches peak as 6 do (before: 4.3× as high) — and the sums are the same."""
    import tracemalloc

    import pyarrow as pa

    from junheng.fitness.stream import sum_batches

    rng = np.random.default_rng(2)
    recs = _recs(8_000, seed=2).with_columns(pl.Series("county", rng.integers(0, 300, 8_000)))
    batch = pa.concat_batches(recs.to_arrow().to_batches())
    by = ["county", "grade", "sex"]
    peaks, sums = {}, {}
    for n in (6, 30):
        tracemalloc.start()
        keys, total = sum_batches((batch for _ in range(n)), by, None, engine="numpy")
        peaks[n] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        sums[n] = {k: total["n_records"][i] for i, k in enumerate(keys)}
    assert peaks[30] < 1.5 * peaks[6], peaks
    assert {k: v * 5 for k, v in sums[6].items()} == sums[30]
