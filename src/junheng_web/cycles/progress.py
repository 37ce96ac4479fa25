"""Collection progress of a cycle: per county (and rolled up per city, and the province) the sampled
schools, schools with a roster, sampled pupils, pupils with fitness data, with academic data, with
a student questionnaire, test sites and late test sites.  Counts are SQL aggregates (one grouped
query per measure), never a loop over pupils."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Count

from junheng_web.assessment.models import PupilScore
from junheng_web.jobs.models import Job
from junheng_web.questionnaires.models import Questionnaire, QuestionnaireResponse
from junheng_web.registry.freshness import epoch, freshness
from junheng_web.registry.models import Cycle, Pupil, Region
from junheng_web.sampling.models import SampledPupil, SampledSchool
from junheng_web.sampling.services import ACTIVE_SCHOOL
from junheng_web.testsites.models import TestSite
from junheng_web.testsites.services import late_sites

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
    pupils_academic: int = 0
    pupils_questionnaire: int = 0
    sites: int = 0
    late_sites: int = 0

    def rate(self, part: str, whole: str) -> float | None:
        den = getattr(self, whole)
        return None if not den else getattr(self, part) / den

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


def collection_progress(cycle: Cycle, counties) -> list[ProgressRow]:
    """Progress of ``cycle`` for each county of ``counties`` (a Region queryset, already
    restricted to the user's scope), in code order."""
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
    sites_qs = TestSite.objects.filter(cycle=cycle, county_id__in=ids)
    sites = _by_county(sites_qs, "county_id")
    late = _by_county(late_sites(cycle, sites_qs), "county_id")
    return [ProgressRow(code=c.code, name=c.name, level="county", schools=schools.get(c.id, 0),
                        schools_with_roster=with_roster.get(c.id, 0), pupils=pupils.get(c.id, 0),
                        pupils_fitness=fit.get(c.id, 0), pupils_academic=academic.get(c.id, 0),
                        pupils_questionnaire=answered.get(c.id, 0),
                        sites=sites.get(c.id, 0), late_sites=late.get(c.id, 0)) for c in counties]


def cached_progress(cycle: Cycle, counties) -> list[ProgressRow]:
    """:func:`collection_progress`, shared by every user of the same counties for
    ``JUNHENG_DASHBOARD_FRESHNESS`` seconds (and renewed at once when the cycle's epoch moves):
    a hundred operators on the page cost one set of aggregate queries, not a hundred."""
    ttl = freshness()
    if ttl <= 0:
        return collection_progress(cycle, counties)
    ids = sorted(counties.filter(level=Region.Level.COUNTY).values_list("id", flat=True))
    scope = hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:16]
    key = f"junheng:progress:{cycle.pk}:{epoch(cycle.pk)}:{scope}"
    rows = cache.get(key)
    if rows is None:
        rows = collection_progress(cycle, counties)
        cache.set(key, rows, ttl)
    return rows


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
                setattr(acc, m, getattr(acc, m) + getattr(r, m))
    return [*sorted(cities.values(), key=lambda c: c.code), total]


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
