"""Item bank: JSON schema validation (every problem reported), JSON and QTI 3.0 round trips."""

from __future__ import annotations

import json
import zipfile
from xml.etree import ElementTree as ET

import pytest

from junheng.assessment import bank_from_json, item_to_qti, load_bank, read_qti, save_bank, write_qti
from junheng.assessment.qti import QTI_NS
from junheng.exceptions import InputError

DOC = {"schema": "junheng.itembank/1", "items": [
    {"item_id": "M001", "subject": "数学", "format": "single_choice", "key": "C", "options": ["1/2", "1/3", "2/3", "3/4"],
     "stem": "下列分数中最大的是？", "content_domain": "数与代数", "cognitive_level": "理解", "status": "operational",
     "usage": [{"year": 2022, "block": "K1", "p_value": 0.61, "n": 4000}], "media": ["img/m001.png"]},
    {"item_id": "S002", "subject": "科学", "format": "multiple_choice", "key": "CA", "max_score": 2,
     "options": ["铁", "木头", "铜", "塑料"], "stem": "哪些能导电？", "status": "anchor"},
    {"item_id": "C003", "subject": "语文", "format": "constructed", "max_score": 2,
     "rubric": ["未作答或错误", "部分正确", "完整正确"], "content_domain": "阅读"},
]}


def test_json_round_trip(tmp_path):
    bank = bank_from_json(DOC)
    assert bank["S002"].key == "AC"  # normalised
    path = save_bank(bank, tmp_path / "bank.json")
    again = load_bank(path)
    assert again == bank
    assert json.loads(path.read_text("utf-8"))["items"][0]["stem"] == "下列分数中最大的是？"


def test_score_tables():
    bank = bank_from_json(DOC)
    assert bank["M001"].score_table() == {"A": 0, "B": 0, "C": 1, "D": 0}
    mc = bank["S002"].score_table()
    assert len(mc) == 15 and mc["AC"] == 2 and mc["A"] == 1 and mc["C"] == 1 and mc["AB"] == 0 and mc["ACD"] == 0
    assert bank["C003"].score_table() == {"0": 0, "1": 1, "2": 2}


def test_every_problem_is_reported():
    bad = {"schema": "junheng.itembank/1", "items": [
        {"item_id": "X1", "subject": "物理", "format": "single_choice", "key": "E", "options": ["a", "b"]},
        {"item_id": "X2", "subject": "数学", "format": "essay"},
        {"item_id": "X1", "subject": "数学", "format": "single_choice", "key": "A", "options": ["a", "b"], "colour": 1},
        {"item_id": "X4", "subject": "语文", "format": "constructed", "max_score": 2, "rubric": ["only one"]},
    ]}
    with pytest.raises(InputError) as exc:
        bank_from_json(bad, "bank.json")
    cols = {i.column for i in exc.value.issues}
    assert {"items[0].subject", "items[0].key", "items[1].format", "items[2].colour", "items[3].rubric"} <= cols
    assert any("物理" in i.message() and "subject must be one of" in i.message() for i in exc.value.issues)
    with pytest.raises(InputError, match="schema"):
        bank_from_json({"items": []})


def test_qti_document_structure():
    bank = bank_from_json(DOC)
    root = ET.fromstring(item_to_qti(bank["S002"]))
    q = lambda t: f"{{{QTI_NS}}}{t}"  # noqa: E731
    assert root.tag == q("qti-assessment-item") and root.get("identifier") == "S002"
    rd = root.find(q("qti-response-declaration"))
    assert rd.get("cardinality") == "multiple" and rd.get("base-type") == "identifier"
    assert [v.text for v in rd.iter(q("qti-value"))] == ["A", "C"]
    ci = root.find(f"{q('qti-item-body')}/{q('qti-choice-interaction')}")
    assert ci.get("response-identifier") == "RESPONSE" and ci.get("max-choices") == "0"
    assert [c.get("identifier") for c in ci.findall(q("qti-simple-choice"))] == list("ABCD")
    assert root.find(q("qti-response-processing")).get("template").endswith("match_correct.xml")
    with pytest.raises(ValueError):
        item_to_qti(bank["C003"])


@pytest.mark.parametrize("target", ["pkg", "pkg.zip"])
def test_qti_round_trip(tmp_path, target):
    bank = bank_from_json(DOC)
    path, skipped = write_qti(bank, tmp_path / target)
    assert skipped == ["C003"]
    if target.endswith(".zip"):
        assert "imsmanifest.xml" in zipfile.ZipFile(path).namelist()
    again = read_qti(path)
    want = bank.subset(["M001", "S002"])
    # usage history is bank-only; everything QTI or the manifest carries comes back
    strip = lambda b: [(i.item_id, i.subject, i.format, i.key, i.options, i.stem, i.max_score, i.content_domain,  # noqa: E731
                        i.cognitive_level, i.status, i.media) for i in b]
    assert strip(again) == strip(want)
    assert load_bank(path) == again


def test_qti_bad_xml_reported(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.xml").write_text("<qti-assessment-item", "utf-8")
    with pytest.raises(InputError, match="malformed XML"):
        read_qti(tmp_path / "pkg")
