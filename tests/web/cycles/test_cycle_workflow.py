"""Cycle workflow: create a cycle, draw the sample as a job, replace a school, set up a test
site and a session, download the site's list; each by the role that does it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.web.pages import without_csrf_tokens

pytestmark = pytest.mark.django_db


def test_it_lets_a_province_admin_create_a_cycle(client, world):
    from junheng_web.registry.models import Cycle

    client.force_login(world.users["alice"])
    resp = client.post(reverse("cycle_create"), {"year": 2023, "grade": 6, "subjects": ["语文", "数学"],
                                                 "pupils_per_school": 20, "seed": 7})
    cycle = Cycle.objects.get(year=2023)
    assert resp["Location"] == reverse("cycle_detail", kwargs={"pk": cycle.pk})
    assert cycle.design == {"sampling": {"pupils_per_school": 20, "seed": 7}}
    again = client.post(reverse("cycle_create"), {"year": 2023, "grade": 6, "subjects": ["语文"]})
    assert again.status_code == 200 and Cycle.objects.filter(year=2023).count() == 1


def test_it_draws_the_sample_as_a_job(client, world, eager_jobs):
    from junheng_web.jobs.models import Job

    client.force_login(world.users["alice"])
    url = reverse("cycle_sample", kwargs={"pk": world.cycle.pk})
    assert client.post(url).status_code == 200  # the world's sample has test sites: asked first
    resp = client.post(url, {"confirm": "1", "reason": "设计变更"})
    job = Job.objects.get(kind="sample")
    assert resp["Location"] == reverse("job_detail", kwargs={"pk": job.pk})
    assert job.status in ("done", "failed")
    if job.status == "failed":  # a bad design is reported, never a traceback
        assert "traceback" not in client.get(resp["Location"]).content.decode().lower()


def test_it_replaces_a_refusing_school(client, world):
    import datetime as dt

    from junheng.registry.codes import check_char
    from junheng_web.registry.models import Pupil
    from junheng_web.sampling.models import SampledSchool

    client.force_login(world.users["bob"])
    url = reverse("school_replace", kwargs={"pk": world.cycle.pk, "ss": world.sampled["A"].pk})
    resp = client.post(url, {"status": "refused"}, follow=True)  # the replacement has no roster yet
    assert [m.level_tag for m in resp.context["messages"]] == ["error"]
    assert SampledSchool.objects.get(pk=world.sampled["A"].pk).status == "pending"
    for k in range(50, 56):
        body = f"41010220110301{k:03d}"
        Pupil.objects.create(student_id="G" + body + check_char(body), name=f"替{k}", sex=1,
                             birth_date=dt.date(2011, 1, 1), school=world.schools["A2"], grade=6)
    resp = client.post(url, {"status": "refused"}, follow=True)
    assert [str(m) for m in resp.context["messages"]] == ["已由替补学校 甲二小学 替代"]
    assert SampledSchool.objects.get(pk=world.sampled["A"].pk).status == "refused"
    assert SampledSchool.objects.get(pk=world.sampled["A2"].pk).status == "participating"
    # the confirm button sent again from the history after the replacement (or for the replacement
    # itself): refused with a message, nothing changes — it made the refused school take part again
    for key in ("A", "A2"):
        resp = client.post(reverse("school_confirm", kwargs={"pk": world.cycle.pk, "ss": world.sampled[key].pk}),
                           follow=True)
        assert [m.level_tag for m in resp.context["messages"]] == ["error"], key
    assert "只能确认待确认的抽中学校" in str(list(resp.context["messages"])[0])
    # in English the message names the status in English, not the model's Chinese label
    from django.conf import settings

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    resp = client.post(reverse("school_confirm", kwargs={"pk": world.cycle.pk, "ss": world.sampled["A"].pk}),
                       follow=True)
    (msg,) = [str(m) for m in resp.context["messages"]]
    assert "is “refused”: only a pending sampled school can be confirmed" in msg and "拒绝" not in msg
    del client.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert SampledSchool.objects.get(pk=world.sampled["A"].pk).status == "refused"
    assert SampledSchool.objects.get(pk=world.sampled["A2"].pk).status == "participating"


def test_confirming_a_pending_school_is_audited(client, world):
    from junheng_web.accounts.models import AuditLog
    from junheng_web.sampling.models import SampledSchool

    client.force_login(world.users["charlie"])
    resp = client.post(reverse("school_confirm", kwargs={"pk": world.cycle.pk, "ss": world.sampled["B"].pk}), follow=True)
    assert not [m for m in resp.context["messages"] if m.level_tag == "error"]
    assert SampledSchool.objects.get(pk=world.sampled["B"].pk).status == "participating"
    (row,) = AuditLog.objects.filter(action="school.confirm")
    assert (row.username, row.what, row.region_code) == ("charlie", "school 4101030001", "410103")


def test_it_sets_up_a_site_only_with_the_countys_schools(client, world):
    from junheng_web.testsites.models import TestSite

    client.force_login(world.users["bob"])
    url = reverse("site_list", kwargs={"pk": world.cycle.pk})
    bad = client.post(url, {"code": "TA02", "name": "新测试点", "schools": [world.sampled["B"].pk]})
    assert bad.status_code == 200 and not TestSite.objects.filter(code="TA02").exists()
    ok = client.post(url, {"code": "TA02", "name": "新测试点", "schools": [world.sampled["A"].pk]})
    site = TestSite.objects.get(code="TA02")
    assert ok["Location"] == reverse("site_detail", kwargs={"pk": world.cycle.pk, "site": site.pk})
    assert site.county.code == "410102"
    resp = client.post(ok["Location"], {"subject": "数学", "room": "2", "starts_at": "2022-05-10T09:00",
                                        "ends_at": "2022-05-10T08:00"})
    assert resp.status_code == 200 and site.sessions.count() == 0  # ends before it starts
    client.post(ok["Location"], {"subject": "数学", "room": "2", "starts_at": "2022-05-10T09:00",
                                 "ends_at": "2022-05-10T10:00"})
    assert site.sessions.count() == 1


def test_it_lets_a_school_read_but_not_set_up_sites(client, world):
    client.force_login(world.users["dave"])
    url = reverse("site_list", kwargs={"pk": world.cycle.pk})
    assert client.get(url).status_code == 200
    assert client.post(url, {"code": "X", "name": "x"}).status_code == 403


def test_it_counts_late_sites(client, world):
    client.force_login(world.users["alice"])
    rows = {r["code"]: r for r in client.get(reverse("progress_json", kwargs={"pk": world.cycle.pk})).json()["counties"]}
    assert (rows["410102"]["sites"], rows["410102"]["late_sites"]) == (1, 1)  # session ended 3 days ago, no data


def test_it_lists_the_next_steps_by_role(client, world):
    client.force_login(world.users["bob"])
    body = client.get("/").content.decode()
    assert "确认抽中学校是否参加" in body and "上传本校六年级名册" not in body
    client.force_login(world.users["dave"])
    body = client.get("/").content.decode()
    assert "上传本校六年级名册" in body and "确认抽中学校是否参加" not in body


def test_it_makes_each_participating_school_a_site_once(world):
    import datetime as dt

    from junheng_web.registry.models import Region
    from junheng_web.testsites.models import TestSession, TestSite
    from junheng_web.testsites.services import sites_per_school

    TestSite.objects.all().delete()
    start = dt.datetime(2022, 6, 16, 1, 0, tzinfo=dt.UTC)  # 09:00 in Beijing
    assert sites_per_school(world.cycle, start, counties=Region.objects.filter(code="410102")) == 1
    assert sites_per_school(world.cycle, start) == 1  # the other county's school; A is not set up twice
    assert sites_per_school(world.cycle, start) == 0
    sites = {s.code: s for s in TestSite.objects.filter(cycle=world.cycle)}
    assert sorted(sites) == ["T4101020001", "T4101030001"]  # A2 is only a replacement: no site
    a = sites["T4101020001"]
    assert (a.county.code, [s.school.code for s in a.schools.all()]) == ("410102", ["4101020001"])
    sessions = TestSession.objects.filter(site=a).order_by("room")
    assert [s.subject for s in sessions] == ["语文", "数学", "英语", "科学"]
    assert {(s.starts_at, s.ends_at - s.starts_at) for s in sessions} == {(start, dt.timedelta(minutes=60))}


def test_a_county_sets_up_a_site_per_school_from_the_sites_page(client, world):
    from junheng_web.testsites.models import TestSite

    TestSite.objects.all().delete()
    client.force_login(world.users["bob"])
    page = client.get(f"/cycles/{world.cycle.pk}/sites/").content.decode()
    assert 'id="per-school"' in page
    resp = client.post(f"/cycles/{world.cycle.pk}/sites/per-school/", {"starts_at": "2022-06-16T09:00", "minutes": "60"})
    assert resp.status_code == 302
    assert list(TestSite.objects.values_list("code", flat=True)) == ["T4101020001"]  # county A only
    client.force_login(world.users["dave"])  # a school operator may not
    assert client.post(f"/cycles/{world.cycle.pk}/sites/per-school/",
                       {"starts_at": "2022-06-16T09:00", "minutes": "60"}).status_code == 403


def test_the_sites_list_comes_fifty_at_a_time(client, world):
    from junheng_web.testsites.models import TestSite

    TestSite.objects.bulk_create([TestSite(cycle=world.cycle, county=world.regions["A"], code=f"TX{k:03d}",
                                           name=f"测试点{k}") for k in range(150)])
    client.force_login(world.users["bob"])
    first = client.get(f"/cycles/{world.cycle.pk}/sites/").content.decode()
    assert first.count("/sites/") - first.count("/sites/per-school/") >= 50 and 'class="pagination"' in first
    assert "共 151 条" in first  # TA01 and TX000…TX149
    second = client.get(f"/cycles/{world.cycle.pk}/sites/?page=4&county=410102").content.decode()
    assert "TX149" in second and "TX000" not in second
    client.force_login(world.users["charlie"])  # county B: none of them
    # (a 3-character text is in a random CSRF token ~1 page in 3,800: tests/web/pages.py)
    assert "TX0" not in without_csrf_tokens(client.get(f"/cycles/{world.cycle.pk}/sites/?county=410102").content.decode())


def test_a_session_form_sent_twice_adds_one_session(client, world):
    """新增场次 sent twice (a double click, the browser's resend) added the same session twice — one
    room and subject at one time, so two sets of login codes for the same pupils; the second is
    refused now with a message, and the same room at another time is still a new session."""
    site = world.sessions["A"].site
    client.force_login(world.users["bob"])
    url = reverse("site_detail", kwargs={"pk": world.cycle.pk, "site": site.pk})
    post = {"subject": "数学", "room": "9", "starts_at": "2022-05-10T09:00", "ends_at": "2022-05-10T10:00"}
    before = site.sessions.count()
    client.post(url, post)
    again = client.post(url, post)
    assert site.sessions.count() == before + 1
    assert again.status_code == 200 and "已存在" in again.content.decode()
    client.post(url, {**post, "starts_at": "2022-05-10T14:00", "ends_at": "2022-05-10T15:00"})
    assert site.sessions.count() == before + 2


def test_a_draw_pressed_again_while_one_is_queued_names_it(client, world):
    """抽取样本 pressed twice (or by two staff) queued two draws: the second, run after the first, replaced
    the sample the first had just drawn — without the confirmation a re-draw needs, as nothing was lost
    yet when it was pressed.  While a draw of the cycle is queued or running, a press leads to that job,
    with a message, and queues nothing (a draw of another cycle does not count)."""
    from junheng_web.jobs.models import Job
    from junheng_web.registry.models import Cycle

    other = Cycle.objects.create(year=2031, grade=4, subjects=["语文"], name="其他周期")
    Job.objects.create(kind="sample", cycle=other, status=Job.Status.QUEUED)
    pending = Job.objects.create(kind="sample", cycle=world.cycle, status=Job.Status.QUEUED)
    client.force_login(world.users["alice"])
    resp = client.post(reverse("cycle_sample", kwargs={"pk": world.cycle.pk}), {"confirm": "1", "reason": "设计变更"})
    assert resp.status_code == 302 and resp["Location"] == reverse("job_detail", kwargs={"pk": pending.pk})
    assert Job.objects.filter(kind="sample", cycle=world.cycle).count() == 1
