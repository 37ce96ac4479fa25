"""A toy registry (schools and grade-6 rosters) for the selection and weighting tests."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest


def toy_registry(n_counties: int = 3, schools_per_county: int = 25, seed: int = 7) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    rows, pupils = [], []
    k = 0
    for c in range(n_counties):
        county = f"4101{c + 2:02d}"
        for j in range(schools_per_county):
            k += 1
            size = int(rng.choice([3, 12, 25, 40, 60, 90, 150])) if j else 400  # one large school per county
            code = ("51" if j == 1 else "21") + f"41{k:06d}"
            rows.append(dict(school_code=code, name=f"学校{k}", county_code=county, stage="小学",
                             location=["城区", "镇区", "乡村"][j % 3], is_teaching_point=(size == 3),
                             enrol_g6=size))
            for i in range(size):
                pupils.append(dict(student_id=f"G{k:06d}{i:04d}", name="张三", sex=int(rng.integers(1, 3)),
                                   school_code=code, grade=6))
    return pl.DataFrame(rows), pl.DataFrame(pupils)


@pytest.fixture
def registry() -> tuple[pl.DataFrame, pl.DataFrame]:
    return toy_registry()
