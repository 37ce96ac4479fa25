"""An entry workbook (.xlsx) for a questionnaire's responses, written with openpyxl.

Sheet ``作答录入``: a title row, the header row (key columns, then ``Q01 题干`` per item), frozen
panes, and Excel data validation on every item column — a list of the option codes (and missing
codes) for a choice item, a number between min and max for a number item — with an input prompt
listing the codes. Sheet ``代码说明`` explains every item's codes, units and the missing codes.
:func:`junheng.questionnaire.read_responses` reads the filled workbook back.
"""

from __future__ import annotations

from pathlib import Path

from junheng.io import save_workbook
from junheng.questionnaire.definition import KEY_HEADERS, Item, Questionnaire

DATA_SHEET = "作答录入"
CODES_SHEET = "代码说明"
RESPONDENT_ZH = {"student": "学生", "principal": "校长", "teacher": "教师"}


def _prompt(item: Item, missing: tuple[int, ...]) -> str:
    if item.type == "choice":
        text = "；".join(f"{c}={label}" for c, label in item.options.items())
    else:
        lo = "" if item.min is None else f"{item.min:g}"
        hi = "" if item.max is None else f"{item.max:g}"
        text = f"{lo}–{hi} {item.unit or ''}".strip() + ("，整数" if item.integer else "")
    if missing:
        text += f"；未作答: {'/'.join(map(str, missing))} 或留空"
    return text


def template(q: Questionnaire, path: str | Path, rows: int = 1000) -> Path:
    """Write the entry workbook for ``q`` to ``path`` with validation on ``rows`` data rows."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook()
    ws = wb.active
    ws.title = DATA_SHEET
    keys = [spec[0] for spec in KEY_HEADERS[q.respondent]]
    if q.respondent == "student":
        keys.append("学校标识码")
    headers = [*keys, *(f"{i.id} {i.text}" for i in q.items)]
    ws.append([f"{q.title}（{q.code}，{RESPONDENT_ZH[q.respondent]}问卷）作答录入表"])
    ws.append(headers)
    head_fill = PatternFill("solid", fgColor="FFDDEBF7")
    for j in range(1, len(headers) + 1):
        cell = ws.cell(row=2, column=j)
        cell.font = Font(bold=True)
        cell.fill = head_fill
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.column_dimensions[get_column_letter(j)].width = 22 if j <= len(keys) else 14
    ws.row_dimensions[2].height = 60
    ws.cell(row=1, column=1).font = Font(bold=True, size=13)
    ws.freeze_panes = ws.cell(row=3, column=len(keys) + 1)
    last = rows + 2
    for j in range(1, len(keys) + 1):  # keys are text (a 学籍号 must keep its letters, a code its zeros)
        for r in range(3, min(last, 3 + rows) + 1):
            ws.cell(row=r, column=j).number_format = "@"
    for k, item in enumerate(q.items):
        col = get_column_letter(len(keys) + k + 1)
        if item.type == "choice":
            codes = [*item.options, *q.missing_codes]
            dv = DataValidation(type="list", formula1='"' + ",".join(map(str, codes)) + '"', allow_blank=True)
        else:
            kind = "whole" if item.integer else "decimal"
            lo = item.min if item.min is not None else -1e9
            hi = item.max if item.max is not None else 1e9
            extra = [m for m in q.missing_codes if not lo <= m <= hi]
            if extra:  # a missing code outside the range must pass too: a custom formula
                cell = f"{col}3"
                cond = f"AND({cell}>={lo:g},{cell}<={hi:g})"
                ors = ",".join([cond, *(f"{cell}={m}" for m in extra)])
                dv = DataValidation(type="custom", formula1=f"OR({ors})", allow_blank=True)
            else:
                dv = DataValidation(type=kind, operator="between", formula1=f"{lo:g}", formula2=f"{hi:g}",
                                    allow_blank=True)
        dv.error = _prompt(item, q.missing_codes)
        dv.errorTitle = "无效的答案 / invalid answer"
        dv.prompt = _prompt(item, q.missing_codes)
        dv.promptTitle = item.id
        dv.showErrorMessage = True
        dv.showInputMessage = True
        dv.add(f"{col}3:{col}{last}")
        ws.add_data_validation(dv)
    cs = wb.create_sheet(CODES_SHEET)
    cs.append(["题号 item", "题目 question", "类型 type", "代码 / 范围 codes / range", "单位 unit"])
    for item in q.items:
        if item.type == "choice":
            desc = "；".join(f"{c}={label}" for c, label in item.options.items())
        else:
            desc = f"{'' if item.min is None else f'{item.min:g}'}–{'' if item.max is None else f'{item.max:g}'}" + \
                   ("（整数 whole number）" if item.integer else "")
        cs.append([item.id, item.text, "选择 choice" if item.type == "choice" else "数值 number", desc, item.unit or ""])
    cs.append([])
    if q.missing_codes:
        cs.append(["未作答 no answer", f"留空，或填 {'、'.join(map(str, q.missing_codes))} / blank or "
                                       f"{', '.join(map(str, q.missing_codes))}"])
    else:
        cs.append(["未作答 no answer", "留空 / leave blank"])
    for scale in q.scales:
        rev = f"（反向计分 reverse-coded: {'、'.join(scale.reverse)}）" if scale.reverse else ""
        cs.append([f"量表 scale {scale.id}", scale.name, "、".join(scale.items) + rev])
    for j, w in enumerate((16, 40, 14, 60, 10), start=1):
        cs.column_dimensions[get_column_letter(j)].width = w
    for c in cs[1]:
        c.font = Font(bold=True)
    return save_workbook(wb, path)


__all__ = ["CODES_SHEET", "DATA_SHEET", "template"]
