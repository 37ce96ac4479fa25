"""The shipped 国家学生体质健康标准（2014年修订） tables, compiled into exact look-up tables.

For every item the thresholds of all 18 (grade, sex) groups are compiled once into an ``int8``
table ``lut[row, q - offset]`` where ``row = (grade - 1) * 2 + (sex - 1)`` and ``q`` is the
value as an integer at the item's resolution (see :mod:`junheng.fitness.items`). The table
holds, for every representable value, the score the standard gives it: the highest level whose
threshold the value reaches (``q >= t`` for higher-is-better items, ``q <= t`` for timed ones),
0 below the 10-point level, ``-1`` where the item is not tested in that group. Look-up is then
one ``numpy.take`` — exact (integers only) and the fastest form there is.

The table range covers every threshold plus one unit beyond on each side, so clipping an index
into the range never changes a score (scores saturate outside it).

Sources: ``standards/SOURCES.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from junheng.exceptions import ReferenceDataError
from junheng.fitness.items import ITEM_BY_REF, ITEMS, WEIGHT_GROUP_OF_GRADE, Item, tested_items
from junheng.io import read_package_table

N_ROWS = 18  # 9 grades × 2 sexes
NA = -1  # "item not tested in this (grade, sex)"


def row_of(grade: int, sex: int) -> int:
    return (grade - 1) * 2 + (sex - 1)


def _read_csv(name: str) -> list[dict[str, str]]:
    return read_package_table("junheng.fitness.standards", name).fill_null("").to_dicts()


def to_units(text: str, scale: int) -> int:
    """A threshold written in base units (``'8.1'``, ``'215'``) as an exact integer at ``scale``."""
    whole, _, frac = text.strip().partition(".")
    digits = len(str(scale)) - 1
    if len(frac) > digits and set(frac[digits:]) != {"0"}:
        raise ReferenceDataError(f"threshold {text!r} finer than the resolution 1/{scale}")
    neg = whole.startswith("-")
    value = abs(int(whole or "0")) * scale + (int((frac + "0" * digits)[:digits]) if digits else 0)
    return -value if neg else value


@dataclass(frozen=True)
class ItemTable:
    """Compiled score and bonus tables of one item for all 18 (grade, sex) groups."""

    item: Item
    offset: int  # q of column 0
    score: np.ndarray  # int8 (18, n): score, or -1 where not tested
    bonus: np.ndarray  # int8 (18, n): 附加分 points (0 where the item earns none)
    thresholds: dict[tuple[int, int], list[tuple[int, int]]]  # (grade, sex) → [(level, q)] as in the table
    bonus_thresholds: dict[tuple[int, int], list[tuple[int, int]]]  # (grade, sex) → [(points, q)]

    @property
    def width(self) -> int:
        return self.score.shape[1]

    @property
    def bonus_rows(self) -> np.ndarray:
        """bool (18,): which (grade, sex) rows earn 附加分 on this item."""
        out = np.zeros(N_ROWS, dtype=bool)
        for grade, sex in self.bonus_thresholds:
            out[row_of(grade, sex)] = True
        return out


@dataclass(frozen=True)
class BmiTable:
    offset: int  # BMI tenths of column 0 (0)
    score: np.ndarray  # int8 (18, n)
    category: np.ndarray  # int8 (18, n): 0 低体重, 1 正常, 2 超重, 3 肥胖
    bands: dict[tuple[int, int], dict[str, int]]  # raw bands in tenths


@dataclass(frozen=True)
class Standard:
    items: dict[str, ItemTable]
    bmi: BmiTable
    weights: np.ndarray  # int16 (18, len(ITEMS) + 1): weight % of [bmi, *ITEMS] per (grade, sex)
    weight_fields: tuple[str, ...]


def _fill(lut_row: np.ndarray, offset: int, levels: list[tuple[int, int]], direction: str) -> None:
    q = np.arange(offset, offset + lut_row.shape[0])
    out = np.zeros(lut_row.shape[0], dtype=np.int16)
    for level, t in levels:
        reached = q >= t if direction == "higher_better" else q <= t
        np.maximum(out, np.where(reached, level, 0), out=out)
    lut_row[:] = out


def _compile_items() -> dict[str, ItemTable]:
    rows = _read_csv("tables.csv")
    bonus_rows = _read_csv("bonus.csv")
    thresholds: dict[str, dict[tuple[int, int], list[tuple[int, int]]]] = {i.field: {} for i in ITEMS}
    for r in rows:
        item = ITEM_BY_REF.get(r["item"])
        if item is None:
            raise ReferenceDataError(f"tables.csv: unknown item {r['item']!r}")
        if r["threshold"].strip() == "":
            continue  # a blank cell: this level cannot be reached exactly
        key = (int(r["grade"]), 1 if r["sex"] == "M" else 2)
        thresholds[item.field].setdefault(key, []).append((int(r["score"]), to_units(r["threshold"], item.scale)))
    bonus: dict[str, dict[tuple[int, int], list[tuple[int, int]]]] = {i.field: {} for i in ITEMS}
    for r in bonus_rows:
        item = ITEM_BY_REF[r["item"]]
        key = (int(r["grade"]), 1 if r["sex"] == "M" else 2)
        t100 = dict(thresholds[item.field][key])[100]
        inc = to_units(r["increment"], item.scale)
        q = t100 + inc if item.direction == "higher_better" else t100 - inc
        bonus[item.field].setdefault(key, []).append((int(r["bonus_points"]), q))

    tables: dict[str, ItemTable] = {}
    for item in ITEMS:
        th = thresholds[item.field]
        all_q = [q for levels in (*th.values(), *bonus[item.field].values()) for _, q in levels]
        lo = min(int(round(item.lo * item.scale)), min(all_q) - 1, 0)
        hi = max(int(round(item.hi * item.scale)), max(all_q) + 1)
        width = hi - lo + 1
        score = np.full((N_ROWS, width), NA, dtype=np.int8)
        blut = np.zeros((N_ROWS, width), dtype=np.int8)
        for grade in range(1, 10):
            for sex in (1, 2):
                applies = item.field in tested_items(grade, sex)
                key = (grade, sex)
                if applies != (key in th):
                    raise ReferenceDataError(
                        f"tables.csv: {item.ref_name} grade {grade} sex {sex}: "
                        f"{'missing' if applies else 'unexpected'} thresholds"
                    )
                if not applies:
                    continue
                _fill(score[row_of(grade, sex)], lo, th[key], item.direction)
                if key in bonus[item.field]:
                    _fill(blut[row_of(grade, sex)], lo, bonus[item.field][key], item.direction)
        tables[item.field] = ItemTable(item, lo, score, blut, th, bonus[item.field])
    return tables


BMI_WIDTH = 1501  # BMI 0.0 … 150.0 in tenths


def _compile_bmi() -> BmiTable:
    score = np.full((N_ROWS, BMI_WIDTH), NA, dtype=np.int8)
    cat = np.full((N_ROWS, BMI_WIDTH), NA, dtype=np.int8)
    bands = {}
    q = np.arange(BMI_WIDTH)
    for r in _read_csv("bmi.csv"):
        grade, sex = int(r["grade"]), 1 if r["sex"] == "M" else 2
        b = {k: to_units(r[k], 10) for k in
             ("underweight_max", "normal_min", "normal_max", "overweight_min", "overweight_max", "obese_min")}
        if not (b["underweight_max"] + 1 == b["normal_min"] and b["normal_max"] + 1 == b["overweight_min"]
                and b["overweight_max"] + 1 == b["obese_min"]):
            raise ReferenceDataError(f"bmi.csv: bands of grade {grade} sex {r['sex']} leave a gap")
        c = np.select([q <= b["underweight_max"], q <= b["normal_max"], q <= b["overweight_max"]], [0, 1, 2], 3)
        pts = np.array([int(r["score_underweight"]), int(r["score_normal"]), int(r["score_overweight"]),
                        int(r["score_obese"])])
        cat[row_of(grade, sex)] = c
        score[row_of(grade, sex)] = pts[c]
        bands[(grade, sex)] = b
    if (cat == NA).any():
        raise ReferenceDataError("bmi.csv: not every grade and sex has BMI bands")
    return BmiTable(0, score, cat, bands)


def _compile_weights() -> tuple[np.ndarray, tuple[str, ...]]:
    fields = ("bmi", *(i.field for i in ITEMS))
    ref_to_field = {"bmi": "bmi", **{i.ref_name: i.field for i in ITEMS}}
    by_group: dict[str, dict[str, dict[int, int]]] = {}
    for r in _read_csv("weights.csv"):
        name = r["item"]
        if "(" in name:  # "pull_up(M)/sit_up_1min(F)": a different item per sex
            per_sex = {}
            for part in name.split("/"):
                ref, sex = part.rstrip(")").split("(")
                per_sex[1 if sex == "M" else 2] = ref_to_field[ref]
        else:
            per_sex = {1: ref_to_field[name], 2: ref_to_field[name]}
        for sex, field in per_sex.items():
            by_group.setdefault(r["grade_group"], {}).setdefault(field, {})[sex] = int(r["weight_percent"])
    w = np.zeros((N_ROWS, len(fields)), dtype=np.int16)
    for grade in range(1, 10):
        for sex in (1, 2):
            group = by_group[WEIGHT_GROUP_OF_GRADE[grade]]
            for j, field in enumerate(fields):
                w[row_of(grade, sex), j] = group.get(field, {}).get(sex, 0)
            if w[row_of(grade, sex)].sum() != 100:
                raise ReferenceDataError(f"weights.csv: grade {grade} sex {sex} weights do not sum to 100")
            scored = {fields[j] for j in np.flatnonzero(w[row_of(grade, sex)])}
            if scored != {"bmi", *tested_items(grade, sex)}:
                raise ReferenceDataError(f"weights.csv: grade {grade} sex {sex} weighs {sorted(scored)}")
    return w, fields


@cache
def load_standard() -> Standard:
    """The compiled 2014 standard (cached: compiled once per process, in about 50 ms)."""
    w, fields = _compile_weights()
    return Standard(_compile_items(), _compile_bmi(), w, fields)


__all__ = ["NA", "N_ROWS", "BmiTable", "ItemTable", "Standard", "load_standard", "row_of", "to_units"]
