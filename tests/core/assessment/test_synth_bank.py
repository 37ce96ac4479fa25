"""The original grade-6 bank on the synthetic test's slots (issue 15.5): every slot of the demo's
test has real content, keys point at the right option, and the answers are checked against the
item's own text worked out here (the table's mean, the lever's balance, the fractions' product)."""

from __future__ import annotations

import base64
import re
from fractions import Fraction

import numpy as np
import polars as pl
import pytest

from junheng.assessment import bank_from_json, score_responses
from junheng.synth.responses import SUBJECTS, current_year, synth_tests


@pytest.fixture(scope="module")
def test():
    return synth_tests(2022)


def _right(item) -> str:
    return item.options["ABCD".index(item.key)]


def test_every_slot_has_written_content_and_the_bank_validates(test):
    bank = test.bank
    assert not [i.item_id for i in bank if re.fullmatch(r".{2}(选择题|建构题) .*", i.stem)]
    assert bank_from_json(bank.to_json()).items == bank.items  # the item-bank validator takes every item
    for subject in SUBJECTS:
        items = list(bank.for_subject(subject))
        formats = {("number" if i.key and i.format == "constructed" else i.format) for i in items}
        assert formats == {"single_choice", "constructed", "number"}, subject
        assert any(i.media for i in items) or subject == "语文", subject  # pictures in 数学, 英语, 科学
        assert any("\n|" in i.stem for i in items) or subject in ("语文", "英语"), subject  # tables
        assert len({(i.stem, i.media) for i in items}) == len(items), subject  # no item twice
    for i in bank:
        if i.format == "single_choice":
            assert len(set(i.options)) == 4 and i.key in "ABCD"
        elif i.key:  # numeric entry: a number, 0/1
            assert float(i.key) == float(i.key) and i.max_score == 1 and len(i.rubric) == 2
        else:
            assert i.max_score == 2 and len(i.rubric) == 3 and all(i.rubric)


def test_the_keys_are_the_right_answers_worked_out_from_the_stems(test):
    checked = 0
    for i in test.bank:
        if m := re.search(r"计算：(\d+)/(\d+) × (\d+)/(\d+)", i.stem):
            a, b, c, d = map(int, m.groups())
            assert Fraction(_right(i)) == Fraction(a, b) * Fraction(c, d)
        elif m := re.search(r"重 (\d+) 牛的石头，动力臂长 (\d+) 厘米，阻力臂长 (\d+) 厘米", i.stem):
            load, effort_arm, load_arm = map(int, m.groups())
            assert float(i.key) * effort_arm == load * load_arm  # the lever balances
        elif m := re.search(r"有 (\d+) 名学生，其中 (\d+)% 参加", i.stem):
            n, p = map(int, m.groups())
            assert _right(i) == f"{n * p // 100} 人" and n * p % 100 == 0
        elif m := re.search(r"解方程：(\d+)x \+ (\d+) = (\d+)", i.stem):
            a, b, c = map(int, m.groups())
            assert int(_right(i)) * a + b == c
        elif "读书时间（分钟）" in i.stem:
            lines = i.stem.splitlines()
            days = [x.strip() for x in next(x for x in lines if x.startswith("| 星期")).split("|")[2:-1]]
            minutes = [int(x) for x in next(x for x in lines if x.startswith("| 读书时间")).split("|")[2:-1]]
            mean = sum(minutes) / len(minutes)
            if i.format == "constructed":
                assert float(i.key) == mean
            else:
                assert _right(i) == "星期" + days[minutes.index(mean + 10)]
        elif m := re.search(r"There ___ (\d+|an?) ", i.stem):
            assert _right(i) == ("is" if m.group(1) in ("a", "an") else "are")
        else:
            continue
        checked += 1
    assert checked >= 40


def test_the_pictures_are_svg_carried_in_the_item(test):
    pictures = [m for i in test.bank for m in i.media]
    assert pictures and all(m.startswith("data:image/svg+xml;base64,") for m in pictures)
    svg = base64.b64decode(pictures[0].split(",", 1)[1]).decode()
    assert svg.startswith("<svg") and svg.endswith("</svg>")


def test_numeric_entry_is_simulated_as_a_score_code_and_scores(test):
    """The synthetic responses of numeric-entry items are 0/1 score codes (their 2PL slot), and the
    whole response file scores without an invalid code."""
    rng = np.random.default_rng(5)
    n = 700
    pupils = pl.DataFrame({"student_id": [f"s{k}" for k in range(n)], "school_code": rng.integers(0, 30, n).astype(str)})
    _, raw = current_year(pupils, test, random_state=3)
    numeric = [i.item_id for i in test.bank if i.format == "constructed" and i.key]
    codes = set(raw.filter(pl.col("item_id").is_in(numeric))["raw"].unique().to_list())
    assert codes <= {"", "0", "1"} and {"0", "1"} <= codes
    scored = score_responses(raw, test.bank)
    assert scored.filter(pl.col("status") == "invalid").height == 0
