"""restrict(): the one scoping function, per role, over every scoped model."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from junheng_web.accounts.scoping import SCOPES, can, restrict

pytestmark = pytest.mark.django_db


def _codes(qs, path):
    return sorted(set(qs.values_list(path, flat=True)))


def test_it_gives_province_everything(world):
    from junheng_web.registry.models import Pupil

    assert restrict(Pupil.objects.all(), world.users["alice"]).count() == 12
    assert restrict(Pupil.objects.all(), world.users["anna"]).count() == 12


def test_it_limits_a_county_to_its_county(world):
    from junheng_web.registry.models import Pupil, Region, School
    from junheng_web.sampling.models import SampledPupil

    bob = world.users["bob"]
    assert _codes(restrict(School, bob), "county__code") == ["410102"]
    assert _codes(restrict(Pupil, bob), "school__county__code") == ["410102"]
    assert _codes(restrict(SampledPupil, bob), "pupil__school__county__code") == ["410102"]
    assert _codes(restrict(Region, bob), "code") == ["410102"]


def test_it_limits_a_city_to_its_counties(world):
    from junheng_web.registry.models import Region, School

    frank = world.users["frank"]
    assert _codes(restrict(School, frank), "county__code") == ["410102", "410103"]
    assert _codes(restrict(Region, frank), "code") == ["410100", "410102", "410103"]


def test_it_limits_a_school_operator_to_the_school(world):
    from junheng_web.registry.models import Pupil
    from junheng_web.testsites.models import TestSite

    dave = world.users["dave"]
    assert _codes(restrict(Pupil, dave), "school__code") == ["4101020001"]
    assert list(restrict(TestSite, dave)) == [world.sites["A"]]


def test_it_gives_nothing_to_a_role_without_the_action(world):
    from junheng_web.registry.models import Pupil

    assert restrict(Pupil, world.users["anna"], "roster.upload").count() == 0
    assert not can(world.users["dave"], "audit.view")


def test_it_gives_the_audit_log_to_province_only(world):
    from junheng_web.accounts.models import AuditLog

    AuditLog.objects.create(username="x", action="view", what="y", path="/")
    assert restrict(AuditLog, world.users["alice"]).count() == 1
    assert restrict(AuditLog, world.users["bob"]).count() == 0


def test_it_refuses_an_unlisted_model(world):
    from django.contrib.auth.models import Group

    with pytest.raises(ImproperlyConfigured, match="SCOPES"):
        restrict(Group.objects.all(), world.users["alice"])


def test_it_covers_every_model_with_pupil_or_region_data():
    from django.apps import apps

    scoped_apps = {"registry", "sampling", "fitness", "testsites", "jobs"}
    missing = [m._meta.label_lower for m in apps.get_models()
               if m._meta.app_label in scoped_apps and m._meta.label_lower not in SCOPES
               and m._meta.model_name not in {"schoolclass", "samplerun", "weightset"}]
    assert missing == [], f"models without a scope entry: {missing}"


def test_a_reviewer_bound_to_the_province_sees_the_province_and_one_bound_to_a_county_that_county(world):
    from junheng_web.accounts.models import AuditLog
    from junheng_web.accounts.scoping import region_of
    from junheng_web.testsites.models import TestSite
    from tests.web.conftest import _user

    provincial = _user("ruth", "reviewer", region=world.regions["province"])
    local = world.users["rita"]
    assert _codes(restrict(TestSite, provincial), "county__code") == ["410102", "410103"]
    assert _codes(restrict(TestSite, local), "county__code") == ["410102"]
    assert region_of(provincial) is None and region_of(local) == world.regions["A"]
    # bound to the province is not a province role: no action the reviewer role lacks
    assert restrict(AuditLog, provincial, "audit.view").count() == 0
    assert not can(provincial, "sample.run")
