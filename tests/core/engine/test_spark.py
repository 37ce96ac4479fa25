"""The Spark engine (local mode) gives the local engine's table: exactly without weights, to
1e-12 with; partials from several partitions merge to the same sums as one stream."""

from __future__ import annotations

import shutil

import numpy as np
import polars as pl
import pytest

from junheng.fitness.stream import batch_partials, partial_layout, summarize_parquet
from junheng.synth.fitness import fitness_results


def _records(n: int = 6000) -> pl.DataFrame:
    rng = np.random.default_rng(11)
    pupils = pl.DataFrame({"student_id": np.arange(n).astype(str), "sex": rng.integers(1, 3, n),
                           "grade": rng.integers(1, 10, n)})
    return fitness_results(pupils, 11).with_columns(
        pl.Series("county", rng.choice(["410102", "410103", "410104"], n)),
        pl.Series("weight", rng.uniform(0.5, 3.0, n)))


def test_the_partial_layout_names_every_sum_a_batch_yields():
    import pyarrow as pa

    recs = _records(500)
    batch = pa.Table.from_batches(recs.to_arrow().to_batches()).combine_chunks().to_batches()[0]
    for engine in ("numpy", "auto"):
        p, _ = batch_partials(batch, ["grade", "sex"], None, {}, engine=engine)
        assert {name for name, _ in partial_layout()} == set(p)
        assert all((p[name].ndim == 1) == (width == 1) for name, width in partial_layout())


def test_the_spark_extra_pins_a_pandas_that_pyspark_supports():
    """mapInArrow goes through pyspark's pandas-UDF machinery, which checks the pandas version and
    warns that pandas >= 3 is not yet fully supported (pyspark 4.3.0 included): the ``spark`` extra
    pins pandas < 3 and the environment it is installed into satisfies the pin, without the warning."""
    import tomllib
    import warnings
    from importlib.metadata import version
    from pathlib import Path

    from packaging.requirements import Requirement
    from packaging.version import Version

    pytest.importorskip("pyspark")
    pytest.importorskip("pandas")
    pyproject = Path(__file__).resolve().parents[3] / "pyproject.toml"
    extra = tomllib.loads(pyproject.read_text("utf-8"))["project"]["optional-dependencies"]["spark"]
    pandas = next(Requirement(r) for r in extra if Requirement(r).name == "pandas")
    assert Version("3.0.0") not in pandas.specifier and Version("2.2.0") in pandas.specifier
    assert Version(version("pandas")) in pandas.specifier, f"installed pandas {version('pandas')} breaks {pandas}"
    from pyspark.sql.pandas.utils import require_minimum_pandas_version

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        require_minimum_pandas_version()


@pytest.fixture(scope="module")
def spark():
    pytest.importorskip("pyspark")
    pytest.importorskip("pandas")  # mapInArrow needs it (the spark extra)
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java 17")
    from junheng.engine.spark import session

    s = session("junheng-tests")
    yield s
    s.stop()


@pytest.mark.spark
@pytest.mark.integration
@pytest.mark.parametrize("weighted", [False, True])
def test_spark_equals_the_local_engine(tmp_path, spark, weighted):
    from junheng.engine.spark import summarize_spark

    recs = _records()
    one = tmp_path / "all.parquet"
    recs.write_parquet(one)
    folder = tmp_path / "parts"  # three files → three partitions, merged on the driver
    folder.mkdir()
    for k in range(3):
        recs.gather_every(3, offset=k).write_parquet(folder / f"part-{k}.parquet")
    w = "weight" if weighted else None
    by = ["county", "grade", "sex"]
    local = summarize_parquet(one, by, weight=w, batch_rows=1000)
    distributed = summarize_spark(str(folder), by, weight=w, spark=spark)
    assert distributed.columns == local.columns and distributed.height == local.height == 54
    assert distributed.schema == local.schema
    if not weighted:
        assert distributed.equals(local)  # integer sums: equal to the last digit
    else:
        for c in local.columns:
            a, b = distributed[c], local[c]
            if a.dtype.is_float():
                np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=1e-12, equal_nan=True)
            else:
                assert a.to_list() == b.to_list(), c


@pytest.mark.spark
@pytest.mark.integration
@pytest.mark.parametrize("census_first", [False, True])
def test_a_folder_of_census_layout_and_other_files_gives_the_local_table(tmp_path, spark, census_first):
    """One file in the census layout (whole-number measures as Float64, missing ones NaN) beside a
    file of the same records by Polars' writer (Int32 measures with nulls): Spark reads the folder
    whichever file it takes its schema from (it failed with PARQUET_COLUMN_DATA_TYPE_MISMATCH when
    that was the integer file), and the table equals the local engine's on all the records."""
    from junheng.engine.spark import summarize_spark
    from junheng.io import write_census_parquet

    recs = _records()
    assert recs["vital_capacity"].dtype.is_integer() and recs["vital_capacity"].null_count()
    folder = tmp_path / "parts"
    folder.mkdir()
    census, plain = ("a", "b") if census_first else ("b", "a")
    write_census_parquet(recs.gather_every(2, offset=0), folder / f"{census}-census.parquet")
    recs.gather_every(2, offset=1).write_parquet(folder / f"{plain}-plain.parquet")
    one = tmp_path / "all.parquet"
    recs.write_parquet(one)
    by = ["county", "grade", "sex"]
    assert summarize_spark(str(folder), by, spark=spark).equals(summarize_parquet(one, by, batch_rows=1000))
