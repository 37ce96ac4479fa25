"""Standard setting: the Bookmark method and a modified-Angoff option, and cut scores with provenance.

Bookmark (Mitzel, Lewis, Patz & Green, 2001; Cizek & Bunch, *Standard Setting*, 2007, ch. 10):

1. The *ordered item booklet* (OIB) has one page per score point — an item's category k ≥ 1 —
   ordered by its RP67 location: the θ at which P(X ≥ k | θ) = 0.67 (response probability
   ``rp``). For the 2PL that is b + ln(rp/(1 − rp))/a; for the 3PL b + ln((rp − c)/(1 − rp))/a;
   for polytomous items the root of the cumulative category curve (computed on a fine grid).
2. Each panellist, in each round, places one bookmark per cut (水平Ⅱ, Ⅲ, Ⅳ): on the *last* page
   a pupil just at the level's threshold would master with probability ``rp``. The panellist's
   cut is the RP67 location of that page, moved to the reporting scale.
3. The panel's cut is the median (default) or the mean of the panellists' cuts of the last round;
   its standard error across panellists (the *standard error of judgement*) is sd/√n for the
   mean and √(π/2)·sd/√n for the median (its asymptotic SE under normal judgements).

Modified Angoff (Angoff, 1971; IRT form as in Kolen & Brennan 2014, §12): each panellist rates, per
item, the expected score of the borderline pupil (a probability for a 0/1 item); the sum of the
ratings is an expected raw score on the rated items, and the panellist's cut is the θ at which
the test characteristic curve of those items equals it. Panel cut and SE as above.

Cut scores carry their provenance (:class:`CutScores`): method, panel, date, rounds, panellists.
Cut scores that no panel has set are *provisional* (暂定) and the reports say so.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import polars as pl

from junheng.exceptions import Issue, Issues, ParameterError

from . import _models as M
from ._itemset import from_frame

LEVEL_CUTS = ("Ⅱ", "Ⅲ", "Ⅳ")
"""The three cuts, named by the level they open: 水平Ⅱ 中等, Ⅲ 良好, Ⅳ 优秀."""
_GRID = np.linspace(-10.0, 10.0, 4001)


@dataclass(frozen=True)
class CutScores:
    """A subject's three cut scores on the reporting scale and where they come from.

    ``method``: ``bookmark``, ``angoff`` or ``provisional`` (no panel has met: the cuts are a
    placeholder and levels are printed as 暂定). ``se``: the standard errors of judgement."""

    subject: str
    cuts: tuple[float, float, float]
    method: str = "provisional"
    se: tuple[float, float, float] | None = None
    panel: str = ""
    date: str = ""
    rounds: int = 0
    panellists: int = 0
    statistic: str = "median"
    note: str = ""
    by_round: list[dict] = field(default_factory=list, compare=False)

    @property
    def provisional(self) -> bool:
        return self.method == "provisional"

    def label(self) -> str:
        """How a report names the cuts (Chinese)."""
        if self.provisional:
            return "暂定分数线（尚未经标准设定专家组确定）"
        name = {"bookmark": "书签法（Bookmark）", "angoff": "修正Angoff法"}.get(self.method, self.method)
        return f"{name}，{self.panel}，{self.date}，{self.rounds} 轮，{self.panellists} 位专家"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["cuts"], d["se"] = list(self.cuts), list(self.se) if self.se else None
        return d


def provisional(subject: str, cuts=(400.0, 500.0, 600.0)) -> CutScores:
    """Placeholder cuts (base-year mean ± 1 SD on the 500/100 scale) until a panel has met."""
    return CutScores(subject, tuple(float(c) for c in cuts), note="基准年均值±1个标准差，仅作占位 / base mean ± 1 SD, a placeholder")


def _cumulative(items: pl.DataFrame) -> list[tuple[str, int, np.ndarray]]:
    """(item, k, P(X ≥ k | θ) on the grid) for every score point k ≥ 1."""
    s = from_frame(items)
    out = []
    for b in s.blocks:
        P = M.probs(b.model, b.par, _GRID)  # (J, K, Q)
        tail = np.cumsum(P[:, ::-1, :], axis=1)[:, ::-1, :]  # P(X ≥ k)
        for r, i in enumerate(b.idx):
            for k in range(1, int(s.ncat[i])):
                out.append((s.items[i], k, tail[r, k]))
    return out


def _root(curve: np.ndarray, target: float) -> float:
    """θ where an increasing curve on the grid reaches ``target`` (linear interpolation)."""
    if not curve[0] < target < curve[-1]:
        return float("nan")
    j = int(np.searchsorted(curve, target))
    lo, hi = curve[j - 1], curve[j]
    return float(_GRID[j - 1] + (target - lo) / (hi - lo) * (_GRID[j] - _GRID[j - 1]))


def ordered_item_booklet(items: pl.DataFrame, rp: float = 0.67) -> pl.DataFrame:
    """The OIB: ``page`` (1 = easiest), ``item_id``, ``category`` (score point), ``location`` (θ at
    which P(X ≥ category) = ``rp``), ordered by location (ties by item name)."""
    if not 0 < rp < 1:
        raise ParameterError(f"rp 应在 (0, 1) 内 / rp must be in (0, 1); got {rp!r}")
    rows = [(item, k, _root(np.maximum.accumulate(curve), rp)) for item, k, curve in _cumulative(items)]
    bad = [f"{i}:{k}" for i, k, loc in rows if not math.isfinite(loc)]
    if bad:
        raise ParameterError(f"这些得分点的 RP{round(rp * 100)} 位置在 ±10 之外（或 c ≥ rp）/ the RP location of these "
                             f"score points is outside ±10 (or c ≥ rp): {', '.join(bad[:20])}")
    oib = pl.DataFrame(rows, schema={"item_id": pl.String, "category": pl.Int32, "location": pl.Float64}, orient="row")
    oib = oib.sort("location", "item_id", "category")
    return oib.with_row_index("page", offset=1).with_columns(pl.col("page").cast(pl.Int32))


def _panel(per: pl.DataFrame, statistic: str) -> pl.DataFrame:
    """Per round and cut: n, mean, median, sd, the panel cut and its SE across panellists."""
    if statistic not in ("median", "mean"):
        raise ParameterError(f"statistic 应为 median 或 mean / statistic must be median or mean; got {statistic!r}")
    factor = math.sqrt(math.pi / 2) if statistic == "median" else 1.0
    g = per.group_by("round", "cut").agg(
        pl.len().alias("n"), pl.col("score").mean().alias("mean"), pl.col("score").median().alias("median"),
        pl.col("score").std().alias("sd"))
    return g.with_columns(pl.col(statistic).alias("panel_cut"),
                          (factor * pl.col("sd") / pl.col("n").sqrt()).alias("se")).sort("round", "cut")


def _check_judgements(frame: pl.DataFrame, need: tuple[str, ...], file: str | None) -> None:
    issues = Issues()
    for c in need:
        if c not in frame.columns:
            issues.add(Issue("缺少列", "column is missing", file=file, column=c))
    issues.raise_if_errors()
    if "cut" in frame.columns:
        for r, v in enumerate(frame["cut"].cast(pl.String).to_list()):
            if v not in LEVEL_CUTS:
                issues.add(Issue("分数线名称应为 Ⅱ、Ⅲ 或 Ⅳ（该水平的下限）", "cut must be Ⅱ, Ⅲ or Ⅳ (the level it opens)",
                                 file=file, row=r + 2, column="cut", value=v))
    issues.raise_if_errors()


def _to_scale(theta: np.ndarray, scale) -> np.ndarray:
    return np.asarray(theta, dtype=float) if scale is None else scale.transform(theta)


def _cuts_of(panel: pl.DataFrame, per: pl.DataFrame, subject, method, statistic, panel_name, date, issues_file):
    where = f"{issues_file}：" if issues_file else ""
    last = int(panel["round"].max())
    fin = panel.filter(pl.col("round") == last).sort("cut")
    if fin.height != 3:
        raise ParameterError(f"{where}最后一轮须有 Ⅱ、Ⅲ、Ⅳ 三条分数线 / the last round must give all three cuts Ⅱ, Ⅲ, Ⅳ; "
                             f"got {fin['cut'].to_list()}")
    cuts = tuple(float(x) for x in fin["panel_cut"])
    if not cuts[0] < cuts[1] < cuts[2]:
        raise ParameterError(f"{where}专家组分数线须递增 / the panel's cuts must increase; got {cuts}")
    se = tuple(float(x) if x == x else float("nan") for x in fin["se"].fill_null(float("nan")))
    return CutScores(subject, cuts, method, se, panel_name, date, last,
                     int(per.filter(pl.col("round") == last)["panellist"].n_unique()), statistic,
                     by_round=panel.to_dicts())


def bookmark(oib: pl.DataFrame, bookmarks: pl.DataFrame, *, subject: str, scale=None, statistic: str = "median",
             panel: str = "", date: str = "", file: str | None = None) -> tuple[CutScores, pl.DataFrame]:
    """Cut scores from bookmarks (``panellist, round, cut, page``; ``cut`` ∈ Ⅱ/Ⅲ/Ⅳ, ``page`` the last
    OIB page mastered at RP67). Returns the :class:`CutScores` of the last round and the
    per-panellist frame (``panellist, round, cut, page, theta, score``). ``scale``: a fitted
    :class:`~junheng.irt.ReportingScale` (without it, cuts stay in θ)."""
    _check_judgements(bookmarks, ("panellist", "round", "cut", "page"), file)
    b = bookmarks.with_columns(pl.col("panellist").cast(pl.String), pl.col("round").cast(pl.Int32),
                               pl.col("cut").cast(pl.String), pl.col("page").cast(pl.Int32, strict=False))
    issues = Issues()
    n_pages = oib.height
    for r, v in enumerate(b["page"].to_list()):
        if v is None or not 1 <= v <= n_pages:
            issues.add(Issue(f"书签页码应为 1–{n_pages}", f"the bookmark page must be 1–{n_pages}", file=file,
                             row=r + 2, column="page", value=bookmarks["page"][r]))
    issues.raise_if_errors()
    theta = oib.sort("page")["location"].to_numpy()[b["page"].to_numpy() - 1]
    per = b.with_columns(pl.Series("theta", theta), pl.Series("score", _to_scale(theta, scale)))
    return _cuts_of(_panel(per, statistic), per, subject, "bookmark", statistic, panel, date, file), per


def angoff(items: pl.DataFrame, ratings: pl.DataFrame, *, subject: str, scale=None, statistic: str = "median",
           panel: str = "", date: str = "", file: str | None = None) -> tuple[CutScores, pl.DataFrame]:
    """Modified Angoff: ``ratings`` has ``panellist, round, cut, item_id, rating`` — the expected score of
    the borderline pupil on the item (0 … max score). A panellist's cut is the θ where the test
    characteristic curve of the rated items equals the sum of the ratings."""
    _check_judgements(ratings, ("panellist", "round", "cut", "item_id", "rating"), file)
    r = ratings.with_columns(pl.col("panellist").cast(pl.String), pl.col("round").cast(pl.Int32),
                             pl.col("cut").cast(pl.String), pl.col("item_id").cast(pl.String),
                             pl.col("rating").cast(pl.Float64, strict=False))
    s = from_frame(items)
    maxs = dict(zip(s.items, (s.ncat - 1).tolist()))
    issues = Issues()
    for i, (item, v) in enumerate(zip(r["item_id"].to_list(), r["rating"].to_list())):
        if item not in maxs:
            issues.add(Issue("题目不在项目参数表中", "item is not in the item parameter table", file=file, row=i + 2,
                             column="item_id", value=item))
        elif v is None or not 0 <= v <= maxs[item]:
            issues.add(Issue(f"评定值应在 0–{maxs[item]} 之间（临界学生的期望得分）",
                             f"the rating must be 0–{maxs[item]} (the borderline pupil's expected score)",
                             file=file, row=i + 2, column="rating", value=ratings["rating"][i]))
    issues.raise_if_errors()
    expected = {}
    for b in s.blocks:
        P = M.probs(b.model, b.par, _GRID)
        e = (np.arange(P.shape[1])[None, :, None] * P).sum(axis=1)
        for k, i in enumerate(b.idx):
            expected[s.items[i]] = e[k]
    rows = []
    for (pan, rnd, cut), g in r.with_row_index("_r").group_by("panellist", "round", "cut", maintain_order=True):
        tcc = np.maximum.accumulate(sum(expected[i] for i in g["item_id"]))
        th = _root(tcc, float(g["rating"].sum()))
        if not math.isfinite(th):  # every such judgement reported, at its first rating's row
            issues.add(Issue(f"专家 {pan} 第 {rnd} 轮 {cut}：评定总分在测验特征曲线范围之外",
                             f"panellist {pan}, round {rnd}, cut {cut}: the summed ratings are outside the test "
                             "characteristic curve", file=file, row=int(g["_r"][0]) + 2, column="rating",
                             value=float(g["rating"].sum())))
        rows.append((pan, rnd, cut, float(g["rating"].sum()), th))
    issues.raise_if_errors()
    per = pl.DataFrame(rows, schema={"panellist": pl.String, "round": pl.Int32, "cut": pl.String,
                                     "expected_score": pl.Float64, "theta": pl.Float64}, orient="row")
    per = per.with_columns(pl.Series("score", _to_scale(per["theta"].to_numpy(), scale)))
    return _cuts_of(_panel(per, statistic), per, subject, "angoff", statistic, panel, date, file), per
