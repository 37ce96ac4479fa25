"""The permission matrix, written once over every URL pattern the platform registers.

For every page, API and export: a persona outside county A (county B, a school of county B, a
school of county A other than the object's) asking for county A's object gets 404 when the
role may do the action and 403 when the role may never do it — never data; the persona the
object belongs to gets it.  Pages that are not about one object (lists, dashboards without a
region) are checked for leaks instead: an outsider's page never contains county A's names,
codes or pupils.  A URL pattern without an entry here fails ``test_it_has_an_entry_for_every_url``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from junheng_web.accounts.scoping import can
from tests.web.pages import without_csrf_tokens

pytestmark = pytest.mark.django_db

A_MARKERS = ("甲小学", "中原区", "410102", "A学生", "TA01", "4101020001")
# every region-bound role, placed outside county A's object: county B, a school in B, the other
# school of county A (gina), another city (otto), and a proctor, reviewer and scorer of county B
OUTSIDERS = ("charlie", "erin", "gina", "otto", "peter", "rachel", "scott")
PUBLIC = {"login", "logout", "password_change", "password_change_done", "set_language"}
# the pupil's browser test: no account; a signed cookie names one attempt (see test_pupil_pages_*)
PUPIL = {"delivery_signin": "get", "delivery_confirm": "get", "delivery_take": "get", "delivery_answers": "post",
         "delivery_submit": "post", "delivery_signout": "post", "delivery_sw": "get", "delivery_q_answers": "post",
         "delivery_q_submit": "post", "delivery_status": "get"}


@dataclass(frozen=True)
class Entry:
    name: str
    kwargs: object  # callable(world) -> dict
    action: str = "view"
    method: str = "get"
    data: object = None  # callable(world) -> dict
    bound: bool = True  # about one object of county A (else: a list, checked for leaks)
    owner: str = "bob"  # a persona who may reach county A's object
    owner_status: tuple = (200,)
    school_bound: bool = False  # the object belongs to school A (so gina is an outsider too)


def _cyc(w):
    return {"pk": w.cycle.pk}


MATRIX = [
    Entry("home", lambda w: {}, bound=False, owner="dave"),
    Entry("cycle_list", lambda w: {}, bound=False),
    Entry("cycle_create", lambda w: {}, action="cycle.create", bound=False, owner="alice"),
    Entry("cycle_detail", _cyc, bound=False),
    Entry("cycle_sample", _cyc, action="sample.run", method="post", bound=False, owner="alice",
          data=lambda w: {"confirm": "1", "reason": "matrix"}, owner_status=(302,)),
    Entry("sampled_schools", _cyc, bound=False),
    Entry("school_replace", lambda w: {"pk": w.cycle.pk, "ss": w.sampled["A"].pk}, action="school.replace",
          method="post", data=lambda w: {"status": "refused"}, owner_status=(302,)),
    Entry("school_confirm", lambda w: {"pk": w.cycle.pk, "ss": w.sampled["A"].pk}, action="school.replace",
          method="post", owner_status=(302,)),
    Entry("site_list", _cyc, bound=False),
    Entry("sites_per_school", _cyc, action="site.manage", method="post", bound=False, owner_status=(302,),
          data=lambda w: {"starts_at": "2022-06-16T09:00", "minutes": "60"}),
    Entry("site_detail", lambda w: {"pk": w.cycle.pk, "site": w.sites["A"].pk}, school_bound=True),
    Entry("site_pupils", lambda w: {"pk": w.cycle.pk, "site": w.sites["A"].pk}, action="sitelist.download",
          school_bound=True),
    Entry("session_material", lambda w: {"pk": w.cycle.pk, "site": w.sites["A"].pk, "session": w.sessions["A"].pk,
                                         "kind": "seating"}, action="sitelist.download", school_bound=True),
    Entry("upload", lambda w: {"pk": w.cycle.pk, "kind": "roster"}, action="roster.upload", bound=False,
          owner="dave"),
    Entry("upload_jobs", lambda w: {"pk": w.cycle.pk, "kind": "roster"}, action="roster.upload", bound=False,
          owner="dave"),
    Entry("upload_template", lambda w: {"pk": w.cycle.pk, "kind": "roster"}, action="roster.upload", bound=False,
          owner="dave"),
    Entry("school_status", _cyc, action="roster.upload", bound=False, owner="dave"),
    Entry("progress", _cyc, action="dashboard.view", bound=False),
    Entry("progress_json", _cyc, action="dashboard.view", bound=False),
    Entry("progress_region", lambda w: {"pk": w.cycle.pk, "code": "410102"}, action="dashboard.view"),
    Entry("progress_region_json", lambda w: {"pk": w.cycle.pk, "code": "410102"}, action="dashboard.view"),
    Entry("progress_overdue", _cyc, action="dashboard.view", bound=False),
    Entry("dashboard", _cyc, action="dashboard.view", bound=False),
    Entry("dashboard_json", _cyc, action="dashboard.view", bound=False),
    Entry("dashboard_region", lambda w: {"pk": w.cycle.pk, "code": "410102"}, action="dashboard.view"),
    Entry("dashboard_region_json", lambda w: {"pk": w.cycle.pk, "code": "410102"}, action="dashboard.view"),
    Entry("academic", _cyc, action="dashboard.view", bound=False),
    Entry("academic_json", _cyc, action="dashboard.view", bound=False),
    Entry("academic_region", lambda w: {"pk": w.cycle.pk, "code": "410102"}, action="dashboard.view"),
    Entry("academic_region_json", lambda w: {"pk": w.cycle.pk, "code": "410102"}, action="dashboard.view"),
    Entry("verdicts", _cyc, action="dashboard.view", bound=False),
    Entry("verdict_county", lambda w: {"pk": w.cycle.pk, "code": "410102"}, action="dashboard.view"),
    Entry("map_boundaries", lambda w: {}, action="dashboard.view", bound=False),
    Entry("map_upload", lambda w: {}, action="map.upload", bound=False, owner="alice"),
    Entry("job_detail", lambda w: {"pk": w.jobs["A"].pk}, action="job.view", school_bound=True),
    Entry("job_status", lambda w: {"pk": w.jobs["A"].pk}, action="job.view", school_bound=True),
    # the uploaded file itself, every pupil unmasked: only roles that may unmask (all of them have job.view)
    Entry("job_annotated", lambda w: {"pk": w.jobs["A"].pk}, action="sitelist.unmask", school_bound=True),
    Entry("search", lambda w: {}, bound=False, data=lambda w: {"q": "甲"}),
    Entry("audit_log", lambda w: {}, action="audit.view", bound=False, owner="alice"),
    Entry("report_county", lambda w: {"code": "410102", "fmt": "pdf"}),
    Entry("report_annual", lambda w: {"fmt": "html"}, action="report.annual", bound=False, owner="alice"),
    Entry("report_school", lambda w: {"code": "4101020001", "fmt": "html"}, school_bound=True),
    Entry("report_list", lambda w: {}, bound=False),
    Entry("report_counties", lambda w: {}, bound=False),
    Entry("report_schools", lambda w: {}, bound=False),
    Entry("questionnaire_list", _cyc, bound=False),
    Entry("questionnaire_define", _cyc, action="questionnaire.define", method="post", bound=False, owner="alice",
          owner_status=(302,)),
    Entry("questionnaire_summary", lambda w: {"pk": w.cycle.pk, "code": "S2022"}, action="dashboard.view",
          bound=False),
    Entry("questionnaire_summary_region", lambda w: {"pk": w.cycle.pk, "code": "S2022", "region": "410102"},
          action="dashboard.view"),
    Entry("review_queue", lambda w: {}, action="video.review", bound=False, owner="rita"),
    Entry("session_video", lambda w: {"session": w.sessions["A"].pk}, school_bound=True),
    Entry("recording_upload", lambda w: {"session": w.sessions["A"].pk}, action="video.upload", method="post",
          owner_status=(302,), school_bound=True),
    Entry("session_analyse", lambda w: {"session": w.sessions["A"].pk}, action="video.upload", method="post",
          owner_status=(302,), school_bound=True),
    Entry("flag_detail", lambda w: {"flag": w.video["flag"].pk}, action="video.review", owner="rita",
          school_bound=True),
    Entry("flag_review", lambda w: {"flag": w.video["flag"].pk}, action="video.review", method="post",
          data=lambda w: {"decision": "confirm", "note": "TA01", "acknowledged": "on"}, owner="rita", owner_status=(302,),
          school_bound=True),
    Entry("delivery_sessions", lambda w: {}, bound=False, owner="paul"),
    Entry("delivery_session", lambda w: {"session": w.sessions["A"].pk}, school_bound=True),
    Entry("delivery_session_json", lambda w: {"session": w.sessions["A"].pk}, school_bound=True),
    Entry("delivery_session_act", lambda w: {"session": w.sessions["A"].pk}, action="session.run", method="post",
          data=lambda w: {"action": "incident", "note": "matrix"}, school_bound=True, owner_status=(302,)),
    Entry("delivery_unlock", lambda w: {"session": w.sessions["A"].pk}, action="session.run", method="post",
          data=lambda w: {"number": "0123ABCD"}, school_bound=True, owner_status=(302,)),
    Entry("recording_file", lambda w: {"recording": w.video["recording"].pk}, action="video.review", owner="rita",
          school_bound=True),
    Entry("recording_thumb", lambda w: {"recording": w.video["recording"].pk, "name": "000010000.jpg"},
          action="video.review", owner="rita", school_bound=True),
    Entry("session_forensics", lambda w: {"session": w.sessions["A"].pk}, action="video.review", method="post",
          owner="rita", owner_status=(302,), school_bound=True),
    Entry("omr_queue", lambda w: {}, action="omr.review", bound=False, owner="rita"),
    Entry("omr_session", lambda w: {"session": w.sessions["A"].pk}, school_bound=True),
    Entry("omr_upload", lambda w: {"session": w.sessions["A"].pk}, action="omr.upload", method="post",
          owner_status=(302,), school_bound=True),
    Entry("omr_final", lambda w: {"upload": w.omr["upload"].pk}, action="omr.upload", method="post",
          owner_status=(302,), school_bound=True),
    Entry("omr_review", lambda w: {"review": w.omr["review"].pk}, action="omr.review", owner="rita",
          school_bound=True),
    Entry("omr_image", lambda w: {"review": w.omr["review"].pk}, action="omr.review", owner="rita",
          school_bound=True),
    Entry("omr_pupil", lambda w: {"sheet": w.omr["review"].sheet_id}, action="omr.review", owner="rita",
          school_bound=True),
    Entry("omr_id_image", lambda w: {"sheet": w.omr["review"].sheet_id}, action="omr.review", owner="rita",
          school_bound=True),
    Entry("omr_channel", lambda w: {"flag": w.omr["channel"].pk}, action="video.review", method="post",
          data=lambda w: {"choice": "browser", "note": "TA01"}, owner="rita", owner_status=(302,), school_bound=True),
]
BY_NAME = {e.name: e for e in MATRIX}


def _names(resolver=None, prefix="") -> set[str]:
    out = set()
    for p in (resolver or get_resolver()).url_patterns:
        if isinstance(p, URLResolver):
            if p.namespace == "admin":
                continue
            out |= _names(p, prefix)
        elif isinstance(p, URLPattern):
            out.add(p.name or f"<unnamed {p.pattern}>")
    return out


def test_it_has_an_entry_for_every_url():
    missing = sorted(_names() - set(BY_NAME) - PUBLIC - set(PUPIL))
    assert missing == [], f"URL patterns without a permission-matrix entry: {missing}"


@pytest.fixture
def matrix_world(world, academic):
    from junheng_web.accounts.models import User
    from junheng_web.assessment.scores import store_scores
    from junheng_web.registry.models import Region

    pw = world.users["dave"].password
    city2 = Region.objects.create(code="410200", level="city", name="开封市", parent=world.regions["province"])
    world.users["gina"] = User.objects.create(username="gina", role="school", school=world.schools["A2"], password=pw)
    world.users["otto"] = User.objects.create(username="otto", role="city", region=city2, password=pw)
    world.users["peter"] = User.objects.create(username="peter", role="proctor", school=world.schools["B"], password=pw)
    world.users["rachel"] = User.objects.create(username="rachel", role="reviewer", region=world.regions["B"],
                                                password=pw)
    world.users["scott"] = User.objects.create(username="scott", role="scorer", region=world.regions["B"], password=pw)
    path = Path(settings.MEDIA_ROOT) / "matrix" / "A-errors.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"A\xe7\x94\xb2")
    world.jobs["A"].annotated = str(path)
    world.jobs["A"].save()
    reports = Path(settings.REPORTS_DIR)
    (reports / "county").mkdir(parents=True, exist_ok=True)
    (reports / "county" / "410102.pdf").write_bytes("%PDF-1.7 中原区 410102".encode())
    (reports / "annual.html").write_text("<h1>年度报告</h1>", encoding="utf-8")
    (reports / "school").mkdir(parents=True, exist_ok=True)
    (reports / "school" / "4101020001.html").write_text("<h1>甲小学 4101020001</h1>", encoding="utf-8")
    _questionnaire(world)
    _video(world)
    _omr(world)
    store_scores(world.cycle, academic.scores_for(academic.sampled(world.cycle)))  # the academic pages have data
    return world


def _questionnaire(world) -> None:
    """A student questionnaire with one response of county A (so its pages have something to leak)."""
    from django.utils import timezone

    from junheng_web.questionnaires.models import QuestionnaireResponse
    from junheng_web.questionnaires.services import define

    q, _ = define(world.cycle, {"code": "S2022", "title": "学生问卷", "respondent": "student", "items": [
        {"id": "Q01", "text": "我喜欢我的学校", "type": "choice", "options": {"1": "不同意", "2": "同意"}}],
        "scales": [{"id": "LIKE", "name": "喜欢学校", "items": ["Q01"]}]})
    pupil = world.pupils["A"][0]
    QuestionnaireResponse.objects.create(cycle=world.cycle, questionnaire=q, respondent_id=pupil.student_id,
                                         pupil=pupil, school=pupil.school, answers={"Q01": 2},
                                         scores={"LIKE": 2.0}, updated_at=timezone.now())


def _video(world) -> None:
    """A recording of county A's session (its bytes name county A) with one open flag."""
    from junheng_web.supervision.models import Flag, Recording

    rel = Path("video") / "matrix" / "A.mp4"
    (Path(settings.MEDIA_ROOT) / rel).parent.mkdir(parents=True, exist_ok=True)
    (Path(settings.MEDIA_ROOT) / rel).write_bytes("中原区 410102 video".encode())
    session = world.sessions["A"]
    rec = Recording.objects.create(session=session, name="TA01-1.mp4", file=str(rel), checksum="a" * 64,
                                   started_at=session.starts_at, duration_s=60, status="analysed",
                                   analysis={"thumbs": [[10.0, "000010000.jpg"]]})
    thumb = Path(settings.MEDIA_ROOT) / "video" / "thumbs" / str(rec.pk) / "000010000.jpg"
    thumb.parent.mkdir(parents=True, exist_ok=True)
    thumb.write_bytes(b"\xff\xd8 410102 picture")
    flag = Flag.objects.create(session=session, recording=rec, start_s=10, end_s=20, kind="covered",
                               severity="serious", score=0.9)
    world.video = {"recording": rec, "flag": flag}


def _omr(world) -> None:
    """An upload of county A's session with one sheet (its picture) and one open review entry."""
    import cv2
    import numpy as np

    from junheng_web.omr.models import Review, Sheet, Upload

    session = world.sessions["A"]
    rel = Path("omr") / "matrix" / "A.jpg"
    (Path(settings.MEDIA_ROOT) / rel).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(Path(settings.MEDIA_ROOT) / rel), np.full((200, 300, 3), 255, np.uint8))
    upload = Upload.objects.create(session=session, name="TA01.pdf", sha256="b" * 64, path=str(rel))
    sheet = Sheet.objects.create(upload=upload, session=session, name="TA01.pdf:1", sha256="c" * 64, status="read",
                                 booklet="B1", person_id=world.pupils["A"][0].student_id, image=str(rel))
    review = Review.objects.create(sheet=sheet, session=session, kind="item", item_id="I4", choices="AB", read="A",
                                   confidence=0.2, box=[0, 0, 100, 50])
    from junheng_web.supervision.models import Flag

    channel = Flag.objects.create(session=session, start_s=0, end_s=0, kind="two_channels", severity="warning",
                                  person_id=sheet.person_id, detail="在线作答：TA01；答题卡：TA01.pdf:1",
                                  evidence={"sheet": sheet.sha256})
    world.omr = {"upload": upload, "review": review, "channel": channel}


def _request(client, entry: Entry, w):
    url = reverse(entry.name, kwargs=entry.kwargs(w))
    data = entry.data(w) if entry.data else {}
    return client.post(url, data) if entry.method == "post" else client.get(url, data)


def _body(resp) -> str:
    if getattr(resp, "streaming", False):
        return b"".join(resp.streaming_content).decode("utf-8", "replace")
    return resp.content.decode("utf-8", "replace")


def _leaks(body: str) -> list[str]:
    """County A's markers on a page, apart from inside its random CSRF tokens (see pages.py)."""
    text = without_csrf_tokens(body)
    return [m for m in A_MARKERS if m in text]


@pytest.mark.parametrize("entry", MATRIX, ids=lambda e: e.name)
def test_it_never_gives_county_a_to_an_outsider(client, matrix_world, entry):
    w = matrix_world
    seen = {}
    for who in OUTSIDERS:
        user = w.users[who]
        if who == "gina" and entry.bound and not entry.school_bound:
            continue  # gina is inside county A: county-level objects are hers to see
        client.force_login(user)
        resp = _request(client, entry, w)
        allowed = can(user, entry.action)
        if entry.bound:
            expected = (404,) if allowed else (403,)
        else:
            expected = (200, 302) if allowed else (403,)
        seen[who] = resp.status_code
        assert resp.status_code in expected, (who, entry.name, resp.status_code)
        if who != "gina":
            leaked = _leaks(_body(resp))
            assert leaked == [], f"{who} sees {leaked} on {entry.name}"
    assert len(seen) >= len(OUTSIDERS) - 1


@pytest.mark.parametrize("entry", MATRIX, ids=lambda e: e.name)
def test_it_gives_the_owner_their_object(client, matrix_world, entry):
    client.force_login(matrix_world.users[entry.owner])
    resp = _request(client, entry, matrix_world)
    assert resp.status_code in entry.owner_status, (entry.name, resp.status_code)


@pytest.mark.parametrize("entry", [e for e in MATRIX if e.method == "get"], ids=lambda e: e.name)
def test_it_sends_anonymous_users_to_sign_in(client, matrix_world, entry):
    resp = _request(client, entry, matrix_world)
    assert resp.status_code == 302 and resp["Location"].startswith("/accounts/login/")


def test_it_keeps_the_admin_to_superusers(client, matrix_world):
    for who in ("alice", "bob", "dave"):
        client.force_login(matrix_world.users[who])
        resp = client.get("/admin/registry/pupil/")
        assert resp.status_code == 302, who


def test_it_would_notice_a_leak(client, matrix_world):
    """The leak check is not vacuous: the owner's pages do show county A's markers."""
    client.force_login(matrix_world.users["bob"])
    body = _body(client.get(reverse("sampled_schools", kwargs={"pk": matrix_world.cycle.pk})))
    assert "甲小学" in body and "4101020001" in body
    assert {"甲小学", "4101020001"} <= set(_leaks(body))
    sites = _body(client.get(reverse("site_list", kwargs={"pk": matrix_world.cycle.pk})))
    assert "TA01" in _leaks(sites)  # county A's own site list: the code is in the table, outside any token


def test_a_csrf_token_that_spells_a_marker_is_not_a_leak(client, matrix_world, monkeypatch):
    """The flake this guards against: a random CSRF token containing "TA01" on county B's page.  With
    every token's mask forced to start with the marker, charlie's site list carries it in each form
    token (the raw check would fail exactly as it once did on PostgreSQL), and the leak check passes;
    the page's text is not touched."""
    import django.middleware.csrf as csrf

    monkeypatch.setattr(csrf, "_get_new_csrf_string", lambda: "TA01" + "x" * 28)
    client.force_login(matrix_world.users["charlie"])
    body = _body(client.get(reverse("site_list", kwargs={"pk": matrix_world.cycle.pk})))
    assert 'name="csrfmiddlewaretoken" value="TA01' in body
    assert _leaks(body) == [] and "TB01" in without_csrf_tokens(body)
    assert _leaks(body.replace("TB01", "TA01")) == ["TA01"]  # a real one would still be seen


@pytest.mark.parametrize("name", sorted(PUPIL))
def test_pupil_pages_give_nothing_without_the_pupils_own_cookie(client, matrix_world, name):
    """No staff login opens a pupil's attempt (the pages know only the signed attempt cookie): every
    persona, staff or anonymous, gets the sign-in page, a redirect to it or 403 — never a test page
    or county A's names."""
    for who in (None, "bob", "alice", *OUTSIDERS):
        if who:
            client.force_login(matrix_world.users[who])
        url = reverse(name)
        resp = client.post(url, "{}", content_type="application/json") if PUPIL[name] == "post" else client.get(url)
        assert resp.status_code in (200, 302, 403) and "delivery-data" not in _body(resp), (who, name)
        if resp.status_code == 302:
            assert resp["Location"] == reverse("delivery_signin")
        if who not in ("bob", "alice", "gina"):  # (county A's own staff see their own header)
            assert _leaks(_body(resp)) == [], (who, name)
        client.logout()


def test_pupil_pages_refuse_another_sessions_code_and_show_only_ones_own(client, matrix_world):
    """A code is checked against its own session's salted hash only: county B's pupil's code for
    B's session (B closed) opens nothing at A, and a signed-in pupil of B sees nothing of A."""
    import datetime as dt

    import polars as pl
    from django.utils import timezone

    from junheng_web.assessment.models import Booklet, BookletAssignment
    from junheng_web.testsites.models import TestSession
    from junheng_web.testsites.services import store_login_codes

    w = matrix_world
    now = timezone.now()
    TestSession.objects.filter(pk=w.sessions["A"].pk).update(starts_at=now, ends_at=now + dt.timedelta(hours=1))
    booklet = Booklet.objects.create(cycle=w.cycle, code="B1", subject="语文")
    pa, pb = w.pupils["A"][0], w.pupils["B"][0]
    for p in (pa, pb):
        BookletAssignment.objects.create(cycle=w.cycle, student_id=p.student_id, subject="语文", booklet=booklet, seed=1)
    store_login_codes(w.sessions["A"], pl.DataFrame({"student_id": [pa.student_id], "code": ["ACDEFGHJ"]}))
    store_login_codes(w.sessions["B"], pl.DataFrame({"student_id": [pb.student_id], "code": ["KMNPQRTW"]}))
    resp = client.post(reverse("delivery_signin"), {"code": "KMNPQRTW"})  # B's session is not open
    assert resp.status_code == 400 and "junheng_attempt" not in resp.cookies
    TestSession.objects.filter(pk=w.sessions["B"].pk).update(starts_at=now, ends_at=now + dt.timedelta(hours=1))
    assert client.post(reverse("delivery_signin"), {"code": "KMNPQRTW"}).status_code == 302
    for name in ("delivery_confirm", "delivery_take"):
        body = _body(client.get(reverse(name)))
        assert _leaks(body) == [] and pa.name[:1] + "*" not in without_csrf_tokens(body), name
