"""Registry admin: every list page renders with its filters and search; pupil identities masked in lists."""

from __future__ import annotations

import pytest

from junheng_web.registry import services
from junheng_web.registry.admin import mask_id, mask_name
from junheng_web.registry.models import Pupil

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(client, django_user_model):
    user = django_user_model.objects.create_superuser("alice", "alice@example.org", "pw-alice-123",
                                                      role="province_admin")
    client.force_login(user)
    return user


@pytest.fixture
def world(tmp_path, make):
    services.import_schools(make.write_csv(tmp_path / "s.csv", make.SCHOOL_HEADERS, make.school_rows()))
    services.import_pupils(make.write_csv(tmp_path / "p.csv", make.PUPIL_HEADERS, make.pupil_rows(3)))


def test_masking():
    assert mask_id("G410102201104272939") == "G41010***********39"
    assert mask_name("欧阳娜") == "欧**"


@pytest.mark.parametrize("model", ["region", "school", "schoolclass", "pupil", "cycle"])
def test_it_lists_every_model(client, alice, world, model):
    r = client.get(f"/admin/registry/{model}/")
    assert r.status_code == 200


def test_the_pupil_list_masks_and_searches_by_exact_student_id(client, alice, world, make):
    sid = make.pupil_rows(1)[0][0]
    r = client.get("/admin/registry/pupil/", {"q": sid})
    assert mask_id(sid) in r.content.decode() and "G41010***********" in r.content.decode()
    body = client.get("/admin/registry/pupil/").content.decode()
    table = body[body.index("<tbody>"):body.index("</tbody>")]
    assert mask_id(sid) in table
    assert sid not in table and "学生0" not in table
    r = client.get("/admin/registry/school/", {"q": "中原区", "stage__exact": "小学"})
    assert "2141000001" in r.content.decode() and "2141000002" not in r.content.decode()
    assert Pupil.objects.count() == 3


def test_admin_views_of_pupils_are_audited(client, alice, world):
    """Issue 12.9: the admin shows pupil records too — its list, change and history pages are in the
    audit log like every other access to pupils; pages without pupil records are not."""
    from junheng_web.accounts.models import AuditLog

    pupil = Pupil.objects.order_by("student_id").first()
    assert client.get("/admin/registry/pupil/").status_code == 200
    assert client.get(f"/admin/registry/pupil/{pupil.pk}/change/").status_code == 200
    assert client.get(f"/admin/registry/pupil/{pupil.pk}/history/").status_code == 200
    assert client.get("/admin/registry/region/").status_code == 200
    rows = list(AuditLog.objects.filter(action__startswith="admin.").order_by("id")
                .values_list("action", "what", "rows", "username"))
    assert rows == [("admin.view", "admin registry.pupil list", 3, "alice"),
                    ("admin.view", f"admin registry.pupil {pupil.pk}", 1, "alice"),
                    ("admin.view", f"admin registry.pupil {pupil.pk} history", 1, "alice")]
    client.post(f"/admin/registry/pupil/{pupil.pk}/delete/", {"post": "yes"})
    assert AuditLog.objects.order_by("-id").values_list("action", "what")[0] == \
        ("admin.delete", f"admin registry.pupil {pupil.pk}")
