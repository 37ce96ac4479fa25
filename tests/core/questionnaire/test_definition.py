"""Questionnaire definitions: loading, saving, and every broken rule reported with its JSON path."""

from __future__ import annotations

import json

import pytest

from junheng.exceptions import InputError
from junheng.questionnaire import Questionnaire, load_questionnaire, save_questionnaire
from junheng.synth.questionnaire import student_questionnaire


def test_load_small(small_q):
    assert isinstance(small_q, Questionnaire)
    assert small_q.item_ids == ["Q01", "Q02", "Q03", "Q04", "Q05", "Q06"]
    q02 = small_q.item("Q02")
    assert q02.options == {1: "完全不同意", 2: "不太同意", 3: "比较同意", 4: "完全同意"}
    assert (q02.low, q02.high) == (1.0, 4.0)
    assert small_q.scales[0].reverse == ("Q04",) and small_q.scales[0].min_items == 2
    assert small_q.indicators[2].value == (1.0,)
    assert small_q.key_columns == ("学籍号",)


def test_save_and_load_round_trip(tmp_path, small_q):
    path = save_questionnaire(small_q, tmp_path / "q.json")
    assert load_questionnaire(path) == small_q
    assert "学习兴趣" in path.read_text(encoding="utf-8")  # Chinese kept readable
    full = student_questionnaire()
    assert load_questionnaire(save_questionnaire(full, tmp_path / "s.json")) == full


def test_options_as_a_list_and_default_min_items(small_def):
    small_def["items"][0]["options"] = [{"code": 1, "label": "寄宿"}, {"code": 2, "label": "不寄宿"}]
    del small_def["scales"][0]["min_items"]
    q = load_questionnaire(small_def)
    assert q.item("Q01").options == {1: "寄宿", 2: "不寄宿"}
    assert q.scales[0].min_items == 2  # half of 3 items, rounded up


def _issues(d) -> dict[str, str]:
    with pytest.raises(InputError) as exc:
        load_questionnaire(d)
    return {i.column: i.rule_en for i in exc.value.errors}


def test_every_broken_rule_at_once(small_def):
    d = small_def
    d["respondent"] = "parent"
    d["extra"] = 1
    d["items"][1]["options"] = {"1": "a", "A": "b", "9": "c"}          # bad code, a missing code as an option
    d["items"][3]["id"] = "Q01"                                       # duplicate id
    d["items"][4]["min"] = 20                                         # min above max
    d["items"][5]["type"] = "text"
    d["scales"][0]["items"] = ["Q02", "Q03", "Q99", "Q03"]            # unknown and repeated item
    d["scales"][0]["reverse"] = ["Q04"]                               # not in the scale any more
    d["scales"][0]["min_items"] = 7
    d["indicators"][0]["op"] = ">"
    d["indicators"][1]["item"] = "Q77"
    d["indicators"][2]["value"] = [1, 5]                              # 5 is not an option of Q01
    d["indicators"].append({"id": "interest", "name": "重名", "item": "Q01", "op": "==", "value": 1})
    got = _issues(d)
    assert got == {
        "respondent": "respondent must be student, principal or teacher",
        "extra": "unknown field",
        'items[1].options."A"': "option codes must be integers",
        'items[1].options."9"': "option code is one of the missing codes",
        "items[3].id": "duplicate item id",
        "items[4].max": "max is below min",
        "items[5].type": "type must be choice or number",
        "scales[0].items[2]": "unknown item in the scale",
        "scales[0].items[3]": "item listed twice in the scale",
        "scales[0].reverse[0]": "reverse-coded item is not in this scale",
        "scales[0].min_items": "must be a whole number from 1 to 4",
        "indicators[0].op": "op must be one of >=, <=, ==, in",
        "indicators[1].item": "unknown item",
        "indicators[2].value": "not an option code of the item",
        "indicators[3].id": "id already used by scales[0]",
    }


def test_messages_name_the_file_and_path(tmp_path, small_def):
    small_def["scales"][0]["items"].append("Q42")
    path = tmp_path / "问卷.json"
    path.write_text(json.dumps(small_def, ensure_ascii=False), encoding="utf-8-sig")  # with a BOM
    with pytest.raises(InputError) as exc:
        load_questionnaire(path)
    (issue,) = exc.value.errors
    assert issue.message() == ("问卷.json scales[0].items[3]: 量表中的题目未定义，实际为 'Q42' / "
                               "问卷.json, column scales[0].items[3]: unknown item in the scale; got 'Q42'")


def test_more_rules(small_def):
    d = small_def
    d["items"][0]["options"] = {"1": "只有一个"}
    d["items"][1]["id"] = "1abc"
    d["items"][2]["text"] = " "
    d["items"][3]["min"] = 1                                          # not a field of a choice item
    d["items"][4]["max"] = "十"
    d["missing_codes"] = [9, "x"]
    d["scales"][0]["items"] = ["Q05"]
    d["scales"][0]["reverse"] = []
    d["scales"][0]["min_items"] = 1
    d["items"][4]["max"] = "十"
    got = _issues(d)
    assert got["items[0].options"] == "a choice item needs at least 2 options"
    assert got["items[1].id"].startswith("id must start with a letter")
    assert got["items[2].text"] == "required, must be non-empty text"
    assert got["items[3].min"] == "not a field of a choice item"
    assert got["items[4].max"] == "must be a number"
    assert got["missing_codes[1]"] == "missing codes must be integers"
    assert got["scales[0].items[0]"] == "a number item needs min and max to enter a scale"


def test_unreadable_files(tmp_path):
    bad = tmp_path / "q.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="cannot read the JSON questionnaire definition"):
        load_questionnaire(bad)
    with pytest.raises(InputError, match="file not found"):
        load_questionnaire(tmp_path / "none.json")
    with pytest.raises(InputError, match="must be a JSON object"):
        load_questionnaire([])  # type: ignore[arg-type]
