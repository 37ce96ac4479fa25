"""Questionnaire pages: the upload (every row error on the job page and in the annotated
workbook, then the fixed file), the list per county through ``restrict``, the definition upload,
the region summary (hand-worked weighted means), and the collection-progress measure."""

from __future__ import annotations

import io
import json

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

BELONG = [7 / 3, 8 / 3, 5 / 3, 10 / 3, 7 / 3, 8 / 3]  # conftest.answers(), worked by hand
SLEEP10 = [False, False, False, False, True, True]


def _upload(client, world, q, path):
    with path.open("rb") as fh:
        return client.post(reverse("upload", kwargs={"pk": world.cycle.pk, "kind": "questionnaire"}),
                           {"questionnaire": q.pk, "file": fh})


def _progress(client, world, who="bob"):
    client.force_login(world.users[who])
    rows = client.get(reverse("progress_json", kwargs={"pk": world.cycle.pk})).json()
    return {r["code"]: r for r in rows["counties"]}, {r["code"]: r for r in rows["totals"]}


def test_a_school_sees_every_row_error_then_its_fixed_file_moves_the_progress(client, world, defined, tmp_path,
                                                                              eager_jobs, qf):
    from openpyxl import load_workbook

    from junheng_web.accounts.models import AuditLog
    from junheng_web.questionnaires.models import QuestionnaireResponse

    counties, totals = _progress(client, world)
    assert counties["410102"]["pupils_questionnaire"] == 0
    client.force_login(world.users["dave"])
    page = client.get(reverse("upload", kwargs={"pk": world.cycle.pk, "kind": "questionnaire"}))
    assert "S2022" in page.content.decode() and 'name="questionnaire"' in page.content.decode()
    bad = qf.write_xlsx(tmp_path / "学生问卷.xlsx", qf.STUDENT_HEADERS,
                        qf.answers(world.pupils["A"], overrides={0: {"Q01 我喜欢我的学校": "7"}, 4: {"Q04": "x"}}),
                        title="甲小学 学生问卷")
    resp = _upload(client, world, defined["student"], bad)
    assert resp.status_code == 302
    page = client.get(resp["Location"])
    job, body = page.context["job"], page.content.decode()
    assert job.status == "failed" and job.kind == "questionnaire"
    assert {(i["row"], i["column"]) for i in job.issues} >= {(3, "Q01 我喜欢我的学校"), (7, "Q04")}
    assert {i["file"] for i in job.issues} == {"学生问卷.xlsx"}  # the name the school uploaded
    assert "7" in body and "未写入任何数据" in body
    assert QuestionnaireResponse.objects.count() == 0
    got = client.get(reverse("job_annotated", kwargs={"pk": job.pk}))
    assert got.status_code == 200
    ws = load_workbook(io.BytesIO(b"".join(got.streaming_content)))["问卷"]
    assert ws.cell(3, 2).comment is not None and ws.cell(7, 5).comment is not None

    good = qf.write_xlsx(tmp_path / "学生问卷-改.xlsx", qf.STUDENT_HEADERS, qf.answers(world.pupils["A"][:4]))
    job = client.get(_upload(client, world, defined["student"], good)["Location"]).context["job"]
    assert job.status == "done" and (job.result["created"], job.result["unchanged"]) == (4, 0)
    counties, totals = _progress(client, world)
    assert (counties["410102"]["pupils"], counties["410102"]["pupils_questionnaire"]) == (6, 4)
    counties, totals = _progress(client, world, "alice")
    assert counties["410103"]["pupils_questionnaire"] == 0
    assert (totals["410100"]["pupils_questionnaire"], totals[""]["pupils_questionnaire"]) == (4, 4)
    assert "questionnaire" in client.get(reverse("progress", kwargs={"pk": world.cycle.pk})).content.decode()
    actions = list(AuditLog.objects.filter(username="dave").values_list("action", flat=True))
    assert actions.count("upload") == 2 and "download-unmasked" in actions  # the annotated workbook names pupils


def test_the_upload_page_says_when_no_questionnaire_is_defined(client, world):
    client.force_login(world.users["dave"])
    page = client.get(reverse("upload", kwargs={"pk": world.cycle.pk, "kind": "questionnaire"}))
    assert page.status_code == 200 and page.context["form"] is None
    assert "尚未定义问卷" in page.content.decode()


def test_roles_without_the_upload_permission_get_403(client, world, defined):
    for who in ("frank", "anna", "paul"):
        client.force_login(world.users[who])
        assert client.get(reverse("upload", kwargs={"pk": world.cycle.pk, "kind": "questionnaire"})).status_code == 403


def _store(world, q, pupils, tmp_path, qf, who):
    from junheng_web.questionnaires.services import import_responses

    path = qf.write_xlsx(tmp_path / f"{who}.xlsx", qf.STUDENT_HEADERS, qf.answers(pupils))
    return import_responses(path, world.cycle, q, world.users[who], file_name=path.name)


def test_the_list_shows_responses_per_county_inside_the_users_area(client, world, defined, tmp_path, qf):
    _store(world, defined["student"], world.pupils["A"], tmp_path, qf, "dave")
    _store(world, defined["student"], world.pupils["B"][:3], tmp_path, qf, "erin")
    url = reverse("questionnaire_list", kwargs={"pk": world.cycle.pk})
    client.force_login(world.users["alice"])
    rows = {r["code"]: r["counts"] for r in client.get(url).context["rows"]}
    order = [q.code for q in client.get(url).context["questionnaires"]]
    assert rows == {"410102": [6 if c == "S2022" else 0 for c in order],
                    "410103": [3 if c == "S2022" else 0 for c in order]}
    client.force_login(world.users["bob"])
    page = client.get(url)
    assert [r["code"] for r in page.context["rows"]] == ["410102"] and "二七区" not in page.content.decode()
    client.force_login(world.users["erin"])  # a school: its own county's row, its own responses
    assert {r["code"]: max(r["counts"]) for r in client.get(url).context["rows"]} == {"410103": 3}


def test_only_the_province_admin_defines_a_questionnaire(client, world, qf):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from junheng_web.questionnaires.models import Questionnaire

    url = reverse("questionnaire_define", kwargs={"pk": world.cycle.pk})
    for who in ("bob", "dave", "anna"):
        client.force_login(world.users[who])
        f = SimpleUploadedFile("s.json", json.dumps(qf.STUDENT).encode())
        assert client.post(url, {"definition": f}).status_code == 403
    client.force_login(world.users["alice"])
    resp = client.post(url, {"definition": SimpleUploadedFile("s.json", json.dumps(qf.STUDENT).encode())},
                       follow=True)
    assert Questionnaire.objects.get(cycle=world.cycle, code="S2022").definition["scales"][0]["id"] == "BELONG"
    assert "S2022" in resp.content.decode()
    resp = client.post(url, {"definition": SimpleUploadedFile("x.json", b'{"code": "X", "items": 3}')}, follow=True)
    body = resp.content.decode()
    assert "respondent" in body and "items" in body and Questionnaire.objects.count() == 1


def test_the_summary_is_the_weighted_mean_worked_by_hand(client, world, defined, tmp_path, qf):
    from junheng_web.sampling.models import SampledPupil

    q = defined["student"]
    _store(world, q, world.pupils["A"], tmp_path, qf, "dave")
    _store(world, q, world.pupils["B"][:2], tmp_path, qf, "erin")
    url = reverse("questionnaire_summary_region", kwargs={"pk": world.cycle.pk, "code": q.code, "region": "410102"})
    client.force_login(world.users["bob"])
    data = client.get(url).context["data"]
    assert not data["weighted"] and data["n"] == 6
    belong, sleep = data["overall"]
    assert belong["estimate"] == pytest.approx(sum(BELONG) / 6) and belong["n"] == 6
    assert sleep["estimate"] == pytest.approx(2 / 6)
    assert [p["code"] for p in data["parts"]] == ["4101020001"]

    weights = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    for p, w in zip(world.pupils["A"], weights):
        SampledPupil.objects.filter(cycle=world.cycle, pupil=p).update(weight=w)
    data = client.get(url).context["data"]
    belong, sleep = data["overall"]
    assert data["weighted"]
    assert belong["estimate"] == pytest.approx(sum(w * b for w, b in zip(weights, BELONG)) / 21)
    assert sleep["estimate"] == pytest.approx((5 + 6) / 21)
    assert belong["flag"]  # 6 respondents, 1 school: below the reporting rule, flagged

    client.force_login(world.users["alice"])  # the province: one row per city
    data = client.get(reverse("questionnaire_summary", kwargs={"pk": world.cycle.pk, "code": q.code})).context["data"]
    assert [(p["code"], p["n"]) for p in data["parts"]] == [("410100", 6)]  # B's pupils have no weight yet


def test_a_county_cannot_see_another_countys_summary(client, world, defined):
    q = defined["student"]
    client.force_login(world.users["bob"])
    url = reverse("questionnaire_summary_region", kwargs={"pk": world.cycle.pk, "code": q.code, "region": "410103"})
    assert client.get(url).status_code == 404
    client.force_login(world.users["dave"])  # a school operator has no dashboards
    assert client.get(url.replace("410103", "410102")).status_code == 403
    client.force_login(world.users["alice"])
    assert client.get(url).status_code == 200
    missing = reverse("questionnaire_summary", kwargs={"pk": world.cycle.pk, "code": "NOPE"})
    assert client.get(missing).status_code == 404


def test_the_pages_are_in_english_once_english_is_chosen(client, world, defined, tmp_path, qf):
    from django.conf import settings

    _store(world, defined["student"], world.pupils["A"], tmp_path, qf, "dave")
    client.force_login(world.users["alice"])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    body = client.get(reverse("questionnaire_summary_region", kwargs={
        "pk": world.cycle.pk, "code": "S2022", "region": "410102"})).content.decode()
    assert "Scale mean" in body and "Proportion" in body and "6 responses." in body and "Schools" in body
    body = client.get(reverse("questionnaire_list", kwargs={"pk": world.cycle.pk})).content.decode()
    assert "Responses per county" in body and "Define a questionnaire" in body
    body = client.get(reverse("upload", kwargs={"pk": world.cycle.pk, "kind": "questionnaire"})).content.decode()
    assert "One row per respondent" in body


def test_the_standard_error_treats_schools_as_clusters(client, world, defined, tmp_path, qf):
    """Two schools (one PSU each, one stratum): the linearised variance of a ratio mean worked in
    NumPy — z_i = w_i (x_i − θ) / Σw summed per school, V = n/(n − 1) Σ_j (z_j − z̄)²."""
    import numpy as np

    from junheng_web.sampling.models import SampledPupil

    q = defined["student"]
    _store(world, q, world.pupils["A"], tmp_path, qf, "dave")
    _store(world, q, world.pupils["B"][:4], tmp_path, qf, "erin")
    w = {"A": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "B": [2.0, 2.0, 3.0, 3.0]}
    for key, weights in w.items():
        for p, wt in zip(world.pupils[key], weights):
            SampledPupil.objects.filter(cycle=world.cycle, pupil=p).update(weight=wt)
    client.force_login(world.users["frank"])  # the city: both counties
    data = client.get(reverse("questionnaire_summary_region", kwargs={"pk": world.cycle.pk, "code": q.code,
                                                                      "region": "410100"})).context["data"]
    x = np.array(BELONG + BELONG[:4])
    wt = np.array(w["A"] + w["B"])
    school = np.array([0] * 6 + [1] * 4)
    theta = (wt * x).sum() / wt.sum()
    z = wt * (x - theta) / wt.sum()
    zj = np.array([z[school == j].sum() for j in (0, 1)])
    se = np.sqrt(2 / 1 * ((zj - zj.mean()) ** 2).sum())
    belong = data["overall"][0]
    assert data["weighted"] and belong["estimate"] == pytest.approx(theta)
    assert belong["se"] == pytest.approx(se) and se > 0
    assert [(p["code"], p["n"]) for p in data["parts"]] == [("410102", 6), ("410103", 4)]


def test_with_stored_replicate_weights_the_summary_uses_the_cycles_replicate_design(client, world, defined,
                                                                                     tmp_path, qf):
    """Issue 13.7: one estimation path.  Once the cycle has a weight set, the summary's SE is the
    replicate SE of the reports and ``junheng survey estimate`` (JK2 written out here: two zones,
    one per school, each school's two halves), not a linearised SE without the design's strata."""
    import numpy as np
    import polars as pl

    from junheng_web.sampling.services import store_weights

    q = defined["student"]
    _store(world, q, world.pupils["A"], tmp_path, qf, "dave")
    _store(world, q, world.pupils["B"], tmp_path, qf, "erin")
    ids = [p.student_id for k in ("A", "B") for p in world.pupils[k]]
    w = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0])
    school = np.repeat([0, 1], 6)
    member = np.tile([0, 1, 0, 1, 0, 1], 2)
    reps = {f"rep_{r + 1}": np.where(school == r, np.where(member == 0, 0.0, 2 * w), w) for r in range(2)}
    store_weights(world.cycle, pl.DataFrame({"student_id": ids, "weight": w, **reps}), method="jk2")
    client.force_login(world.users["frank"])
    data = client.get(reverse("questionnaire_summary_region", kwargs={"pk": world.cycle.pk, "code": q.code,
                                                                      "region": "410100"})).context["data"]
    x = np.array(BELONG + BELONG)
    theta = (w * x).sum() / w.sum()
    se = np.sqrt(sum(((reps[k] * x).sum() / reps[k].sum() - theta) ** 2 for k in reps))
    belong = data["overall"][0]
    assert data["weighted"] and belong["estimate"] == pytest.approx(theta)
    assert belong["se"] == pytest.approx(se) and se > 0
