"""The field rules of a result package's records and of a site package's contents, at their
boundaries, worked by hand from the database's columns: student_id CharField(max_length=32), a
PositiveIntegerField's largest value 2^31 − 1, a PositiveSmallIntegerField's 2^15 − 1; every key
node.json must carry; a field a model does not have."""

from __future__ import annotations

import json
import types
import uuid

import pytest

from junheng.exceptions import InputError

AT = "2026-05-10T09:00:00+08:00"


def _results(**change) -> dict:
    att = str(uuid.uuid4())
    attempt = {"id": att, "session": 1, "student_id": "S" * 32, "booklet": 1, "started_at": AT, "submitted_at": None,
               "lease": 2**31 - 1}
    event = {"id": str(uuid.uuid4()), "session": 1, "student_id": "", "action": "pause", "minutes": 2**15 - 1,
             "note": "", "by": "p" * 150, "at": AT}
    data = {"attempts": [attempt], "leases": [{"attempt": att, "number": 0, "started_at": AT}], "answers": [],
            "events": [event], "questionnaires_done": [[att, 1]]}
    for where, value in change.items():
        key, field = where.split("__")
        (data[key][0] if isinstance(data[key][0], dict) else data[key])[field if field else 0] = value
    return data


def _bad(data) -> set:
    from junheng_web.delivery.result_records import check_results

    return {(i.column, i.value) for i in check_results(data, "A.jhresult")}


def test_every_field_at_its_largest_allowed_value_passes():
    assert _bad(_results()) == set()


@pytest.mark.parametrize(("change", "column", "value"), [
    ({"attempts__student_id": "S" * 33}, "attempts[1].student_id", "S" * 33),  # 33 characters > 32
    ({"attempts__lease": 2**31}, "attempts[1].lease", str(2**31)),
    ({"leases__number": -1}, "leases[1].number", "-1"),
    ({"events__minutes": 2**15}, "events[1].minutes", str(2**15)),
    ({"events__by": "p" * 151}, "events[1].by", "p" * 80),  # the value shown is cut at 80 characters
    ({"attempts__started_at": "2026-05-10T09:00:00"}, "attempts[1].started_at", "2026-05-10T09:00:00"),
])
def test_one_past_each_boundary_is_named(change, column, value):
    assert _bad(_results(**change)) == {(column, value)}


def test_a_questionnaire_done_pair_must_name_an_attempt_uuid_and_an_id():
    data = _results()
    data["questionnaires_done"] = [["not-a-uuid", 1], [data["attempts"][0]["id"], 0]]
    assert _bad(data) == {("questionnaires_done[1]", str(["not-a-uuid", 1])),
                          ("questionnaires_done[2]", str([data["attempts"][0]["id"], 0]))}


NODE_KEYS = ("site", "site_name", "cycle", "package_id", "site_key", "result_key", "tls_key", "tls_cert")


@pytest.mark.parametrize("missing", NODE_KEYS)
def test_a_site_package_without_a_node_key_or_with_an_unknown_field_is_refused_whole(missing):
    from junheng_web.delivery.sitenode import NODE_FILE, RECORDS, _site_contents

    node = {k: "x" for k in NODE_KEYS if k != missing}
    records = [{"model": "registry.school", "pk": 1, "fields": {"name": "一中", "no_such_field": 1}}]
    pkg = types.SimpleNamespace(files={NODE_FILE: json.dumps(node).encode(), RECORDS: json.dumps(records).encode()})
    with pytest.raises(InputError) as got:
        _site_contents(pkg, "A.jhsite")
    assert {(i.file, i.column) for i in got.value.errors} == {("A.jhsite › node.json", missing),
                                                              ("A.jhsite › records.json", "[1].no_such_field")}


@pytest.mark.parametrize("files", [{}, {"results.json": b"{not json"}, {"results.json": "\u5b66".encode("utf-16")}])
def test_a_result_package_without_its_records_or_with_no_json_names_the_package_and_member(files):
    from junheng_web.delivery.sitenode import _checked_records

    with pytest.raises(InputError) as got:
        _checked_records(types.SimpleNamespace(files=files), "A.jhresult")
    assert [i.file for i in got.value.errors] == ["A.jhresult › results.json"]


@pytest.mark.parametrize("member", ["node.json", "records.json"])
def test_a_site_package_missing_a_member_names_the_package_and_that_member(member):
    from junheng_web.delivery.sitenode import NODE_FILE, RECORDS, _site_contents

    files = {NODE_FILE: json.dumps({k: "x" for k in NODE_KEYS}).encode(), RECORDS: b"[]"}
    del files[member]
    with pytest.raises(InputError) as got:
        _site_contents(types.SimpleNamespace(files=files), "A.jhsite")
    assert [i.file for i in got.value.errors] == [f"A.jhsite › {member}"]


def test_the_records_written_are_the_records_checked_one_definition():
    """``export_row`` (what a site node writes) and ``check_results`` (what the centre accepts) both
    follow ``result_records.MODELS``: a record of every list, written from model instances, passes;
    its keys are its model's fields."""
    import datetime as dt

    from junheng_web.assessment.models import Item
    from junheng_web.delivery.models import (
        Answer,
        Attempt,
        Lease,
        PageContact,
        ProctorEvent,
        QuestionnaireAnswer,
    )
    from junheng_web.delivery.result_records import FIELDS, MODELS, check_results, export_row

    at = dt.datetime(2026, 5, 10, 1, tzinfo=dt.UTC)
    att = Attempt(id=uuid.uuid4(), session_id=1, student_id="S1", booklet_id=2, started_at=at, lease=1)
    ans = Answer(id=uuid.uuid4(), attempt=att, item=Item(item_id="MA-1"), raw="B", seq=1, lease=1, received_at=at)
    data = {"attempts": [export_row(att)],
            "leases": [export_row(Lease(attempt=att, number=1, started_at=at))],
            "answers": [export_row(ans)],
            "events": [export_row(ProctorEvent(id=uuid.uuid4(), session_id=1, action="pause", minutes=None, at=at))],
            "questionnaire_answers": [export_row(QuestionnaireAnswer(id=uuid.uuid4(), attempt=att, questionnaire_id=3,
                                                                     item="Q1", raw="2", seq=1, received_at=at))],
            "contacts": [export_row(PageContact(attempt=att, lease=1, first_at=at, last_at=at, beats=3, gap_s=25.0))]}
    assert check_results(data, "A.jhresult") == []
    assert data["answers"][0]["item"] == "MA-1" and data["attempts"][0]["id"] == str(att.id)
    assert {k: set(v[0]) for k, v in data.items()} == {k: set(FIELDS[k]) for k in MODELS}


def test_a_field_of_a_type_without_a_rule_stops_the_import_instead_of_going_unchecked():
    from django.db import models

    from junheng_web.delivery.result_records import _rule

    field = models.JSONField()
    field.set_attributes_from_name("extra")
    field.model = types.SimpleNamespace(__name__="Attempt")
    with pytest.raises(TypeError, match="no rule for Attempt.extra"):
        _rule(field)
