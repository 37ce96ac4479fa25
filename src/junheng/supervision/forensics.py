"""Response forensics (作答数据甄别): answer copying between seat neighbours, response-time
anomalies and answer-change patterns — each a statistic with a known null distribution, turned
into flags for the same reviewer queue as the video flags (docs/methods/response-forensics.md).

Inputs (long frames, pure):

* ``responses`` — ``person_id, item_id, raw``: the final answer (the chosen option, ``""`` or null
  when omitted, ``*`` a double mark — treated as omitted);
* ``key`` — ``item_id, key``: the correct option of each choice item;
* ``items`` — an ITEMS frame of dichotomous IRT parameters (``item_id, model, a, b, c``; rasch/2pl/3pl)
  from :mod:`junheng.irt`; θ of every pupil is its EAP on the final answers;
* ``seating`` — ``person_id, room, row, col`` (``materials.seating_plan`` gives ``student_id``:
  renamed by the caller);
* ``events`` — ``person_id, item_id, raw, at`` (seconds, or datetimes): every answer change the
  browser sent, in order (``seq`` sorts ties); ``changes`` — ``person_id, item_id, from_raw,
  to_raw`` (from :func:`changes_from_events`, or OMR erasures: :func:`changes_from_omr`).

Statistics (one-sided, upper tail, exact where the null is a Poisson-binomial):

* :func:`copying_indices` — Wollack's ω and the identical-incorrect count per ordered neighbour pair;
* :func:`timing_anomalies` — rapid answers, the lognormal person-fit of response times, and the
  correlation of neighbours' timing residuals (:func:`timing_pairs`);
* :func:`change_anomalies` — wrong-to-right changes against their IRT expectation;
* backdated answers (:mod:`junheng.supervision.arrivals`) — answers that arrived long after their
  stamps while the page was online, or after a pause or time-up by more than an outage allows;
* :func:`forensic_flags` — all of them at level ``alpha`` as flags (``FORENSIC_FLAG_SCHEMA``).

One module on purpose (over 400 lines): the three families of statistics share the item model,
the seat neighbourhoods and the flag format, and are documented as one method note.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np
import polars as pl

from junheng.exceptions import ParameterError
from junheng.supervision.arrivals import late_answers, late_flags

FORENSIC_KINDS = ("copying", "identical_incorrect", "rapid", "timing_misfit", "same_timing", "answer_changes",
                  "backdated")
FORENSIC_FLAG_SCHEMA = {"kind": pl.String, "person_id": pl.String, "other_id": pl.String, "room": pl.String,
                        "severity": pl.String, "score": pl.Float64, "statistic": pl.Float64,
                        "p_value": pl.Float64, "detail": pl.String}


@dataclass(frozen=True)
class ForensicsParameters:
    """Levels and thresholds of the forensic statistics (see the method note)."""

    alpha: float = 0.001  # a test flags when its p-value is below this (per test)
    serious_p: float = 1e-6  # … and the flag is serious below this
    diagonal: bool = True  # neighbours include the diagonal seats (a pupil sees the desk in front-left)
    min_items: int = 10  # pairs or pupils with fewer common answered items are not tested
    rapid_fraction: float = 0.1  # an answer is rapid when faster than this share of the item's typical time
    rapid_share: float = 0.25  # a pupil is flagged when at least this share of answers is rapid
    min_changes: int = 3  # wrong-to-right: at least this many before a pupil is flagged
    arrival_slack_s: float = 15.0  # backdated answers: the in-contact rule's margin (junheng.supervision.arrivals)
    stop_bound_s: float = 600.0  # … and the longest outage taken after a pause or time-up

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, bool):
                continue
            if not (isinstance(v, int | float) and np.isfinite(v) and v > 0):
                raise ParameterError(f"参数 {f.name} 须为正数 / parameter {f.name} must be positive; got {v!r}")
        for share in ("alpha", "serious_p", "rapid_fraction", "rapid_share"):
            if getattr(self, share) >= 1:
                raise ParameterError(f"参数 {share} 须小于 1 / parameter {share} must be below 1")
        if self.serious_p > self.alpha:
            raise ParameterError(f"参数 serious_p 不得大于 alpha / parameter serious_p must not exceed alpha; got "
                                 f"{self.serious_p!r} > {self.alpha!r}")

    def as_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------- shared pieces


def poisson_binomial_tail(p: np.ndarray, k: np.ndarray) -> np.ndarray:
    """``P(H ≥ k)`` for ``H = Σ_j Bernoulli(p[:, j])`` independently, row by row (exact recursion
    over the items, vectorised over rows)."""
    p = np.atleast_2d(np.asarray(p, dtype=float))
    n, m = p.shape
    f = np.zeros((n, m + 1))
    f[:, 0] = 1.0
    for j in range(m):
        pj = p[:, j:j + 1]
        f[:, 1:] = f[:, 1:] * (1 - pj) + f[:, :-1] * pj
        f[:, 0] *= 1 - p[:, j]
    tail = np.cumsum(f[:, ::-1], axis=1)[:, ::-1]  # tail[:, h] = P(H ≥ h)
    k = np.asarray(k, dtype=int)
    out = tail[np.arange(n), np.clip(k, 0, m)]
    return np.clip(np.where(k <= 0, 1.0, np.where(k > m, 0.0, out)), 0.0, 1.0)


def _norm_sf(z: np.ndarray) -> np.ndarray:
    from scipy.stats import norm

    return norm.sf(z)


@dataclass
class _Coded:
    persons: np.ndarray  # (N,) person ids
    items: list[str]  # (J,) item ids
    code: np.ndarray  # (N, J) −2 not administered, −1 omitted, 0 the key, 1… a distractor
    options: list[list[str]]  # per item: [key, distractor 1, …]
    shares: np.ndarray  # (J, K) distractor shares among wrong answers (column 0 unused)
    prob: np.ndarray  # (N, J) P(correct | θ) of each person on each item


def _code(responses: pl.DataFrame, key: pl.DataFrame, items: pl.DataFrame) -> _Coded:
    from junheng.irt import eap, expected_scores

    for name, frame, cols in (("responses", responses, ("person_id", "item_id", "raw")), ("key", key, ("item_id", "key")),
                              ("items", items, ("item_id", "model"))):
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise ParameterError(f"{name} 缺少列 / {name} lacks columns: {', '.join(missing)}")
    models = set(items["model"].unique())
    if not models <= {"rasch", "2pl", "3pl"}:
        raise ParameterError("作答甄别需要二级计分模型（rasch/2pl/3pl）/ forensics needs dichotomous IRT items "
                             f"(rasch/2pl/3pl); got {sorted(models)}")
    keys = dict(zip(key["item_id"].cast(pl.String), key["key"].cast(pl.String), strict=True))
    df = (responses.select(pl.col("person_id").cast(pl.String), pl.col("item_id").cast(pl.String),
                           pl.col("raw").cast(pl.String).fill_null("").str.strip_chars())
          .filter(pl.col("item_id").is_in(list(keys)) & pl.col("item_id").is_in(items["item_id"].cast(pl.String).to_list())))
    df = df.with_columns(pl.when(pl.col("raw") == "*").then(pl.lit("")).otherwise(pl.col("raw")).alias("raw"))
    persons = np.array(sorted(df["person_id"].unique().to_list()), dtype=object)
    item_ids = sorted(df["item_id"].unique().to_list())
    if not len(persons) or not item_ids:
        raise ParameterError("没有可甄别的作答 / no responses to examine (items must have a key and IRT parameters)")
    pidx = {p: i for i, p in enumerate(persons)}
    jidx = {it: j for j, it in enumerate(item_ids)}
    options: list[list[str]] = [[keys[it]] for it in item_ids]
    wrong = df.filter((pl.col("raw") != "") & (pl.col("raw") != pl.col("item_id").replace_strict(keys)))
    counts = wrong.group_by("item_id", "raw").len().sort("item_id", "raw")
    for it, raw in counts.select("item_id", "raw").iter_rows():
        options[jidx[it]].append(raw)
    kmax = max(len(o) for o in options)
    shares = np.zeros((len(item_ids), kmax))
    for it, raw, n in counts.iter_rows():
        j = jidx[it]
        shares[j, options[j].index(raw)] = n + 0.5  # add-½ smoothing
    tot = shares[:, 1:].sum(axis=1, keepdims=True)
    shares[:, 1:] = np.divide(shares[:, 1:], tot, out=np.zeros_like(shares[:, 1:]), where=tot > 0)
    code = np.full((len(persons), len(item_ids)), -2, dtype=np.int16)
    lookup = {(j, o): k for j, opts in enumerate(options) for k, o in enumerate(opts)}
    pi = np.array([pidx[p] for p in df["person_id"]], dtype=np.int64)
    ji = np.array([jidx[i] for i in df["item_id"]], dtype=np.int64)
    code[pi, ji] = [(-1 if r == "" else lookup[(j, r)]) for j, r in zip(ji, df["raw"], strict=True)]
    scored = np.where(code == -2, np.nan, (code == 0).astype(float))
    wide = pl.DataFrame({"person_id": persons.astype(str)}).with_columns(
        [pl.Series(it, scored[:, j], dtype=pl.Float64).cast(pl.Int8, strict=False) for j, it in enumerate(item_ids)])
    sub = items.filter(pl.col("item_id").cast(pl.String).is_in(item_ids))
    theta = eap(sub, wide)["theta_eap"].to_numpy()
    exp = expected_scores(sub, theta)
    prob = np.clip(np.column_stack([exp[it].to_numpy() for it in item_ids]), 1e-6, 1 - 1e-6)
    return _Coded(persons, item_ids, code, options, shares, prob)


def neighbour_pairs(seating: pl.DataFrame, *, diagonal: bool = True) -> pl.DataFrame:
    """Ordered pairs ``person_id, other_id, room`` of pupils seated next to each other (sharing a
    side; with ``diagonal`` also a corner), both orders."""
    missing = [c for c in ("person_id", "room", "row", "col") if c not in seating.columns]
    if missing:
        raise ParameterError(f"座位表缺少列 / the seating plan lacks columns: {', '.join(missing)}")
    s = seating.select(pl.col("person_id").cast(pl.String), pl.col("room").cast(pl.String),
                       pl.col("row").cast(pl.Int64), pl.col("col").cast(pl.Int64))
    pairs = s.join(s, on="room", suffix="_o").filter(pl.col("person_id") != pl.col("person_id_o"))
    dr, dc = (pl.col("row") - pl.col("row_o")).abs(), (pl.col("col") - pl.col("col_o")).abs()
    near = (pl.max_horizontal(dr, dc) == 1) if diagonal else ((dr + dc) == 1)
    return pairs.filter(near).select("person_id", pl.col("person_id_o").alias("other_id"), "room").sort("room", "person_id", "other_id")


# ---------------------------------------------------------------- copying


def copying_indices(responses: pl.DataFrame, key: pl.DataFrame, items: pl.DataFrame, seating: pl.DataFrame, *,
                    params: ForensicsParameters | None = None) -> pl.DataFrame:
    """Per ordered neighbour pair (``person_id`` the suspected copier, ``other_id`` the source):
    ``n`` common answered items, ``matches`` (same option), ``expected``, ``omega`` (Wollack's ω),
    ``p_omega`` (exact Poisson-binomial tail of the matches), ``identical_incorrect``, its
    expectation ``ii_expected`` and tail ``p_ii`` (the same for both orders)."""
    params = params or ForensicsParameters()
    c = _code(responses, key, items)
    pairs = neighbour_pairs(seating, diagonal=params.diagonal)
    pidx = {p: i for i, p in enumerate(c.persons)}
    pairs = pairs.filter(pl.col("person_id").is_in(list(pidx)) & pl.col("other_id").is_in(list(pidx)))
    schema = {"room": pl.String, "person_id": pl.String, "other_id": pl.String, "n": pl.Int64, "matches": pl.Int64,
              "expected": pl.Float64, "omega": pl.Float64, "p_omega": pl.Float64, "identical_incorrect": pl.Int64,
              "ii_expected": pl.Float64, "p_ii": pl.Float64}
    if pairs.height == 0:
        return pl.DataFrame(schema=schema)
    ci = np.array([pidx[p] for p in pairs["person_id"]])
    si = np.array([pidx[p] for p in pairs["other_id"]])
    rc, rs = c.code[ci], c.code[si]
    valid = (rc >= 0) & (rs >= 0)
    pc, ps = c.prob[ci], c.prob[si]
    j = np.arange(len(c.items))[None, :]
    g_src = c.shares[j, np.maximum(rs, 0)]
    # ω: the copier's chance of choosing the source's option, given the copier's θ
    pi = np.where(rs == 0, pc, (1 - pc) * g_src) * valid
    match = valid & (rc == rs)
    h = match.sum(axis=1)
    e = pi.sum(axis=1)
    var = (pi * (1 - pi)).sum(axis=1)
    omega = (h - e) / np.sqrt(np.maximum(var, 1e-12))
    p_omega = poisson_binomial_tail(pi, h)
    # identical incorrect: both wrong with the same distractor, independently given both θ
    q = (1 - pc) * (1 - ps) * (c.shares[:, 1:] ** 2).sum(axis=1)[None, :] * valid
    ii = (match & (rs > 0)).sum(axis=1)
    p_ii = poisson_binomial_tail(q, ii)
    out = pairs.with_columns(pl.Series("n", valid.sum(axis=1)), pl.Series("matches", h), pl.Series("expected", e),
                             pl.Series("omega", omega), pl.Series("p_omega", p_omega),
                             pl.Series("identical_incorrect", ii), pl.Series("ii_expected", q.sum(axis=1)),
                             pl.Series("p_ii", p_ii))
    return out.select(list(schema)).cast(schema).filter(pl.col("n") >= params.min_items)


# ---------------------------------------------------------------- timing


def _seconds(col: pl.Series) -> np.ndarray:
    if col.dtype.is_temporal():
        return col.cast(pl.Datetime("us")).cast(pl.Int64).to_numpy() / 1e6
    return col.cast(pl.Float64).to_numpy()


def item_times(events: pl.DataFrame, starts: pl.DataFrame | None = None) -> pl.DataFrame:
    """``person_id, item_id, seconds``: the time a pupil spent before first answering each item —
    from the pupil's previous answer event (any item) or, for the first, from ``starts``
    (``person_id, started_at``; without it the first item has no time)."""
    missing = [c for c in ("person_id", "item_id", "at") if c not in events.columns]
    if missing:
        raise ParameterError(f"作答记录缺少列 / the answer events lack columns: {', '.join(missing)}")
    order = ["person_id", "at"] + (["seq"] if "seq" in events.columns else [])
    ev = events.with_columns(pl.col("person_id").cast(pl.String), pl.col("item_id").cast(pl.String)).sort(order)
    ev = ev.with_columns(pl.Series("t", _seconds(ev["at"])))
    if starts is not None:
        if "started_at" in starts.columns and ev["at"].dtype.is_temporal() != starts["started_at"].dtype.is_temporal():
            # seconds from a test's start and date-times are different clocks: 1.78e9 s "spent" on the first item
            raise ParameterError("开始时间（started_at）与作答时间（at）的写法不同：一为秒数，一为日期时间，不能相减 / "
                                 "started_at and at are on different clocks (one in seconds, the other date-times): "
                                 "write both the same way")
        st = starts.select(pl.col("person_id").cast(pl.String), pl.Series("t0", _seconds(starts["started_at"])))
        ev = ev.join(st, on="person_id", how="left")
    else:
        ev = ev.with_columns(pl.lit(None, dtype=pl.Float64).alias("t0"))
    ev = ev.with_columns(pl.col("t").shift(1).over("person_id").fill_null(pl.col("t0")).alias("prev"))
    first = ev.group_by("person_id", "item_id", maintain_order=True).first()
    return (first.with_columns((pl.col("t") - pl.col("prev")).alias("seconds"))
            .filter(pl.col("seconds").is_not_null() & (pl.col("seconds") > 0))
            .select("person_id", "item_id", "seconds"))


def lognormal_times(times: pl.DataFrame, n_iter: int = 50) -> pl.DataFrame:
    """The lognormal response-time model ``log t_pi = β_i − τ_p + ε``, ε ~ N(0, σ_i²) (van der
    Linden 2006), fitted robustly by alternating medians (median τ = 0; σ_i from the residuals within
    three robust SDs), so that a few rapid guessers do not shift every honest pupil's residuals
    alike: ``times`` with ``beta`` (item time intensity), ``tau`` (pupil speed), ``sigma`` and the
    standardised residual ``z``."""
    df = times.with_columns(pl.col("seconds").log().alias("lt"))
    tau = pl.DataFrame({"person_id": df["person_id"].unique()}).with_columns(pl.lit(0.0).alias("tau"))
    for _ in range(n_iter):
        d = df.join(tau, on="person_id")
        beta = d.group_by("item_id").agg((pl.col("lt") + pl.col("tau")).median().alias("beta"))
        d = d.join(beta, on="item_id")
        new = d.group_by("person_id").agg((pl.col("beta") - pl.col("lt")).median().alias("tau"))
        new = new.with_columns(pl.col("tau") - pl.col("tau").median())
        shift = new.join(tau, on="person_id", suffix="_old").select((pl.col("tau") - pl.col("tau_old")).abs().max()).item()
        tau = new
        if shift is not None and shift < 1e-8:
            break
    d = df.join(tau, on="person_id")
    beta = d.group_by("item_id").agg((pl.col("lt") + pl.col("tau")).median().alias("beta"))
    d = d.join(beta, on="item_id").with_columns((pl.col("lt") - pl.col("beta") + pl.col("tau")).alias("res"))
    # σ_i: the residuals' SD within ±3 robust SDs (1.4826 × median |residual|), corrected for the
    # truncation (a normal variable within ±3σ has 97.334 % of its variance)
    mad = d.group_by("item_id").agg((1.4826 * pl.col("res").abs().median()).alias("s0"))
    sig = (d.join(mad, on="item_id").filter(pl.col("res").abs() <= 3 * pl.col("s0"))
           .group_by("item_id").agg(((pl.col("res") ** 2).mean() / 0.97334).sqrt().fill_null(1.0)
                                    .clip(lower_bound=0.05).alias("sigma")))
    # each pupil's speed again by maximum likelihood given the items (a σ⁻²-weighted mean), so that
    # Σ z² of an honest pupil is χ² with n − 1 degrees of freedom
    d = d.join(sig, on="item_id").drop("tau", "res")
    w = 1 / pl.col("sigma") ** 2
    tau = d.group_by("person_id").agg((((pl.col("beta") - pl.col("lt")) * w).sum() / w.sum()).alias("tau"))
    d = d.join(tau, on="person_id")
    return d.with_columns(((pl.col("lt") - pl.col("beta") + pl.col("tau")) / pl.col("sigma")).alias("z")).drop("lt")


def timing_anomalies(events: pl.DataFrame, *, starts: pl.DataFrame | None = None,
                     params: ForensicsParameters | None = None) -> pl.DataFrame:
    """Per pupil: ``n`` timed answers, ``rapid`` (answers faster than ``rapid_fraction`` × the
    item's typical time e^β), ``rapid_share``, ``l_t`` = Σ z² (lognormal person-fit) and ``p_lt``
    (χ² with ``n − 1`` degrees of freedom, upper tail)."""
    from scipy.stats import chi2

    params = params or ForensicsParameters()
    fit = lognormal_times(item_times(events, starts))
    per = (fit.with_columns((pl.col("seconds") < params.rapid_fraction * pl.col("beta").exp()).alias("is_rapid"))
           .group_by("person_id").agg(pl.len().alias("n"), pl.col("is_rapid").sum().alias("rapid"),
                                      (pl.col("z") ** 2).sum().alias("l_t")))
    per = per.with_columns((pl.col("rapid") / pl.col("n")).alias("rapid_share"))
    p = chi2.sf(per["l_t"].to_numpy(), np.maximum(per["n"].to_numpy() - 1, 1))
    return per.with_columns(pl.Series("p_lt", p)).sort("person_id")


def timing_pairs(events: pl.DataFrame, seating: pl.DataFrame, *, starts: pl.DataFrame | None = None,
                 params: ForensicsParameters | None = None) -> pl.DataFrame:
    """Per unordered neighbour pair: ``r``, the correlation of the two pupils' lognormal residuals
    ``z`` over their common items, and ``p_r`` (Fisher's z·√(n−3) against N(0, 1), upper tail):
    independent pupils' timing residuals are uncorrelated; answering in step is not."""
    params = params or ForensicsParameters()
    fit = lognormal_times(item_times(events, starts)).select("person_id", "item_id", "z")
    pairs = neighbour_pairs(seating, diagonal=params.diagonal).filter(pl.col("person_id") < pl.col("other_id"))
    joined = (pairs.join(fit, on="person_id")
              .join(fit.rename({"person_id": "other_id", "z": "z_o"}), on=["other_id", "item_id"]))
    out = joined.group_by("room", "person_id", "other_id").agg(pl.len().alias("n"), pl.corr("z", "z_o").alias("r"))
    out = out.filter(pl.col("n") >= params.min_items).with_columns(pl.col("r").fill_nan(0.0).clip(-0.999999, 0.999999))
    zf = np.arctanh(out["r"].to_numpy()) * np.sqrt(np.maximum(out["n"].to_numpy() - 3, 1))
    return out.with_columns(pl.Series("p_r", _norm_sf(zf))).sort("room", "person_id", "other_id")


# ---------------------------------------------------------------- answer changes


def changes_from_events(events: pl.DataFrame) -> pl.DataFrame:
    """``person_id, item_id, from_raw, to_raw``: each change of an answer to another non-empty one
    (clearing and re-answering counts as a change from the last non-empty answer)."""
    order = ["person_id", "item_id", "at"] + (["seq"] if "seq" in events.columns else [])
    ev = (events.select(pl.col("person_id").cast(pl.String), pl.col("item_id").cast(pl.String),
                        pl.col("raw").cast(pl.String).fill_null(""), *[c for c in order[2:]])
          .sort(order).filter(pl.col("raw") != ""))
    ev = ev.with_columns(pl.col("raw").shift(1).over("person_id", "item_id").alias("from_raw"))
    return (ev.filter(pl.col("from_raw").is_not_null() & (pl.col("from_raw") != pl.col("raw")))
            .select("person_id", "item_id", "from_raw", pl.col("raw").alias("to_raw")))


def changes_from_omr(bubbles: pl.DataFrame, responses: pl.DataFrame) -> pl.DataFrame:
    """Erasures on paper: for each item read as ``erased`` by the OMR reader, a change from each
    faint (erased) bubble's value to the marked answer (``junheng.materials.read_batch`` frames)."""
    erased = responses.filter(pl.col("status") == "erased").select("sheet", "person_id", "item_id", pl.col("raw").alias("to_raw"))
    faint = bubbles.filter((pl.col("part") == "item") & (pl.col("state") == "faint")).select(
        "sheet", pl.col("key").alias("item_id"), pl.col("value").alias("from_raw"))
    return erased.join(faint, on=["sheet", "item_id"]).filter(pl.col("person_id").is_not_null()).select(
        "person_id", "item_id", "from_raw", "to_raw")


def change_anomalies(changes: pl.DataFrame, responses: pl.DataFrame, key: pl.DataFrame, items: pl.DataFrame) -> pl.DataFrame:
    """Per pupil with changes: ``changes``, ``wtr`` (changes from a wrong option to the key),
    ``wtr_expected`` and ``p_wtr`` (Poisson-binomial upper tail over the pupil's answered items).

    Honest re-answering, item by item: a pupil changes an answer to item ``i`` with the item's
    change rate ``r_i`` (share of pupils who changed it, add-½ smoothed); the first answer is a draw
    from the pupil's response model, wrong option ``o`` with probability ``(1 − P_i(θ))·g_io``; the new
    answer is a fresh draw conditioned on differing from the first, so it is the key with probability
    ``P_i(θ) / (1 − (1 − P_i(θ))·g_io)``.  Hence a wrong-to-right change on item ``i`` has probability
    ``q_i = r_i · Σ_o (1 − P_i)·g_io · P_i / (1 − (1 − P_i)·g_io)``."""
    c = _code(responses, key, items)
    pidx = {p: i for i, p in enumerate(c.persons)}
    jidx = {it: j for j, it in enumerate(c.items)}
    ch = changes.select(pl.col("person_id").cast(pl.String), pl.col("item_id").cast(pl.String),
                        pl.col("from_raw").cast(pl.String), pl.col("to_raw").cast(pl.String))
    ch = ch.filter(pl.col("person_id").is_in(list(pidx)) & pl.col("item_id").is_in(list(jidx)))
    schema = {"person_id": pl.String, "changes": pl.Int64, "wtr": pl.Int64, "wtr_expected": pl.Float64,
              "p_wtr": pl.Float64}
    if ch.height == 0:
        return pl.DataFrame(schema=schema)
    pi = np.array([pidx[p] for p in ch["person_id"]])
    ji = np.array([jidx[i] for i in ch["item_id"]])
    keyv = np.array([c.options[j][0] for j in ji], dtype=object)
    wtr = (ch["from_raw"].to_numpy() != keyv) & (ch["to_raw"].to_numpy() == keyv)
    answered = c.code >= 0
    changed = np.zeros_like(answered)
    changed[pi, ji] = True
    rate = (changed.sum(axis=0) + 0.5) / (answered.sum(axis=0) + 1.0)
    p = c.prob
    g = c.shares[None, :, 1:]  # (1, J, K−1)
    wrong = (1 - p)[:, :, None] * g
    q = rate[None, :] * (wrong * p[:, :, None] / np.maximum(1 - wrong, 1e-9)).sum(axis=2) * answered
    people = np.unique(pi)
    n_wtr = np.bincount(pi, weights=wtr, minlength=len(c.persons)).astype(int)[people]
    n_ch = np.bincount(pi, minlength=len(c.persons))[people]
    p_wtr = poisson_binomial_tail(q[people], n_wtr)
    return pl.DataFrame({"person_id": c.persons[people].astype(str), "changes": n_ch, "wtr": n_wtr,
                         "wtr_expected": q[people].sum(axis=1), "p_wtr": p_wtr}, schema=schema).sort("person_id")


# ---------------------------------------------------------------- flags


def _score(p: np.ndarray, params: ForensicsParameters) -> np.ndarray:
    """0 at ``alpha``, 1 at ``serious_p`` or below, log-linear in between."""
    lo, hi = -np.log10(params.alpha), -np.log10(params.serious_p)
    return np.clip((-np.log10(np.maximum(p, 1e-300)) - lo) / max(hi - lo, 1e-9), 0, 1)


def _flags(frame: pl.DataFrame, kind: str, p: str, stat: str, detail, params: ForensicsParameters,
           other: str | None = None, room: str | None = None) -> pl.DataFrame:
    hit = frame.filter(pl.col(p) < params.alpha)
    if hit.height == 0:
        return pl.DataFrame(schema=FORENSIC_FLAG_SCHEMA)
    pv = hit[p].to_numpy()
    return pl.DataFrame({
        "kind": kind, "person_id": hit["person_id"],
        "other_id": hit[other] if other else pl.Series([None] * hit.height, dtype=pl.String),
        "room": hit[room] if room else pl.Series([None] * hit.height, dtype=pl.String),
        "severity": np.where(pv < params.serious_p, "serious", "warning"), "score": _score(pv, params),
        "statistic": hit[stat].cast(pl.Float64), "p_value": pv,
        "detail": [detail(r) for r in hit.iter_rows(named=True)]}, schema=FORENSIC_FLAG_SCHEMA)


def forensic_flags(*, responses: pl.DataFrame | None = None, key: pl.DataFrame | None = None,
                   items: pl.DataFrame | None = None, seating: pl.DataFrame | None = None,
                   events: pl.DataFrame | None = None, starts: pl.DataFrame | None = None,
                   changes: pl.DataFrame | None = None, arrivals: pl.DataFrame | None = None,
                   contacts: pl.DataFrame | None = None, stops: pl.DataFrame | None = None,
                   opens: pl.DataFrame | None = None, params: ForensicsParameters | None = None) -> pl.DataFrame:
    """Every statistic the given inputs allow, as flags (``FORENSIC_FLAG_SCHEMA``): ``copying``
    (ω of an ordered pair), ``identical_incorrect`` (unordered pair), ``rapid`` (share of rapid
    answers ≥ ``rapid_share``), ``timing_misfit`` (lognormal person-fit), ``same_timing``
    (neighbours' residual correlation), ``answer_changes`` (wrong-to-right changes, at least
    ``min_changes``), ``backdated`` (answers that arrived long after their stamps while the page was
    online, or after a pause, time-up or a newer page's opening by more than ``stop_bound_s``:
    ``arrivals``, ``contacts``, ``stops``, ``opens`` of :func:`junheng.supervision.arrivals.late_answers`).  A flag is a question for a
    reviewer, never a verdict."""
    params = params or ForensicsParameters()
    out = [pl.DataFrame(schema=FORENSIC_FLAG_SCHEMA)]
    irt_ready = responses is not None and key is not None and items is not None
    if irt_ready and seating is not None:
        cp = copying_indices(responses, key, items, seating, params=params)
        out.append(_flags(cp, "copying", "p_omega", "omega", lambda r: (
            f"ω = {r['omega']:.2f}；{r['n']} 题中 {r['matches']} 题与 {r['other_id']} 的作答相同（期望 {r['expected']:.1f}）"
            f" / ω = {r['omega']:.2f}; {r['matches']} of {r['n']} answers as {r['other_id']}'s, "
            f"{r['expected']:.1f} expected"), params, "other_id", "room"))
        ii = cp.filter(pl.col("person_id") < pl.col("other_id"))
        out.append(_flags(ii, "identical_incorrect", "p_ii", "identical_incorrect", lambda r: (
            f"相同的错误作答 {r['identical_incorrect']} 题（期望 {r['ii_expected']:.1f}） / "
            f"{r['identical_incorrect']} identical wrong answers, {r['ii_expected']:.1f} expected"), params,
            "other_id", "room"))
    if events is not None:
        ta = timing_anomalies(events, starts=starts, params=params)
        rapid = ta.filter(pl.col("rapid_share") >= params.rapid_share)  # a threshold rule, no p-value
        out.append(pl.DataFrame({
            "kind": "rapid", "person_id": rapid["person_id"], "other_id": None, "room": None, "severity": "warning",
            "score": rapid["rapid_share"], "statistic": rapid["rapid_share"], "p_value": None,
            "detail": [f"{r['n']} 题中 {r['rapid']} 题的作答时间短于该题常见用时的 {params.rapid_fraction:.0%} / "
                       f"{r['rapid']} of {r['n']} answers faster than {params.rapid_fraction:.0%} of the item's "
                       "typical time" for r in rapid.iter_rows(named=True)]}, schema=FORENSIC_FLAG_SCHEMA))
        out.append(_flags(ta, "timing_misfit", "p_lt", "l_t", lambda r: (
            f"作答时间拟合统计量 l_t = {r['l_t']:.1f}（{r['n']} 题，χ²） / l_t = {r['l_t']:.1f} on {r['n']} timed answers (χ²)"),
            params))
        if seating is not None:
            tp = timing_pairs(events, seating, starts=starts, params=params)
            out.append(_flags(tp, "same_timing", "p_r", "r", lambda r: (
                f"{r['n']} 题的作答时间残差相关 r = {r['r']:.2f} / timing residuals correlate r = {r['r']:.2f} over "
                f"{r['n']} items"), params, "other_id", "room"))
    if changes is not None and irt_ready:
        ca = change_anomalies(changes, responses, key, items).filter(pl.col("wtr") >= params.min_changes)
        out.append(_flags(ca, "answer_changes", "p_wtr", "wtr", lambda r: (
            f"由错改对 {r['wtr']} 次（共改动 {r['changes']} 次，期望 {r['wtr_expected']:.1f}） / "
            f"{r['wtr']} wrong-to-right changes ({r['changes']} changes in all), {r['wtr_expected']:.1f} expected"),
            params))
    if arrivals is not None:
        late = late_answers(arrivals, contacts, stops, opens=opens, arrival_slack_s=params.arrival_slack_s,
                            stop_bound_s=params.stop_bound_s)
        out.append(pl.DataFrame(late_flags(late, stop_bound_s=params.stop_bound_s), schema=FORENSIC_FLAG_SCHEMA))
    return pl.concat(out).sort("kind", "p_value", "person_id", nulls_last=True)


__all__ = ["FORENSIC_FLAG_SCHEMA", "FORENSIC_KINDS", "ForensicsParameters", "change_anomalies", "changes_from_events",
           "changes_from_omr", "copying_indices", "forensic_flags", "item_times", "lognormal_times",
           "neighbour_pairs", "poisson_binomial_tail", "timing_anomalies", "timing_pairs"]
