"""Response scoring and classical item analysis at the scale of a provincial cycle.

``python benchmarks/run.py assessment`` (``BENCH_ASSESSMENT_N`` overrides the 168,000 pupils).

Data: the demo's synthetic four-subject test (224 items, 7 booklets of 24 items per subject),
N pupils, about 4 million raw responses with omissions and not-reached endings.

1. junheng: :func:`score_responses` (key join, partial credit, omitted / not-reached / invalid
   classification) and :func:`to_wide`; then :func:`item_statistics` (p, item-rest r within
   booklet), :func:`alpha_by_booklet` and :func:`mantel_haenszel_dif` by sex; the statistics
   again with integer pupil numbers (what the demo passes), which skips hashing the 学籍号.
2. baseline, same data, same run: a per-response Python scorer (dictionary look-up of the key
   table, a per-pupil pass for not reached) — the way scoring scripts are commonly written —
   and a Polars pivot per booklet with NumPy per-item correlations for item-rest r. The two
   scorers must agree on every response; the statistics must agree to 1e-9.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict

import numpy as np
import polars as pl

from junheng.assessment import (
    alpha_by_booklet,
    item_statistics,
    mantel_haenszel_dif,
    score_responses,
    to_wide,
)
from junheng.synth.responses import current_year, synth_tests

N = int(os.environ.get("BENCH_ASSESSMENT_N", 168_000))


def _python_scorer(raw: pl.DataFrame, bank) -> list:
    table = {(it.item_id, k): v for it in bank for k, v in it.score_table().items()}
    last = defaultdict(int)
    rows = list(zip(raw["person_id"].to_list(), raw["item_id"].to_list(), raw["raw"].to_list(),
                    raw["position"].to_list()))
    for p, _i, r, pos in rows:
        if r not in ("", None) and pos > last[p]:
            last[p] = pos
    out = []
    for p, i, r, pos in rows:
        r = (r or "").strip().upper()
        s = table.get((i, r))
        if s is not None:
            out.append(s)
        elif r in ("", "9", "-"):
            out.append(0 if pos < last[p] else None)
        else:
            raise ValueError(r)
    return out


def _baseline_item_rest(scored: pl.DataFrame, booklets: pl.DataFrame) -> dict:
    df = scored.filter(pl.col("score").is_not_null()).join(booklets, on="person_id")
    res = {}
    for _bk, g in df.group_by(["booklet"]):
        w = g.pivot(on="item_id", index="person_id", values="score")
        x = w.drop("person_id").to_numpy().astype(float)
        tot = np.nansum(x, axis=1)
        for j, it in enumerate(w.columns[1:]):
            ok = ~np.isnan(x[:, j])
            r = np.corrcoef(x[ok, j], tot[ok] - x[ok, j])[0, 1]
            n0, r0 = res.get(it, (0, 0.0))
            res[it] = (n0 + ok.sum(), r0 + r * ok.sum())
    return {k: r / n for k, (n, r) in res.items()}


def main() -> None:
    test = synth_tests(2022)
    rng = np.random.default_rng(1)
    pupils = pl.DataFrame({"student_id": [f"G{i:018d}" for i in range(N)],
                           "school_code": rng.integers(0, max(1, N // 50), N).astype(str),
                           "sex": rng.integers(1, 3, N)})
    asg, raw = current_year(pupils, test, random_state=5)
    print(f"{N} pupils, {raw.height} raw responses, {len(test.bank)} items")

    t = time.perf_counter()
    scored = score_responses(raw, test.bank)
    t_score = time.perf_counter() - t
    t = time.perf_counter()
    wide = to_wide(scored)
    t_wide = time.perf_counter() - t
    t = time.perf_counter()
    base = _python_scorer(raw, test.bank)
    t_base = time.perf_counter() - t
    mine = scored.sort("person_id", "position")["score"].to_list()
    ref = pl.DataFrame({"person_id": raw["person_id"], "position": raw["position"], "s": pl.Series(base, dtype=pl.Int32)}) \
            .sort("person_id", "position")["s"].to_list()
    assert mine == ref, "scorers disagree"
    print(f"scoring   junheng {t_score:6.2f} s (+ wide {t_wide:.2f} s, {wide.shape})  "
          f"python loop {t_base:6.2f} s  ratio {t_base / t_score:5.1f}×  (agree on all {len(mine)})")

    bk = asg.select(pl.col("student_id").alias("person_id"), "booklet")
    t = time.perf_counter()
    st = item_statistics(scored, test.bank.to_frame(), bk)
    al = alpha_by_booklet(scored, bk)
    t_stats = time.perf_counter() - t
    t = time.perf_counter()
    ir = _baseline_item_rest(scored, bk)
    t_bstats = time.perf_counter() - t
    diff = max(abs(ir[r["item_id"]] - r["item_rest"]) for r in st.iter_rows(named=True))
    assert diff < 1e-9, diff
    print(f"item-rest r + alpha   junheng {t_stats:6.2f} s   numpy per-booklet loops {t_bstats:6.2f} s  "
          f"ratio {t_bstats / t_stats:5.1f}×  (max |Δr| {diff:.1e}; {al.height} booklets)")

    # the same statistics with pupils numbered 0..N−1 (as the demo does): no string hashing
    num = asg.select(pl.col("student_id").alias("person_id")).with_row_index("pid").with_columns(pl.col("pid").cast(pl.Int64))
    scored_i = scored.join(num, on="person_id").drop("person_id").rename({"pid": "person_id"})
    bk_i = bk.join(num, on="person_id").drop("person_id").rename({"pid": "person_id"})
    t = time.perf_counter()
    st_i = item_statistics(scored_i, test.bank.to_frame(), bk_i)
    alpha_by_booklet(scored_i, bk_i)
    t_stats_i = time.perf_counter() - t
    assert np.allclose(st_i["item_rest"].to_numpy(), st["item_rest"].to_numpy(), atol=1e-12)
    print(f"item-rest r + alpha, integer pupil numbers   junheng {t_stats_i:6.2f} s  ratio {t_bstats / t_stats_i:5.1f}×")

    groups = pupils.select(pl.col("student_id").alias("person_id"), "sex")
    t = time.perf_counter()
    dif = mantel_haenszel_dif(scored, groups, group="sex", reference=1, focal=2, booklets=bk)
    t_dif = time.perf_counter() - t
    print(f"MH DIF by sex ({dif.height} dichotomous items)   junheng {t_dif:6.2f} s")
