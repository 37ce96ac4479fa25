"""Questionnaire definitions and real response files (xlsx via openpyxl with a title row, CSV as
GB18030 / UTF-8 bytes) for the questionnaire tests, over the two-county ``world`` of tests/web.

The student questionnaire has one scale and one indicator whose values are worked by hand in
the tests: 学校归属感 BELONG = mean of Q01, 5 − Q02 (reverse-coded 1–4), Q03 with at least 2
valid answers; 睡眠充足 SLEEP10 = Q04 ≥ 10 hours.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from types import SimpleNamespace

import pytest

AGREE = {"1": "很不同意", "2": "不同意", "3": "同意", "4": "很同意"}

STUDENT = {
    "code": "S2022", "title": "学生问卷", "respondent": "student", "missing_codes": [9],
    "items": [
        {"id": "Q01", "text": "我喜欢我的学校", "type": "choice", "options": AGREE},
        {"id": "Q02", "text": "我在学校感到孤独", "type": "choice", "options": AGREE},
        {"id": "Q03", "text": "老师关心我", "type": "choice", "options": AGREE},
        {"id": "Q04", "text": "上学日每天睡眠时间", "type": "number", "min": 4, "max": 14, "unit": "小时"},
    ],
    "scales": [{"id": "BELONG", "name": "学校归属感", "items": ["Q01", "Q02", "Q03"], "reverse": ["Q02"],
                "min_items": 2}],
    "indicators": [{"id": "SLEEP10", "name": "睡眠充足（≥10小时）", "item": "Q04", "op": ">=", "value": 10}],
}

PRINCIPAL = {
    "code": "P2022", "title": "校长问卷", "respondent": "principal", "missing_codes": [9],
    "items": [
        {"id": "P01", "text": "学校有心理辅导室", "type": "choice", "options": {"1": "有", "2": "没有"}},
        {"id": "P02", "text": "专职心理教师人数", "type": "number", "min": 0, "max": 20, "integer": True},
    ],
    "indicators": [{"id": "ROOM", "name": "有心理辅导室", "item": "P01", "op": "==", "value": 1}],
}

TEACHER = {
    "code": "T2022", "title": "教师问卷", "respondent": "teacher", "missing_codes": [9],
    "items": [{"id": "T01", "text": "我对工作满意", "type": "choice", "options": AGREE}],
    "scales": [{"id": "SATIS", "name": "工作满意度", "items": ["T01"], "min_items": 1}],
}

STUDENT_HEADERS = ["学籍号", "Q01 我喜欢我的学校", "Q02", "Q03", "Q04"]


def answers(pupils, *, overrides: dict[int, dict[str, str]] | None = None) -> list[list[str]]:
    """One row per pupil: Q01..Q04 follow the pupil's position k (all valid); ``overrides``
    replaces cells by row index and header."""
    rows = []
    for k, p in enumerate(pupils):
        row = {"学籍号": p.student_id, "Q01 我喜欢我的学校": str(1 + k % 4), "Q02": str(1 + (k + 1) % 4),
               "Q03": str(1 + (k + 2) % 4), "Q04": str(8 + k * 0.5)}
        row.update((overrides or {}).get(k, {}))
        rows.append([row[h] for h in STUDENT_HEADERS])
    return rows


def write_xlsx(path: Path, headers: list[str], rows: list[list], *, title: str | None = None) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "问卷"
    if title:
        ws.append([title])
    ws.append(headers)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def write_csv(path: Path, headers: list[str], rows: list[list], *, encoding: str = "gb18030") -> Path:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(headers)
    w.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


@pytest.fixture(scope="session")
def qf():
    """This module's definitions and file writers, for the tests (``qf.STUDENT``, ``qf.write_xlsx`` …)."""
    return SimpleNamespace(STUDENT=STUDENT, PRINCIPAL=PRINCIPAL, TEACHER=TEACHER, STUDENT_HEADERS=STUDENT_HEADERS,
                           answers=answers, write_xlsx=write_xlsx, write_csv=write_csv)


@pytest.fixture
def defined(world):
    """The student, principal and teacher questionnaires stored for the world's cycle."""
    from junheng_web.questionnaires.services import define

    return {d["respondent"]: define(world.cycle, d)[0] for d in (STUDENT, PRINCIPAL, TEACHER)}
