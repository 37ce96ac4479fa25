"""The counties of the synthetic province and the size of their grade-6 cohorts.

The 157 county-level units come from the registry's divisions (GB/T 2260, 2022; 济源 once, as a
county of the city 济源). Real per-county cohorts were not available (POLICY.md §4), so sizes are
drawn: a lognormal weight per county with a median set by the kind of unit (市辖区 smaller than
县 and 县级市), enlarged for the big central districts of 郑州 and the large rural counties of the
south and east, and shrunk for small mining/industrial districts; the weights are then scaled so
the provincial cohort is ``1.5 million × scale``.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from junheng.io import read_package_table

COHORT_AT_SCALE_1 = 1_500_000

# relative size multipliers for counties known to be unusually large or small
_LARGE = {
    "410102": 1.6, "410103": 1.5, "410104": 1.4, "410105": 2.4, "410122": 1.4, "410184": 1.5,
    "411525": 2.2, "411381": 2.0, "411627": 1.9, "411481": 1.8, "410526": 1.8, "411328": 1.7,
    "411625": 1.7, "411624": 1.6, "411681": 1.5, "411623": 1.6, "411729": 1.5, "411722": 1.6,
    "411628": 1.5, "411426": 1.5, "411425": 1.5, "411528": 1.4, "410482": 1.5, "411081": 1.5,
    "411324": 1.4, "411503": 1.3, "411402": 1.3, "411702": 1.3, "411302": 1.3, "411303": 1.3,
}
_SMALL = {
    "410106": 0.35, "410404": 0.25, "410602": 0.35, "410603": 0.35, "410804": 0.3, "410803": 0.3,
    "410704": 0.35, "411281": 0.4, "410202": 0.5, "410205": 0.5, "410302": 0.5, "410304": 0.5,
    "410204": 0.5, "410403": 0.5, "410811": 0.6, "410802": 0.6, "411202": 0.6, "410923": 0.9,
    "410927": 0.7, "410622": 0.8, "410825": 0.9,
}
_KIND_MEDIAN = {"市辖区": 0.7, "县": 1.0, "县级市": 1.05}
# share of grade-6 pupils in 城区 / 镇区 / 乡村 schools by kind of unit
LOCATION_SHARES = {"市辖区": (0.82, 0.12, 0.06), "县": (0.28, 0.36, 0.36), "县级市": (0.34, 0.36, 0.30)}


def divisions() -> pl.DataFrame:
    """The registry's Henan divisions (code, name, level, parent_code), codes as strings."""
    return read_package_table("junheng.registry.data", "divisions_henan.csv")


def _kind(code: str) -> str:
    if code == "419001":
        return "县级市"
    k = int(code[4:6])
    return "市辖区" if k <= 20 else ("县级市" if k >= 81 else "县")


def county_regions(scale: float, rng: np.random.Generator) -> pl.DataFrame:
    """One row per county-level unit: ``county_code, county_name, city_code, city_name, kind,
    cohort`` (the target grade-6 cohort, float) — 157 rows in code order."""
    div = divisions()
    cities = div.filter(pl.col("level") == "city").select(
        pl.col("code").alias("city_code"), pl.col("name").alias("city_name"))
    counties = (
        div.filter(pl.col("level") == "county")
        .select(pl.col("code").alias("county_code"), pl.col("name").alias("county_name"),
                pl.col("parent_code").alias("city_code"))
        .join(cities, on="city_code", how="left")
        .sort("county_code")
    )
    codes = counties["county_code"].to_list()
    kinds = [_kind(c) for c in codes]
    median = np.array([_KIND_MEDIAN[k] * _LARGE.get(c, 1.0) * _SMALL.get(c, 1.0) for c, k in zip(codes, kinds)])
    weight = median * np.exp(rng.normal(0.0, 0.22, len(codes)))
    cohort = COHORT_AT_SCALE_1 * scale * weight / weight.sum()
    return counties.with_columns(pl.Series("kind", kinds), pl.Series("cohort", cohort))
