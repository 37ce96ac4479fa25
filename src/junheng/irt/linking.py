"""Linking a new calibration to a base scale, the reporting scale, and performance levels.

A linear link puts new-form θ on the base scale: θ* = A·θ + B, so a* = a/A, b* = A·b + B
(every step difficulty likewise), c* = c (Kolen & Brennan, *Test Equating, Scaling, and
Linking*, 3rd ed., ch. 6).  A and B come from the common (anchor) items:

- mean–mean (Loyd & Hoover, 1980): A = mean(a_new)/mean(a_base), B = mean(b_base) − A·mean(b_new)
- mean–sigma (Marco, 1977): A = sd(b_base)/sd(b_new), B = mean(b_base) − A·mean(b_new)
- Haebara (1980): minimise Σ_q w_q Σ_j Σ_k [P_jk(θ_q; base) − P_jk(θ_q; new → A, B)]²
- Stocking–Lord (1983): minimise Σ_q w_q [Σ_j E_j(θ_q; base) − Σ_j E_j(θ_q; new → A, B)]²
  (E_j the expected item score), both over N(0, 1) weights on the base scale's nodes.

For polytomous items the b's of mean–mean and mean–sigma are the step difficulties b_1 … b_k.
Fixed-anchor calibration is ``IRTModel(fixed_items=base_items)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy.optimize import minimize

from junheng.exceptions import ParameterError

from . import _models as M
from ._base import Estimator
from ._itemset import from_frame

LEVEL_LABELS = {1: "待提高", 2: "中等", 3: "良好", 4: "优秀"}
LEVEL_NAMES = {1: "水平Ⅰ", 2: "水平Ⅱ", 3: "水平Ⅲ", 4: "水平Ⅳ"}


@dataclass(frozen=True)
class Link:
    """θ_base = A·θ_new + B."""

    A: float
    B: float
    method: str
    anchors: tuple[str, ...]

    def theta(self, theta):
        return self.A * np.asarray(theta) + self.B

    def items(self, items: pl.DataFrame) -> pl.DataFrame:
        return transform_items(items, self.A, self.B)


def _step_cols(frame: pl.DataFrame) -> list[str]:
    return [c for c in frame.columns if c.startswith("b_") and c[2:].isdigit()]


def transform_items(items: pl.DataFrame, A: float, B: float) -> pl.DataFrame:
    """Item parameters moved by θ* = Aθ + B (a/A, b·A + B, steps likewise; SEs scaled)."""
    if not A > 0:
        raise ParameterError(f"A 应为正数 / A must be positive; got {A!r}")
    ex = [pl.col("a") / A, pl.col("b") * A + B] + [pl.col(c) * A + B for c in _step_cols(items)]
    ex += [pl.col(c) / A if c == "se_a" else pl.col(c) * A for c in items.columns
           if c.startswith("se_") and c != "se_c"]
    return items.with_columns(ex)


def _common(new: pl.DataFrame, base: pl.DataFrame, anchors) -> list[str]:
    names = [x for x in new["item_id"].to_list() if x in set(base["item_id"].to_list())]
    if anchors is not None:
        names = [x for x in names if x in set(anchors)]
    if len(names) < 2:
        raise ParameterError(f"锚题少于 2 道 / fewer than 2 common anchor items; got {len(names)}")
    return names


def _bs(frame: pl.DataFrame, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    f = frame.filter(pl.col("item_id").is_in(names)).sort("item_id")
    steps = _step_cols(f)
    bs = []
    for row in f.iter_rows(named=True):
        st = [row[c] for c in steps if row[c] is not None]
        bs.extend(st if st and row["model"] in M.POLYTOMOUS else [row["b"]])
    return f["a"].to_numpy(), np.array(bs, dtype=float)


def mean_mean(new: pl.DataFrame, base: pl.DataFrame, anchors=None) -> Link:
    names = _common(new, base, anchors)
    an, bn = _bs(new, names)
    ab, bb = _bs(base, names)
    A = float(an.mean() / ab.mean())
    return Link(A, float(bb.mean() - A * bn.mean()), "mean_mean", tuple(names))


def mean_sigma(new: pl.DataFrame, base: pl.DataFrame, anchors=None) -> Link:
    names = _common(new, base, anchors)
    _, bn = _bs(new, names)
    _, bb = _bs(base, names)
    A = float(bb.std() / bn.std())
    return Link(A, float(bb.mean() - A * bn.mean()), "mean_sigma", tuple(names))


def _curves(frame: pl.DataFrame, names: list[str], theta: np.ndarray):
    """Per item: category probabilities (K, Q), in ``names`` order."""
    s = from_frame(frame.filter(pl.col("item_id").is_in(names))).subset(names)
    out = [None] * len(names)
    for b in s.blocks:
        P = M.probs(b.model, b.par, theta)
        for r, i in enumerate(b.idx):
            out[i] = P[r]
    return out


def _characteristic(new, base, anchors, kind: str, n_quad: int, theta_range: float) -> Link:
    names = _common(new, base, anchors)
    theta = np.linspace(-theta_range, theta_range, n_quad)
    w = np.exp(-0.5 * theta**2)
    w /= w.sum()
    Pb = _curves(base, names, theta)
    start = mean_sigma(new, base, anchors)
    newf = new.filter(pl.col("item_id").is_in(names))

    def loss(x):
        A, B = np.exp(x[0]), x[1]
        Pn = _curves(transform_items(newf, A, B), names, theta)
        if kind == "haebara":
            return float(sum((w * ((pb - pn) ** 2).sum(axis=0)).sum() for pb, pn in zip(Pb, Pn)))
        k = lambda P: sum((np.arange(p.shape[0])[:, None] * p).sum(axis=0) for p in P)  # noqa: E731
        return float((w * (k(Pb) - k(Pn)) ** 2).sum())

    res = minimize(loss, x0=[np.log(start.A), start.B], method="Nelder-Mead",
                   options={"xatol": 1e-8, "fatol": 1e-14, "maxiter": 4000})
    return Link(float(np.exp(res.x[0])), float(res.x[1]), kind, tuple(names))


def stocking_lord(new: pl.DataFrame, base: pl.DataFrame, anchors=None, *, n_quad: int = 81,
                  theta_range: float = 4.0) -> Link:
    return _characteristic(new, base, anchors, "stocking_lord", n_quad, theta_range)


def haebara(new: pl.DataFrame, base: pl.DataFrame, anchors=None, *, n_quad: int = 81, theta_range: float = 4.0) -> Link:
    return _characteristic(new, base, anchors, "haebara", n_quad, theta_range)


class ReportingScale(Estimator):
    """Reporting scale fixed in the base year: score = mean + sd·(θ − μ₀)/σ₀.

    ``fit(theta, weights)`` takes the base year's θ (for instance the first plausible value,
    or EAPs) with survey weights and fixes μ₀, σ₀ (weighted mean and SD); later years'
    θ, already linked to the base scale, are transformed with the same constants.
    """

    def __init__(self, mean: float = 500.0, sd: float = 100.0):
        self.mean = mean
        self.sd = sd

    def fit(self, theta, weights=None) -> ReportingScale:
        if not self.sd > 0:
            raise ParameterError(f"sd 应为正数 / sd must be positive; got {self.sd!r}")
        t = np.asarray(theta, dtype=float)
        w = np.ones_like(t) if weights is None else np.asarray(weights, dtype=float)
        if t.size < 2 or w.shape != t.shape:
            raise ParameterError("theta 与 weights 长度须一致且至少 2 个 / theta and weights must match, at least 2 values")
        m = float(np.sum(w * t) / w.sum())
        self.theta_mean_ = m
        self.theta_sd_ = float(np.sqrt(np.sum(w * (t - m) ** 2) / w.sum()))
        return self

    @classmethod
    def from_constants(cls, theta_mean: float, theta_sd: float, mean: float = 500.0, sd: float = 100.0) -> ReportingScale:
        s = cls(mean, sd)
        s.theta_mean_, s.theta_sd_ = float(theta_mean), float(theta_sd)
        return s

    def transform(self, theta):
        if not hasattr(self, "theta_mean_"):
            raise ParameterError("报告量尺尚未确定 / the reporting scale is not fixed yet: call fit() on the base year")
        return self.mean + self.sd * (np.asarray(theta, dtype=float) - self.theta_mean_) / self.theta_sd_

    def inverse(self, score):
        return self.theta_mean_ + self.theta_sd_ * (np.asarray(score, dtype=float) - self.mean) / self.sd

    def to_dict(self) -> dict:
        return {"mean": self.mean, "sd": self.sd, "theta_mean": self.theta_mean_, "theta_sd": self.theta_sd_}


def levels(scores, cuts) -> np.ndarray:
    """Performance level 1–4 (水平Ⅰ–Ⅳ: 待提高/中等/良好/优秀): a score at a cut is in the higher level.

    ``cuts`` are three increasing cut scores on the same scale as ``scores``; missing scores
    (NaN) get level 0.
    """
    c = np.asarray(cuts, dtype=float)
    if c.shape != (3,) or not np.all(np.diff(c) > 0):
        raise ParameterError(f"cuts 应为 3 个递增的分数线 / cuts must be 3 increasing cut scores; got {list(cuts)!r}")
    s = np.asarray(scores, dtype=float)
    out = np.searchsorted(c, s, side="right") + 1
    return np.where(np.isnan(s), 0, out).astype(np.int8)


@dataclass(frozen=True)
class DriftCheck:
    """Anchor items checked for drift between the base year and a new year.

    ``table``: item, b_base, b_new (on the base scale, by mean–sigma over the retained anchors),
    difference, robust_z, drift (bool). ``retained``/``dropped``: anchor names. ``shift``: the
    mean difference over the retained anchors (θ units, should be ≈ 0 once linked);
    ``linking_error``: the SE of the mean shift over the retained anchors, sd(d)/√J (θ units) —
    PISA's linking error for a common-item link (OECD, *PISA 2012 Technical Report*, ch. 12)."""

    table: pl.DataFrame
    retained: tuple[str, ...]
    dropped: tuple[str, ...]
    link: Link
    linking_error: float
    threshold: float
    min_difference: float


def _locations(frame: pl.DataFrame, names: list[str]) -> np.ndarray:
    """The item location per name: b, or the mean step difficulty of a polytomous item."""
    f = frame.filter(pl.col("item_id").is_in(names))
    steps = _step_cols(f)
    loc = {}
    for row in f.iter_rows(named=True):
        st = [row[c] for c in steps if row[c] is not None and row[c] == row[c]]
        b = row["b"]
        loc[row["item_id"]] = float(np.mean(st)) if (b is None or b != b) and st else float(b)
    return np.array([loc[n] for n in names])


def anchor_drift(new: pl.DataFrame, base: pl.DataFrame, anchors=None, *, threshold: float = 1.96,
                 min_difference: float = 0.3, max_rounds: int = 5) -> DriftCheck:
    """Flag anchor items whose difficulty moved between years (robust z; Huynh & Meyer, 2010).

    ``new`` is the new year's *free* calibration (its own N(0, 1) scale), ``base`` the base year's.
    In each round the new items are put on the base scale by mean–sigma over the anchors still
    retained, the differences d_j = b*_new − b_base are formed over all anchors, and an anchor is
    flagged when its robust z = (d_j − median d)/(0.7413·IQR(d)) exceeds ``threshold`` in absolute
    value *and* |d_j − median d| ≥ ``min_difference`` logits (a trivially small move is not worth an
    anchor); rounds repeat until the flagged set stops changing. At least two anchors are kept.
    """
    names = _common(new, base, anchors)
    bb, bn = _locations(base, names), _locations(new, names)
    keep = np.ones(len(names), dtype=bool)
    for _ in range(max_rounds):
        A = float(bb[keep].std() / bn[keep].std()) if keep.sum() > 2 and bn[keep].std() > 0 else 1.0
        B = float(bb[keep].mean() - A * bn[keep].mean())
        d = A * bn + B - bb
        med = float(np.median(d[keep]))
        q75, q25 = np.percentile(d[keep], [75, 25])
        scale = 0.7413 * float(q75 - q25)
        z = (d - med) / scale if scale > 0 else np.zeros_like(d)
        flag = (np.abs(z) > threshold) & (np.abs(d - med) >= min_difference)
        if (~flag).sum() < 2:
            flag = np.zeros_like(flag)
        if np.array_equal(~flag, keep):
            break
        keep = ~flag
    retained = [n for n, k in zip(names, keep) if k]
    dk = d[keep]
    le = float(dk.std(ddof=1) / np.sqrt(dk.size)) if dk.size > 1 else float("nan")
    table = pl.DataFrame({"item_id": names, "b_base": bb, "b_new": A * bn + B, "difference": d, "robust_z": z,
                          "drift": ~keep})
    return DriftCheck(table, tuple(retained), tuple(n for n, k in zip(names, keep) if not k),
                      Link(A, B, "mean_sigma", tuple(retained)), le, threshold, min_difference)
