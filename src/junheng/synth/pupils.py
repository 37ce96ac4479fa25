"""Grade-6 rosters: one row per pupil of every school that has a grade 6.

学籍号 (POLICY.md §5.1):

- ``G`` + an 18-character 公民身份号码 (GB 11643-1999) for about 96 % of pupils: 6-digit
  address code (the school's county for most, another Henan county for 11 %, another province
  for 4 %), the birth date, a 3-digit sequence whose parity gives the sex (odd = male), and the
  ISO 7064 MOD 11-2 check character;
- ``J`` + 18 characters built by the same rules on the school's county for 3.4 %;
- ``L`` + county code + birth date + 4 random digits for 0.6 % (temporary numbers).

Collisions of (address, birth date, sequence) are redrawn until every 学籍号 is unique (a loop
over rounds, a handful at most, never over pupils).

Birth dates: 92 % in the normal window 2010-09-01 … 2011-08-31 (grade 6 in 2022), 6.5 % a year
older, 1.5 % a few months younger. Sex: 52 % male. Names: weighted surnames, given names of one
(12 %) or two characters from sex-typical pools. Ethnicity: GB 3304 codes, 98.6 % 汉族 (01),
about 1 % 回族 (03) and more (8 %) in the three 回族区. Pupils are dealt to the school's grade-6
classes in turn; classes are 六(1)班, 六(2)班 … with codes 601, 602 ….
"""

from __future__ import annotations

import numpy as np
import polars as pl

from junheng.registry.codes import CHECK_CHARS, WEIGHTS
from junheng.synth import _pools

_DAY = np.timedelta64(1, "D")


def _digits_sum(value: np.ndarray, width: int, weights: np.ndarray) -> np.ndarray:
    """Σ digit_p × weight_p over the ``width`` decimal digits of ``value`` (most significant first)."""
    s = np.zeros(len(value), dtype=np.int64)
    for p in range(width):
        s += (value // 10 ** (width - 1 - p)) % 10 * weights[p]
    return s


def _choice(rng: np.random.Generator, n: int, probs: np.ndarray) -> np.ndarray:
    cum = np.cumsum(probs / probs.sum())
    return np.minimum(np.searchsorted(cum, rng.random(n), side="right"), len(probs) - 1)


def build_pupils(schools: pl.DataFrame, regions: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """The grade-6 roster frame (PUPILS fields) of every school with ``enrol_g6 > 0``."""
    sch = schools.filter(pl.col("enrol_g6") > 0).select("school_code", "county_code", "enrol_g6", "classes_g6")
    size = sch["enrol_g6"].to_numpy().astype(np.int64)
    n = int(size.sum())
    si = np.repeat(np.arange(sch.height), size)
    within = np.arange(n) - np.repeat(np.cumsum(size) - size, size)
    n_classes = np.maximum(sch["classes_g6"].to_numpy().astype(np.int64), 1)[si]
    klass = within % n_classes + 1
    county = sch["county_code"].to_numpy().astype(np.int64)[si]

    male = rng.random(n) < 0.52
    # birth dates
    u = rng.random(n)
    start = np.where(u < 0.92, np.datetime64("2010-09-01"),
                     np.where(u < 0.985, np.datetime64("2009-09-01"), np.datetime64("2011-09-01")))
    span = np.where(u < 0.985, 365, 122)
    birth = start + np.floor(rng.random(n) * span).astype(np.int64) * _DAY
    b = birth.astype("datetime64[D]")
    year = b.astype("datetime64[Y]").astype(np.int64) + 1970
    month = b.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day = (b - b.astype("datetime64[M]")).astype(np.int64) + 1
    date8 = year * 10_000 + month * 100 + day

    # kind of number and address code
    kind = _choice(rng, n, np.array([0.96, 0.034, 0.006]))  # 0 G, 1 J, 2 L
    henan = regions["county_code"].to_numpy().astype(np.int64)
    outside = np.array(_pools.OUT_OF_PROVINCE_CODES, dtype=np.int64)
    v = rng.random(n)
    address = np.where(v < 0.85, county, np.where(v < 0.96, henan[rng.integers(0, len(henan), n)],
                                                  outside[rng.integers(0, len(outside), n)]))
    address = np.where(kind == 0, address, county)

    # sequence codes (odd = male), redrawn until (address, date, sequence) is unique
    def draw_seq(m: np.ndarray) -> np.ndarray:
        k = rng.integers(0, 500, len(m))
        return np.where(m, 2 * k + 1, np.maximum(2 * k, 2))

    seq = draw_seq(male)
    rand4 = rng.integers(0, 10_000, n)
    gj = kind < 2
    for _round in range(1000):  # a few rounds suffice: ~30 pupils share a county and a birthday
        key = np.where(gj, (address * 100_000_000 + date8) * 1000 + seq,
                       -((address * 100_000_000 + date8) * 10_000 + rand4) - 1)
        dup = pl.Series(key).is_first_distinct().not_().to_numpy()
        if not dup.any():
            break
        seq[dup] = draw_seq(male[dup])
        rand4[dup] = rng.integers(0, 10_000, int(dup.sum()))
    else:
        raise RuntimeError("could not draw unique 学籍号 (too many pupils per county and birthday)")

    s = _digits_sum(address, 6, WEIGHTS[:6]) + _digits_sum(date8, 8, WEIGHTS[6:14]) + _digits_sum(seq, 3, WEIGHTS[14:])
    check = pl.Series(list(CHECK_CHARS)).gather(s % 11)
    prefix = pl.Series(["G", "J", "L"]).gather(kind)
    tail_gj = pl.Series(seq).cast(pl.String).str.zfill(3) + check
    tail_l = pl.Series(rand4).cast(pl.String).str.zfill(4)
    body = pl.Series(address).cast(pl.String) + pl.Series(date8).cast(pl.String)
    tail = pl.select(pl.when(pl.Series(gj)).then(tail_gj).otherwise(tail_l)).to_series()
    student_id = prefix + body + tail

    # names
    sn, sw = zip(*_pools.SURNAMES)
    surname = pl.Series(list(sn)).gather(_choice(rng, n, np.array(sw)))
    pool = pl.Series(list(_pools.GIVEN_MALE + _pools.GIVEN_FEMALE))
    nm, nf = len(_pools.GIVEN_MALE), len(_pools.GIVEN_FEMALE)

    def given_char() -> pl.Series:
        return pool.gather(np.where(male, rng.integers(0, nm, n), nm + rng.integers(0, nf, n)))

    first, second = given_char(), given_char()
    two = pl.Series(rng.random(n) < 0.88)
    name = surname + first + pl.select(pl.when(two).then(second).otherwise(pl.lit(""))).to_series()

    # ethnicity: more 回族 in the 回族区
    codes, shares = zip(*_pools.ETHNICITIES)
    shares = np.array(shares)
    hui_shares = shares.copy()
    hui_shares[1], hui_shares[0] = 0.08, shares[0] - (0.08 - shares[1])
    hui_counties = regions.filter(pl.col("county_name").str.contains("回族"))["county_code"].to_numpy().astype(np.int64)
    in_hui = np.isin(county, hui_counties)
    eth_idx = np.where(in_hui, _choice(rng, n, hui_shares), _choice(rng, n, shares))
    ethnicity = pl.Series(list(codes)).gather(eth_idx)

    kls = pl.Series(klass).cast(pl.String)
    return pl.DataFrame({
        "student_id": student_id,
        "name": name,
        "sex": pl.Series(np.where(male, 1, 2), dtype=pl.Int8),
        "birth_date": pl.Series(b).cast(pl.Date),
        "ethnicity": ethnicity,
        "school_code": sch["school_code"].gather(si),
        "grade": pl.Series(np.full(n, 6), dtype=pl.Int8),
        "class_code": "6" + kls.str.zfill(2),
        "class_name": "六(" + kls + ")班",
    })
