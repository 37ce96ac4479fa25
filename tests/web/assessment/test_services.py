"""Assessment services: bank import/export (all or nothing, idempotent), designs, assignment, human scores."""

from __future__ import annotations

import json

import polars as pl
import pytest

from junheng.assessment import assemble_blocks, cyclic_bib, load_bank
from junheng.exceptions import InputError, ParameterError

pytestmark = pytest.mark.django_db

BANK = {"schema": "junheng.itembank/1", "items": [
    {"item_id": f"M{j:03d}", "subject": "数学", "format": "single_choice", "key": "ABCD"[j % 4],
     "options": ["1", "2", "3", "4"], "status": "operational", "usage": [{"year": 2021, "block": "K1"}]}
    for j in range(20)] + [
    {"item_id": "MC01", "subject": "数学", "format": "constructed", "max_score": 2, "rubric": ["0", "1", "2"]},
]}


@pytest.fixture
def cycle():
    from junheng_web.registry.models import Cycle

    return Cycle.objects.create(year=2022, grade=6, subjects=["数学"])


@pytest.fixture
def bank_file(tmp_path):
    p = tmp_path / "bank.json"
    p.write_text(json.dumps(BANK, ensure_ascii=False), "utf-8")
    return p


def test_it_imports_idempotently_and_exports(bank_file, tmp_path):
    from junheng_web.assessment import services
    from junheng_web.assessment.models import Item, ItemUsage

    r = services.import_item_bank(bank_file)
    assert (r.created, r.updated, r.unchanged) == (21, 0, 0)
    r = services.import_item_bank(bank_file)
    assert (r.created, r.updated, r.unchanged) == (0, 0, 21)
    assert Item.objects.count() == 21 and ItemUsage.objects.count() == 20
    out, skipped = services.export_item_bank(tmp_path / "out.json")
    assert load_bank(out) == load_bank(bank_file)
    _, skipped = services.export_item_bank(tmp_path / "qti.zip", fmt="qti")
    assert skipped == ["MC01"]


def test_it_writes_nothing_when_one_item_is_bad(tmp_path):
    from junheng_web.assessment import services
    from junheng_web.assessment.models import Item

    doc = json.loads(json.dumps(BANK))
    doc["items"][5]["key"] = "Z"
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(doc), "utf-8")
    with pytest.raises(InputError) as exc:
        services.import_item_bank(p)
    assert exc.value.issues[0].column == "items[5].key"
    assert Item.objects.count() == 0


def test_it_stores_designs_and_assigns(bank_file, cycle):
    from junheng_web.assessment import services
    from junheng_web.assessment.models import BookletAssignment

    services.import_item_bank(bank_file)
    items = pl.DataFrame({"item_id": [f"M{j:03d}" for j in range(20)] + ["MC01"]})
    blocks = assemble_blocks(items, 7, random_state=1)
    design = cyclic_bib(7, 3)
    services.save_design(cycle, "数学", design, blocks)
    again, frame = services.design_from_db(cycle, "数学")
    assert again == design and frame.height == 21
    pupils = pl.DataFrame({"student_id": [f"s{i}" for i in range(70)], "school_code": ["A"] * 35 + ["B"] * 35})
    out = services.assign(cycle, pupils, seed=3)
    assert BookletAssignment.objects.filter(cycle=cycle).count() == 70
    assert services.assignment_frame(cycle).sort("student_id").equals(
        out.select("student_id", "school_code", "subject", "booklet").sort("student_id"))
    assert out.group_by("booklet").len()["len"].to_list() == [10] * 7
    services.assign(cycle, pupils, seed=3)  # re-run: same rows, no duplicates
    assert BookletAssignment.objects.filter(cycle=cycle).count() == 70
    with pytest.raises(ParameterError, match="already assigned"):
        services.save_design(cycle, "数学", design, blocks)


def test_it_reports_every_bad_marking_and_computes_agreement(bank_file, cycle):
    from junheng_web.assessment import services
    from junheng_web.assessment.models import HumanScore

    services.import_item_bank(bank_file)
    bad = pl.DataFrame({"student_id": ["s1", "s1", "s2"], "item_id": ["MC01", "M001", "ZZZ"],
                        "rater": ["r1", "r1", "r1"], "score": [3, 1, 1]})
    with pytest.raises(InputError) as exc:
        services.record_human_scores(cycle, bad, file="marks.csv")
    assert [(i.row, i.column) for i in exc.value.issues] == [(2, "score"), (3, "item_id"), (4, "item_id")]
    assert HumanScore.objects.count() == 0
    good = pl.DataFrame({"student_id": ["s1", "s1", "s2", "s2", "s3", "s3"], "item_id": ["MC01"] * 6,
                         "rater": ["r1", "r2"] * 3, "score": [2, 2, 1, 0, 0, 0]})
    assert services.record_human_scores(cycle, good) == 6
    services.record_human_scores(cycle, good)
    assert HumanScore.objects.count() == 6
    rep = services.agreement_report(cycle).row(0, named=True)
    assert rep["n_double"] == 3 and rep["exact"] == pytest.approx(2 / 3)
    res = services.resolved_human_scores(cycle).sort("person_id")
    assert res["score"].to_list() == [2, 0, 0]
