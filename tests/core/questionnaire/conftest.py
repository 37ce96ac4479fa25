"""A small questionnaire definition shared by the questionnaire tests."""

from __future__ import annotations

import copy

import pytest

LIKERT = {"1": "完全不同意", "2": "不太同意", "3": "比较同意", "4": "完全同意"}

SMALL = {
    "code": "T2022",
    "title": "测试问卷",
    "respondent": "student",
    "missing_codes": [9, 99],
    "items": [
        {"id": "Q01", "text": "你在学校寄宿吗？", "type": "choice", "options": {"1": "寄宿", "2": "不寄宿"}},
        {"id": "Q02", "text": "我喜欢学习", "type": "choice", "options": LIKERT},
        {"id": "Q03", "text": "学习对我来说是一件快乐的事", "type": "choice", "options": LIKERT},
        {"id": "Q04", "text": "我觉得学习很无聊", "type": "choice", "options": LIKERT},
        {"id": "Q05", "text": "你平均每天睡眠多少小时？", "type": "number", "min": 4, "max": 14, "unit": "小时"},
        {"id": "Q06", "text": "你平均每天完成作业用多少分钟？", "type": "number", "min": 0, "max": 300, "unit": "分钟",
         "integer": True},
    ],
    "scales": [{"id": "interest", "name": "学习兴趣", "items": ["Q02", "Q03", "Q04"], "reverse": ["Q04"],
                "min_items": 2}],
    "indicators": [
        {"id": "sleep_ok", "name": "睡眠达到 10 小时", "item": "Q05", "op": ">=", "value": 10},
        {"id": "homework_ok", "name": "作业不超过 60 分钟", "item": "Q06", "op": "<=", "value": 60},
        {"id": "boarding", "name": "寄宿", "item": "Q01", "op": "in", "value": [1]},
    ],
}


@pytest.fixture
def small_def() -> dict:
    return copy.deepcopy(SMALL)


@pytest.fixture
def small_q(small_def):
    from junheng.questionnaire import load_questionnaire

    return load_questionnaire(small_def)
