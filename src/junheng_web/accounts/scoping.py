"""The one scoping function: every list, detail, export and API read or write passes through
:func:`restrict`, so a user only ever reaches objects inside their region or school.

Objects outside a user's scope are simply absent from the queryset, so detail views built as
``get_object_or_404(restrict(Model.objects, user, action), pk=…)`` answer 404, never data
(the NetBox ``RestrictedQuerySet.restrict(user, action)`` idea).

Each scoped model is listed once in :data:`SCOPES` with the path from it to the county
(``Region``) it belongs to and to its school; a model that is not listed cannot be restricted
(``ImproperlyConfigured``), so a new model cannot silently escape scoping.

What a role may *do* (as opposed to *where*) is :func:`can` over :data:`PERMISSIONS`.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db.models import Model, Q, QuerySet


@dataclass(frozen=True)
class Scope:
    county: str | None  # lookup to the county Region's id ("" = the model is the county itself)
    school: str | None  # lookup to the School's id ("" = the model is the school itself); None = not school-bound
    distinct: bool = False


ALL = "all"  # not region-bound (cycles): every signed-in user may read
PROVINCE_ONLY = "province"  # only province roles (audit log)

SCOPES: dict[str, Scope | str] = {
    "registry.region": Scope(county="", school=None),
    "registry.school": Scope(county="county", school=""),
    "registry.pupil": Scope(county="school__county", school="school"),
    "registry.cycle": ALL,
    "sampling.sampledschool": Scope(county="school__county", school="school"),
    "sampling.sampledpupil": Scope(county="pupil__school__county", school="pupil__school"),
    "fitness.fitnessrecord": Scope(county="pupil__school__county", school="pupil__school"),
    "assessment.pupilscore": Scope(county="pupil__school__county", school="pupil__school"),
    "testsites.testsite": Scope(county="county", school="schools__school", distinct=True),
    "testsites.testsession": Scope(county="site__county", school="site__schools__school", distinct=True),
    "testsites.logincode": Scope(county="session__site__county", school="session__site__schools__school", distinct=True),
    "jobs.job": Scope(county="county", school="school"),
    "questionnaires.questionnaire": ALL,
    "questionnaires.questionnaireresponse": Scope(county="school__county", school="school"),
    "supervision.recording": Scope(county="session__site__county", school="session__site__schools__school",
                                   distinct=True),
    "supervision.flag": Scope(county="session__site__county", school="session__site__schools__school", distinct=True),
    "delivery.attempt": Scope(county="session__site__county", school="session__site__schools__school", distinct=True),
    "delivery.answer": Scope(county="attempt__session__site__county", school="attempt__session__site__schools__school",
                             distinct=True),
    "omr.upload": Scope(county="session__site__county", school="session__site__schools__school", distinct=True),
    "omr.sheet": Scope(county="session__site__county", school="session__site__schools__school", distinct=True),
    "omr.review": Scope(county="session__site__county", school="session__site__schools__school", distinct=True),
    "omr.pupilcorrection": Scope(county="sheet__session__site__county", school="sheet__session__site__schools__school",
                                 distinct=True),
    "accounts.auditlog": PROVINCE_ONLY,
}

# role → the actions it may perform (where: decided by restrict)
PERMISSIONS: dict[str, set[str]] = {
    "province_admin": {"view", "export", "cycle.create", "sample.run", "school.replace", "site.manage",
                       "roster.upload", "fitness.upload", "sitelist.download", "sitelist.unmask", "session.run", "audit.view", "job.view",
                       "dashboard.view", "report.annual", "questionnaire.upload", "questionnaire.define",
                       "video.upload", "video.review", "map.upload", "omr.upload", "omr.review"},
    "province_analyst": {"view", "export", "sitelist.download", "job.view", "dashboard.view", "report.annual"},
    "city": {"view", "export", "job.view", "dashboard.view"},
    "county": {"view", "export", "school.replace", "site.manage", "roster.upload", "fitness.upload",
               "questionnaire.upload", "sitelist.download", "sitelist.unmask", "session.run", "job.view",
               "dashboard.view", "video.upload", "omr.upload", "omr.review"},
    "school": {"view", "roster.upload", "fitness.upload", "questionnaire.upload", "sitelist.download",
               "sitelist.unmask", "session.run", "job.view"},
    "proctor": {"view", "sitelist.download", "sitelist.unmask", "session.run", "video.upload", "job.view", "omr.upload"},
    "reviewer": {"view", "video.review", "omr.review"},
    "scorer": {"view"},
}


def can(user, action: str) -> bool:
    """Whether ``user``'s role allows ``action`` at all (region is restrict's business)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return action in PERMISSIONS.get(user.role, set())


def require(user, action: str) -> None:
    """Raise ``PermissionDenied`` (403) when the role may never do ``action``."""
    if not can(user, action):
        raise PermissionDenied(action)


def _label(qs: QuerySet) -> str:
    return qs.model._meta.label_lower


def _is_province(user) -> bool:
    """Province roles, and any region-bound role (e.g. a 巡查员 of the 省督导巡视组) bound to the province."""
    if user.is_superuser or user.role in ("province_admin", "province_analyst"):
        return True
    region = user.region if user.region_id and user.role not in ("school", "proctor") else None
    return region is not None and region.level == "province"


def _county_q(path: str, user) -> Q | None:
    """Q selecting objects in the user's city or county (None: the user has no region)."""
    region = user.region
    if region is None:
        return None
    field = path + "__id" if path else "id"
    parent = path + "__parent_id" if path else "parent_id"
    if region.level == "county":
        return Q(**{field: region.id})
    if region.level == "city":
        return Q(**{parent: region.id}) | Q(**{field: region.id})
    return None


def restrict(qs: QuerySet | type[Model], user, action: str = "view") -> QuerySet:
    """``qs`` limited to the objects ``user`` may ``action``: everything for province roles,
    their city's or county's objects for city and county users, their school's for school
    operators and proctors, nothing for anonymous users or a role lacking ``action``."""
    if isinstance(qs, type):
        qs = qs._default_manager.all()
    elif not isinstance(qs, QuerySet):  # a manager
        qs = qs.all()
    label = _label(qs)
    if label not in SCOPES:
        raise ImproperlyConfigured(f"{label} has no entry in junheng_web.accounts.scoping.SCOPES")
    if not can(user, action):
        return qs.none()
    scope = SCOPES[label]
    if scope == ALL:
        return qs
    if _is_province(user):
        return qs
    if scope == PROVINCE_ONLY:
        return qs.none()
    assert isinstance(scope, Scope)
    if user.role in ("school", "proctor"):
        if user.school_id is None:
            return qs.none()
        if scope.school is None:  # regions: a school user sees its own county
            if label == "registry.region":
                return qs.filter(id=user.school.county_id)
            return qs.none()
        field = scope.school + "__id" if scope.school else "id"
        out = qs.filter(**{field: user.school_id})
        return out.distinct() if scope.distinct else out
    if scope.county is None:
        return qs.none()
    if label == "registry.region" and user.region_id:
        region = user.region
        if region.level == "city":
            return qs.filter(Q(id=region.id) | Q(parent_id=region.id))
        return qs.filter(id=region.id)
    q = _county_q(scope.county, user)
    return qs.none() if q is None else qs.filter(q)


def province_wide(user) -> bool:
    """Whether ``user`` sees the whole province (a province role, or a role bound to the province)."""
    return _is_province(user)


def region_of(user):
    """The region a user's pages start from (None: the province)."""
    if _is_province(user):
        return None
    if user.school_id:
        return user.school.county
    return user.region


__all__ = ["PERMISSIONS", "SCOPES", "can", "province_wide", "region_of", "require", "restrict"]
