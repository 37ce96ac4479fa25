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


def python_scorer():
    """``score(record) -> (total_tenths | None, bonus)`` from a dict of quantised integers (None = missing)."""
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
    bmi_bands = std.bmi.bands
    higher = {i.field: i.direction == "higher_better" for i in ITEMS}

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
