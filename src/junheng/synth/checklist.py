"""Synthetic 政府保障程度 / 教育质量 / 社会认可度 checklist data per county (two years).

Not real data.  Each county draws a latent "readiness" r_k ~ U(0, 1); each of the 15 + 8 checklist
items is met with probability 0.97 + 0.03 r_k (so about half the counties miss an item), 社会认可度
is drawn around 0.80 + 0.12 r_k (sd 0.03, clipped to [0.5, 0.99]), and each 一票否决 item occurs
with probability 0.01; the synthetic truth's exemplary counties meet every item with 0.95.  Last year's row is this year's with each item independently worse with
probability 0.15 (counties improve over time).  ``Q9`` is left null: it comes from the monitoring.
"""

from __future__ import annotations

import numpy as np
import polars as pl

GOV = [f"G{i}" for i in range(1, 16)]
QUAL = [f"Q{i}" for i in range(1, 9)]
VETO = [f"V{i}" for i in range(1, 7)]


def checklist(county_codes: list[str] | pl.Series, *, year: int = 2022, random_state: int = 2022) -> pl.DataFrame:
    """Checklist rows for ``year - 1`` and ``year`` (columns: county_code, year, G1..G15, Q1..Q8,
    Q9 (null), recognition, V1..V6), one per county and year, deterministic in ``random_state``."""
    codes = sorted(str(c) for c in county_codes)
    n = len(codes)
    rng = np.random.default_rng(random_state)
    r = rng.random(n)
    items = GOV + QUAL
    met = rng.random((n, len(items))) < (0.97 + 0.03 * r)[:, None]
    rec = np.clip(rng.normal(0.80 + 0.12 * r, 0.03), 0.5, 0.99)
    veto = rng.random((n, len(VETO))) < 0.01
    # the synthetic truth's exemplary counties meet every item (junheng.synth.truth)
    from junheng.synth.truth import exemplary_counties

    best = np.isin(codes, exemplary_counties(codes, random_state))
    met[best], veto[best] = True, False
    rec = np.where(best, 0.95, rec)
    worse = rng.random((n, len(items))) < 0.05
    met_last = met & ~worse
    rec_last = np.clip(rec - np.abs(rng.normal(0.02, 0.02, n)), 0.5, 0.99)

    def frame(y: int, m: np.ndarray, rc: np.ndarray) -> pl.DataFrame:
        data = {"county_code": codes, "year": [y] * n}
        data |= {c: m[:, j] for j, c in enumerate(items)}
        data["Q9"] = pl.Series([None] * n, dtype=pl.Boolean)
        data["recognition"] = np.round(rc, 4)
        data |= {c: veto[:, j] for j, c in enumerate(VETO)}
        return pl.DataFrame(data).with_columns(pl.col("year").cast(pl.Int32))

    return pl.concat([frame(year - 1, met_last, rec_last), frame(year, met, rec)])
