"""Schools of the synthetic province: stage, location, enrolment and classes by grade, codes, names.

How a county's schools are drawn (all vectorised; one ``numpy`` generator):

1. The county's grade-6 cohort is split over 城区/镇区/乡村 (shares by kind of unit, with noise),
   then over *components*: 九年一贯制 (6–10 % of the pupils), 教学点 (4 % of rural pupils) and
   小学 (the rest).
2. A component of ``P`` pupils gets about ``P / mean size`` schools (systematic rounding over
   all counties, so totals hold at small scales; the county's main 小学 component always gets
   at least one); their grade-6 sizes are lognormal (medians: urban 小学 260, town 110, rural 32,
   教学点 6), clipped to a plausible range. Other grades follow the grade-6 size with the
   larger 2014–2016 birth cohorts in the lower grades (×1.02–1.12) and 6 % noise.
3. 教学点 without grade 6 (grades 1–2, 1–3 or 1–4, a handful of pupils each) are added, two for
   every 教学点 that has a grade 6.
4. Junior secondary: the county's grade-7 cohort (≈ grade 6) less the 九年一贯制 junior parts is
   split over 初中 (85 %) and 完全中学 (15 %) schools, mostly urban and town.
5. Special-education schools (学校类别码 51) in most counties: a few pupils in each of grades 1–9.

Classes: ``ceil(enrolment / cap)`` with a per-school cap of 45 (most), 50 or 56 (大班额, more
often urban). 学校标识码: 类别码 + 41 + a 6-digit serial unique within the 类别, increasing with
the county code (21 小学 and 教学点, 31 初中 and 九年一贯制, 34 完全中学, 51 特殊教育).
"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy.special import ndtri

from junheng.synth import _pools
from junheng.synth.regions import LOCATION_SHARES

LOCS = ("城区", "镇区", "乡村")
GRADES = range(1, 10)
# grade g size relative to grade 6 (primary) — the 2014–2016 birth cohorts were larger
_PRIMARY_GRADE_FACTOR = np.array([1.10, 1.12, 1.08, 1.05, 1.02, 1.0])

# component: (stage, is_teaching_point, location index, share of the location's pupils,
#             median grade size, log sd, min, max)
_PRIMARY_COMPONENTS = (
    ("九年一贯制", False, 0, 0.06, 220, 0.40, 40, 420),
    ("小学", False, 0, 0.94, 260, 0.40, 30, 460),
    ("九年一贯制", False, 1, 0.10, 90, 0.45, 15, 300),
    ("小学", False, 1, 0.90, 110, 0.50, 12, 360),
    ("九年一贯制", False, 2, 0.08, 40, 0.50, 8, 150),
    ("小学", True, 2, 0.04, 6, 0.50, 1, 15),
    ("小学", False, 2, 0.88, 32, 0.60, 4, 150),
)
_JUNIOR_LOC_SHARES = {"市辖区": (0.85, 0.12, 0.03), "县": (0.38, 0.47, 0.15), "县级市": (0.42, 0.45, 0.13)}
_JUNIOR_COMPONENTS = (  # (stage, share, medians by location)
    ("初中", 0.85, (420, 260, 120)),
    ("完全中学", 0.15, (500, 320, 150)),
)
_CODE_PREFIX = {"小学": "2141", "九年一贯制": "3141", "初中": "3141", "完全中学": "3441", "特殊": "5141"}


def _clipped_lognormal_mean(median: np.ndarray, sd: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """E[clip(median · exp(sd · Z), lo, hi)], Z ~ N(0, 1), by the midpoint rule on 400 quantiles."""
    z = ndtri((np.arange(400) + 0.5) / 400)
    draws = median[:, None] * np.exp(sd[:, None] * z[None, :])
    return np.clip(draws, lo[:, None], hi[:, None]).mean(axis=1)


def _allocate(groups: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """Split each group's ``pupils`` over schools: one output row per school with ``size``.

    ``groups`` has ``pupils, median, sd, lo, hi, anchor`` and any carried columns. The number of
    schools is ``pupils / mean size`` (the mean of the clipped lognormal) rounded systematically
    (floor or ceil with one random start, so small scales keep realistic school sizes and their
    totals), exactly one where ``anchor`` is set and the group is smaller than one school. Sizes
    are lognormal draws, rescaled to sum to ``n × mean size`` when the group has ≥ 3 schools
    (a forced single school takes the group's pupils).
    """
    pupils = groups["pupils"].to_numpy()
    mean = _clipped_lognormal_mean(groups["median"].to_numpy(), groups["sd"].to_numpy(),
                                   groups["lo"].to_numpy(), groups["hi"].to_numpy())
    # a group smaller than one school that must have a school (anchor) gets one with its pupils;
    # the others are rounded systematically: each gets floor or ceil of its expected count and
    # the counts add up to the expected total (small scales keep their totals, not just on average)
    forced = groups["anchor"].to_numpy() & (pupils < mean)
    x = np.where(forced, 0.0, pupils / mean)
    cum = rng.random() + np.cumsum(x)
    n = (np.floor(cum) - np.floor(np.concatenate([[cum[0] - x[0]], cum[:-1]]))).astype(np.int64)
    n = np.where(forced, 1, n)
    keep = n > 0
    kept = groups.filter(pl.Series(keep))
    nk = n[keep]
    gid = np.repeat(np.arange(kept.height), nk)
    rows = kept.select(pl.all().gather(pl.Series(gid)))
    raw = rows["median"].to_numpy() * np.exp(rng.normal(0.0, 1.0, len(gid)) * rows["sd"].to_numpy())
    lo, hi = rows["lo"].to_numpy(), rows["hi"].to_numpy()
    raw = np.clip(raw, lo, hi)
    total = np.bincount(gid, raw)[gid]
    rescale = nk[gid] >= 3
    # scaled to n × mean size (not to the group's pupils): then E[total | n] = n × mean for every
    # n, and with E[n] = pupils / mean the expected total is the group's pupils, without bias
    size = np.where(rescale, raw / total * (nk * mean[keep])[gid], raw)
    is_forced = forced[keep][gid]
    size = np.where(is_forced, rows["pupils"].to_numpy(), size)  # a forced school takes the group's pupils
    size = np.clip(np.rint(size), np.where(is_forced, 1, lo), hi).astype(np.int64)
    return rows.with_columns(pl.Series("size", size))


def _grade_columns(size: np.ndarray, factors: dict[int, float], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """``enrol_g<g>`` = max(1, round(size × factor_g × lognormal noise (6 %))) for the given grades."""
    return {
        f"enrol_g{g}": np.maximum(1, np.rint(size * f * np.exp(rng.normal(0.0, 0.06, len(size))))).astype(np.int64)
        for g, f in factors.items()
    }


def _primary(regions: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    kinds = regions["kind"].to_list()
    shares = np.array([LOCATION_SHARES[k] for k in kinds]) * np.exp(rng.normal(0, 0.15, (len(kinds), 3)))
    shares /= shares.sum(axis=1, keepdims=True)
    cohort = regions["cohort"].to_numpy()
    largest = shares.argmax(axis=1)
    recs = []
    for stage, tp, li, share, med, sd, lo, hi in _PRIMARY_COMPONENTS:
        recs.append(pl.DataFrame({
            "county_code": regions["county_code"], "stage": stage, "is_teaching_point": tp,
            "location": LOCS[li], "pupils": cohort * shares[:, li] * share,
            "median": float(med), "sd": sd, "lo": lo, "hi": hi,
            "anchor": (largest == li) & (stage == "小学") & (not tp),
        }))
    schools = _allocate(pl.concat(recs), rng)
    size = schools["size"].to_numpy()
    nine = (schools["stage"] == "九年一贯制").to_numpy()
    cols = _grade_columns(size, dict(enumerate(_PRIMARY_GRADE_FACTOR[:5], start=1)), rng)
    cols["enrol_g6"] = size
    jun = _grade_columns(size, {7: 0.99, 8: 0.98, 9: 0.97}, rng)
    for g in (7, 8, 9):
        cols[f"enrol_g{g}"] = np.where(nine, jun[f"enrol_g{g}"], 0)
    return schools.select("county_code", "stage", "location", "is_teaching_point").with_columns(
        [pl.Series(k, v) for k, v in cols.items()])


def _small_teaching_points(primary: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """教学点 with only the lower grades (no grade 6): two per 教学点 that has a grade 6."""
    tp = primary.filter(pl.col("is_teaching_point"))
    county = np.repeat(tp["county_code"].to_numpy(), 2)
    n = len(county)
    top = rng.choice([2, 3, 4], size=n, p=[0.3, 0.45, 0.25])
    size = np.clip(np.rint(np.exp(rng.normal(np.log(7), 0.5, n))), 1, 20)
    cols = {}
    for g in GRADES:
        v = np.rint(size * np.exp(rng.normal(0, 0.25, n))).astype(np.int64)
        cols[f"enrol_g{g}"] = np.where(g <= top, np.maximum(v, 1), 0)
    return pl.DataFrame({"county_code": county, "stage": "小学", "location": "乡村", "is_teaching_point": True,
                         **cols})


def _junior(regions: pl.DataFrame, primary: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    nine_g7 = primary.filter(pl.col("stage") == "九年一贯制").group_by("county_code").agg(pl.col("enrol_g7").sum())
    reg = regions.join(nine_g7, on="county_code", how="left", maintain_order="left")
    reg = reg.with_columns(pl.col("enrol_g7").fill_null(0))
    remaining = np.maximum(reg["cohort"].to_numpy() * 0.99 - reg["enrol_g7"].to_numpy(), 0.0)
    shares = np.array([_JUNIOR_LOC_SHARES[k] for k in reg["kind"].to_list()])
    recs = []
    for stage, share, medians in _JUNIOR_COMPONENTS:
        for li, loc in enumerate(LOCS):
            recs.append(pl.DataFrame({
                "county_code": reg["county_code"], "stage": stage, "is_teaching_point": False, "location": loc,
                "pupils": remaining * shares[:, li] * share, "median": float(medians[li]), "sd": 0.4,
                "lo": 30, "hi": 1000, "anchor": (li == 0) & (stage == "初中"),
            }))
    schools = _allocate(pl.concat(recs), rng)
    size = schools["size"].to_numpy()
    zeros = {f"enrol_g{g}": np.zeros(len(size), dtype=np.int64) for g in range(1, 7)}
    cols = {**zeros, "enrol_g7": size, **_grade_columns(size, {8: 0.99, 9: 0.98}, rng)}
    return schools.select("county_code", "stage", "location", "is_teaching_point").with_columns(
        [pl.Series(k, v) for k, v in cols.items()])


def _special(regions: pl.DataFrame, scale: float, rng: np.random.Generator) -> pl.DataFrame:
    """特殊教育学校: in about 70 % of counties at scale 1 (fewer at small scales), always ≥ 1."""
    p = min(0.7, 0.7 * scale * 5)
    u = rng.random(regions.height)
    has = u < p
    has[np.argmin(u)] = True
    county = regions["county_code"].to_numpy()[has]
    n = len(county)
    cols = {f"enrol_g{g}": rng.integers(2, 15, n) for g in GRADES}
    return pl.DataFrame({"county_code": county, "stage": "九年一贯制", "location": "城区",
                         "is_teaching_point": False, **cols}).with_columns(pl.lit(True).alias("_special"))


def _classes(schools: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """classes_g1..9 = ceil(enrolment / cap); cap 45 for most schools, 50 or 56 for some."""
    urban = (schools["location"] == "城区").to_numpy()
    u = rng.random(schools.height)
    cap = np.where(u < np.where(urban, 0.84, 0.93), 45, np.where(u < np.where(urban, 0.94, 0.98), 50, 56))
    return schools.with_columns([
        pl.Series(f"classes_g{g}", np.ceil(schools[f"enrol_g{g}"].to_numpy() / cap).astype(np.int64))
        for g in GRADES
    ])


def _codes(schools: pl.DataFrame, rng: np.random.Generator) -> pl.Series:
    """Unique 10-digit 学校标识码, serials increasing in frame order within each 类别码."""
    stage_prefix = schools["stage"].replace_strict(_CODE_PREFIX, return_dtype=pl.String)
    prefix = pl.select(pl.when(schools["_special"]).then(pl.lit(_CODE_PREFIX["特殊"])).otherwise(stage_prefix)).to_series()
    serial = np.zeros(schools.height, dtype=np.int64)
    prefixes = prefix.to_numpy()
    for p in sorted(set(prefixes.tolist())):  # a loop over the four 类别码
        idx = np.flatnonzero(prefixes == p)
        serial[idx] = np.sort(rng.choice(900_000, size=len(idx), replace=False)) + 100_000
    return (prefix + pl.Series(serial).cast(pl.String)).alias("school_code")


def _syllables(n: int, rng: np.random.Generator) -> pl.Series:
    pool = pl.Series(list(_pools.PLACE_SYLLABLES))
    a = pool.gather(rng.integers(0, len(pool), n))
    b = pool.gather(rng.integers(0, len(pool), n))
    return pl.concat_str([a, b])


def _names(schools: pl.DataFrame, regions: pl.DataFrame, rng: np.random.Generator) -> pl.Series:
    """Plausible Chinese school names, unique within a county (实验小学, 第三小学, 人民路小学,
    X镇中心小学, X镇第二小学, X镇X村小学, X村教学点, 第二初级中学 …; a rare clash gets 分校)."""
    n = schools.height
    df = schools.join(regions.select("county_code", "county_name"), on="county_code", how="left",
                      maintain_order="left")
    roads = pl.Series(list(_pools.ROADS))
    ord_lut = pl.Series([_pools.ordinal_zh(i) for i in range(1, 100)])
    df = df.with_columns(
        pl.int_range(pl.len()).over("county_code", "stage", "location", "is_teaching_point", "_special").alias("k"),
        _syllables(n, rng).alias("town"),
        _syllables(n, rng).alias("village"),
        pl.Series("road_shift", rng.integers(0, len(roads), n)),
    )
    # town and village 小学 share a town four at a time (教学点 three), other schools one each;
    # the first school of a town names it
    k = pl.col("k")
    df = df.with_columns(
        pl.when(pl.col("is_teaching_point")).then(k // 3)
        .when(pl.col("stage") == "小学").then(k // 4).otherwise(k).alias("town_id"),
        (k % 4).alias("in_town"),
    )
    df = df.with_columns(pl.col("town").first().over("county_code", "location", "town_id"))
    df = df.with_columns(
        pl.Series("ord", ord_lut.gather(df["k"].clip(0, 98))),
        pl.Series("ord_in_town", ord_lut.gather(df["in_town"])),
        # urban schools with odd k < 60 take a road name, each road once per county
        roads.gather(((df["k"] // 2 + df["road_shift"].first()) % len(roads)).cast(pl.Int64)).alias("road"),
    )
    c, t, v, o = pl.col("county_name"), pl.col("town"), pl.col("village"), pl.col("ord")
    stage, loc = pl.col("stage"), pl.col("location")
    primary_city = (stage == "小学") & (loc == "城区")
    name = (
        pl.when(pl.col("_special")).then(pl.concat_str([c, pl.lit("特殊教育学校")]))
        .when(pl.col("is_teaching_point")).then(pl.concat_str([c, t, pl.lit("镇"), v, pl.lit("村教学点")]))
        .when(primary_city & (k == 0)).then(pl.concat_str([c, pl.lit("实验小学")]))
        .when(primary_city & (k % 2 == 1) & (k < 2 * len(roads))).then(pl.concat_str([c, pl.col("road"), pl.lit("小学")]))
        .when(primary_city).then(pl.concat_str([c, pl.lit("第"), o, pl.lit("小学")]))
        .when((stage == "小学") & (loc == "镇区") & (pl.col("in_town") == 0))
        .then(pl.concat_str([c, t, pl.lit("镇中心小学")]))
        .when((stage == "小学") & (loc == "镇区"))
        .then(pl.concat_str([c, t, pl.lit("镇第"), pl.col("ord_in_town"), pl.lit("小学")]))
        .when(stage == "小学").then(pl.concat_str([c, t, pl.lit("镇"), v, pl.lit("村小学")]))
        .when((stage == "九年一贯制") & (loc == "城区")).then(pl.concat_str([c, pl.lit("第"), o, pl.lit("实验学校")]))
        .when(stage == "九年一贯制").then(pl.concat_str([c, t, pl.lit("镇九年一贯制学校")]))
        .when((stage == "初中") & (loc == "城区")).then(pl.concat_str([c, pl.lit("第"), o, pl.lit("初级中学")]))
        .when(stage == "初中").then(pl.concat_str([c, t, pl.lit("镇初级中学")]))
        .when(loc == "城区").then(pl.concat_str([c, pl.lit("第"), o, pl.lit("高级中学")]))
        .otherwise(pl.concat_str([c, t, pl.lit("镇中学")]))
    )
    named = df.select(pl.col("county_code"), name.alias("name"))
    clash = named.select(pl.int_range(pl.len()).over("county_code", "name"))[:, 0]
    suffix = pl.Series([""] + ["分校"] + [f"第{_pools.ordinal_zh(i)}分校" for i in range(2, 99)])
    return named["name"] + suffix.gather(clash.clip(0, 98))


def build_schools(regions: pl.DataFrame, scale: float, rng: np.random.Generator) -> pl.DataFrame:
    """Every school of the province with the SCHOOLS fields except the resource figures, plus a
    private ``_special`` flag (special-education school)."""
    primary = _primary(regions, rng)
    parts = [primary, _small_teaching_points(primary, rng), _junior(regions, primary, rng)]
    parts = [p.with_columns(pl.lit(False).alias("_special")) for p in parts]
    parts.append(_special(regions, scale, rng))
    int_cols = [pl.col(f"enrol_g{g}").cast(pl.Int32) for g in GRADES]
    schools = pl.concat([p.with_columns(int_cols) for p in parts], how="vertical")
    stage_order = pl.col("stage").replace_strict({"小学": 0, "九年一贯制": 1, "初中": 2, "完全中学": 3})
    loc_order = pl.col("location").replace_strict({"城区": 0, "镇区": 1, "乡村": 2})
    total = pl.sum_horizontal([pl.col(f"enrol_g{g}") for g in GRADES])
    schools = schools.sort(
        [pl.col("county_code"), pl.col("_special"), stage_order, pl.col("is_teaching_point"), loc_order, total],
        descending=[False, False, False, False, False, True], maintain_order=True,
    )
    schools = _classes(schools, rng)
    schools = schools.with_columns(_codes(schools, rng), _names(schools, regions, rng))
    return schools
