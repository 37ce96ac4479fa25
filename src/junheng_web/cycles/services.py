"""The only module of this app that calls the core and the other apps' services.

* :func:`collection_progress` — per county (and rolled up per city, and the province): sampled
  schools, schools with a roster, sampled pupils, pupils with fitness data, with academic data,
  with a student questionnaire, late test sites.  Counts are SQL aggregates (one grouped query per measure), never a loop
  over pupils.
* :func:`fitness_dashboard` — 达标率/优良率/优秀率/不及格率 … for a region and its parts, computed
  by ``junheng.fitness.summarize`` over ``junheng_web.fitness.services.fitness_frame``, i.e.
  exactly the figures ``junheng fitness summary`` prints for the same records.
* :func:`academic_dashboard` — mean scale score and the shares at 水平Ⅰ–Ⅳ, 中等及以上 and Ⅲ级以上 per
  subject for a region and its parts, from the plausible values by Rubin's rules with replicate
  SEs (``junheng.survey`` through ``sampling.services.design``), i.e. exactly what
  ``junheng survey estimate`` gives for the same scores and weights.
* :func:`import_roster` / :func:`import_fitness_file` — the upload pages' calls into the
  registry and fitness services, followed by a check that every saved row is inside the
  uploader's scope.
* :func:`site_pupil_list` — the list a test site downloads (masked by default), via sampling.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import polars as pl
from django.db.models import Count, Q
from django.utils import timezone

from junheng.exceptions import InputError, Issue, ParameterError
from junheng_web.registry.models import Cycle, Pupil, Region
from junheng_web.sampling.models import SampledPupil, SampledSchool
from junheng_web.sampling.services import weights_stamp

LATE_AFTER = timedelta(hours=48)

ACTIVE_SCHOOL = (Q(role=SampledSchool.Role.SAMPLED) & ~Q(status__in=[SampledSchool.Status.REFUSED,
                                                                      SampledSchool.Status.REPLACED,
                                                                      SampledSchool.Status.CLOSED])) | Q(
    status=SampledSchool.Status.PARTICIPATING)

MEASURES = ("schools", "schools_with_roster", "pupils", "pupils_fitness", "pupils_academic", "pupils_questionnaire",
            "sites", "late_sites")


@dataclass
class ProgressRow:
    code: str
    name: str
    level: str
    schools: int = 0
    schools_with_roster: int = 0
    pupils: int = 0
    pupils_fitness: int = 0
    pupils_academic: int | None = None
    pupils_questionnaire: int = 0
    sites: int = 0
    late_sites: int = 0

    def rate(self, part: str, whole: str) -> float | None:
        den = getattr(self, whole)
        num = getattr(self, part)
        return None if not den or num is None else num / den

    @property
    def roster_rate(self):
        return self.rate("schools_with_roster", "schools")

    @property
    def fitness_rate(self):
        return self.rate("pupils_fitness", "pupils")

    @property
    def academic_rate(self):
        return self.rate("pupils_academic", "pupils")

    @property
    def questionnaire_rate(self):
        return self.rate("pupils_questionnaire", "pupils")


def _by_county(qs, county_path: str) -> dict[int, int]:
    return {k: n for k, n in qs.values_list(county_path).annotate(n=Count("id", distinct=True)).order_by()}


def _academic_by_county(cycle: Cycle, pupils) -> dict[int, int] | None:
    """Sampled pupils with academic scores, when the assessment app stores them (else None)."""
    from django.apps import apps

    try:
        model = apps.get_model("assessment", "PupilScore")
    except LookupError:
        return None
    done = model.objects.filter(cycle=cycle).values("pupil_id")
    return _by_county(pupils.filter(pupil_id__in=done), "sampled_school__school__county_id")


def collection_progress(cycle: Cycle, counties) -> list[ProgressRow]:
    """Progress of ``cycle`` for each county of ``counties`` (a Region queryset, already
    restricted to the user's scope), in code order."""
    from junheng_web.cycles.models import TestSite

    counties = list(counties.filter(level=Region.Level.COUNTY).order_by("code"))
    ids = [c.id for c in counties]
    active = SampledSchool.objects.filter(ACTIVE_SCHOOL, cycle=cycle, school__county_id__in=ids)
    schools = _by_county(active, "school__county_id")
    with_roster = _by_county(active.filter(school__in=Pupil.objects.filter(grade=cycle.grade).values("school_id")),
                             "school__county_id")
    pupils_qs = SampledPupil.objects.filter(cycle=cycle, sampled_school__school__county_id__in=ids)
    pupils = _by_county(pupils_qs, "sampled_school__school__county_id")
    fit = _by_county(pupils_qs.filter(pupil__fitness_records__cycle=cycle), "sampled_school__school__county_id")
    academic = _academic_by_county(cycle, pupils_qs)
    answered = _by_county(pupils_qs.filter(pupil__questionnaire_responses__cycle=cycle,
                                           pupil__questionnaire_responses__questionnaire__respondent="student"),
                          "sampled_school__school__county_id")
    sites_qs = TestSite.objects.filter(cycle=cycle, county_id__in=ids)
    sites = _by_county(sites_qs, "county_id")
    late = _by_county(late_sites(cycle, sites_qs), "county_id")
    return [ProgressRow(code=c.code, name=c.name, level="county", schools=schools.get(c.id, 0),
                        schools_with_roster=with_roster.get(c.id, 0), pupils=pupils.get(c.id, 0),
                        pupils_fitness=fit.get(c.id, 0),
                        pupils_academic=None if academic is None else academic.get(c.id, 0),
                        pupils_questionnaire=answered.get(c.id, 0),
                        sites=sites.get(c.id, 0), late_sites=late.get(c.id, 0)) for c in counties]


def late_sites(cycle: Cycle, sites):
    """Sites whose last session ended more than 48 h ago while some of their sampled pupils
    still have no fitness record for the cycle."""
    from django.db.models import Max

    cutoff = timezone.now() - LATE_AFTER
    ended = sites.annotate(last_end=Max("sessions__ends_at")).filter(last_end__lt=cutoff)
    missing = SampledPupil.objects.filter(cycle=cycle).exclude(pupil__fitness_records__cycle=cycle)
    return ended.filter(schools__pupils__in=missing.values("id")).distinct()


def roll_up(rows: list[ProgressRow], regions: dict[str, Region]) -> list[ProgressRow]:
    """County rows summed per city (the county's parent), plus one province row (code "")."""
    cities: dict[str, ProgressRow] = {}
    total = ProgressRow(code="", name="全省", level="province")
    for r in rows:
        county = regions.get(r.code)
        parent = county.parent if county is not None and county.parent_id else None
        key = parent.code if parent is not None else r.code[:4] + "00"
        city = cities.setdefault(key, ProgressRow(code=key, name=parent.name if parent else key, level="city"))
        for acc in (city, total):
            for m in MEASURES:
                v = getattr(r, m)
                if v is None:
                    continue
                setattr(acc, m, (getattr(acc, m) or 0) + v)
    return [*sorted(cities.values(), key=lambda c: c.code), total]


def fitness_dashboard(cycle: Cycle, region: Region | None) -> dict:
    """:func:`compute_fitness_dashboard`, cached until the region's fitness records or the cycle's
    weights change (the stamp is two aggregate queries; the computation reads every record of
    the region)."""
    from django.core.cache import cache
    from django.db.models import Max

    from junheng_web.fitness.models import FitnessRecord

    records = FitnessRecord.objects.filter(cycle=cycle)
    if region is not None and region.level == Region.Level.COUNTY:
        records = records.filter(pupil__school__county=region)
    elif region is not None and region.level == Region.Level.CITY:
        records = records.filter(pupil__school__county__parent=region)
    f = records.aggregate(n=Count("id"), last=Max("updated_at"))
    key = (f"junheng:fitness-dashboard:{cycle.pk}:{region.pk if region else 'all'}:{f['n']}:"
           f"{f['last'].timestamp() if f['last'] else 0}:{weights_stamp(cycle)}")
    data = cache.get_or_set(key, lambda: compute_fitness_dashboard(cycle, region), 3600)
    return {**data, "parts": [dict(p) for p in data["parts"]]}


def compute_fitness_dashboard(cycle: Cycle, region: Region | None) -> dict:
    """Fitness rates of ``region`` (None: the province) and of each of its parts
    (cities of the province, counties of a city, schools of a county).

    Returns ``{"overall": {...}, "parts": [{...}, ...], "part_key": column}``; the figures are
    ``junheng.fitness.summarize`` of ``fitness_frame`` (weighted by the final sampling weight
    when the cycle's weights have been computed, and then with the rates' and the mean score's
    replicate SEs as ``<name>_se``)."""
    from junheng.fitness import summarize
    from junheng_web.fitness.services import fitness_frame

    frame = fitness_frame(cycle, region)
    frame = _with_weights(cycle, frame)
    if region is None:
        key = "city_code"
    elif region.level == Region.Level.CITY:
        key = "county_code"
    else:
        key = "school_code"
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
    from junheng.exceptions import ParameterError as NoWeights
    from junheng.survey import ReportingRule, mean, proportion
    from junheng_web.sampling.services import design

    tested = pl.col("complete").fill_null(False) & ~pl.col("exempt").fill_null(False)
    rows = frame.select("student_id", *dict.fromkeys(["school_code", key]),
                        pl.when(tested).then(pl.col("rating")).alias("rating"),
                        pl.when(tested).then(pl.col("total_score")).alias("total_score"))
    try:
        d = design(cycle, rows, rule=ReportingRule(suppress=False))
    except NoWeights:
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


def academic_dashboard(cycle: Cycle, region: Region | None) -> dict:
    """:func:`compute_academic_dashboard`, cached until the region's scores or the cycle's weights
    change (the stamp is two aggregate queries; the computation reads every score of the region)."""
    from django.core.cache import cache
    from django.db.models import F, Max, Sum, Value

    from junheng_web.assessment.models import PupilScore

    scores = PupilScore.objects.filter(cycle=cycle)
    if region is not None and region.level == Region.Level.COUNTY:
        scores = scores.filter(pupil__school__county=region)
    elif region is not None and region.level == Region.Level.CITY:
        scores = scores.filter(pupil__school__county__parent=region)
    # no updated_at on the scores (an unchanged re-import must leave rows untouched): a content
    # stamp instead — position-weighted sums of every value (the levels also by pupil, exact
    # integers), so a change to any PV or level shows
    values = ("theta", "scale_score", "pv1", "pv2", "pv3", "pv4", "pv5")
    levels = ("level", "level_pv1", "level_pv2", "level_pv3", "level_pv4", "level_pv5")
    f = scores.aggregate(n=Count("id"), last=Max("id"),
                         a=Sum(sum((F(c) * (k + 1) for k, c in enumerate(values)), Value(0.0))),
                         b=Sum(sum((F(c) * (k + 1) for k, c in enumerate(levels)), Value(0)) * F("pupil_id")))
    key = (f"junheng:academic-dashboard:{cycle.pk}:{region.pk if region else 'all'}:{f['n']}:{f['last']}:"
           f"{f['a'] or 0:.17g}:{f['b'] or 0}:{weights_stamp(cycle)}")
    data = cache.get_or_set(key, lambda: compute_academic_dashboard(cycle, region), 3600)
    return {**data, "overall": [dict(r) for r in data["overall"]], "parts": [dict(p) for p in data["parts"]]}


def _academic_design(cycle: Cycle, frame: pl.DataFrame):
    """(design, weighted): the cycle's replicate design when its weights exist; otherwise every
    pupil weighs 1 (SEs are then not given: an unweighted sample has no design-based SE here)."""
    from junheng.exceptions import ParameterError as NoWeights
    from junheng.survey import ReportingRule, TaylorDesign
    from junheng_web.sampling.services import design

    try:
        return design(cycle, frame, rule=ReportingRule()), True
    except NoWeights:
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
    from junheng.survey import mean, proportion
    from junheng_web.assessment.services import LEVEL_PV, PV, scores_frame

    if region is None:
        key = "city_code"
    elif region.level == Region.Level.CITY:
        key = "county_code"
    else:
        key = "school_code"
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


def _outside(student_ids: list[str], user, action: str) -> list[str]:
    """Those of ``student_ids`` that exist in the registry outside ``user``'s school or county."""
    from junheng_web.accounts.scoping import restrict

    existing = Pupil.objects.filter(student_id__in=student_ids)
    allowed = restrict(existing, user, action).values("id")
    return sorted(existing.exclude(id__in=allowed).values_list("student_id", flat=True)[:1000])


def _refuse(ids: list[str], file_name: str) -> None:
    if ids:
        raise InputError([Issue("该学生不属于您的学校或区县", "pupil outside your school or county", file=file_name,
                                column="学籍号", value=s) for s in ids])


def roster_ids(path) -> list[str]:
    """The 学籍号 column of a roster file, as the registry reader normalises it (empty if unreadable:
    the import then reports the file's problems itself)."""
    from junheng.io import read_table
    from junheng.registry.schemas import PUPILS

    try:
        table = read_table(path, expected_headers=PUPILS)
    except InputError:
        return []
    names = PUPILS.column("student_id").names()
    col = next((c for c in table.columns if c in names), None)
    return [] if col is None else table[col].drop_nulls().str.to_uppercase().to_list()


def import_roster(path, user, *, file_name: str, progress=None) -> dict:
    """A school's grade roster → the registry (``registry.services.import_pupils``); all or nothing.

    Refused before anything is written: rows of pupils that are registered to a school outside the
    uploader's scope (a roster cannot move another school's pupil).  Checked after the import, in
    the same transaction: every pupil of the file is inside the scope (a school operator's rows
    must carry the operator's school)."""
    try:
        from junheng_web.registry import services as registry_services
    except ImportError as exc:  # the registry import has not landed in this build
        raise ParameterError("名册导入服务尚不可用 / the roster import service is not available yet") from exc
    from django.db import transaction

    ids = roster_ids(path)
    _refuse(_outside(ids, user, "roster.upload"), file_name)
    with transaction.atomic():
        result = registry_services.import_pupils(path, **_scope_kwargs(registry_services.import_pupils, user,
                                                                        progress))
        _refuse(_outside(ids, user, "roster.upload"), file_name)
    return _result_dict(result)


def _scope_kwargs(fn, user, progress=None) -> dict:
    import inspect

    params = inspect.signature(fn).parameters
    kwargs = {}
    if "progress" in params and progress is not None:
        kwargs["progress"] = progress
    if "user" in params:
        kwargs["user"] = user
    if "school" in params and user.school_id:
        kwargs["school"] = user.school
    return kwargs


def _result_dict(result) -> dict:
    out = {}
    for k in ("rows", "created", "updated", "unchanged"):
        v = result.get(k) if isinstance(result, dict) else getattr(result, k, None)
        if v is not None:
            out[k] = int(v)
    warnings = result.get("warnings") if isinstance(result, dict) else getattr(result, "warnings", None)
    if warnings:
        out["warnings"] = [w.message() for w in warnings][:200]
    return out


def import_fitness_file(path, cycle: Cycle, user, *, file_name: str) -> dict:
    """A fitness upload-template file → scored records of ``cycle`` (fitness.services), then, in
    the same transaction, the check that every saved record is a pupil of the uploader's school
    or county; otherwise everything is rolled back and those rows are reported.

    ``path`` is the stored upload, whose name is unique (so the records it saved are exactly those
    with that ``source_file``, however many schools upload a file of the same name at once)."""
    from pathlib import Path

    from django.db import transaction

    from junheng_web.accounts.scoping import restrict
    from junheng_web.fitness.models import FitnessRecord
    from junheng_web.fitness.services import import_fitness

    with transaction.atomic():
        result = import_fitness(path, cycle, user=user)
        saved = FitnessRecord.objects.filter(cycle=cycle, source_file=Path(path).name[:255])
        outside = saved.exclude(pupil__in=restrict(Pupil.objects.all(), user, "fitness.upload").values("id"))
        ids = sorted(outside.values_list("pupil__student_id", flat=True)[:1000])
        _refuse(ids, file_name)
    return _result_dict(result)


def site_pupil_list(cycle: Cycle, site, *, unmask: bool = False) -> bytes:
    """The pupils of every school a test site serves, as one CSV (UTF-8 with BOM), masked by default."""
    from junheng_web.sampling.services import site_list

    frames = []
    for code in site.schools.values_list("school__code", flat=True).order_by("school__code"):
        f = site_list(cycle, code, unmask=unmask)
        frames.append(f.with_columns(pl.lit(code).alias("学校标识码")))
    if not frames:
        raise ParameterError("该测试点尚未分配参测学校 / the test site has no schools yet")
    import io

    buf = io.BytesIO()
    out = pl.concat(frames, how="diagonal_relaxed")
    out.write_csv(buf, include_bom=True)
    return buf.getvalue()


MATERIALS = ("seating", "cards")


def sitting_q(cycle: Cycle, site_id: int, subject: str) -> Q:
    """The sampled pupils who sit a session of ``site_id``: the site's schools' pupils assigned its
    subject (for a session of another kind — 体质健康, 问卷 — every sampled pupil of those schools).
    The seating plans, login cards and the video review's invalid pupils all use this one rule."""
    part = Q(sampled_school__test_sites=site_id)
    return part & Q(subject=subject) if subject in (cycle.subjects or []) else part


def session_pupils(cycle: Cycle, session) -> pl.DataFrame:
    """The pupils of a test session (:func:`sitting_q`) in the cycle's current sample, with
    ``student_id, name, school_code, subject`` and ``booklet`` (when assigned)."""
    from junheng_web.assessment.models import BookletAssignment
    from junheng_web.sampling.services import current_run

    run = current_run(cycle)
    rows = list(SampledPupil.objects.filter(run=run).filter(sitting_q(cycle, session.site_id, session.subject))
                .values_list("pupil__student_id", "pupil__name", "sampled_school__school__code", "subject"))
    df = pl.DataFrame(rows, schema={"student_id": pl.String, "name": pl.String, "school_code": pl.String,
                                    "subject": pl.String}, orient="row")
    booklets = pl.DataFrame(list(BookletAssignment.objects.filter(cycle=cycle, student_id__in=df["student_id"].to_list())
                                 .values_list("student_id", "booklet__code")),
                            schema={"student_id": pl.String, "booklet": pl.String}, orient="row")
    return df.join(booklets, on="student_id", how="left").sort("student_id")


def _material_seed(cycle: Cycle, session, what: str) -> int:
    """A stable seed per session that nobody can recompute without the server's SECRET_KEY (so the
    login codes on re-printed cards stay the same, and stay secret)."""
    import hashlib

    from django.conf import settings

    digest = hashlib.sha256(f"{settings.SECRET_KEY}|{cycle.pk}|{session.pk}|{what}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def session_material(cycle: Cycle, session, kind: str, *, rows: int = 6, cols: int = 8,
                     unmask: bool = False) -> tuple[bytes, int]:
    """The seating plan or the login cards of one session as PDF bytes, and the number of pupils.
    Seats: the session's room of ``rows`` × ``cols``; names and 学籍号 masked unless ``unmask``."""
    import tempfile
    from pathlib import Path

    from junheng.materials.cards import login_codes
    from junheng.materials.documents import cards_html, seating_html, write_pdf
    from junheng.materials.seating import Room, seating_plan

    if kind not in MATERIALS:
        raise ParameterError(f"未知材料 / unknown material: {kind}")
    pupils = session_pupils(cycle, session)
    if pupils.height == 0:
        raise ParameterError("该场次没有学生 / no pupils of this subject at the site")
    site = session.site
    room = Room(session.room or "1", rows, cols)
    plan = seating_plan(pupils, [room], random_state=_material_seed(cycle, session, "seating"))
    meta = f"{site.name}（{site.code}） {session.subject} {timezone.localtime(session.starts_at):%Y-%m-%d %H:%M}"
    if kind == "seating":
        html = seating_html(plan, [room], title=f"{cycle.name} 座位表", meta=meta, unmask=unmask)
    else:
        codes = login_codes(plan["student_id"], random_state=_material_seed(cycle, session, "cards"))
        store_login_codes(session, codes)
        frame = plan.join(codes, on="student_id", how="left", maintain_order="left").with_columns(
            pl.lit(site.name).alias("site"))
        html = cards_html(frame, title=f"{cycle.year} 学业质量监测 登录卡", unmask=unmask)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "out.pdf"
        write_pdf(html, path)
        return path.read_bytes(), plan.height


def _code_salt(session) -> str:
    return f"junheng-login|{session.site.cycle_id}|{session.pk}"


def store_login_codes(session, codes: pl.DataFrame) -> int:
    """Keep the hashes of a session's login codes (``student_id, code``); the same codes again change
    nothing.  Returns the number of pupils."""
    from junheng.materials.cards import hash_code
    from junheng_web.cycles.models import LoginCode

    salt = _code_salt(session)
    rows = [LoginCode(session=session, student_id=sid, code_hash=hash_code(code, salt))
            for sid, code in codes.select("student_id", "code").iter_rows()]
    LoginCode.objects.bulk_create(rows, update_conflicts=True, unique_fields=["session", "student_id"],
                                  update_fields=["code_hash"])
    return len(rows)


def check_login_code(session, student_id: str, code: str) -> bool:
    """Whether ``code`` is the login code printed for this pupil in this session."""
    from junheng.materials.cards import hash_code
    from junheng_web.cycles.models import LoginCode

    stored = LoginCode.objects.filter(session=session, student_id=student_id).values_list("code_hash", flat=True).first()
    return stored is not None and stored == hash_code(code.strip().upper(), _code_salt(session))


def sites_per_school(cycle: Cycle, starts_at, *, minutes: int = 60, counties=None) -> int:
    """Set up the usual arrangement in one step: each participating sampled school (of ``counties``,
    a Region queryset; default all) is its own test site (code ``T<学校标识码>``), with one session per
    subject of the cycle, all starting at ``starts_at`` (Henan tests the whole province in one
    half-day) and lasting ``minutes``. Schools that already serve a site are left alone, so a
    second run changes nothing. Returns the number of sites created."""
    from django.db import transaction

    from junheng_web.cycles.models import TestSession, TestSite

    active = (SampledSchool.objects.filter(ACTIVE_SCHOOL, cycle=cycle).exclude(test_sites__cycle=cycle)
              .select_related("school"))
    if counties is not None:
        active = active.filter(school__county__in=counties)
    schools = list(active.order_by("school__code"))
    if not schools:
        return 0
    ends_at = starts_at + timedelta(minutes=minutes)
    with transaction.atomic():
        sites = TestSite.objects.bulk_create([
            TestSite(cycle=cycle, county_id=s.school.county_id, code=f"T{s.school.code}",
                     name=f"{s.school.name}测试点", address=s.school.name) for s in schools])
        if not all(site.pk for site in sites):  # backends that do not return ids from bulk_create
            by_code = dict(TestSite.objects.filter(cycle=cycle, code__in=[t.code for t in sites])
                           .values_list("code", "pk"))
            for site in sites:
                site.pk = by_code[site.code]
        TestSite.schools.through.objects.bulk_create([
            TestSite.schools.through(testsite_id=site.pk, sampledschool_id=s.pk) for site, s in zip(sites, schools)])
        TestSession.objects.bulk_create([
            TestSession(site_id=site.pk, subject=subject, room=f"{k + 1:02d}", starts_at=starts_at, ends_at=ends_at)
            for site in sites for k, subject in enumerate(cycle.subjects or [])])
    return len(sites)
