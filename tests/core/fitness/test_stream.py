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
    assert streamed.columns == direct.columns
    assert streamed.height == direct.height == 54
    for c in direct.columns:
        a, b = streamed[c], direct[c]
        if a.dtype.is_float():
            np.testing.assert_allclose(a.to_numpy(), b.cast(pl.Float64).to_numpy(), rtol=1e-9, equal_nan=True)
        else:
            assert a.cast(pl.String).to_list() == b.cast(pl.String).to_list(), c
