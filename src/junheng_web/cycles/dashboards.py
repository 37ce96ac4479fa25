"""The result dashboards of a cycle, for a region (None: the province) and each of its parts.

* :func:`fitness_dashboard` — 达标率/优良率/优秀率/不及格率 … computed by ``junheng.fitness.summarize``
  over ``fitness.services.fitness_frame``, i.e. exactly the figures ``junheng fitness summary``
  prints for the same records, with replicate SEs when the cycle has weights;
* :func:`academic_dashboard` — mean scale score and the shares at 水平Ⅰ–Ⅳ, 中等及以上 and Ⅲ级以上 per
  subject from the plausible values by Rubin's rules with replicate SEs (``junheng.survey``
  through ``sampling.services.design``), i.e. exactly what ``junheng survey estimate`` gives.

Both are cached (the shared cache of settings.CACHES) until the cycle's data or weights change
(``compute_*`` do the work): the key — the page's *version*, :func:`version` — holds the cycle's
epoch (moved by every service that writes results, registry.freshness) and a data stamp of the
cycle (aggregates over all its records, so that a write behind the services' back shows too),
which is itself kept ``JUNHENG_DASHBOARD_FRESHNESS`` seconds (default 60; 0: checked on every
request) and is one per cycle — not per region — so a hundred operators of fifty regions cost one
set of stamp queries per period, not fifty.  The pages cache their rendered body under the same
version (cycles.dashboard_views), so a page view reads two small cache entries and one string.
:func:`warm` computes the pages of a cycle ahead (after imports: the ``dashboards`` job, or
``manage.py warm_dashboards``) so no operator waits for a computation.
"""

from __future__ import annotations

import functools
import hashlib

import polars as pl
from django.db.models import Count, F, Max, Sum, Value
from django.utils.translation import gettext_lazy

from junheng.exceptions import ParameterError
from junheng.fitness import summarize
from junheng.survey import ReportingRule, TaylorDesign, mean, proportion
from junheng_web.assessment.models import PupilScore
from junheng_web.assessment.scores import LEVEL_PV, PV, scores_frame
from junheng_web.cycles.progress import progress_version
from junheng_web.fitness.models import FitnessRecord
from junheng_web.fitness.services import fitness_frame
from junheng_web.registry.freshness import StillComputing, epochs, fresh_many, once
from junheng_web.registry.models import Cycle, Region
from junheng_web.registry.regions import part_key
from junheng_web.sampling.models import SampledPupil
from junheng_web.sampling.services import design, weights_stamp


def _fitness_stamp(cycle: Cycle) -> str:
    f = FitnessRecord.objects.filter(cycle=cycle).aggregate(n=Count("id"), last=Max("updated_at"))
    return f"{f['n']}:{f['last'].timestamp() if f['last'] else 0}:{weights_stamp(cycle)}"


def version(page: str, cycle: Cycle, region: Region | None) -> str:
    """The version of ``page`` (``fitness`` or ``academic``) of (cycle, region): the cache key of its
    figures, which changes whenever they may have (the cycle's epoch, its data stamp)."""
    return _versions(page, [cycle], region)[0]


def _versions(page: str, cycles: list[Cycle], region: Region | None) -> list[str]:
    """:func:`version` of ``page`` of each of ``cycles``: their epochs in one read of the cache, then
    their data stamps in another — each the stamp of ``page`` for the whole cycle, renewed at most
    every ``freshness`` seconds by one request (registry.freshness.fresh), and at once when the
    cycle's epoch moves (an import through the services)."""
    of = {"fitness": _fitness_stamp, "academic": _academic_stamp}[page]
    e = epochs([c.pk for c in cycles])
    keys = [f"junheng:stamp:{page}:{c.pk}:{e[c.pk]}" for c in cycles]
    stamps = fresh_many({k: functools.partial(of, c) for k, c in zip(keys, cycles, strict=True)})
    return [f"junheng:{page}-dashboard:{c.pk}:{region.pk if region else 'all'}:{e[c.pk]}:"
            f"{hashlib.sha256(stamps[k].encode()).hexdigest()[:20]}" for k, c in zip(keys, cycles, strict=True)]


def page_version(page: str, cycle: Cycle, region: Region | None) -> str:
    """The version of everything ``page`` of (cycle, region) shows: its figures' and those of the
    trend's earlier cycles of the same grade (a key for the page's rendered body)."""
    parts = _versions(page, _trend_cycles(cycle), region)
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def fitness_dashboard(cycle: Cycle, region: Region | None) -> dict:
    """:func:`compute_fitness_dashboard`, cached until the cycle's fitness records or weights change
    (:func:`version`; the computation reads every record of the region) and computed by one request
    while the others wait (registry.freshness.once)."""
    key = version("fitness", cycle, region)
    data = once(key, lambda: compute_fitness_dashboard(cycle, region), 24 * 3600)
    return {**data, "parts": [dict(p) for p in data["parts"]]}


def compute_fitness_dashboard(cycle: Cycle, region: Region | None) -> dict:
    """Fitness rates of ``region`` (None: the province) and of each of its parts
    (cities of the province, counties of a city, schools of a county).

    Returns ``{"overall": {...}, "parts": [{...}, ...], "part_key": column}``; the figures are
    ``junheng.fitness.summarize`` of ``fitness_frame`` (weighted by the final sampling weight
    when the cycle's weights have been computed, and then with the rates' and the mean score's
    replicate SEs as ``<name>_se``)."""
    frame = fitness_frame(cycle, region)
    frame = _with_weights(cycle, frame)
    key = part_key(region)
    cols = ["n_tested", "pass_rate", "good_rate", "excellent_rate", "fail_rate", "total_score_mean",
            "obesity_rate", "vision_poor_rate"]
    if frame.height == 0:
        return {"overall": None, "parts": [], "part_key": key, "weighted": False}
    overall = summarize(frame, ())
    parts = summarize(frame, (key,))
    keep = [c for c in cols if c in parts.columns]
    data = {"overall": overall.select(keep).to_dicts()[0], "parts": parts.select(key, *keep).to_dicts(),
            "part_key": key, "weighted": "weight" in frame.columns}
    if data["weighted"]:
        _add_fitness_ses(cycle, frame, key, data)
    return data


FITNESS_RATES = {"pass_rate": ["优秀", "良好", "及格"], "good_rate": ["优秀", "良好"], "excellent_rate": ["优秀"],
                 "fail_rate": ["不及格"]}


def _add_fitness_ses(cycle: Cycle, frame: pl.DataFrame, key: str, data: dict) -> None:
    """``<rate>_se`` and ``total_score_mean_se`` from the cycle's replicate weights
    (``junheng.survey.proportion`` / ``mean`` of the tested pupils' ratings and total scores, as
    ``junheng survey estimate --statistic proportion --variable rating --level …`` gives them);
    None for a group below the minimum reporting rule (62 pupils, 5 schools) — e.g. one school."""
    tested = pl.col("complete").fill_null(False) & ~pl.col("exempt").fill_null(False)
    rows = frame.select("student_id", *dict.fromkeys(["school_code", key]),
                        pl.when(tested).then(pl.col("rating")).alias("rating"),
                        pl.when(tested).then(pl.col("total_score")).alias("total_score"))
    try:
        d = design(cycle, rows, rule=ReportingRule(suppress=False))
    except ParameterError:  # the cycle has no weights yet
        return
    for target, by in (([data["overall"]], []), (data["parts"], [key])):
        results = {name: proportion(d, "rating", levels=lv, by=by) for name, lv in FITNESS_RATES.items()}
        results["total_score_mean"] = mean(d, "total_score", by=by)
        for name, res in results.items():
            se = {(r[key] if by else None): (None if r["flag"] else r["se"]) for r in res.to_dicts()}
            for t in target:
                t[f"{name}_se"] = se.get(t[key] if by else None)


ACADEMIC_STATISTICS: dict[str, list[int]] = {
    "level1": [1], "level2": [2], "level3": [3], "level4": [4],
    "mid_plus": [2, 3, 4],   # 中等及以上 (水平Ⅱ及以上)
    "good_plus": [3, 4],     # 良好及以上 / Ⅲ级以上 (the quality indicator of junheng.indicators.quality)
}


def _academic_stamp(cycle: Cycle) -> str:
    scores = PupilScore.objects.filter(cycle=cycle)
    # no updated_at on the scores (an unchanged re-import must leave rows untouched): a content
    # stamp instead — position-weighted sums of every value (the levels also by pupil, exact
    # integers), so a change to any PV or level shows
    values = ("theta", "scale_score", "pv1", "pv2", "pv3", "pv4", "pv5")
    levels = ("level", "level_pv1", "level_pv2", "level_pv3", "level_pv4", "level_pv5")
    f = scores.aggregate(n=Count("id"), last=Max("id"),
                         a=Sum(sum((F(c) * (k + 1) for k, c in enumerate(values)), Value(0.0))),
                         b=Sum(sum((F(c) * (k + 1) for k, c in enumerate(levels)), Value(0)) * F("pupil_id")))
    return f"{f['n']}:{f['last']}:{f['a'] or 0:.17g}:{f['b'] or 0}:{weights_stamp(cycle)}"


def academic_dashboard(cycle: Cycle, region: Region | None) -> dict:
    """:func:`compute_academic_dashboard`, cached until the cycle's scores or weights change
    (:func:`version`; the computation reads every score of the region) and computed by one request
    while the others wait (registry.freshness.once)."""
    key = version("academic", cycle, region)
    data = once(key, lambda: compute_academic_dashboard(cycle, region), 24 * 3600)
    return {**data, "overall": [dict(r) for r in data["overall"]], "parts": [dict(p) for p in data["parts"]]}


def _academic_design(cycle: Cycle, frame: pl.DataFrame):
    """(design, weighted): the cycle's replicate design when its weights exist; otherwise every
    pupil weighs 1 (SEs are then not given: an unweighted sample has no design-based SE here)."""
    try:
        return design(cycle, frame, rule=ReportingRule()), True
    except ParameterError:  # the cycle has no weights yet
        return TaylorDesign(frame.with_columns(pl.lit(1.0).alias("weight")), "weight", psu=None, lonely_psu="certainty",
                            school="school_code", rule=ReportingRule()), False


def compute_academic_dashboard(cycle: Cycle, region: Region | None) -> dict:
    """Academic results per subject of ``region`` (None: the province) and of each of its parts
    (cities of the province, counties of a city, schools of a county).

    For every subject and group: ``n_pupils``, ``n_schools``, ``flag``, the mean scale score
    (``mean``) and the shares at 水平Ⅰ–Ⅳ (``level1`` … ``level4``), 中等及以上 (``mid_plus``, ≥ Ⅱ) and
    Ⅲ级以上 (``good_plus``, ≥ Ⅲ), each with its SE (``<name>_se``).  Everything is
    ``junheng.survey.mean`` / ``proportion`` over the five plausible values (``pv1 … pv5``,
    ``level_pv1 … level_pv5``) combined by Rubin's rules, on the cycle's replicate design
    (``sampling.services.design``: final weight + replicates) — the figures of
    ``junheng survey estimate … --pv 'pv*' --by subject,<part>`` for the same scores and weights.
    The minimum reporting rule (62 pupils, 5 schools) withholds small groups' estimates, so a
    school's figures (one school < 5) are never shown, only its number of pupils."""
    key = part_key(region)
    frame = scores_frame(cycle, region)
    if frame.height == 0:
        return {"overall": [], "parts": [], "part_key": key, "weighted": False}
    design, weighted = _academic_design(cycle, frame)
    out = {}
    for level, by in (("overall", ["subject"]), ("parts", ["subject", key])):
        res = mean(design, pv=list(PV), by=by).rename({"estimate": "mean", "se": "mean_se"})
        for name, lv in ACADEMIC_STATISTICS.items():
            p = proportion(design, pv=list(LEVEL_PV), levels=lv, by=by)
            res = res.join(p.select(*by, pl.col("estimate").alias(name), pl.col("se").alias(f"{name}_se")),
                           on=by, how="left", nulls_equal=True)
        if not weighted:
            res = res.with_columns(pl.lit(None, pl.Float64).alias(c) for c in res.columns if c.endswith("_se"))
        order = {s: i for i, s in enumerate(cycle.subjects or [])}  # the cycle's order: 语文, 数学, 英语, 科学
        out[level] = res.sort(pl.col("subject").replace_strict(order, default=len(order), return_dtype=pl.Int64),
                              *by).to_dicts()
    return {**out, "part_key": key, "weighted": weighted}


def _with_weights(cycle: Cycle, frame: pl.DataFrame) -> pl.DataFrame:
    rows = list(SampledPupil.objects.filter(cycle=cycle, weight__isnull=False)
                .values_list("pupil__student_id", "weight"))
    if not rows or frame.height == 0:
        return frame
    w = pl.DataFrame(rows, schema={"student_id": pl.String, "weight": pl.Float64}, orient="row")
    return frame.join(w, on="student_id", how="left")


def warm(cycle: Cycle, regions: list[Region | None] | None = None, progress=None) -> int:
    """Compute (into the shared cache) the fitness and academic pages of ``regions`` (default: the
    province, every city and every county) so operators find them ready — with the figures of the
    grade's earlier cycles their trend charts show — and the cycle's progress counts; returns the
    pages done.  A page another request is still computing after the single flight's wait
    (:class:`~junheng_web.registry.freshness.StillComputing`) is left to it (that request stores it)
    and not counted: the job goes on with the next page instead of failing."""
    if regions is None:
        regions = [None, *Region.objects.filter(level__in=[Region.Level.CITY, Region.Level.COUNTY]).order_by("level",
                                                                                                             "code")]
    report = progress or (lambda _f, _m: None)
    cycles = _trend_cycles(cycle)  # the trend charts show the grade's earlier cycles too
    done = 0
    for k, region in enumerate(regions):
        for page in (fitness_dashboard, academic_dashboard):
            ready = True
            for c in cycles:
                try:
                    page(c, region)
                except StillComputing:
                    ready = False
            done += ready
        report((k + 1) / len(regions), f"{region.name if region else '全省'} / {region.code if region else 'province'}")
    progress_version(cycle)  # and the progress counts of every county and school
    return done


def _trend_cycles(cycle: Cycle) -> list[Cycle]:
    """The cycles of ``cycle``'s grade up to its year, oldest first (``cycle`` itself last)."""
    return [c if c.pk != cycle.pk else cycle
            for c in Cycle.objects.filter(grade=cycle.grade, year__lte=cycle.year).order_by("year", "pk")]


def trend(cycle: Cycle, points_of) -> dict | None:
    """A trend chart's data over the cycles of ``cycle``'s grade up to its year (oldest first):
    ``points_of(c)`` gives one cycle's ``[(name, estimate, se), …]`` (empty: no result that year).
    Returns ``{"years", "percent", "series": [{"name", "points": [[year, estimate, se]]}]}``
    or None when fewer than two cycles have a result."""
    series: dict[str, list] = {}
    years = []
    for c in _trend_cycles(cycle):
        pts = points_of(c)
        if pts:
            years.append(c.year)
        for name, est, se in pts:
            if est is not None:
                series.setdefault(name, []).append([c.year, est, se])
    if len(years) < 2:
        return None
    return {"years": years, "percent": True,
            "series": [{"name": n, "points": p} for n, p in series.items()]}


FITNESS_TREND = {"pass_rate": gettext_lazy("达标率"), "good_rate": gettext_lazy("优良率"),
                 "excellent_rate": gettext_lazy("优秀率")}


def fitness_trend(cycle: Cycle, region: Region | None) -> dict | None:
    """达标率/优良率/优秀率 of ``region`` with their SEs in each cycle of the grade up to ``cycle``
    (each cycle's own :func:`fitness_dashboard`)."""
    def points(c):
        o = fitness_dashboard(c, region)["overall"]
        return [(str(name), o.get(k), o.get(f"{k}_se")) for k, name in FITNESS_TREND.items()] if o else []
    return trend(cycle, points)


def academic_trend(cycle: Cycle, region: Region | None) -> dict | None:
    """The Ⅲ级以上 share per subject of ``region`` with its SE in each cycle of the grade up to
    ``cycle`` (each cycle's own :func:`academic_dashboard`; the linking error between the cycles'
    scales is not in these bars)."""
    return trend(cycle, lambda c: [(r["subject"], r.get("good_plus"), r.get("good_plus_se"))
                                   for r in academic_dashboard(c, region)["overall"]])
