"""Writes design_data.csv: a small two-stage sample with JK2 and Fay replicate weights.

The replicate weights are built here by hand (independently of junheng.survey.replicates):
JK2 — 24 zones of two schools, replicate h drops school 1 of zone h and doubles school 2;
Fay — Sylvester Hadamard matrix of order 32 (columns 1..24 for the zones), factors 1.5 / 0.5.
Run:  .venv/bin/python tests/reference/survey/make_data.py   then   Rscript tests/reference/survey/reference.R
"""

from pathlib import Path

import numpy as np
import polars as pl
from scipy.linalg import hadamard

HERE = Path(__file__).resolve().parent


def main() -> None:
    rng = np.random.default_rng(20221)
    rows = []
    counties = [410102, 410103, 410104, 410105, 410106, 410108]
    school = 0
    for c in counties:
        for j in range(8):
            school += 1
            zone = (school - 1) // 2  # 0..23
            member = (school - 1) % 2  # 0 or 1
            n = int(rng.integers(15, 41))
            location = ["城区", "镇区", "乡村"][j % 3]
            effect = rng.normal(0, 25)
            school_w = float(rng.uniform(3, 12))
            for _ in range(n):
                sex = int(rng.integers(1, 3))
                x1 = float(rng.normal(0, 1))
                x2 = float(rng.uniform(0, 10))
                score = 500 + effect + (8 if sex == 2 else 0) + 12 * x1 - 1.5 * x2 + rng.normal(0, 60)
                rows.append(dict(student_id=f"S{len(rows) + 1:05d}", school_code=f"41{school:08d}", county_code=c,
                                 zone=zone, member=member, sex=sex, location=location, x1=x1, x2=x2,
                                 score=score, weight=school_w * float(rng.uniform(0.8, 1.25)) * 10))
    df = pl.DataFrame(rows)
    n = df.height
    pv = df["score"].to_numpy()[:, None] + rng.normal(0, 30, size=(n, 5))
    df = df.with_columns(pl.Series(f"pv{m + 1}", pv[:, m]) for m in range(5))
    df = df.with_columns(
        (pl.col("score") >= 480).cast(pl.Int64).alias("pass"),
        pl.col("score").cut([420, 500, 580], labels=["1", "2", "3", "4"]).cast(pl.String).cast(pl.Int64).alias("level"),
    )
    df = df.with_columns(
        pl.concat_list((pl.col(f"pv{m}") >= 500).cast(pl.Int64) for m in range(1, 6)).alias("_l")
    ).with_columns(pl.col("_l").list.get(m - 1).alias(f"pass_pv{m}") for m in range(1, 6)).drop("_l")
    # a few missing scores, to exercise na.rm
    miss = rng.choice(n, size=12, replace=False)
    score = df["score"].to_numpy().copy()
    score[miss] = np.nan
    df = df.with_columns(pl.Series("score", score).fill_nan(None))
    zone = df["zone"].to_numpy()
    member = df["member"].to_numpy()
    w = df["weight"].to_numpy()
    jk = np.empty((n, 24))
    for h in range(24):
        f = np.ones(n)
        f[(zone == h) & (member == 0)] = 0.0
        f[(zone == h) & (member == 1)] = 2.0
        jk[:, h] = w * f
    had = hadamard(32)
    fay = np.empty((n, 32))
    for r in range(32):
        sign = had[r, 1 + zone]  # +1 or -1 per pupil's zone
        f = np.where(member == 0, np.where(sign > 0, 1.5, 0.5), np.where(sign > 0, 0.5, 1.5))
        fay[:, r] = w * f
    df = df.with_columns(
        [pl.Series(f"jk_{r + 1}", jk[:, r]) for r in range(24)]
        + [pl.Series(f"fay_{r + 1}", fay[:, r]) for r in range(32)]
    )
    df.write_csv(HERE / "design_data.csv", float_precision=17)


if __name__ == "__main__":
    main()
