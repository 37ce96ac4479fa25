"""Files people open: scored results, class entry workbooks, the national upload template.

* :func:`scored_output` — the input columns plus the score columns under Chinese headers
  (体重指数, 体重指数得分, 体重指数等级, ``<item>得分``, ``<item>附加分``, 标准分, 附加分, 总分, 等级,
  视力等级 …);
* :func:`write_entry_workbooks` — one workbook per class with the roster filled in and Excel data
  validation (the national import ranges) on every test column of the class's grade;
* :func:`national_upload` — records in the upload template, endurance times as ``3′45″``.

Personal data (姓名, 学籍号, 家庭住址, 出生日期) is masked unless ``mask=False``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import polars as pl

from junheng.exceptions import ParameterError
from junheng.fitness.items import BONUS_ITEMS, HEIGHT, ITEM_BY_FIELD, ITEMS, WEIGHT, tested_items
from junheng.fitness.quantize import units_expr
from junheng.fitness.template_io import CODE_OF_GRADE, HEADER_OF, PERSON_COLUMNS, VISION_COLUMNS, nan_as_null
from junheng.io import save_workbook, write_table

SCORE_HEADERS: dict[str, str] = {
    "bmi": "体重指数",
    "bmi_score": "体重指数得分",
    "bmi_class": "体重指数等级",
    **{i.score_field: i.score_header for i in ITEMS},
    **{f"{f}_bonus": ITEM_BY_FIELD[f].bonus_header for f in BONUS_ITEMS},
    "standard_score": "标准分",
    "bonus_score": "附加分",
    "total_score": "总分",
    "rating": "等级",
    "complete": "是否完整",
    "exempt": "是否免测",
    "vision_left_class": "左眼视力等级",
    "vision_right_class": "右眼视力等级",
    "vision_class": "视力等级",
}
PERSONAL_HEADERS = ("姓名", "学籍号", "家庭住址", "出生日期")
PERSONAL_FIELDS = ("name", "student_id", "address", "birth_date")


def mask_expr(col: str, kind: str) -> pl.Expr:
    """Masking rule: 姓名 keeps its first character; 学籍号 keeps type, region and last 2; others hidden."""
    c = pl.col(col).cast(pl.String)
    if kind in ("姓名", "name"):
        return pl.when(c.is_null()).then(None).otherwise(c.str.slice(0, 1) + pl.lit("**"))
    if kind in ("学籍号", "student_id"):
        return pl.when(c.is_null()).then(None).otherwise(c.str.slice(0, 7) + pl.lit("**********") + c.str.slice(-2))
    if kind in ("出生日期", "birth_date"):
        return pl.when(c.is_null()).then(None).otherwise(c.str.slice(0, 4) + pl.lit("-**-**"))
    return pl.when(c.is_null()).then(None).otherwise(pl.lit("***"))


def mask_personal(df: pl.DataFrame) -> pl.DataFrame:
    """Mask every personal column present (Chinese headers or canonical fields)."""
    exprs = [mask_expr(c, c).alias(c) for c in (*PERSONAL_HEADERS, *PERSONAL_FIELDS) if c in df.columns]
    return df.with_columns(exprs) if exprs else df


def scored_output(raw: pl.DataFrame, scored: pl.DataFrame, *, mask: bool = True) -> pl.DataFrame:
    """``raw`` (the file's columns, as read) side by side with ``scored``'s score columns in Chinese."""
    if raw.height != scored.height:
        raise ParameterError("scored_output: raw and scored differ in length")
    cols = [pl.col(f).alias(h) for f, h in SCORE_HEADERS.items() if f in scored.columns]
    scores = scored.select(cols)
    drop = {"__row__", *SCORE_HEADERS.values()}
    # the columns themselves, not DataFrame.drop: that runs a query over every column (≈ 0.25 s a million rows)
    out = pl.DataFrame([s for s in raw.get_columns() if s.name not in drop] + scores.get_columns())
    return mask_personal(out) if mask else out


def format_time(seconds: pl.Expr) -> pl.Expr:
    """Seconds → ``m′ss″`` as the national template writes endurance times."""
    s = seconds.cast(pl.Int64)
    return pl.when(s.is_null()).then(None).otherwise(
        (s // 60).cast(pl.String) + pl.lit("′") + (s % 60).cast(pl.String).str.zfill(2) + pl.lit("″"))


def national_upload(records: pl.DataFrame, *, mask: bool = True) -> pl.DataFrame:
    """Canonical records (as read or synthesised) → the national upload template's columns. A NaN
    measure (the census layout's missing value) is an empty cell, as a null is; a whole-number
    item stored as a float (the census layout's Float64) is written as the whole number."""
    records = nan_as_null(records)
    out: list[pl.Expr] = []
    for f, h, _ in PERSON_COLUMNS:
        if f == "grade_code" and f not in records.columns:
            out.append(pl.col("grade").replace_strict(CODE_OF_GRADE).alias(h))
        elif f in records.columns:
            out.append(pl.col(f).cast(pl.String).alias(h))
        else:
            out.append(pl.lit(None, pl.String).alias(h))
    for item in (HEIGHT, WEIGHT, *ITEMS):
        if item.field not in records.columns:
            out.append(pl.lit(None, pl.String).alias(item.header))
        elif item.time_format:
            out.append(format_time(pl.col(item.field)).alias(item.header))
        elif item.scale == 1 and records.schema[item.field].is_float():  # a whole-number item stored as a float
            out.append(units_expr(item.field, records.schema[item.field], 1).alias(item.header))
        else:
            out.append(pl.col(item.field).alias(item.header))
    for f, h, _ in VISION_COLUMNS:
        out.append((pl.col(f) if f in records.columns else pl.lit(None)).alias(h))
    if "exempt" in records.columns:
        out.append(pl.when(pl.col("exempt")).then(pl.lit("免测")).otherwise(None).alias("免测"))
    df = records.select(out)
    return mask_personal(df) if mask else df


def _safe(name: str) -> str:
    return re.sub(r"[^\w\-（）()]+", "_", name).strip("_") or "class"


def write_entry_workbooks(roster: pl.DataFrame, out_dir: str | Path) -> list[Path]:
    """One entry workbook per (school, grade, class) with the roster and validated test columns.

    ``roster`` has the PUPILS fields (``student_id``, ``name``, ``sex``, ``birth_date``,
    ``ethnicity``, ``school_code``, ``grade``, ``class_code``, ``class_name``). The workbook is the
    upload template: filled in, it is read back by :func:`read_fitness_file` unchanged. Every test
    column carries Excel data validation with the national import range; columns of items the
    class's grade is not tested on are left out.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    need = {"student_id", "name", "sex", "grade"}
    if not need <= set(roster.columns):
        raise ParameterError(f"名单缺少列 / write_entry_workbooks: the roster needs {sorted(need - set(roster.columns))}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    keys = [c for c in ("school_code", "grade", "class_code") if c in roster.columns]
    written: list[Path] = []
    for key, part in roster.sort([*keys, "student_id"]).group_by(keys, maintain_order=True):
        grade = int(part["grade"][0])
        items = [i for i in ITEMS if any(i.field in tested_items(grade, s) for s in (1, 2))]
        columns = [h for _, h, _ in PERSON_COLUMNS] + [HEIGHT.header, WEIGHT.header] + [i.header for i in items] + [
            h for _, h, _ in VISION_COLUMNS] + ["免测"]
        wb = Workbook()
        ws = wb.active
        ws.title = "体测数据"
        ws.append(columns)
        for cell in ws[1]:
            cell.font = Font(bold=True)
            cell.fill = PatternFill("solid", fgColor="DDEBF7")
        tpl = national_upload(part, mask=False)
        for row in tpl.select(columns[:9]).iter_rows():
            ws.append(list(row))
        last = max(part.height + 1, 2)
        for j, h in enumerate(columns, start=1):
            letter = ws.cell(row=1, column=j).column_letter
            rng = f"{letter}2:{letter}{last}"
            item = next((i for i in (HEIGHT, WEIGHT, *items) if i.header == h), None)
            dv = None
            if item is not None and item.time_format:
                dv = DataValidation(type="textLength", operator="between", formula1="3", formula2="7",
                                    allow_blank=True, promptTitle=h, prompt="写作 分′秒″，如 3′45″ 或 3'45\"",
                                    errorTitle=h, error="时间应写作 分′秒″（秒为两位）")
            elif item is not None:
                kind = "whole" if item.scale == 1 and item.unit != "s" else "decimal"
                dv = DataValidation(type=kind, operator="between", formula1=f"{item.lo:g}", formula2=f"{item.hi:g}",
                                    allow_blank=True, promptTitle=h, prompt=f"{item.lo:g}–{item.hi:g} {item.unit}",
                                    errorTitle=h, error=f"应在 {item.lo:g}–{item.hi:g} {item.unit} 之间")
            elif h in ("左眼裸眼视力", "右眼裸眼视力"):
                dv = DataValidation(type="decimal", operator="between", formula1="0", formula2="5.3", allow_blank=True,
                                    prompt="0（未测）或 3.0–5.3", error="应为 0 或 3.0–5.3")
            elif h in ("左眼串镜", "右眼串镜"):
                dv = DataValidation(type="list", formula1='"-1,0,1,2,9"', allow_blank=True)
            elif h in ("左眼屈光不正", "右眼屈光不正"):
                dv = DataValidation(type="list", formula1='"0,1,2,3,9"', allow_blank=True)
            elif h == "免测":
                dv = DataValidation(type="list", formula1='"免测,缓测"', allow_blank=True)
            if dv is not None:
                dv.showErrorMessage = True
                dv.showInputMessage = True
                ws.add_data_validation(dv)
                dv.add(rng)
            ws.column_dimensions[letter].width = max(8, len(h) * 2 + 2)
        ws.freeze_panes = "A2"
        name = "_".join(_safe(str(k)) for k in (key if isinstance(key, tuple) else (key,)))
        cname = part["class_name"][0] if "class_name" in part.columns and part["class_name"][0] else ""
        path = out_dir / f"{name}{'_' + _safe(str(cname)) if cname else ''}.xlsx"
        save_workbook(wb, path)
        written.append(path)
    return written


def template_headers(grade: int | None = None) -> list[str]:
    """The upload-template headers (all test columns, or those of one grade)."""
    items: Iterable = ITEMS if grade is None else [
        i for i in ITEMS if any(i.field in tested_items(grade, s) for s in (1, 2))]
    return [h for _, h, _ in PERSON_COLUMNS] + [HEIGHT.header, WEIGHT.header] + [i.header for i in items] + [
        h for _, h, _ in VISION_COLUMNS]


__all__ = ["HEADER_OF", "SCORE_HEADERS", "mask_personal", "national_upload", "scored_output", "template_headers",
           "write_entry_workbooks", "write_table"]
