"""The only module of this app that calls the core (junheng.reports).

Who sees which report (the issue: the province office, a county head and a headteacher each get
their own view):

* province roles (and superusers): the annual report and every county report;
* city users: the reports of the counties of their city;
* county users: their county's report;
* school operators: only their school's sheet (resource indicators and participation — the design
  supports nothing else at school level).

:func:`allowed` decides; :func:`report_file` resolves a written report under the reports folder
(``<dir>/annual.*``, ``<dir>/county/<code>.*``) or raises ``PermissionDenied`` / ``Http404``;
:func:`school_sheet` renders a school's sheet on demand.

``views.py`` serves the annual and county reports and the written school sheets
(``<dir>/school/<code>.*``, ``junheng report school``) through :func:`report_file`, and lists what
a user may read (:func:`reports_for`) on the 报告 page; every page is in the permission matrix
(``tests/web/test_permission_matrix.py``).
"""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import PermissionDenied
from django.db.models import BooleanField, Case, Value, When
from django.http import Http404

from junheng.exceptions import ParameterError
from junheng.reports import school_html
from junheng_web.accounts.scoping import can, restrict
from junheng_web.registry.models import Region, School

KINDS = ("annual", "county", "school")
FORMATS = ("html", "pdf")


def allowed(user, kind: str, code: str | None = None, *, county_code: str | None = None) -> bool:
    """Whether ``user`` may read the ``kind`` report of ``code`` (a county or school code).  For a
    school, ``county_code`` (its county, when the caller has it) saves looking the school up."""
    if kind not in KINDS or not can(user, "view"):
        return False
    if getattr(user, "is_province", False):
        return True
    role = getattr(user, "role", "")
    if kind == "annual":
        return False
    if kind == "county":
        if role == "city":
            return bool(user.region_id) and str(code or "")[:4] == user.region.code[:4]
        if role == "county":
            county = user.county
            return county is not None and county.code == code
        return False
    if kind == "school":
        if role == "school":
            return user.school_id is not None and user.school.code == code
        county = user.county
        if role in ("county", "city") and county_code is None:
            county_code = _school_county(code)
        if role == "county" and county is not None:
            return county_code == county.code
        if role == "city" and user.region_id:
            return (county_code or "")[:4] == user.region.code[:4]
    return False


def _school_county(code: str | None) -> str | None:
    s = School.objects.filter(code=code).select_related("county").first()
    return s.county.code if s else None


def report_file(user, folder: str | Path, kind: str, code: str | None = None, fmt: str = "pdf") -> Path:
    """The path of a written report the user may read; 403 when the role may never read reports,
    404 when the report is outside the user's region or not written."""
    if fmt not in FORMATS or kind not in KINDS:
        raise Http404("no such report")
    if not can(user, "view") or (kind == "annual" and not can(user, "report.annual")):
        raise PermissionDenied("view")
    if not allowed(user, kind, code):
        raise Http404("no such report")
    if kind != "annual" and not str(code or "").isdigit():
        raise Http404("no such report")
    path = _path(Path(folder), kind, code, fmt)
    if not path.is_file():
        raise Http404("report not written yet")
    return path


def _path(folder: Path, kind: str, code: str | None, fmt: str) -> Path:
    return folder / f"annual.{fmt}" if kind == "annual" else folder / kind / f"{code}.{fmt}"


def _written(folder: Path, kind: str) -> dict[str, list[str]]:
    """code → the formats written under ``folder/kind`` (``county`` or ``school``)."""
    out: dict[str, list[str]] = {}
    for fmt in FORMATS:
        for p in sorted((folder / kind).glob(f"*.{fmt}")):
            if p.stem.isdigit():
                out.setdefault(p.stem, []).append(fmt)
    return out


def county_reports(user, folder: str | Path):
    """The counties whose report ``user`` may read (every county in their scope, written or not) as
    a queryset annotated ``written`` (a report of some format is on disk), and ``{code: formats}``
    of the written ones.  Through ``restrict``, then each checked with :func:`allowed`."""
    written = _written(Path(folder), "county")
    qs = restrict(Region.objects.filter(level="county"), user).select_related("parent")
    ok = [r.pk for r in qs if allowed(user, "county", r.code)]
    return _flag(qs.filter(pk__in=ok), written).order_by("code"), written


def school_sheets(user, folder: str | Path):
    """The schools whose written sheet ``user`` may read, as a queryset annotated ``written``, and
    ``{code: formats}``; a school user whose sheet is not written yet gets its own school (unwritten)."""
    sheets = _written(Path(folder), "school")
    qs = restrict(School.objects.filter(code__in=list(sheets)), user)
    ok = [pk for pk, code, county in qs.values_list("pk", "code", "county__code")
          if allowed(user, "school", code, county_code=county)]  # one query, not one per school
    if not ok and getattr(user, "role", "") == "school" and user.school_id:
        ok = [user.school_id]  # a school's own sheet, not written yet
    qs = School.objects.filter(pk__in=ok).select_related("county", "county__parent")
    return _flag(qs, sheets).order_by("code"), sheets


def _flag(qs, written: dict):
    return qs.annotate(written=Case(When(code__in=list(written), then=Value(True)), default=Value(False),
                                    output_field=BooleanField()))


def reports_for(user, folder: str | Path) -> dict:
    """What the reports page lists for ``user``: the annual report (province roles), the counties
    the user may read (:func:`county_reports`, with the formats written so far, so the province
    sees which are missing) and the written school sheets inside their scope (:func:`school_sheets`)."""
    folder = Path(folder)
    annual = [f for f in FORMATS if (folder / f"annual.{f}").is_file()] if can(user, "report.annual") else None
    regions, written = county_reports(user, folder)
    counties = [{"region": r, "formats": written.get(r.code, [])} for r in regions]
    found, sheets = school_sheets(user, folder)
    schools = [{"school": s, "formats": sheets.get(s.code, [])} for s in found]
    return {"annual": annual, "counties": counties, "schools": schools}


def school_sheet(user, tables, code: str) -> str:
    """The HTML sheet of school ``code`` from the report tables (``junheng.reports.build``)."""
    if not allowed(user, "school", code):
        raise Http404("no such school")
    try:
        return school_html(tables, code)
    except ParameterError as e:
        raise Http404(str(e)) from None
