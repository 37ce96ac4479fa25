"""The 优质均衡 page's figures: the only module of the web that calls ``junheng.indicators`` for them.

The calls are those of the annual report (``junheng.reports.tables.build``): the registry's
schools → ``school_indicators`` → ``county_cv`` → ``county_resource_verdict``; the cycle's stored
scores and its weight set → ``quality_indicator`` (Q9 with 达到/未达到/无法判定); with the checklist
the annual report is built from (``<JUNHENG_REPORTS_DIR>/checklist.csv``, ``junheng report annual
--checklist``) → ``county_verdict``; ``unmet_requirements`` + ``advice`` → 整改建议.  The
province is computed once (the CV of a county depends only on its schools, but the design's degrees
of freedom of Q9 on the whole sample) and cached until its inputs change; each user then sees their
counties only (``restrict``).
"""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
from django.conf import settings
from django.db.models import Count, F, Max, Sum, Value
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_

from junheng import indicators as ind
from junheng.exceptions import InputError, ParameterError
from junheng.io import read_frame
from junheng_web.accounts.scoping import restrict
from junheng_web.assessment.models import PupilScore
from junheng_web.assessment.scores import scores_frame
from junheng_web.cycles.dashboards import trend
from junheng_web.registry.freshness import once
from junheng_web.registry.importers import fetch_frame
from junheng_web.registry.models import Cycle, Region, School
from junheng_web.sampling.models import WeightSet
from junheng_web.sampling.services import current_run, weights_stamp

INDICATORS = {i.id: i for i in ind.RESOURCE_INDICATORS}
_FIELDS = ("teachers_above_qualification", "key_teachers", "pe_arts_teachers", "teaching_area_m2", "sports_area_m2",
           "equipment_value_yuan", "multimedia_classrooms")


def checklist_path() -> Path:
    return Path(settings.REPORTS_DIR) / "checklist.csv"


def schools_frame() -> pl.DataFrame:
    """Every registry school in the columns of ``junheng.indicators.SCHOOLS`` (one query)."""
    s, r = School._meta.db_table, Region._meta.db_table
    enrol = ", ".join(f"s.enrol_g{g} AS enrol_g{g}" for g in range(1, 10))
    fields = ", ".join(f"s.{f} AS {f}" for f in _FIELDS)
    frame = fetch_frame(
        f"SELECT s.code AS school_code, c.code AS county_code, p.code AS city_code, s.name AS name, "
        f"s.stage AS stage, s.location AS location, s.is_teaching_point AS is_teaching_point, {enrol}, {fields} "
        f"FROM {s} s JOIN {r} c ON c.id = s.county_id LEFT JOIN {r} p ON p.id = c.parent_id ORDER BY s.code",
        schema=ind.SCHOOLS)
    return ind.conform(frame, ind.SCHOOLS, file="registry")


def _weights(cycle: Cycle) -> pl.DataFrame | None:
    try:
        ws = WeightSet.objects.filter(run=current_run(cycle)).first()
    except (ParameterError, Http404):
        return None
    return read_frame(ws.path) if ws is not None and Path(ws.path).exists() else None


def _stamp(cycle: Cycle) -> str:
    sch = School.objects.aggregate(n=Count("id"), a=Sum(sum((F(f) for f in _FIELDS[3:]), Value(0.0))),
                                   b=Sum(sum((F(f"enrol_g{g}") * g for g in range(1, 10)), Value(0))))
    sc = PupilScore.objects.filter(cycle=cycle).aggregate(n=Count("id"), last=Max("id"), a=Sum("pv1"))
    path = checklist_path()
    mtime = path.stat().st_mtime_ns if path.is_file() else 0
    return (f"junheng:verdicts:{cycle.pk}:{sch['n']}:{sch['a'] or 0:.9g}:{sch['b'] or 0}:{sc['n']}:{sc['last']}:"
            f"{sc['a'] or 0:.9g}:{weights_stamp(cycle)}:{mtime}")


def province_tables(cycle: Cycle) -> dict:
    """:func:`compute_tables`, cached until the schools, the cycle's scores or weights, or the
    checklist change; computed by one request while the others wait (registry.freshness.once)."""
    return once(_stamp(cycle), lambda: compute_tables(cycle), 3600)


def compute_tables(cycle: Cycle) -> dict:
    """The indicator frames of every county for ``cycle`` (see the module text).  Keys: ``units``,
    ``cv``, ``resource``, ``quality`` (None without scores or weights), ``checklist`` (this year's
    rows, None without the file), ``verdict`` (None without the checklist), ``unmet`` (with the
    recommendations), ``notes`` (what is missing: (message, parameters), translated when shown)."""
    notes: list[str] = []
    schools = schools_frame()
    if schools.height == 0:
        return {"units": None, "cv": None, "resource": None, "quality": None, "checklist": None, "verdict": None,
                "unmet": None, "notes": [(N_("名册中没有学校。"), {})]}
    units = ind.school_indicators(schools)
    cvs = ind.county_cv(units)
    res = ind.county_resource_verdict(units, cvs)
    quality = None
    weights, scores = _weights(cycle), scores_frame(cycle)
    if weights is None:
        notes.append((N_("本周期尚未计算抽样权重，教育质量第9项无法由监测结果判定。"), {}))
    elif scores.height == 0:
        notes.append((N_("本周期尚无学业成绩，教育质量第9项无法由监测结果判定。"), {}))
    else:
        try:
            quality = ind.quality_indicator(scores, weights.drop("county_code", strict=False), by="county_code")
        except ParameterError as e:
            notes.append((N_("教育质量第9项未能计算：%(e)s"), {"e": str(e)}))
    checklist = verdict = None
    path = checklist_path()
    if path.is_file():
        try:
            raw = ind.validate_checklist(ind.read_typed(path, ind.CHECKLIST), source=path.name)
            checklist = raw.filter(pl.col("year") == cycle.year)
            if checklist.height:
                verdict = ind.county_verdict(res, raw, quality, year=cycle.year)
            else:
                notes.append((N_("核查表中没有 %(year)s 年的数据，政府保障程度、社会认可度等未能核查。"), {"year": cycle.year}))
                checklist = None
        except (ParameterError, InputError) as e:
            notes.append((N_("核查表有误，未使用：%(e)s"), {"e": str(e)}))
    else:
        notes.append((N_("尚未提供政府保障程度、教育质量（第1–8项）、社会认可度和一票否决的核查表"
                         "（与年度报告相同的 checklist.csv），以下只判定资源配置和教育质量第9项。"), {}))
    unmet = ind.advice(ind.unmet_requirements(units, cvs, quality, checklist))
    return {"units": units, "cv": cvs, "resource": res, "quality": quality, "checklist": checklist,
            "verdict": verdict, "unmet": unmet, "notes": notes}


def _notes(t: dict) -> list[str]:
    """The tables' notes in the user's language (the cached tables keep them untranslated)."""
    return [_(m) % p if p else _(m) for m, p in t["notes"]]


def _t_crit(df: float | None, confidence: float) -> float:
    return float(ind.one_sided_t(math.nan if df is None else df, confidence))


def _finite(v: float | None) -> float | None:
    return None if v is None or not math.isfinite(v) else v


def _quality_rows(q: pl.DataFrame) -> list[dict]:
    """Per subject: the two criteria of Q9 with estimate, SE, the one-sided bounds compared with the
    threshold (estimate ∓ t(ν; 0.95)·SE of ``junheng.indicators.quality.classify``) and the
    outcome.  The between-school share is the county's, pooled over its subjects, when the core
    judged that one (``pooled_between_share``; the same on every subject row).  Without an SE
    (null or NaN) a criterion has no bounds (None, shown as —): the core calls it 无法判定."""
    rules = ind.DEFAULT_QUALITY
    pre = "pooled_" if "pooled_between_share" in q.columns and rules.pool_subjects else ""
    out = []
    for r in q.sort("subject").to_dicts():
        crit_l = _t_crit(r.get("share_l3_df"), rules.confidence)
        crit_b = _t_crit(r.get(f"{pre}between_share_df"), rules.confidence)
        share, se = r.get("share_l3"), _finite(r.get("share_l3_se"))
        spread, sse = r.get(f"{pre}between_share"), _finite(r.get(f"{pre}between_share_se"))
        out.append({
            "subject": r["subject"], "n_pupils": r.get("n_pupils"), "n_schools": r.get("n_schools"),
            "share": share, "share_se": se,
            # a share's bounds shown within [0, 1] (the comparison with the threshold is the same)
            "share_low": None if share is None or se is None else max(0.0, share - crit_l * se),
            "share_high": None if share is None or se is None else min(1.0, share + crit_l * se),
            "share_threshold": rules.min_share, "level_verdict": r.get("level_verdict") or "无法判定",
            "spread": spread, "spread_se": sse, "spread_pooled": bool(pre),
            "spread_low": None if spread is None or sse is None else spread - crit_b * sse,
            "spread_high": None if spread is None or sse is None else spread + crit_b * sse,
            "spread_threshold": rules.max_between_share, "diff_verdict": r.get("diff_verdict") or "无法判定",
            "verdict": r.get("quality_verdict") or "无法判定", "flag": r.get("flag"),
        })
    return out


def _q9(rows: list[dict]) -> str:
    if not rows:
        return "无法判定"
    if any(r["verdict"] == "未达到" for r in rows):
        return "未达到"
    return "达到" if all(r["verdict"] == "达到" for r in rows) else "无法判定"


def scoped_counties(user):
    return restrict(Region.objects.filter(level=Region.Level.COUNTY), user).select_related("parent").order_by("code")


def county_summaries(user, cycle: Cycle) -> dict:
    """The 优质均衡 page: one row per county of the user's scope — the overall verdict (with the
    checklist), 资源配置 (schools passing, CVs within limits), Q9 and the number of 整改建议."""
    t = province_tables(cycle)
    counties = list(scoped_counties(user))
    if t["resource"] is None:
        return {"rows": [], "notes": _notes(t), "has_checklist": False}
    res = {r["county_code"]: r for r in t["resource"].to_dicts()}
    verdict = {r["county_code"]: r for r in t["verdict"].to_dicts()} if t["verdict"] is not None else {}
    q = t["quality"]
    unmet = t["unmet"].group_by("county_code").agg(n=pl.len()) if t["unmet"] is not None else None
    n_unmet = dict(unmet.iter_rows()) if unmet is not None else {}
    rows = []
    for c in counties:
        r = res.get(c.code)
        qr = _quality_rows(q.filter(pl.col("county_code") == c.code)) if q is not None else []
        v = verdict.get(c.code)
        rows.append({
            "code": c.code, "name": c.name, "city": c.parent.name if c.parent_id else "",
            "has_schools": r is not None,
            "n_units": r["n_units"] if r else 0, "n_units_pass": r["n_units_pass"] if r else 0,
            "n_cv": r["n_cv"] if r else 0, "n_cv_ok": r["n_cv_ok"] if r else 0,
            "max_cv_primary": r["max_cv_primary"] if r else None, "max_cv_junior": r["max_cv_junior"] if r else None,
            "resource_pass": bool(r and r["resource_pass"]), "quality": v["quality"] if v else _q9(qr),
            "overall": v["overall"] if v else ("无法判定" if verdict else None), "recognition": v["recognition"] if v else None,
            "n_unmet": n_unmet.get(c.code, 0),
        })
    return {"rows": rows, "notes": _notes(t), "has_checklist": t["verdict"] is not None}


def county_detail(user, cycle: Cycle, code: str) -> dict:
    """One county's verdict: each requirement met or not with the number behind it, Q9 per
    subject with estimate, bound and threshold, the failing schools, and the 整改建议."""
    county = scoped_counties(user).filter(code=code).first()
    if county is None:
        raise Http404("no such county")
    t = province_tables(cycle)
    if t["units"] is None:
        raise Http404("no schools")
    units = t["units"].filter(pl.col("county_code") == code)
    cv = t["cv"].filter(pl.col("county_code") == code)
    ids = [i.id for i in ind.RESOURCE_INDICATORS]
    resources = []
    for i in ind.RESOURCE_INDICATORS:
        per_level = []
        for level in ("小学", "初中"):
            u = units.filter(pl.col("level") == level)
            c = cv.filter((pl.col("level") == level) & (pl.col("indicator") == i.id)).to_dicts()
            if not u.height:
                continue
            c0 = c[0] if c else {}
            per_level.append({"level": level, "standard": i.thresholds[level], "n_units": u.height,
                              "n_met": int(u[f"{i.id}_met"].fill_null(False).sum()),
                              "min": u[i.id].min(), "mean": c0.get("mean"), "cv": c0.get("cv"),
                              "limit": c0.get("limit"), "cv_ok": bool(c0.get("cv_ok"))})
        resources.append({"id": i.id, "name": i.name, "unit": i.unit, "levels": per_level})
    failing = units.filter(~pl.col("school_pass").fill_null(False)).sort("level", "min_ratio")
    fail_rows = [{"code": r["school_code"], "name": r.get("name") or r["school_code"], "level": r["level"],
                  "n_met": r["n_met"], "min_ratio": r["min_ratio"],
                  "missed": [INDICATORS[k].name for k in ids if not r[f"{k}_met"]]} for r in failing.to_dicts()]
    q = t["quality"]
    quality = _quality_rows(q.filter(pl.col("county_code") == code)) if q is not None else []
    verdict = None
    if t["verdict"] is not None:
        vr = t["verdict"].filter(pl.col("county_code") == code).to_dicts()
        verdict = vr[0] if vr else None
    checklist = []
    if t["checklist"] is not None:
        row = t["checklist"].filter(pl.col("county_code") == code).to_dicts()
        items = ind.checklist_items().to_dicts()
        if row:
            for it in items:
                v = row[0].get(it["id"])
                if it["id"] == "Q9":
                    continue
                met = (v is not True) if it["part"] == "一票否决" else (v is True)
                checklist.append({**it, "met": met, "value": v})
    unmet = t["unmet"].filter(pl.col("county_code") == code).to_dicts() if t["unmet"] is not None else []
    return {"county": county, "n_units": units.height, "n_units_pass": int(units["school_pass"].fill_null(False).sum()),
            "resources": resources, "failing": fail_rows, "quality": quality, "q9": verdict["quality"] if verdict
            else _q9(quality), "verdict": verdict, "checklist": checklist, "unmet": unmet, "notes": _notes(t),
            "rules": ind.DEFAULT_QUALITY, "trend": quality_trend(cycle, code)}


def quality_trend(cycle: Cycle, code: str) -> dict | None:
    """The Ⅲ级以上 share of county ``code`` per subject in every cycle of the grade up to ``cycle``
    (each cycle's own :func:`province_tables`), or None when fewer than two cycles have a result."""
    def points(c):
        q = province_tables(c)["quality"]
        rows = q.filter(pl.col("county_code") == code).sort("subject").to_dicts() if q is not None else []
        return [(r["subject"], r.get("share_l3"), r.get("share_l3_se")) for r in rows]
    return trend(cycle, points)
