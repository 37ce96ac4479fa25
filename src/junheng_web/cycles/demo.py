"""The demo's accounts (``junheng demo``'s accounts stage): one per role, password ``demo``, for
the demo database only — production accounts go through the password validators."""

from __future__ import annotations

from collections.abc import Callable

from junheng_web.accounts.models import User
from junheng_web.registry.models import Region, School
from junheng_web.sampling.models import SampledSchool

DEMO_PASSWORD = "demo"  # the demo database only; production accounts go through the password validators
DEMO_COUNTIES = ("410102", "410103")
# GB/T 2260 codes and names, used only when the registry stage has not put the divisions in the
# database (the registry import upserts by (code, level), so these rows are then simply reused)
_DIVISIONS = [("410000", "province", "河南省", None), ("410100", "city", "郑州市", "410000"),
              ("410102", "county", "中原区", "410100"), ("410103", "county", "二七区", "410100")]


def demo_accounts(note: Callable[[str], None] | None = None) -> list[tuple[str, str, str]]:
    """Create (or reset) the demo's accounts; returns (username, password, what) rows. ``note`` is
    told what was skipped."""
    note = note or (lambda _message: None)
    rows = []
    for code, level, name, parent in _DIVISIONS:
        if not Region.objects.filter(code=code, level=level).exists():
            Region.objects.create(code=code, level=level, name=name,
                                  parent=Region.objects.get(code=parent, level="province" if level == "city" else "city")
                                  if parent else None)

    def account(username, role, what, region=None, school=None):
        user, _ = User.objects.get_or_create(username=username)
        user.role, user.region, user.school, user.is_active = role, region, school, True
        user.set_password(DEMO_PASSWORD)  # deliberately not validated: demo database only
        user.save()
        rows.append((username, DEMO_PASSWORD, what))

    account("province", User.Role.PROVINCE_ADMIN, "省级管理员 / province admin")
    account("analyst", User.Role.PROVINCE_ANALYST, "省级分析员 / province analyst")
    account("reviewer", User.Role.REVIEWER, "视频巡查员（全省）/ video reviewer for the province",
            region=Region.objects.get(code="410000", level=Region.Level.PROVINCE))
    for code in DEMO_COUNTIES:
        county = Region.objects.filter(code=code, level=Region.Level.COUNTY).first()
        if county is None:
            note(f"区县 {code} 不在名册中，跳过 / county {code} not in the registry; skipped")
            continue
        account(f"county-{code}", User.Role.COUNTY, f"县级用户 / county {county.name}", region=county)
        school = _demo_school(county)
        if school is None:
            note(f"{county.name} 没有学校，跳过学校操作员 / no school in {code}; no school operator")
            continue
        account(f"school-{school.code}", User.Role.SCHOOL, f"学校操作员 / school operator, {school.name}",
                school=school)
        if county.parent_id and not User.objects.filter(username=f"city-{county.parent.code}").exists():
            account(f"city-{county.parent.code}", User.Role.CITY, f"市级用户 / city {county.parent.name}",
                    region=county.parent)
    return rows


def _demo_school(county):
    """A school of the county, preferring one in the demo cycle's sample."""
    sampled = (SampledSchool.objects.filter(school__county=county, role=SampledSchool.Role.SAMPLED)
               .select_related("school").order_by("school__code").first())
    return sampled.school if sampled else School.objects.filter(county=county).order_by("code").first()


__all__ = ["DEMO_COUNTIES", "DEMO_PASSWORD", "demo_accounts"]
