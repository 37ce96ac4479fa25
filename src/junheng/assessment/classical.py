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

from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import stats

from junheng.assessment._codes import encode
from junheng.assessment.scoring import missing_summary
from junheng.exceptions import ParameterError


@dataclass
class _Coded:
    """Scored responses as integer codes: person ``p``, item ``i``, booklet per person ``bk_of``."""

    p: np.ndarray
    i: np.ndarray
    x: np.ndarray
    persons: list
    items: list
    bk_of: np.ndarray
    booklets: list


def _coded(scored: pl.DataFrame, booklets: pl.DataFrame | None) -> _Coded:
    s = scored.filter(pl.col("score").is_not_null())
    p, persons = encode(s["person_id"])
    i, items = encode(s["item_id"].cast(pl.String))
    x = s["score"].cast(pl.Float64).to_numpy()
    bk_of = np.zeros(len(persons), dtype=np.int64)
    names: list = ["all"]
    if booklets is not None:
        bp, _ = encode(booklets["person_id"].cast(s.schema["person_id"]), persons)
        bc, names = encode(booklets["booklet"].cast(pl.String))
        names = list(names) + ["?"]
        bk_of[:] = len(names) - 1
        ok = (bp >= 0) & (bc >= 0)
        bk_of[bp[ok]] = bc[ok]
    return _Coded(p, i, x, persons, items, bk_of, names)


def _corr(n, sx, sy, sxx, syy, sxy) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        cov = sxy - sx * sy / n
        vx = sxx - sx * sx / n
        vy = syy - sy * sy / n
        return cov / np.sqrt(vx * vy)


def item_statistics(scored: pl.DataFrame, max_scores: dict[str, int] | pl.DataFrame | None = None,
                    booklets: pl.DataFrame | None = None) -> pl.DataFrame:
    """Per item: ``item_id, n, mean, sd, max_score, p_value, item_rest``.

    ``max_scores`` maps item → maximum score (``ItemBank.to_frame()`` works); by default the
    highest observed score. Computed with ``bincount`` sums over integer-coded responses.
    """
    c = _coded(scored, booklets)
    ni, nb = len(c.items), len(c.booklets)
    total = np.bincount(c.p, c.x, minlength=len(c.persons))
    y = total[c.p] - c.x
    g = c.i * nb + c.bk_of[c.p]
    m = ni * nb
    n_g = np.bincount(g, minlength=m).astype(float)
    r_g = _corr(n_g, np.bincount(g, c.x, m), np.bincount(g, y, m), np.bincount(g, c.x * c.x, m),
                np.bincount(g, y * y, m), np.bincount(g, c.x * y, m))
    good = np.isfinite(r_g) & (n_g > 0)
    item_of_g = np.arange(m) // nb
    w = np.bincount(item_of_g[good], n_g[good], ni)
    with np.errstate(divide="ignore", invalid="ignore"):
        item_rest = np.bincount(item_of_g[good], (r_g * n_g)[good], ni) / w
    n = np.bincount(c.i, minlength=ni).astype(float)
    sx = np.bincount(c.i, c.x, ni)
    sxx = np.bincount(c.i, c.x * c.x, ni)
    mean = sx / n
    with np.errstate(divide="ignore", invalid="ignore"):
        sd = np.sqrt((sxx - sx * mean) / (n - 1))
    obs_max = np.zeros(ni)
    np.maximum.at(obs_max, c.i, c.x)
    out = pl.DataFrame({"item_id": [str(v) for v in c.items], "n": n.astype(np.int64), "mean": mean, "sd": sd,
                        "_obs_max": obs_max.astype(np.int32), "item_rest": item_rest})
    if max_scores is None:
        out = out.with_columns(pl.col("_obs_max").alias("max_score"))
    else:
        ms = (max_scores.select("item_id", "max_score") if isinstance(max_scores, pl.DataFrame)
              else pl.DataFrame({"item_id": list(max_scores), "max_score": list(max_scores.values())}))
        out = out.join(ms.with_columns(pl.col("max_score").cast(pl.Int32)), on="item_id", how="left")
    return (out.with_columns((pl.col("mean") / pl.col("max_score")).alias("p_value"),
                             pl.col("item_rest").fill_nan(None))
               .select("item_id", "n", "mean", "sd", "max_score", "p_value", "item_rest").sort("item_id"))


def cronbach_alpha(x: np.ndarray) -> float:
    """Cronbach's alpha of a complete ``persons × items`` matrix (ddof = 1)."""
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.shape[1] < 2 or x.shape[0] < 2:
        raise ParameterError("计算 α 至少需要 2 人、2 题 / alpha needs at least 2 persons and 2 items")
    k = x.shape[1]
    return float(k / (k - 1) * (1 - x.var(axis=0, ddof=1).sum() / x.sum(axis=1).var(ddof=1)))


def alpha_by_booklet(scored: pl.DataFrame, booklets: pl.DataFrame | None = None) -> pl.DataFrame:
    """Per booklet: ``booklet, n_items, n_complete, alpha`` over the pupils with every item scored."""
    c = _coded(scored, booklets)
    ni, nb = len(c.items), len(c.booklets)
    b_of_resp = c.bk_of[c.p]
    pairs = np.zeros(nb * ni, dtype=bool)
    pairs[b_of_resp * ni + c.i] = True
    k = pairs.reshape(nb, ni).sum(1)
    m_p = np.bincount(c.p, minlength=len(c.persons))
    complete_p = m_p == k[c.bk_of]
    sel = complete_p[c.p]
    g = (b_of_resp * ni + c.i)[sel]
    x = c.x[sel]
    n_g = np.bincount(g, minlength=nb * ni).astype(float)
    sx, sxx = np.bincount(g, x, nb * ni), np.bincount(g, x * x, nb * ni)
    with np.errstate(divide="ignore", invalid="ignore"):
        var_g = np.where(n_g > 1, (sxx - sx * sx / n_g) / (n_g - 1), 0.0)
    sum_var = var_g.reshape(nb, ni).sum(1)
    total = np.bincount(c.p[sel], x, len(c.persons))
    cp = np.flatnonzero(complete_p & (m_p > 0))
    bt = c.bk_of[cp]
    nt = np.bincount(bt, minlength=nb).astype(float)
    st, stt = np.bincount(bt, total[cp], nb), np.bincount(bt, total[cp] ** 2, nb)
    with np.errstate(divide="ignore", invalid="ignore"):
        var_t = (stt - st * st / nt) / (nt - 1)
        alpha = k / (k - 1) * (1 - sum_var / var_t)
    keep = k > 0
    return pl.DataFrame({"booklet": [str(b) for b in np.array(c.booklets, dtype=object)[keep]],
                         "n_items": k[keep].astype(np.int64), "n_complete": nt[keep].astype(np.int64),
                         "alpha": alpha[keep]}).sort("booklet")


def _status_codes(status: pl.Series) -> np.ndarray:
    """Status as its code in ``scoring.STATUSES`` (the Enum's physical value; strings looked up)."""
    from junheng.assessment.scoring import STATUSES

    if status.dtype == pl.Enum(STATUSES):
        return status.to_physical().cast(pl.Int8).to_numpy()
    return encode(status.cast(pl.String), list(STATUSES))[0]


def distractor_analysis(scored: pl.DataFrame, bank) -> pl.DataFrame:
    """Per choice item and option: ``item_id, option, is_key, n, share, share_low, share_high, r_pb``.

    ``scored`` must carry ``raw`` and ``status`` (``score_responses`` output). Omitted responses
    appear as option ``omit``; for multiple-choice items each selected letter counts as a choice.
    The criterion is the pupil's percent-correct over all scored items; the lower and upper
    groups are the pupils at or below its 1/3 quantile and above its 2/3 quantile.
    """
    bank_frame = bank.to_frame()
    choice = bank_frame.filter(pl.col("format") != "constructed")
    letters = "ABCDEFGH"
    n_opt = len(letters) + 1  # + omit
    # criterion per pupil: Σ score / Σ max over the scored items
    c = _coded(scored, None)
    maxes = dict(zip(bank_frame["item_id"], bank_frame["max_score"]))
    imax = np.array([maxes.get(str(it), 1) for it in c.items], dtype=float)
    crit = np.bincount(c.p, c.x, len(c.persons)) / np.bincount(c.p, imax[c.i], len(c.persons))
    q1, q2 = np.quantile(crit, [1 / 3, 2 / 3]) if crit.size else (0.0, 0.0)
    grp = np.where(crit <= q1, 0, np.where(crit > q2, 2, 1))
    # responses to choice items with a response or an omission
    st = _status_codes(scored["status"])  # 0 valid, 1 omitted, 2 not reached (scoring.STATUSES order)
    keep = (st <= 2) & scored["item_id"].cast(pl.String).is_in(choice["item_id"].to_list()).to_numpy()
    sub = scored.filter(pl.Series(keep))
    pcode, _ = encode(sub["person_id"], c.persons)
    ok = pcode >= 0
    sub, pcode = sub.filter(pl.Series(ok)), pcode[ok]
    icode, items = encode(sub["item_id"].cast(pl.String), choice["item_id"].to_list())
    rcode, uniq = encode(sub["raw"].cast(pl.String).fill_null(""))
    valid = _status_codes(sub["status"]) == 0
    # which options each distinct raw code selects (multiple choice: every letter)
    sel = np.zeros((len(uniq) + 1, n_opt), dtype=bool)
    for j, u in enumerate(uniq):
        for ch in str(u).upper():
            if ch in letters:
                sel[j, letters.index(ch)] = True
    sel[len(uniq), n_opt - 1] = True  # the omit row
    rc = np.where(valid, rcode, len(uniq))
    y = crit[pcode]
    g = grp[pcode]
    ni = len(items)
    N = np.bincount(icode, minlength=ni).astype(float)
    M = np.bincount(icode, y, ni) / np.maximum(N, 1)
    S = np.sqrt(np.maximum(np.bincount(icode, y * y, ni) / np.maximum(N, 1) - M * M, 0))
    n_low = np.bincount(icode[g == 0], minlength=ni)
    n_high = np.bincount(icode[g == 2], minlength=ni)
    rows = []
    opt_names = list(letters) + ["omit"]
    keys = dict(zip(choice["item_id"], choice["key"]))
    for k in range(n_opt):
        m = sel[rc, k]
        if not m.any():
            continue
        n = np.bincount(icode[m], minlength=ni).astype(float)
        m1 = np.bincount(icode[m], y[m], ni)
        nl = np.bincount(icode[m & (g == 0)], minlength=ni)
        nh = np.bincount(icode[m & (g == 2)], minlength=ni)
        for j in np.flatnonzero(n > 0):
            p = n[j] / N[j]
            r_pb = (m1[j] / n[j] - M[j]) / S[j] * np.sqrt(p / (1 - p)) if p < 1 and S[j] > 0 else None
            rows.append((str(items[j]), opt_names[k], opt_names[k] in (keys.get(items[j]) or ""), int(n[j]), p,
                         nl[j] / n_low[j] if n_low[j] else None, nh[j] / n_high[j] if n_high[j] else None, r_pb))
    return pl.DataFrame(rows, schema={"item_id": pl.String, "option": pl.String, "is_key": pl.Boolean, "n": pl.Int64,
                                      "share": pl.Float64, "share_low": pl.Float64, "share_high": pl.Float64,
                                      "r_pb": pl.Float64}, orient="row").sort("item_id", "option")


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
        raise ParameterError(f"分组表中没有列 {group!r} / groups has no column {group!r}")
    if matching is not None and matching not in groups.columns:
        raise ParameterError(f"分组表中没有列 {matching!r} / groups has no column {matching!r}")
    c = _coded(scored, booklets)
    ni, nb = len(c.items), len(c.booklets)
    gp, _ = encode(groups["person_id"].cast(scored.schema["person_id"]), c.persons)
    gv, _ = encode(groups[group], [reference, focal])
    grp_of = np.full(len(c.persons), -1)
    ok = gp >= 0
    grp_of[gp[ok]] = gv[ok]
    if matching is None:
        t_of = np.bincount(c.p, c.x, len(c.persons)).round().astype(np.int64)
    else:
        mv, _ = encode(groups[matching])
        t_of = np.zeros(len(c.persons), dtype=np.int64)
        t_of[gp[ok]] = mv[ok]
    poly = np.zeros(ni, dtype=bool)
    poly[c.i[c.x > 1]] = True
    g = grp_of[c.p]
    sel = (g >= 0) & ~poly[c.i]
    nt = int(t_of.max()) + 2 if t_of.size else 1
    stratum = ((c.i * nb + c.bk_of[c.p]) * nt + t_of[c.p])[sel]
    right, ref = c.x[sel] == 1, g[sel] == 0
    size = ni * nb * nt
    A = np.bincount(stratum, ref & right, size)
    B = np.bincount(stratum, ref & ~right, size)
    C = np.bincount(stratum, ~ref & right, size)
    D = np.bincount(stratum, ~ref & ~right, size)
    N = A + B + C + D
    use = N >= 2
    A, B, C, D, N = A[use], B[use], C[use], D[use], N[use]
    item_of = (np.flatnonzero(use) // (nb * nt))
    nr, nf, m1, m0 = A + B, C + D, A + C, B + D
    R, S, P, Q = A * D / N, B * C / N, (A + D) / N, (B + C) / N
    EA, VA = nr * m1 / N, nr * nf * m1 * m0 / (N * N * (N - 1))

    def per_item(v):
        return np.bincount(item_of, v, ni)

    keep = np.flatnonzero(~poly & (np.bincount(item_of, minlength=ni) > 0))
    a = {"item_id": [str(c.items[j]) for j in keep], "n_ref": per_item(nr)[keep], "n_focal": per_item(nf)[keep],
         "SR": per_item(R)[keep], "SS": per_item(S)[keep], "PR": per_item(P * R)[keep],
         "PSQR": per_item(P * S + Q * R)[keep], "QS": per_item(Q * S)[keep], "SA": per_item(A)[keep],
         "SEA": per_item(EA)[keep], "SVA": per_item(VA)[keep]}
    a = pl.DataFrame(a).sort("item_id")
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


def item_analysis(scored: pl.DataFrame, bank, *, booklets: pl.DataFrame | None = None,
                  groups: pl.DataFrame | None = None, dif: tuple[tuple[str, object, object], ...] = (),
                  item_info: pl.DataFrame | None = None) -> dict[str, pl.DataFrame]:
    """The sheets of the classical item-analysis workbook, in order: ``items``
    (:func:`item_statistics` joined to ``item_info``, default the bank's ``subject, format``),
    ``distractors``, ``missing``, ``alpha`` (per booklet, with ``booklets``: ``person_id, booklet``)
    and one ``dif_<column>`` per ``(column, reference, focal)`` of ``dif`` (Mantel–Haenszel over
    ``groups``: ``person_id`` and the grouping columns)."""
    bank_frame = bank.to_frame()
    info = item_info if item_info is not None else bank_frame.select("item_id", "subject", "format")
    sheets = {"items": item_statistics(scored, bank_frame, booklets).join(info, on="item_id", how="left"),
              "distractors": distractor_analysis(scored, bank), "missing": missing_summary(scored)}
    if booklets is not None:
        sheets["alpha"] = alpha_by_booklet(scored, booklets)
    if dif and groups is None:
        raise ParameterError("DIF 分析需要学生分组表 / DIF needs the pupils' groups")
    absent = [column for column, _, _ in dif if column not in groups.columns]
    if absent:
        raise ParameterError(f"学生分组表缺少列 / the groups lack columns: {', '.join(map(repr, absent))}")
    for column, reference, focal in dif:
        sheets[f"dif_{column}"] = mantel_haenszel_dif(scored, groups, group=column, reference=reference,
                                                      focal=focal, booklets=booklets)
    return sheets
