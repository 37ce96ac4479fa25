"""IRT calibration at provincial scale: junheng vs girth (PyPI) on the same data, same run.

Data: N pupils (default 170,000; ``IRT_BENCH_N`` to change) × 40 items in a cyclic booklet
design (8 blocks of 5 items, 4 blocks per booklet: every pupil sees 20 of the 40 items), θ ~ N(0, 1).

- 2PL: 40 dichotomous items, a ~ lognormal(0, 0.25), b ~ N(0, 1).
- GPCM: 30 dichotomous 2PL items + 10 four-category GPCM items (girth's ``pcm_mml`` is the
  GPCM with an item slope, and a two-category GPCM item is a 2PL item: the same model).

junheng: ``IRTModel(model, n_quad=61, tol=1e-4, se=None)`` (mirt's defaults).  girth: its
defaults (41 nodes on ±4.5, 25 EM cycles).  Accuracy: RMSE of a, b and the GPCM steps against
the generating values, and the marginal log-likelihood of both parameter sets evaluated by the same
E-step (61 nodes on ±6, N(0, 1)).  Set ``IRT_BENCH_GIRTH=0`` to skip girth (it takes minutes),
``IRT_BENCH_CASES=gpcm`` to run one case.
"""

from __future__ import annotations

import os
import time
import warnings

import numpy as np
import polars as pl

from junheng import irt
from junheng.irt._data import collapse, read_responses
from junheng.irt._em import estep
from junheng.irt._itemset import from_frame
from junheng.irt.calibration import normal_log_weights, quadrature
from junheng.irt.simulate import booklet_design, simulate_responses


def _truth(kind: str, rng) -> pl.DataFrame:
    J = 40
    a = rng.lognormal(0.0, 0.25, J)
    b = rng.normal(0.0, 1.0, J)
    frame = pl.DataFrame({"item_id": [f"i{j:02d}" for j in range(J)], "model": ["2pl"] * J, "a": a, "b": b})
    if kind == "gpcm":
        steps = np.full((J, 3), np.nan)
        for j in range(30, 40):
            steps[j] = np.sort(rng.normal(b[j], 0.8, 3)) + np.array([-0.3, 0.0, 0.3])
        frame = frame.with_columns(
            pl.Series("model", ["2pl"] * 30 + ["gpcm"] * 10),
            *[pl.Series(f"b_{k + 1}", steps[:, k]).fill_nan(None) for k in range(3)],
            pl.Series("b", np.where(np.arange(J) >= 30, np.nanmean(steps, axis=1), b)),
        )
    return frame


def loglik(items: pl.DataFrame, responses: pl.DataFrame) -> float:
    """Marginal log-likelihood of ``items`` on the responses: 61 nodes on ±6, N(0, 1)."""
    s = from_frame(items)
    data = read_responses(responses, items=s.items)
    pat = collapse(data.Y, data.group_codes, s.offsets, s.n_cols)
    theta = quadrature(61, 6.0)
    return estep(s, pat, theta, normal_log_weights(theta, 0, 1)[None])[0]


def rmse(est: pl.DataFrame, truth: pl.DataFrame) -> dict[str, float]:
    out = {}
    for c in ("a", "b", "b_1", "b_2", "b_3"):
        if c in truth.columns and c in est.columns:
            t, e = truth[c].to_numpy().astype(float), est[c].to_numpy().astype(float)
            ok = ~np.isnan(t) & ~np.isnan(e)
            if ok.any():
                out[c] = float(np.sqrt(np.mean((t[ok] - e[ok]) ** 2)))
    return out


def girth_fit(kind: str, responses: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    import girth

    Y = responses.drop("person_id").to_numpy().astype(float)
    Y = np.where(np.isnan(Y), girth.INVALID_RESPONSE, Y).astype(int).T
    if kind == "2pl":
        r = girth.twopl_mml(Y)
        return truth.select("item_id", "model").with_columns(pl.Series("a", r["Discrimination"]),
                                                          pl.Series("b", r["Difficulty"]))
    r = girth.pcm_mml(Y)
    a, steps = r["Discrimination"], r["Difficulty"]  # (items, K − 1) step difficulties, NaN-padded
    b = np.where(np.arange(40) >= 30, np.nanmean(steps, axis=1), steps[:, 0])
    frame = truth.select("item_id", "model").with_columns(pl.Series("a", a), pl.Series("b", b))
    return frame.with_columns(*[pl.Series(f"b_{k + 1}", np.where(np.arange(40) >= 30, steps[:, k], np.nan)).fill_nan(None)
                                for k in range(3)])


def main() -> None:
    warnings.filterwarnings("ignore", "Mean of empty slice", RuntimeWarning)
    n = int(os.environ.get("IRT_BENCH_N", "170000"))
    with_girth = os.environ.get("IRT_BENCH_GIRTH", "1") != "0"
    print(f"N = {n:,} pupils × 40 items, 8 booklets (20 items each); threads: {os.cpu_count()} cores")
    t0 = time.perf_counter()  # compile (or load from numba's cache) the fused E-step once, outside the timings
    warm = simulate_responses(_truth("2pl", np.random.default_rng(0)).head(5), np.zeros(50), random_state=0)
    irt.IRTModel("2pl", engine="numba", se=None, max_iter=2).fit(warm)
    print(f"(numba warm-up {time.perf_counter() - t0:.1f} s)")
    for kind in os.environ.get("IRT_BENCH_CASES", "2pl gpcm").split():
        rng = np.random.default_rng(20220 + (kind == "gpcm"))
        truth = _truth(kind, rng)
        adm, _ = booklet_design(n, 40, 8, 4, random_state=1)
        responses = simulate_responses(truth, rng.normal(0, 1, n), random_state=2, administered=adm)
        t0 = time.perf_counter()
        fit = irt.IRTModel(kind, n_quad=61, tol=1e-4, se=None).fit(responses)
        tj = time.perf_counter() - t0
        ll_j = loglik(fit.items_, responses)
        print(f"\n[{kind}] junheng: {tj:6.1f} s, {fit.n_iter_} EM cycles, converged={fit.converged_}, "
              f"loglik {fit.loglik_:.2f} (common yardstick {ll_j:.2f}); RMSE {rmse(fit.items_, truth)}")
        print(f"[{kind}] loglik at the generating values: {loglik(truth, responses):.2f}")
        if with_girth:
            t0 = time.perf_counter()
            g = girth_fit(kind, responses, truth)
            tg = time.perf_counter() - t0
            ll_g = loglik(g, responses)
            print(f"[{kind}] girth:   {tg:6.1f} s; loglik {ll_g:.2f}; RMSE {rmse(g, truth)}")
            print(f"[{kind}] ratio girth / junheng: {tg / tj:.1f}×; loglik junheng − girth: {ll_j - ll_g:+.2f}")


if __name__ == "__main__":
    main()
