"""Shared by the fitness benchmarks (``fitness.py``, ``fitness_score.py``, ``census.py``): the synthetic
records and the per-record baselines.

* :func:`records` — N canonical records of all nine grades (a million drawn, then repeated);

* :func:`python_scorer` — a straightforward per-record scorer: dictionaries of threshold lists,
  walked for every record and item, the way typical calculators are written;
* :func:`per_record_command` — ``junheng fitness score`` written the same way: ``csv`` rows in,
  each cell parsed as an exact ``Decimal`` and range-checked, 学籍号 format and check digit,
  the record scored with :func:`python_scorer`, one output row written per record.
"""

from __future__ import annotations

import csv
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import numpy as np
import polars as pl

from junheng.fitness.items import HEIGHT, ITEMS, WEIGHT
from junheng.fitness.standard import load_standard
from junheng.synth.fitness import fitness_results

_GRADE = {11: 1, 12: 2, 13: 3, 14: 4, 15: 5, 16: 6, 21: 7, 22: 8, 23: 9}
_SID = re.compile(r"^[GJL]\d{17}[\dX]$")
_W = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_TIME = re.compile(r"^(\d{1,2})[′'’:.](\d{2})[″\"”]?$")


def records(n: int, seed: int = 2022) -> pl.DataFrame:
    """N canonical fitness records, grades 1–9 and both sexes mixed (at most a million drawn, repeated)."""
    base_n = min(n, 1_000_000)
    rng = np.random.default_rng(seed)
    pupils = pl.DataFrame({"student_id": np.arange(base_n).astype(str), "sex": rng.integers(1, 3, base_n),
                           "grade": rng.integers(1, 10, base_n)})
    base = fitness_results(pupils, seed).drop("student_id")
    return pl.concat([base] * -(-n // base_n)).head(n)


def _python_tables():
    """The standard's tables as plain dicts: (thresholds, bonus thresholds, weights, BMI bands, higher-is-better)."""
    std = load_standard()
    tables = {}
    for item in ITEMS:
        for key, levels in std.items[item.field].thresholds.items():
            tables[(item.field, *key)] = sorted(levels, reverse=True)  # 100 first
    bonus = {(f, *k): sorted(v, reverse=True) for f in ("rope_skipping", "pull_ups", "sit_ups", "run_1000m",
                                                         "run_800m")
             for k, v in std.items[f].bonus_thresholds.items()}
    weights = {}
    for g in range(1, 10):
        for s in (1, 2):
            row = std.weights[(g - 1) * 2 + (s - 1)]
            weights[(g, s)] = {f: int(w) for f, w in zip(std.weight_fields, row) if w}
    higher = {i.field: i.direction == "higher_better" for i in ITEMS}
    return tables, bonus, weights, std.bmi.bands, higher


def python_scorer():
    """``score(record) -> (total_tenths | None, bonus)`` from a dict of quantised integers (None = missing)."""
    tables, bonus, weights, bmi_bands, higher = _python_tables()

    def score(rec: dict) -> tuple[int | None, int]:
        g, s = rec["grade"], rec["sex"]
        h, w = rec["height_cm"], rec["weight_kg"]
        if h is None or w is None:
            return None, 0
        bmi = (2 * w * 1_000_000 + h * h) // (2 * h * h)
        b = bmi_bands[(g, s)]
        bmi_score = 80 if bmi <= b["underweight_max"] else 100 if bmi <= b["normal_max"] else (
            80 if bmi <= b["overweight_max"] else 60)
        total = weights[(g, s)]["bmi"] * bmi_score
        extra = 0
        for field, wt in weights[(g, s)].items():
            if field == "bmi":
                continue
            v = rec[field]
            if v is None:
                return None, 0
            pts = 0
            for level, t in tables[(field, g, s)]:
                if (v >= t) if higher[field] else (v <= t):
                    pts = level
                    break
            total += wt * pts
            for p, t in bonus.get((field, g, s), ()):
                if (v >= t) if higher[field] else (v <= t):
                    extra += p
                    break
        return (total + 5) // 10 + min(extra, 20) * 10, min(extra, 20)

    return score


def python_detail_scorer():
    """``detail(record) -> {output header: value}``: every score and grade column of ``junheng fitness
    score`` for one record, worked out per record from the standard's tables (the benchmark's
    agreement check; not timed). ``record``: grade, sex, exempt (bool), the measures and
    ``vision_left``/``vision_right`` as quantised integers (None = missing)."""
    tables, bonus, weights, bmi_bands, higher = _python_tables()
    items = {i.field: i for i in ITEMS}
    bonus_items = ("rope_skipping", "pull_ups", "sit_ups", "run_1000m", "run_800m")

    def grade_of_vision(q):
        return None if q is None or q <= 0 else "正常" if q >= 50 else "轻度" if q == 49 else "中度" if q >= 46 else "重度"

    def detail(rec: dict) -> dict:
        g, s = rec["grade"], rec["sex"]
        out = {items[f].score_header: None for f in items}
        out.update({items[f].bonus_header: None for f in bonus_items})
        left, right = grade_of_vision(rec["vision_left"]), grade_of_vision(rec["vision_right"])
        worse = [v for v in (left, right) if v is not None]
        order = ("正常", "轻度", "中度", "重度")
        out.update({"左眼视力等级": left, "右眼视力等级": right,
                    "视力等级": max(worse, key=order.index) if worse else None, "是否免测": rec["exempt"]})
        h, w = rec["height_cm"], rec["weight_kg"]
        bmi = None if h is None or w is None else (2 * w * 1_000_000 + h * h) // (2 * h * h)
        if rec["exempt"]:
            return {**out, "体重指数": None, "体重指数得分": None, "体重指数等级": None, "标准分": None, "附加分": None,
                    "总分": None, "等级": None, "是否完整": False}
        b = bmi_bands[(g, s)]
        cls = None if bmi is None else ("低体重" if bmi <= b["underweight_max"] else "正常" if bmi <= b["normal_max"]
                                        else "超重" if bmi <= b["overweight_max"] else "肥胖")
        out.update({"体重指数": None if bmi is None else bmi / 10, "体重指数等级": cls,
                    "体重指数得分": None if cls is None else {"低体重": 80, "正常": 100, "超重": 80, "肥胖": 60}[cls]})
        complete = bmi is not None
        total = 0 if bmi is None else weights[(g, s)]["bmi"] * out["体重指数得分"]
        extra = 0
        for field, wt in weights[(g, s)].items():
            if field == "bmi":
                continue
            v = rec[field]
            if v is None:
                complete = False
                continue
            pts = next((level for level, t in tables[(field, g, s)]
                        if ((v >= t) if higher[field] else (v <= t))), 0)
            out[items[field].score_header] = pts
            total += wt * pts
            if (field, g, s) in bonus:
                p = next((p for p, t in bonus[(field, g, s)] if ((v >= t) if higher[field] else (v <= t))), 0)
                out[items[field].bonus_header] = p
                extra += p
        tenths = (total + 5) // 10 + min(extra, 20) * 10
        out["是否完整"] = complete
        out.update({"标准分": (total + 5) // 10 / 10, "附加分": min(extra, 20), "总分": tenths / 10,
                    "等级": "优秀" if tenths >= 900 else "良好" if tenths >= 800 else "及格" if tenths >= 600 else "不及格"}
                   if complete else {"标准分": None, "附加分": None, "总分": None, "等级": None})
        return out

    return detail


def template_records(src: str, limit: int) -> list[dict]:
    """The first ``limit`` rows of a template CSV as the records :func:`python_scorer` and
    :func:`python_detail_scorer` take (rows are taken to be valid: the benchmarks' files have no bad row)."""
    measures = [(i.field, i.header, i.scale, i.time_format) for i in (HEIGHT, WEIGHT, *ITEMS)]
    measures += [("vision_left", "左眼裸眼视力", 10, False), ("vision_right", "右眼裸眼视力", 10, False)]
    out = []
    with open(src, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        at = {h: k for k, h in enumerate(next(reader))}
        for row, _ in zip(reader, range(limit)):
            rec = {"grade": _GRADE[int(row[at["年级编号"]])], "sex": int(row[at["性别"]]),
                   "exempt": row[at["免测"]].strip() in ("免测", "缓测", "免予执行", "暂缓执行", "免考", "是", "1")}
            for field, header, scale, time in measures:
                text = row[at[header]].strip()
                rec[field] = _units(text, scale, time) if text else None
            out.append(rec)
    return out


def _units(text: str, scale: int, time: bool) -> int | None:
    if time:
        m = _TIME.match(text)
        if m:
            return int(m.group(1)) * 60 + int(m.group(2))
    try:
        return int((Decimal(text) * scale).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    except InvalidOperation:
        raise ValueError(text) from None


def per_record_command(src: str, dst: str, limit: int) -> tuple[int, int]:
    """Read, check, score and write the first ``limit`` records of ``src`` one record at a time.

    Returns (records written, rows with an error)."""
    score = python_scorer()
    measures = [(i.field, i.header, i.scale, i.time_format, round(i.lo * i.scale), round(i.hi * i.scale))
                for i in (HEIGHT, WEIGHT, *ITEMS)]
    done = bad = 0
    with open(src, encoding="utf-8-sig", newline="") as f, open(dst, "w", encoding="utf-8-sig", newline="") as o:
        reader = csv.reader(f)
        header = next(reader)
        at = {h: k for k, h in enumerate(header)}
        writer = csv.writer(o)
        writer.writerow([*header, "总分", "附加分", "等级"])
        for row in reader:
            if done >= limit:
                break
            errors = []
            grade = _GRADE.get(int(row[at["年级编号"]] or 0))
            sex = {"1": 1, "2": 2}.get(row[at["性别"]])
            sid = row[at["学籍号"]]
            if grade is None or sex is None:
                errors.append("grade/sex")
            if not _SID.match(sid):
                errors.append("学籍号")
            elif sid[0] != "L":
                check = "10X98765432"[sum(int(d) * w for d, w in zip(sid[1:18], _W)) % 11]
                if sid[18] != check:
                    errors.append("学籍号")
            rec = {"grade": grade, "sex": sex}
            for field, header_, scale, time, lo, hi in measures:
                text = row[at[header_]].strip()
                if not text:
                    rec[field] = None
                    continue
                try:
                    q = _units(text, scale, time)
                except ValueError:
                    errors.append(header_)
                    continue
                if not lo <= q <= hi:
                    errors.append(header_)
                rec[field] = q
            if errors:
                bad += 1
                continue
            total, extra = score(rec)
            rating = "" if total is None else ("优秀" if total >= 900 else "良好" if total >= 800 else
                                               "及格" if total >= 600 else "不及格")
            writer.writerow([*row, "" if total is None else total / 10, extra, rating])
            done += 1
    return done, bad
