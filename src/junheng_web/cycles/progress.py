"""Collection progress of a cycle: per county (and rolled up per city, and the province) the sampled
schools, schools with a roster, sampled pupils, pupils with fitness data, with academic data, with
a student questionnaire, test sites and late test sites.  Counts are SQL aggregates (one grouped
query per measure), never a loop over pupils."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Case, Count, F, OuterRef, Subquery, Value, When
from django.db.models.functions import Coalesce

from junheng_web.assessment.models import PupilScore
from junheng_web.jobs.models import Job
from junheng_web.questionnaires.models import Questionnaire, QuestionnaireResponse
from junheng_web.registry.freshness import STORED, epoch, fresh, freshness, once
from junheng_web.registry.models import Cycle, Pupil, Region
from junheng_web.sampling.models import SampledPupil, SampledSchool
from junheng_web.sampling.services import ACTIVE_SCHOOL
from junheng_web.testsites.models import TestSite
from junheng_web.testsites.services import late_sites

MEASURES = ("schools", "schools_with_roster", "schools_complete", "pupils", "pupils_fitness", "pupils_academic",
            "pupils_questionnaire", "sites", "late_sites")
# a row whose 上报率 is this far below its whole's (the province's, the city's, the county's) is a laggard
LAG_MARGIN = 0.10


@dataclass
class ProgressRow:
    code: str
    name: str
    level: str
    schools: int = 0
    schools_with_roster: int = 0
    schools_complete: int = 0  # 已完成上报: roster, and fitness and the student questionnaire for every sampled pupil
    pupils: int = 0
    pupils_fitness: int = 0
    pupils_academic: int = 0
    pupils_questionnaire: int = 0
    sites: int = 0
    late_sites: int = 0
    laggard: bool = False

    def rate(self, part: str, whole: str) -> float | None:
        den = getattr(self, whole)
        return None if not den else getattr(self, part) / den

    @property
    def report_rate(self):
        """上报率: the share of sampled schools that have submitted everything."""
        return self.rate("schools_complete", "schools")

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


def _progress_of(cycle: Cycle, counties) -> tuple[list[ProgressRow], list[SchoolProgress]]:
    """(county rows, school rows) of ``counties`` (a Region queryset): the progress of ``cycle`` for
    each county, in code order, and its schools' (:func:`school_progress`, which the county rows count)."""
    counties = list(counties.filter(level=Region.Level.COUNTY).order_by("code"))
    ids = [c.id for c in counties]
    active = SampledSchool.objects.filter(ACTIVE_SCHOOL, cycle=cycle, school__county_id__in=ids)
    schools = _by_county(active, "school__county_id")
    with_roster = _by_county(active.filter(school__in=Pupil.objects.filter(grade=cycle.grade).values("school_id")),
                             "school__county_id")
    by_pupil_county = "sampled_school__school__county_id"
    pupils_qs = SampledPupil.objects.filter(cycle=cycle, sampled_school__school__county_id__in=ids)
    pupils = _by_county(pupils_qs, by_pupil_county)
    fit = _by_county(pupils_qs.filter(pupil__fitness_records__cycle=cycle), by_pupil_county)
    scored = PupilScore.objects.filter(cycle=cycle).values("pupil_id")
    academic = _by_county(pupils_qs.filter(pupil_id__in=scored), by_pupil_county)
    answered = _by_county(pupils_qs.filter(pupil__questionnaire_responses__cycle=cycle,
                                           pupil__questionnaire_responses__questionnaire__respondent="student"),
                          by_pupil_county)
    done: dict[str, int] = {}
    school_rows = school_progress(cycle, Region.objects.filter(id__in=ids))
    for sp in school_rows:
        done[sp.county_code] = done.get(sp.county_code, 0) + sp.complete
    sites_qs = TestSite.objects.filter(cycle=cycle, county_id__in=ids)
    sites = _by_county(sites_qs, "county_id")
    late = _by_county(late_sites(cycle, sites_qs), "county_id")
    return [ProgressRow(code=c.code, name=c.name, level="county", schools=schools.get(c.id, 0),
                        schools_with_roster=with_roster.get(c.id, 0), schools_complete=done.get(c.code, 0),
                        pupils=pupils.get(c.id, 0),
                        pupils_fitness=fit.get(c.id, 0), pupils_academic=academic.get(c.id, 0),
                        pupils_questionnaire=answered.get(c.id, 0),
                        sites=sites.get(c.id, 0), late_sites=late.get(c.id, 0)) for c in counties], school_rows


def progress_version(cycle: Cycle) -> str | None:
    """The version of the cycle's progress counts (None with ``JUNHENG_DASHBOARD_FRESHNESS=0``: no
    caching): the counts of every county and school are computed together — one set of grouped
    queries for the whole province, whichever user asks — stored under this version, and renewed
    at most every freshness seconds by one request (at once when the cycle's epoch moves)."""
    if freshness() <= 0:
        return None
    e = epoch(cycle.pk)
    return fresh(f"junheng:progress-version:{cycle.pk}:{e}", lambda: _store_progress(cycle, e))


def _store_progress(cycle: Cycle, cycle_epoch: int) -> str:
    """Count the whole province, store the counts under a version made of the epoch and their
    content (unchanged counts keep their version, so the pages rendered from them stay cached)."""
    both = _progress_of(cycle, Region.objects.all())
    version = f"{cycle_epoch}:{hashlib.sha256(repr(both).encode()).hexdigest()[:20]}"
    cache.set(f"junheng:progress:{cycle.pk}:{version}", both, STORED)
    return version


def cached_progress(cycle: Cycle, counties, version: str | None = None) -> tuple[list[ProgressRow], list[SchoolProgress]]:
    """(county rows, school rows) of ``counties`` (a Region queryset restricted to the user's
    scope) — from the whole province's counts of :func:`progress_version`, shared by every user and
    renewed at most every ``JUNHENG_DASHBOARD_FRESHNESS`` seconds: a hundred operators on the page
    cost one set of aggregate queries per period, not a hundred.  With freshness 0 they are
    counted for ``counties`` on every request."""
    version = version or progress_version(cycle)
    if version is None:
        return _progress_of(cycle, counties)
    # evicted: counted again under the same version, by one request
    both = once(f"junheng:progress:{cycle.pk}:{version}", lambda: _progress_of(cycle, Region.objects.all()), STORED)
    codes = set(counties.filter(level=Region.Level.COUNTY).values_list("code", flat=True))
    rows, schools = both
    return [r for r in rows if r.code in codes], [s for s in schools if s.county_code in codes]


def roll_up(rows: list[ProgressRow], regions: dict[str, Region], scope: Region | None = None) -> list[ProgressRow]:
    """County rows summed per city (the county's parent), plus one province row (code "") — for a
    user of the province (``scope`` None).  A city user's whole is their city: its row only, no
    province row; a county user's whole is the county row itself: no total rows."""
    if scope is not None and scope.level == Region.Level.COUNTY:
        return []
    cities: dict[str, ProgressRow] = {}
    total = ProgressRow(code="", name="全省", level="province")
    for r in rows:
        county = regions.get(r.code)
        parent = county.parent if county is not None and county.parent_id else None
        key = parent.code if parent is not None else r.code[:4] + "00"
        city = cities.setdefault(key, ProgressRow(code=key, name=parent.name if parent else key, level="city"))
        for acc in (city, total):
            for m in MEASURES:
                setattr(acc, m, getattr(acc, m) + getattr(r, m))
    if scope is not None:
        return [c for c in cities.values() if c.code == scope.code]
    return [*sorted(cities.values(), key=lambda c: c.code), total]


def lagging(rows: list, whole) -> None:
    """Mark each row (``.laggard``) whose 上报率 is :data:`LAG_MARGIN` or more below ``whole``'s."""
    ref = whole.report_rate if whole is not None else None
    for r in rows:
        r.laggard = ref is not None and r.report_rate is not None and r.report_rate < ref - LAG_MARGIN


@dataclass
class SchoolProgress:
    """One sampled school's submissions (the county's drill-down and the 催报 list)."""

    code: str
    name: str
    county_code: str
    roster: int = 0
    pupils: int = 0
    pupils_fitness: int = 0
    pupils_academic: int = 0
    pupils_questionnaire: int = 0
    level: str = "school"
    laggard: bool = False

    @property
    def complete(self) -> bool:
        return complete(self.roster, self.pupils, self.pupils_fitness, self.pupils_questionnaire)

    @property
    def report_rate(self):
        return 1.0 if self.complete else 0.0

    @property
    def missing(self) -> list[str]:
        return missing(self.roster, self.pupils, self.pupils_fitness, self.pupils_questionnaire)

    def rate(self, part: str) -> float | None:
        return getattr(self, part) / self.pupils if self.pupils else None

    @property
    def fitness_rate(self):
        return self.rate("pupils_fitness")

    @property
    def academic_rate(self):
        return self.rate("pupils_academic")

    @property
    def questionnaire_rate(self):
        return self.rate("pupils_questionnaire")


def complete(roster: int, pupils: int, fitness: int, questionnaire: int) -> bool:
    """已完成上报: a roster, sampled pupils, and fitness data and a student questionnaire for each."""
    return roster > 0 and pupils > 0 and fitness >= pupils and questionnaire >= pupils


def missing(roster: int, pupils: int, fitness: int, questionnaire: int) -> list[str]:
    """What a school still owes, in words (the 催报 list)."""
    out = []
    if roster == 0:
        out.append("六年级名册")
    if pupils and fitness < pupils:
        out.append(f"体测数据（{pupils - fitness} 人）")
    if pupils and questionnaire < pupils:
        out.append(f"学生问卷（{pupils - questionnaire} 人）")
    return out


def _school_counts(cycle: Cycle, school_ids: list[int]) -> dict[str, dict[int, int]]:
    """Per school id: roster pupils of the cycle's grade, sampled pupils, and of them with fitness
    data, academic scores and a student questionnaire (one grouped query each)."""
    by = "sampled_school__school_id"
    pupils_qs = SampledPupil.objects.filter(cycle=cycle, sampled_school__school_id__in=school_ids)
    return {
        "roster": _by_county(Pupil.objects.filter(grade=cycle.grade, school_id__in=school_ids), "school_id"),
        "pupils": _by_county(pupils_qs, by),
        "fitness": _by_county(pupils_qs.filter(pupil__fitness_records__cycle=cycle), by),
        "academic": _by_county(pupils_qs.filter(pupil_id__in=PupilScore.objects.filter(cycle=cycle).values("pupil_id")),
                               by),
        "questionnaire": _by_county(pupils_qs.filter(
            pupil__questionnaire_responses__cycle=cycle,
            pupil__questionnaire_responses__questionnaire__respondent="student"), by),
    }


def school_progress(cycle: Cycle, counties) -> list[SchoolProgress]:
    """Progress of every active sampled school of ``counties`` (a restricted Region queryset), in
    county and school code order."""
    active = (SampledSchool.objects.filter(ACTIVE_SCHOOL, cycle=cycle, school__county__in=counties)
              .values_list("school_id", "school__code", "school__name", "school__county__code")
              .order_by("school__county__code", "school__code"))
    rows = list(active)
    n = _school_counts(cycle, [r[0] for r in rows])
    return [SchoolProgress(code=code, name=name, county_code=county, roster=n["roster"].get(sid, 0),
                           pupils=n["pupils"].get(sid, 0), pupils_fitness=n["fitness"].get(sid, 0),
                           pupils_academic=n["academic"].get(sid, 0),
                           pupils_questionnaire=n["questionnaire"].get(sid, 0)) for sid, code, name, county in rows]


UPLOAD_KINDS = ("roster", "fitness", "questionnaire")


def school_status(cycle: Cycle, school) -> dict:
    """What one school has submitted for ``cycle`` and what is missing (the school operator's
    status page): whether it is sampled; its roster (pupils of the cycle's grade); its sampled
    pupils with and without fitness data; each questionnaire's responses from the school (for a
    student questionnaire, of its sampled pupils); and per upload kind the last upload (a job),
    whose errors the page lists when it failed.  Counts are SQL aggregates."""
    sampled = SampledSchool.objects.filter(ACTIVE_SCHOOL, cycle=cycle, school=school).first()
    roster = Pupil.objects.filter(school=school, grade=cycle.grade).count()
    pupils_qs = SampledPupil.objects.filter(cycle=cycle, sampled_school__school=school)
    pupils = pupils_qs.values("pupil_id").distinct().count()
    fitness = pupils_qs.filter(pupil__fitness_records__cycle=cycle).values("pupil_id").distinct().count()
    questionnaires = []
    for q in Questionnaire.objects.filter(cycle=cycle).order_by("code"):
        answered = QuestionnaireResponse.objects.filter(cycle=cycle, questionnaire=q, school=school)
        if q.respondent == Questionnaire.Respondent.STUDENT:
            done = pupils_qs.filter(pupil_id__in=answered.values("pupil_id")).values("pupil_id").distinct().count()
            questionnaires.append({"q": q, "done": done, "of": pupils, "complete": pupils > 0 and done >= pupils})
        else:
            done = answered.count()
            questionnaires.append({"q": q, "done": done, "of": None, "complete": done > 0})
    uploads = []
    for kind in UPLOAD_KINDS:
        last = Job.objects.filter(cycle=cycle, school=school, kind=kind).order_by("-created_at", "-id").first()
        uploads.append({"kind": kind, "job": last, "failed": last is not None and last.status == Job.Status.FAILED})
    return {"sampled": sampled, "roster": roster, "pupils": pupils, "fitness": fitness,
            "fitness_missing": pupils - fitness, "questionnaires": questionnaires, "uploads": uploads}


def _count(qs, field: str):
    """A correlated subquery counting ``qs`` (filtered on ``OuterRef`` through ``field``, which it
    groups by), 0 when none."""
    return Coalesce(Subquery(qs.order_by().values(field).annotate(n=Count("id", distinct=True)).values("n")[:1]),
                    Value(0))


def with_submissions(cycle: Cycle, sampled):
    """``sampled`` (SampledSchool rows, restricted by the caller) annotated with ``n_roster``,
    ``n_pupils``, ``n_fitness``, ``n_questionnaire`` and ``n_missing`` (how many of the three
    submissions — roster, fitness, student questionnaire — are incomplete), for the 催报 list."""
    school = OuterRef("school_id")
    pupils = SampledPupil.objects.filter(cycle=cycle, sampled_school=OuterRef("pk"))
    qs = sampled.annotate(
        n_roster=_count(Pupil.objects.filter(school_id=school, grade=cycle.grade), "school_id"),
        n_pupils=_count(pupils, "sampled_school_id"),
        n_fitness=_count(pupils.filter(pupil__fitness_records__cycle=cycle), "sampled_school_id"),
        n_questionnaire=_count(pupils.filter(
            pupil__questionnaire_responses__cycle=cycle,
            pupil__questionnaire_responses__questionnaire__respondent="student"), "sampled_school_id"),
    )
    roster_missing = Case(When(n_roster=0, then=Value(1)), default=Value(0))
    fit_missing = Case(When(n_fitness__lt=F("n_pupils"), then=Value(1)), default=Value(0))
    q_missing = Case(When(n_questionnaire__lt=F("n_pupils"), then=Value(1)), default=Value(0))
    return qs.annotate(n_missing=roster_missing + fit_missing + q_missing)
