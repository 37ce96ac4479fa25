"""The fused (numba) kernel gives the same integers as the NumPy reference kernel, record by record."""

from __future__ import annotations

import numpy as np
import pytest

from junheng.fitness._fused import AVAILABLE
from junheng.fitness.items import HEIGHT, ITEMS, WEIGHT
from junheng.fitness.kernel import score_arrays
from junheng.fitness.quantize import MISSING

pytestmark = pytest.mark.skipif(not AVAILABLE, reason="numba not installed")


def _random_batch(n: int, seed: int):
    rng = np.random.default_rng(seed)
    grade = rng.integers(1, 10, n)
    sex = rng.integers(1, 3, n)
    values = {}
    for item in (HEIGHT, WEIGHT, *ITEMS):
        lo, hi = int(item.lo * item.scale), int(item.hi * item.scale)
        span = hi - lo
        v = rng.integers(lo - span // 10, hi + span // 10, n).astype(np.int32)  # some outside the range
        v[rng.random(n) < 0.05] = MISSING
        values[item.field] = v
    del values["sit_ups"]  # an absent column
    return grade, sex, values


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fused_kernel_equals_numpy_kernel(seed):
    grade, sex, values = _random_batch(200_003, seed)
    a = score_arrays(grade, sex, values, engine="numpy")
    b = score_arrays(grade, sex, values, engine="fused")
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
