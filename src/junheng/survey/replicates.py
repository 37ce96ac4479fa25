"""Replicate weights: variance zones, JK2 and Fay's BRR.

Zones (pseudo-strata of two pseudo-PSUs).  Non-certainty sampled schools are paired in their
sort order within each explicit stratum (zone = pair, member 0/1 at random within the pair); a
stratum's odd school left over and every certainty school form a zone of their own whose two
members are random halves of the school's pupils (certainty schools are their own strata; the
TIMSS/PIRLS practice, Methods and Procedures ch. 10).  With H zones and R replicates, zone h
belongs to replicate h mod R (zones folded onto replicates, as TIMSS and PISA do when H > R).

JK2 (paired jackknife).  In replicate r, member 0 of each zone assigned to r gets weight 0 and
member 1 weight ×2; all others keep their weight.  V = Σ_r (θ_r − θ)² (Rust 1985; Lumley 2010).

Fay's BRR.  With a Hadamard matrix H of order R (rows: replicates, column 1 + (h mod (R−1)) for
zone h), in replicate r member 0 of zone h gets factor 2 − k when H[r, ·] = +1 and k otherwise,
member 1 the opposite.  V = Σ_r (θ_r − θ)² / (R (1 − k)²) (Judkins 1990; PISA 2018 Technical
Report ch. 8, k = 0.5, R = 80).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from junheng.exceptions import ParameterError


def _is_prime(q: int) -> bool:
    return q >= 2 and all(q % d for d in range(2, int(q**0.5) + 1))


def hadamard(order: int) -> np.ndarray:
    """A Hadamard matrix (entries ±1, H Hᵀ = n I) of ``order``: Sylvester doubling of a Paley-I
    matrix (order q + 1, q prime ≡ 3 mod 4) or of [[1]], with column 0 all +1.  Raises for orders
    it cannot build."""
    if order < 1:
        raise ParameterError(f"阶数须为正 / order must be positive; got {order}")
    doublings = 0
    base = order
    while True:
        if base == 1 or base == 2:
            h = np.array([[1]]) if base == 1 else np.array([[1, 1], [1, -1]])
            break
        if base % 4 == 0 and _is_prime(base - 1) and (base - 1) % 4 == 3:
            q = base - 1
            residues = {(i * i) % q for i in range(1, q)}
            chi = np.array([0] + [1 if i in residues else -1 for i in range(1, q)])
            jac = chi[(np.arange(q)[None, :] - np.arange(q)[:, None]) % q]  # Q[i, j] = χ(j − i)
            h = np.ones((q + 1, q + 1), dtype=int)
            h[1:, 1:] = jac + np.eye(q, dtype=int)  # H = I + S, S = [[0, 1ᵀ], [−1, Q]] skew (Paley 1933)
            h[1:, 0] = -1
            break
        if base % 2:
            raise ParameterError(f"无法构造 {order} 阶 Hadamard 矩阵 / cannot build a Hadamard matrix of order {order}"
                                 "; use a multiple of 4 such as 16, 20, 24, 32, 40, 48, 60, 64, 72, 80")
        base //= 2
        doublings += 1
    for _ in range(doublings):
        h = np.block([[h, h], [h, -h]])
    # normalised so that column 0 is all +1: then every other column has as many +1 as −1, and a
    # zone's replicate factors average to exactly 1 (full orthogonal balance, Wolter 2007 §3.5)
    h = h * h[:, :1]
    return h.astype(np.int8)


def form_zones(pupils: pl.DataFrame, schools: pl.DataFrame, *, stratum: str = "stratum", random_state: int = 2022) -> pl.DataFrame:
    """Zone and member for each pupil.

    ``schools``: the participating sampled schools with ``school_code``, ``stratum`` (or the
    named column), ``certainty`` and ``sort_order``; ``pupils``: ``student_id``,
    ``school_code``.  Returns ``pupils`` with ``zone`` (0 … H−1) and ``member`` (0/1).
    """
    rng = np.random.default_rng([random_state, 5])
    s = schools.select("school_code", stratum, "certainty", "sort_order").sort(stratum, "sort_order")
    s = s.with_columns(
        pl.int_range(pl.len()).over(stratum, pl.col("certainty")).alias("__k"),
        pl.len().over(stratum, pl.col("certainty")).alias("__m"),
    )
    # pairs among non-certainty schools; the last of an odd count is split by pupils
    split = pl.col("certainty") | ((pl.col("__m") % 2 == 1) & (pl.col("__k") == pl.col("__m") - 1))
    s = s.with_columns(split.alias("split"), (pl.col("__k") // 2).alias("__pair"))
    s = s.with_columns(
        pl.when(pl.col("split")).then(pl.concat_str(pl.col(stratum).cast(pl.String), pl.lit("|s|"), "school_code"))
        .otherwise(pl.concat_str(pl.col(stratum).cast(pl.String), pl.lit("|p|"), pl.col("__pair").cast(pl.String)))
        .alias("__zkey")
    )
    keys = s.select("__zkey").unique(maintain_order=True)
    keys = keys.with_columns(pl.Series("zone", rng.permutation(keys.height), dtype=pl.Int64))
    s = s.join(keys, on="__zkey", how="left", maintain_order="left")
    # member within a pair: random which of the two is member 0
    flip = pl.Series("__flip", rng.integers(0, 2, s.height))
    s = s.with_columns(flip).with_columns(
        ((pl.col("__k") % 2 + pl.col("__flip").first().over("zone")) % 2).cast(pl.Int64).alias("__member")
    )
    p = pupils.select("student_id", "school_code").join(
        s.select("school_code", "zone", "split", "__member"), on="school_code", how="left", maintain_order="left")
    if p["zone"].null_count():
        bad = p.filter(pl.col("zone").is_null())["school_code"].unique().to_list()[:5]
        raise ParameterError(f"学生所在学校不在样本学校中 / pupils in schools outside the school sample: {bad}")
    # split schools: alternate members over the pupils in a random order
    key = pl.Series("__key", rng.random(p.height))
    p = p.with_columns(key).with_columns(
        (pl.col("__key").rank("ordinal").over("school_code") % 2).cast(pl.Int64).alias("__half")
    )
    p = p.with_columns(
        pl.when(pl.col("split")).then(pl.col("__half")).otherwise(pl.col("__member")).alias("member")
    )
    return pupils.with_columns(p["zone"], p["member"])


def jk2_factors(zone: np.ndarray, member: np.ndarray, replicates: int) -> np.ndarray:
    """(n × R) JK2 replicate factors: 0 / 2 for the zones of replicate r, 1 elsewhere."""
    if replicates < 1:
        raise ParameterError(f"复制数须 ≥ 1 / replicates must be ≥ 1; got {replicates}")
    n = zone.size
    f = np.ones((n, replicates))
    f[np.arange(n), zone % replicates] = 2.0 * member
    return f


def fay_factors(zone: np.ndarray, member: np.ndarray, replicates: int, k: float = 0.5) -> np.ndarray:
    """(n × R) Fay BRR factors 2 − k / k from a Hadamard matrix of order R (k = 0: plain BRR)."""
    if not 0.0 <= k < 1.0:
        raise ParameterError(f"Fay 系数须在 [0, 1) / fay_k must be in [0, 1); got {k}")
    h = hadamard(replicates)
    cols = 1 + zone % (replicates - 1) if replicates > 1 else np.zeros_like(zone)
    sign = h[:, cols].T  # (n, R)
    plus = (sign > 0) == (member[:, None] == 0)
    return np.where(plus, 2.0 - k, k)


def replicate_factors(zone: np.ndarray, member: np.ndarray, method: str = "jk2", replicates: int = 80,
                      fay_k: float = 0.5) -> np.ndarray:
    """Replicate factors for ``method`` ``jk2``, ``fay`` or ``brr`` (Fay with k = 0)."""
    if method == "jk2":
        return jk2_factors(zone, member, replicates)
    if method == "fay":
        return fay_factors(zone, member, replicates, fay_k)
    if method == "brr":
        return fay_factors(zone, member, replicates, 0.0)
    raise ParameterError(f"方法须为 jk2/fay/brr / method must be jk2, fay or brr; got {method!r}")


__all__ = ["fay_factors", "form_zones", "hadamard", "jk2_factors", "replicate_factors"]
