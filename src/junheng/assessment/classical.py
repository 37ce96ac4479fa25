"""Classical item analysis over scored responses (long frame ``person_id, item_id, score``).

All statistics are computed with Polars group-bys over the long frame (no loop over pupils).
With a booklet design the total score is only comparable within a booklet, so totals, item-rest
correlations, alpha and the DIF matching variable are formed **within booklet** (pass the
``booklets`` frame ``person_id, booklet``) and pooled over booklets as stated per function.

Formulas (see ``docs/methods/item-analysis.md`` for sources):

* facility (p-value) ``p_j = mean(x_j) / max_j`` over pupils with a score on item *j*;
* item-rest correlation: Pearson r of ``x_j`` with the rest score ``T − x_j`` within booklet;
  pooled as the n-weighted mean over the booklets holding the item;
* Cronbach's (1951) alpha per booklet ``α = k/(k−1) · (1 − Σ s_j² / s_T²)`` over the pupils with
  a score on every item of the booklet (sample variances, ddof = 1);
* distractor analysis: for each option the share choosing it, the share in the lower and upper
  thirds of the percent-correct score, and the point-biserial with that score
  ``r_pb = (M_1 − M) / S · √(p / (1 − p))`` (M, S the mean and population SD of the criterion
  among all who had the item; M_1 among those who chose the option);
* Mantel–Haenszel DIF (Holland & Thayer 1988) — see ``mantel_haenszel_dif``.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy import stats

from junheng.exceptions import ParameterError


def _with_booklet(scored: pl.DataFrame, booklets: pl.DataFrame | None) -> pl.DataFrame:
    s = scored.filter(pl.col("score").is_not_null())
    if booklets is None:
        return s.with_columns(pl.lit("all").alias("booklet"))
    return s.join(booklets.select("person_id", pl.col("booklet").cast(pl.String)), on="person_id", how="left") \
            .with_columns(pl.col("booklet").fill_null("?"))


def item_statistics(scored: pl.DataFrame, max_scores: dict[str, int] | pl.DataFrame | None = None,
                    booklets: pl.DataFrame | None = None) -> pl.DataFrame:
    """Per item: ``item_id, n, mean, sd, max_score, p_value, item_rest``.

    ``max_scores`` maps item → maximum score (``ItemBank.to_frame()`` works); by default the
    highest observed score.
    """
    s = _with_booklet(scored, booklets).with_columns(pl.col("score").cast(pl.Float64))
    s = s.with_columns(pl.col("score").sum().over("person_id").alias("_total"))
    s = s.with_columns((pl.col("_total") - pl.col("score")).alias("_rest"))
    per_bk = s.group_by("item_id", "booklet").agg(pl.len().alias("_n"), pl.corr("score", "_rest").alias("_r"))
    pooled = (per_bk.filter(pl.col("_r").is_not_nan() & pl.col("_r").is_not_null())
              .group_by("item_id").agg(((pl.col("_r") * pl.col("_n")).sum() / pl.col("_n").sum()).alias("item_rest")))
    out = s.group_by("item_id").agg(pl.len().alias("n"), pl.col("score").mean().alias("mean"),
                                    pl.col("score").std().alias("sd"), pl.col("score").max().alias("_obs_max"))
    if max_scores is None:
        out = out.with_columns(pl.col("_obs_max").cast(pl.Int32).alias("max_score"))
    else:
        ms = (max_scores.select("item_id", "max_score") if isinstance(max_scores, pl.DataFrame)
              else pl.DataFrame({"item_id": list(max_scores), "max_score": list(max_scores.values())}))
        out = out.join(ms.with_columns(pl.col("max_score").cast(pl.Int32)), on="item_id", how="left")
    return (out.join(pooled, on="item_id", how="left")
               .with_columns((pl.col("mean") / pl.col("max_score")).alias("p_value"))
               .select("item_id", "n", "mean", "sd", "max_score", "p_value", "item_rest").sort("item_id"))


def cronbach_alpha(x: np.ndarray) -> float:
    """Cronbach's alpha of a complete ``persons × items`` matrix (ddof = 1)."""
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.shape[1] < 2 or x.shape[0] < 2:
        raise ParameterError("alpha needs at least 2 persons and 2 items")
    k = x.shape[1]
    return float(k / (k - 1) * (1 - x.var(axis=0, ddof=1).sum() / x.sum(axis=1).var(ddof=1)))


def alpha_by_booklet(scored: pl.DataFrame, booklets: pl.DataFrame | None = None) -> pl.DataFrame:
    """Per booklet: ``booklet, n_items, n_complete, alpha`` over the pupils with every item scored."""
    s = _with_booklet(scored, booklets).with_columns(pl.col("score").cast(pl.Float64))
    k = s.group_by("booklet").agg(pl.col("item_id").n_unique().alias("n_items"))
    s = s.join(k, on="booklet").with_columns(pl.len().over("person_id").alias("_m"))
    c = s.filter(pl.col("_m") == pl.col("n_items"))
    item_var = c.group_by("booklet", "item_id").agg(pl.col("score").var().alias("v")) \
                .group_by("booklet").agg(pl.col("v").sum().alias("_sv"))
    tot = c.group_by("booklet", "person_id").agg(pl.col("score").sum().alias("t")) \
           .group_by("booklet").agg(pl.col("t").var().alias("_vt"), pl.len().alias("n_complete"))
    out = k.join(item_var, on="booklet").join(tot, on="booklet")
    return out.select(
        "booklet", "n_items", "n_complete",
        (pl.col("n_items") / (pl.col("n_items") - 1) * (1 - pl.col("_sv") / pl.col("_vt"))).alias("alpha"),
    ).sort("booklet")


def distractor_analysis(scored: pl.DataFrame, bank) -> pl.DataFrame:
    """Per choice item and option: ``item_id, option, is_key, n, share, share_low, share_high, r_pb``.

    ``scored`` must carry ``raw`` and ``status`` (``score_responses`` output). Omitted responses
    appear as option ``omit``; for multiple-choice items each selected letter counts as a choice.
    The criterion is the pupil's percent-correct over all scored items.
    """
    items = bank.to_frame().filter(pl.col("format") != "constructed").select("item_id", "format", "key", "max_score")
    maxes = bank.to_frame().select("item_id", "max_score")
    crit = (scored.filter(pl.col("score").is_not_null()).join(maxes, on="item_id")
            .group_by("person_id").agg((pl.col("score").sum() / pl.col("max_score").sum()).alias("crit")))
    crit = crit.with_columns(
        pl.when(pl.col("crit") <= pl.col("crit").quantile(1 / 3)).then(pl.lit("low"))
        .when(pl.col("crit") > pl.col("crit").quantile(2 / 3)).then(pl.lit("high"))
        .otherwise(pl.lit("mid")).alias("_grp"))
    r = (scored.filter(pl.col("status").is_in(["valid", "omitted", "not_reached"]))
         .join(items, on="item_id", how="inner").join(crit, on="person_id", how="inner")
         .with_columns(pl.when(pl.col("status") == "valid")
                       .then(pl.col("raw").cast(pl.String).str.to_uppercase().str.replace_all(r"[^A-H]", ""))
                       .otherwise(pl.lit("omit")).alias("_opt")))
    per_item = r.group_by("item_id").agg(pl.len().alias("_N"), pl.col("crit").mean().alias("_M"),
                                         pl.col("crit").std(ddof=0).alias("_S"),
                                         (pl.col("_grp") == "low").sum().alias("_Nlow"),
                                         (pl.col("_grp") == "high").sum().alias("_Nhigh"))
    r = r.with_columns(pl.when(pl.col("_opt") == "omit").then(pl.lit(["omit"]))
                       .otherwise(pl.col("_opt").str.split("")).alias("_opt")).explode("_opt")
    g = r.group_by("item_id", "_opt").agg(pl.len().alias("n"), pl.col("crit").mean().alias("_M1"),
                                         (pl.col("_grp") == "low").sum().alias("_nl"),
                                         (pl.col("_grp") == "high").sum().alias("_nh"),
                                         pl.col("key").first())
    g = g.join(per_item, on="item_id")
    p = pl.col("n") / pl.col("_N")
    return g.select(
        "item_id", pl.col("_opt").alias("option"),
        (pl.col("key").str.contains(pl.col("_opt")) & (pl.col("_opt") != "omit")).alias("is_key"),
        "n", p.alias("share"), (pl.col("_nl") / pl.col("_Nlow")).alias("share_low"),
        (pl.col("_nh") / pl.col("_Nhigh")).alias("share_high"),
        pl.when(p < 1).then((pl.col("_M1") - pl.col("_M")) / pl.col("_S") * (p / (1 - p)).sqrt()).alias("r_pb"),
    ).sort("item_id", "option")


def ets_category(d: np.ndarray, se: np.ndarray, p_chi2: np.ndarray, *, alpha: float = 0.05) -> np.ndarray:
    """ETS DIF category from MH D-DIF, its SE and the MH chi-square p-value (Zwick 2012, ETS RR-12-08).

    A: |D| < 1 or not significantly different from 0 (MH χ², level ``alpha``);
    C: |D| ≥ 1.5 and |D| significantly greater than 1 (one-sided z = (|D| − 1)/SE > z_{1−alpha});
    B: otherwise. A sign is prefixed for B and C: ``-`` favours the reference group.
    """
    d, se, p_chi2 = np.asarray(d, float), np.asarray(se, float), np.asarray(p_chi2, float)
    ad = np.abs(d)
    z = stats.norm.ppf(1 - alpha)
    cat = np.where((ad < 1) | ~(p_chi2 < alpha), "A", np.where((ad >= 1.5) & ((ad - 1) / se > z), "C", "B"))
    sign = np.where(d < 0, "-", "+")
    return np.where(cat == "A", "A", np.char.add(cat.astype(str), sign))


def mantel_haenszel_dif(scored: pl.DataFrame, groups: pl.DataFrame, *, group: str, reference: object,
                        focal: object, booklets: pl.DataFrame | None = None, matching: str | None = None,
                        alpha: float = 0.05) -> pl.DataFrame:
    """Mantel–Haenszel DIF for dichotomous items, matching on booklet × total score.

    For stratum *k*: A, B = reference right/wrong, C, D = focal right/wrong, N = total.
    ``α_MH = Σ(A D/N) / Σ(B C/N)``; ``MH D-DIF = −2.35 ln α_MH`` (ETS delta scale);
    ``SE`` from the Robins–Breslow–Greenland (1986) variance of ln α_MH;
    ``χ²_MH = (|ΣA − ΣE(A)| − ½)² / ΣVar(A)`` with ``E(A) = n_R m_1 / N`` and
    ``Var(A) = n_R n_F m_1 m_0 / (N² (N − 1))`` (Holland & Thayer 1988). The total includes the
    studied item (Holland & Thayer's recommendation). ``matching`` names a column of ``groups`` to
    use as the stratum instead (an external matching variable, e.g. a banded ability estimate). Returns per item ``item_id, n_ref, n_focal,
    alpha_mh, mh_d_dif, se, chi2, p_value, ets``.
    """
    if group not in groups.columns:
        raise ParameterError(f"groups has no column {group!r}")
    s = _with_booklet(scored, booklets)
    s = s.with_columns(pl.col("score").sum().over("person_id").alias("_total"))
    extra = [] if matching is None else [pl.col(matching).alias("_match")]
    s = s.join(groups.select("person_id", pl.col(group).alias("_g"), *extra), on="person_id", how="inner")
    if matching is not None:
        s = s.with_columns(pl.col("_match").alias("_total"))
    s = s.filter(pl.col("_g").is_in([reference, focal]))
    too_many = s.filter(pl.col("score") > 1)["item_id"].unique().to_list()
    s = s.filter(~pl.col("item_id").is_in(too_many))
    ref = pl.col("_g") == reference
    t = s.group_by("item_id", "booklet", "_total").agg(
        (ref & (pl.col("score") == 1)).sum().cast(pl.Float64).alias("A"),
        (ref & (pl.col("score") == 0)).sum().cast(pl.Float64).alias("B"),
        (~ref & (pl.col("score") == 1)).sum().cast(pl.Float64).alias("C"),
        (~ref & (pl.col("score") == 0)).sum().cast(pl.Float64).alias("D"),
    ).with_columns((pl.col("A") + pl.col("B") + pl.col("C") + pl.col("D")).alias("N"))
    t = t.filter(pl.col("N") >= 2)
    nr, nf = pl.col("A") + pl.col("B"), pl.col("C") + pl.col("D")
    m1, m0 = pl.col("A") + pl.col("C"), pl.col("B") + pl.col("D")
    N = pl.col("N")
    t = t.with_columns(
        (pl.col("A") * pl.col("D") / N).alias("R"), (pl.col("B") * pl.col("C") / N).alias("S"),
        ((pl.col("A") + pl.col("D")) / N).alias("P"), ((pl.col("B") + pl.col("C")) / N).alias("Q"),
        (nr * m1 / N).alias("EA"), (nr * nf * m1 * m0 / (N * N * (N - 1))).alias("VA"),
        nr.alias("nr"), nf.alias("nf"),
    )
    a = t.group_by("item_id").agg(
        pl.col("nr").sum().alias("n_ref"), pl.col("nf").sum().alias("n_focal"),
        pl.col("R").sum().alias("SR"), pl.col("S").sum().alias("SS"),
        (pl.col("P") * pl.col("R")).sum().alias("PR"), (pl.col("P") * pl.col("S") + pl.col("Q") * pl.col("R")).sum().alias("PSQR"),
        (pl.col("Q") * pl.col("S")).sum().alias("QS"),
        pl.col("A").sum().alias("SA"), pl.col("EA").sum().alias("SEA"), pl.col("VA").sum().alias("SVA"),
    ).sort("item_id")
    SR, SS = a["SR"].to_numpy(), a["SS"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha_mh = SR / SS
        var_ln = a["PR"].to_numpy() / (2 * SR**2) + a["PSQR"].to_numpy() / (2 * SR * SS) + a["QS"].to_numpy() / (2 * SS**2)
        d = -2.35 * np.log(alpha_mh)
        se = 2.35 * np.sqrt(var_ln)
        chi2 = (np.maximum(np.abs(a["SA"].to_numpy() - a["SEA"].to_numpy()) - 0.5, 0)) ** 2 / a["SVA"].to_numpy()
    p = stats.chi2.sf(chi2, 1)
    return pl.DataFrame({
        "item_id": a["item_id"], "n_ref": a["n_ref"].cast(pl.Int64), "n_focal": a["n_focal"].cast(pl.Int64),
        "alpha_mh": alpha_mh, "mh_d_dif": d, "se": se, "chi2": chi2, "p_value": p,
        "ets": ets_category(d, se, p, alpha=alpha),
    })
