"""Read and check the national fitness upload template (国家学生体质健康标准 数据上报模板).

Headers (POLICY.md §5.5): 年级编号, 班级编号, 班级名称, 学籍号, 民族代码, 姓名, 性别, 出生日期,
家庭住址, then the test columns 身高, 体重, 肺活量, 50米跑, 坐位体前屈, 一分钟跳绳, 一分钟仰卧起坐,
50米×8往返跑, 立定跳远, 引体向上, 800米跑, 1000米跑, 左眼裸眼视力, 右眼裸眼视力, 左眼串镜, 右眼串镜,
左眼屈光不正, 右眼屈光不正; junheng adds an optional 免测 column (免测 / 缓测 / 免予执行 / 暂缓执行).

Every row is checked with the national system's import rules (ranges, time format, sex-specific
junior items) and every broken rule is reported with file, sheet, spreadsheet row, column,
value and rule, in Chinese and English. Values that are legal but implausible (a 50 m time far
beyond the 100-point mark of the pupil's grade) come back as warnings for review.

One module on purpose (over 400 lines): the national template's rules are one specification
(POLICY.md §5.5); splitting them would scatter the checks a person compares with the standard.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import polars as pl

from junheng.exceptions import InputError, Issue, Issues, raise_for
from junheng.fitness.items import HEIGHT, ITEMS, WEIGHT, Item, tested_items
from junheng.fitness.quantize import (
    MISSING,
    NORMALIZED_CHARS,
    normalize_series,
    units_frame,
    units_to_float,
)
from junheng.fitness.standard import load_standard, row_of
from junheng.io import ROW, ReadLimits, drop_empty_rows, read_frame, read_table

# (field, header, aliases)
PERSON_COLUMNS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("grade_code", "年级编号", ("年级代码",)),
    ("class_code", "班级编号", ("班号",)),
    ("class_name", "班级名称", ("班级",)),
    ("student_id", "学籍号", ("全国学籍号", "学籍编号")),
    ("ethnicity", "民族代码", ("民族",)),
    ("name", "姓名", ("学生姓名",)),
    ("sex", "性别", ()),
    ("birth_date", "出生日期", ("出生年月",)),
    ("address", "家庭住址", ("住址",)),
)
REQUIRED = ("grade_code", "student_id", "sex")
TEMPLATE_REQUIRED = tuple(f for f, _, _ in PERSON_COLUMNS)
VISION_COLUMNS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("vision_left", "左眼裸眼视力", ("左眼视力",)),
    ("vision_right", "右眼裸眼视力", ("右眼视力",)),
    ("lens_left", "左眼串镜", ()),
    ("lens_right", "右眼串镜", ()),
    ("refraction_left", "左眼屈光不正", ()),
    ("refraction_right", "右眼屈光不正", ()),
)
EXEMPT_COLUMN = ("exempt_note", "免测", ("免缓测", "免测标记", "体测状态"))
MEASURE_ITEMS: tuple[Item, ...] = (HEIGHT, WEIGHT, *ITEMS)
ALL_COLUMNS = (*PERSON_COLUMNS, *((i.field, i.header, i.aliases) for i in MEASURE_ITEMS), *VISION_COLUMNS,
               EXEMPT_COLUMN)
HEADER_OF = {f: h for f, h, _ in ALL_COLUMNS}
GRADE_OF_CODE = {11: 1, 12: 2, 13: 3, 14: 4, 15: 5, 16: 6, 21: 7, 22: 8, 23: 9}
CODE_OF_GRADE = {g: c for c, g in GRADE_OF_CODE.items()}


def grade_of_code(codes: pl.Expr | pl.Series) -> pl.Expr | pl.Series:
    """The grade 1–9 (Int8) of each 年级编号 in ``codes`` (a column or expression, text or numbers;
    null where not a code of :data:`GRADE_OF_CODE`)."""
    return codes.cast(pl.Int32, strict=False).replace_strict(GRADE_OF_CODE, default=None, return_dtype=pl.Int8)
EXEMPT_WORDS = {"免测": True, "缓测": True, "免予执行": True, "暂缓执行": True, "免考": True, "是": True, "1": True,
                "": False, "否": False, "0": False}
# Junior (年级编号 > 20): the national system rejects these items for the other sex.
JUNIOR_NOT_FOR = {1: ("sit_ups", "run_800m"), 2: ("pull_ups", "run_1000m")}


def _norm_header(h: object) -> str:
    s = "" if h is None else str(h)
    for f, t in zip("０１２３４５６７８９（）＊ｘＸ", "0123456789()*xX"):
        s = s.replace(f, t)
    s = "".join(s.split())
    for unit in ("(cm)", "(kg)", "(ml)", "(秒)", "(s)", "(次)", "(个)", "(分秒)", "(毫升)", "(厘米)", "(千克)"):
        s = s.replace(unit, "")
    return s.casefold()


_HEADER_INDEX = {_norm_header(n): f for f, h, aliases in ALL_COLUMNS for n in (h, f, *aliases)}


def census_limits() -> ReadLimits:
    """The reader's limits for a file on the operator's own machine (the CLI): at least 20 million
    records of the template and 4 GB, or more where ``JUNHENG_MAX_*`` says so. Web uploads keep
    the platform's defaults (:meth:`ReadLimits.from_env`)."""
    env = ReadLimits.from_env()
    return replace(env, max_rows=max(env.max_rows, 20_000_000), max_cells=max(env.max_cells, 20_000_000 * 40),
                   max_file_bytes=max(env.max_file_bytes, 4 << 30))


def read_raw(path: str | Path, sheet: str | None = None, *,
             limits: ReadLimits | None = None) -> tuple[pl.DataFrame, str | None]:
    """The file's cells as text with a ``__row__`` column (the spreadsheet row a person sees),
    read by :func:`junheng.io.read_table` (xlsx / xls / csv in UTF-8, UTF-8 with BOM, GB18030 or
    UTF-16; the reader's size limits; first sheet unless named). The header row is the row of
    the first 30 matching most template headers, and must name 学籍号."""
    path = Path(path)
    if not path.exists():
        raise InputError(Issue("文件不存在", "file not found", file=path.name))
    if path.suffix.lower() == ".parquet":
        return _parquet_frame(path), None
    raw = read_table(path, sheet=sheet, expected_headers=[n for _, h, aliases in ALL_COLUMNS for n in (h, *aliases)],
                     limits=limits)
    if not any(_norm_header(c) in ("学籍号", "student_id") for c in raw.columns):
        raise InputError(Issue("找不到表头行（应含“学籍号”）", "no header row (it must contain 学籍号)",
                               file=path.name, sheet=raw.sheet))
    return raw.frame, raw.sheet


def _tidy(df: pl.DataFrame, first_row: int) -> pl.DataFrame:
    """Empty strings → null, ``__row__`` added, wholly empty rows dropped.

    Cells keep the text as written: the checked fields are normalised (spaces, full-width
    marks) by :func:`check_upload`, which also drops rows whose fields are all blank."""
    text_cols = [c for c, t in df.schema.items() if t == pl.String]
    if df.height and text_cols:
        empty = df.select((pl.col(c) == "").any().alias(c) for c in text_cols).row(0)
        fix = [c for c, e in zip(text_cols, empty) if e]
        if fix:
            df = df.with_columns(pl.when(pl.col(c) != "").then(pl.col(c)).alias(c) for c in fix)
    df = df.with_columns(pl.int_range(first_row, first_row + df.height, dtype=pl.Int32).alias(ROW))
    return drop_empty_rows(df)


def _parquet_frame(path: Path) -> pl.DataFrame:
    """A Parquet upload (template headers or canonical fields), ``__row__`` = record number (1-based).

    Measure columns may be text (parsed exactly, as in a CSV) or numbers (quantised exactly at
    the standard's resolution; a float32 8.1 is the 8.1 it was meant to be); other columns are
    read as text. A NaN in a float column is a blank cell, as a null is: the census layout
    (:func:`junheng.io.write_census_parquet`) stores a missing measure as NaN, and the census
    reads NaN as no value."""
    df = nan_as_null(read_frame(path))  # a damaged file: InputError naming it
    numeric = (pl.Boolean, pl.String)
    df = df.with_columns(pl.col(c).cast(pl.String) for c, t in df.schema.items()
                         if not (t.is_numeric() or t in numeric))
    return _tidy(df, 1)


def nan_as_null(df: pl.DataFrame) -> pl.DataFrame:
    """Every NaN of a float column as null: a missing value, however the file's writer stored it."""
    floats = [c for c, t in df.schema.items() if t.is_float()]
    return df.with_columns(pl.col(floats).fill_nan(None)) if floats else df


@dataclass
class FitnessUpload:
    """A checked upload: ``raw`` (the file's columns as text), ``records`` (canonical fields),
    ``units`` (the measures as checked, for :func:`~junheng.fitness.score_fitness` ``units=``)."""

    raw: pl.DataFrame
    records: pl.DataFrame
    warnings: list[Issue] = field(default_factory=list)
    file: str = ""
    sheet: str | None = None
    units: dict[str, np.ndarray] = field(default_factory=dict, repr=False)  # the measures as Int32 units (MISSING = none)


class _Checker:
    def __init__(self, df: pl.DataFrame, file: str, sheet: str | None):
        self.df, self.file, self.sheet = df, file, sheet
        self.issues = Issues()

    def flag(self, mask: pl.Series, column: str, values: pl.Series, zh: str, en: str, severity: str = "error"):
        if not mask.any():  # the usual case: one reduction, no conversion
            return
        idx = np.flatnonzero(mask.fill_null(False).to_numpy())
        rows = self.df[ROW].to_numpy()
        for i in idx:
            v = values[int(i)]
            self.issues.add(Issue(zh, en, file=self.file, sheet=self.sheet, row=int(rows[i]), column=column,
                                  value=v, severity=severity))  # type: ignore[arg-type]


def check_upload(raw: pl.DataFrame, file: str = "", sheet: str | None = None) -> tuple[FitnessUpload | None, list[Issue]]:
    """Map headers, parse and check every row: ``(upload, issues)``, one issue per bad cell (the
    upload is ``None`` when a required column is missing); never raises for a bad row — the
    caller raises (:func:`read_fitness_file`)."""
    header_field: dict[str, str] = {}
    for col in raw.columns:
        f = _HEADER_INDEX.get(_norm_header(col))
        if f and f not in header_field.values():
            header_field[col] = f
    present = set(header_field.values())
    c = _Checker(raw, file, sheet)
    for f in REQUIRED:
        if f not in present:
            c.issues.add(Issue(f"缺少必需列“{HEADER_OF[f]}”", f"required column {HEADER_OF[f]} is missing",
                               file=file, sheet=sheet))
    if c.issues.has_errors:
        return None, c.issues.items
    for f in TEMPLATE_REQUIRED:
        if f not in present:
            c.issues.add(Issue(f"缺少上报模板列“{HEADER_OF[f]}”（国家平台上报需要）",
                               f"template column {HEADER_OF[f]} is missing (the national upload needs it)",
                               file=file, sheet=sheet, severity="warning"))
    col_of = {f: col for col, f in header_field.items()}
    n = raw.height

    texts = _normalised_texts(raw, col_of)
    blank = pl.DataFrame(list(texts.values())).select(pl.all_horizontal(pl.all().is_null())).to_series()
    if blank.any():  # rows of spaces only: as empty as the blank rows the reader dropped
        raw = raw.filter(~blank)
        texts = {f: t.filter(~blank) for f, t in texts.items()}
        n = raw.height
        c.df = raw
    parsed = _parse_measures(texts)

    def text(f: str) -> pl.Series:
        return texts[f] if f in texts else pl.Series(f, [None] * n, dtype=pl.String)

    def raw_of(f: str) -> pl.Series:
        return raw[col_of[f]] if f in col_of else pl.Series(f, [None] * n, dtype=pl.String)

    # 年级编号
    gcode = text("grade_code").cast(pl.Int32, strict=False)
    grade = grade_of_code(gcode)
    c.flag(grade.is_null(), "年级编号", raw_of("grade_code"),
           "年级编号应为 11–16（小学一至六年级）或 21–23（初一至初三）",
           "年级编号 must be 11–16 (primary grades 1–6) or 21–23 (junior grades 7–9)")
    # 性别
    sex_txt = text("sex")
    codes = {1: 1, 2: 2} if sex_txt.dtype.is_integer() else {"1": 1, "2": 2}
    sex = pl.Series("sex", sex_txt).replace_strict(codes, default=None, return_dtype=pl.Int8)
    c.flag(sex.is_null(), "性别", raw_of("sex"), "性别应为 1（男）或 2（女）", "性别 must be 1 (male) or 2 (female)")
    # 学籍号
    from junheng.registry.codes import student_id_keys, student_id_problem

    sid = text("student_id")
    c.flag(sid.is_null(), "学籍号", sid, "学籍号不能为空", "学籍号 must not be empty")
    well_formed, sid_key = student_id_keys(sid)
    bad_sid = sid.is_not_null() & ~pl.Series(well_formed)
    for i in np.flatnonzero(bad_sid.to_numpy()):
        zh, en = student_id_problem(sid[int(i)]) or ("格式错误", "malformed")
        c.issues.add(Issue(f"学籍号{zh}", f"学籍号 {en}", file=file, sheet=sheet, row=int(raw[ROW][int(i)]),
                           column="学籍号", value=sid[int(i)]))
    # duplicates on the packed keys (integers hash fast); on the text when some ids are malformed
    keys = pl.Series(sid_key)
    n_blank = int((sid_key < 0).sum())  # without malformed ids: the blank ones, all keyed -1
    # a count first: on 200,000 distinct ids 2.7–3.3× less CPU than marking (benchmarks/fitness_checks.py)
    if bad_sid.any() or keys.n_unique() + max(n_blank - 1, 0) < n:
        dup = (keys.is_duplicated() if not bad_sid.any() else sid.is_duplicated()) & sid.is_not_null()
        c.flag(dup, "学籍号", sid, "学籍号在文件中重复", "学籍号 appears more than once in the file")
    # 免测
    exempt_txt = text("exempt_note").fill_null("")
    exempt = exempt_txt.replace_strict(EXEMPT_WORDS, default=None, return_dtype=pl.Boolean)
    c.flag(exempt.is_null(), "免测", raw_of("exempt_note"), "免测列应为空或 免测/缓测/免予执行/暂缓执行",
           "免测 must be empty or 免测/缓测/免予执行/暂缓执行")
    exempt = exempt.fill_null(False)

    std = load_standard()
    grade_np = grade.fill_null(0).to_numpy()
    sex_np = sex.fill_null(0).to_numpy()
    known = (grade_np > 0) & (sex_np > 0)
    rows_np = np.where(known, (grade_np - 1) * 2 + (sex_np - 1), 0)
    junior = grade_np >= 7
    out: dict[str, pl.Series] = {}
    for item in MEASURE_ITEMS:
        t = text(item.field)
        q = parsed[item.field]
        if item.time_format:
            rule = ("应写作 分′秒″（如 3′45″、3'45\"、3.45，秒为两位）或秒数",
                    "must be written min′ss″ (3′45″, 3'45\", 3.45; two-digit seconds) or seconds")
        else:
            rule = ("应为数字", "must be a number")
        c.flag(t.is_not_null() & q.is_null(), item.header, raw_of(item.field), *rule)
        lo, hi = int(round(item.lo * item.scale)), int(round(item.hi * item.scale))
        out_of_range = q.is_not_null() & ~q.is_between(lo, hi)
        lo_txt, hi_txt = (_fmt_time(int(item.lo)), _fmt_time(int(item.hi))) if item.time_format else (
            f"{item.lo:g}", f"{item.hi:g}")
        c.flag(out_of_range, item.header, raw_of(item.field), f"应在 {lo_txt}–{hi_txt} {item.unit} 之间",
               f"must lie between {lo_txt} and {hi_txt} {item.unit}")
        q = q.set(out_of_range, None) if n and out_of_range.any() else q
        if item in ITEMS:
            has = q.is_not_null().to_numpy()
            for s_code, fields in JUNIOR_NOT_FOR.items():
                if item.field in fields:
                    who_zh, who_en = ("男生", "boys") if s_code == 1 else ("女生", "girls")
                    c.flag(pl.Series(has & junior & (sex_np == s_code)), item.header, raw_of(item.field),
                           f"初中{who_zh}不测{item.header}，不应有成绩", f"junior {who_en} are not tested on {item.header}")
            applies_row = np.array([item.field in tested_items(r // 2 + 1, r % 2 + 1) for r in range(18)])
            applies = applies_row[rows_np] | ~known
            stray = has & ~applies & ~junior
            c.flag(pl.Series(stray), item.header, raw_of(item.field), "该年级不测此项，成绩不计分",
                   "this grade is not tested on this item; the value is not scored", severity="warning")
            q = q.set(pl.Series(stray), None) if n and stray.any() else q
            _plausibility(c, item, q, rows_np, known, std, raw_of(item.field))
        out[item.field] = q
    # vision
    for f in ("vision_left", "vision_right"):
        t = text(f)
        q = parsed[f]
        bad = (t.is_not_null() & q.is_null()) | (q.is_not_null() & (q != 0) & ~q.is_between(30, 53))
        c.flag(bad, HEADER_OF[f], raw_of(f), "裸眼视力应为 0（未测）或 3.0–5.3（五分记录）",
               "uncorrected acuity must be 0 (not tested) or 3.0–5.3 (5-point record)")
        out[f] = q.set(bad | (q == 0), None) if n else q
    for eye, vf in (("left", "vision_left"), ("right", "vision_right")):
        lens = text(f"lens_{eye}").cast(pl.Int32, strict=False)
        lens_txt = text(f"lens_{eye}")
        acuity = out[vf]
        normal = acuity.is_not_null() & (acuity >= 50)
        bad = lens_txt.is_not_null() & (
            lens.is_null() | (normal & (lens != 0)) | (~normal & ~lens.is_in([-1, 0, 1, 2, 9])))
        c.flag(bad, HEADER_OF[f"lens_{eye}"], raw_of(f"lens_{eye}"),
               "串镜：裸眼视力 ≥5.0 时应为 0，否则为 −1、1、2 或 9",
               "lens test: 0 when acuity ≥ 5.0, else −1, 1, 2 or 9")
        out[f"lens_{eye}"] = lens.set(bad, None) if n else lens
        refr_txt = text(f"refraction_{eye}")
        refr = refr_txt.cast(pl.Int32, strict=False)
        bad = refr_txt.is_not_null() & ~refr.is_in([0, 1, 2, 3, 9]).fill_null(False)
        c.flag(bad, HEADER_OF[f"refraction_{eye}"], raw_of(f"refraction_{eye}"), "屈光不正应为 0、1、2、3 或 9",
               "refraction must be 0, 1, 2, 3 or 9")
        out[f"refraction_{eye}"] = refr.set(bad, None) if n else refr
    if c.issues.has_errors:
        return None, c.issues.items

    records = pl.DataFrame({
        ROW: raw[ROW],
        "student_id": sid,
        "grade_code": gcode.cast(pl.Int16),
        "grade": grade,
        "sex": sex,
        "class_code": text("class_code"),
        "class_name": text("class_name"),
        "name": text("name"),
        "ethnicity": text("ethnicity"),
        "birth_date": text("birth_date"),
        "address": raw_of("address"),
        "exempt": exempt,
    })
    measures = []
    for item in MEASURE_ITEMS:
        q = out[item.field]
        measures.append(units_to_float(q, item.scale).alias(item.field))
    measures += [units_to_float(out["vision_left"], 10).alias("vision_left"),
                 units_to_float(out["vision_right"], 10).alias("vision_right")]
    measures += [out[k].cast(pl.Int8).alias(k) for k in ("lens_left", "lens_right", "refraction_left",
                                                         "refraction_right")]
    records = records.with_columns(measures)
    units = {f: out[f].fill_null(MISSING).to_numpy() for f in (*(i.field for i in MEASURE_ITEMS), "vision_left",
                                                                "vision_right")}
    return FitnessUpload(raw=raw, records=records, warnings=[i for i in c.issues.items if i.severity == "warning"],
                         file=file, sheet=sheet, units=units), c.issues.items


def _normalised_texts(raw: pl.DataFrame, col_of: dict[str, str]) -> dict[str, pl.Series]:
    """Each mapped column as normalised text (:func:`normalize_text`), keyed by field.

    One parallel scan tells which columns hold any cell needing normalisation; only those cells
    are rewritten (:func:`normalize_series`), the other columns are the file's own Series.
    Typed columns (a Parquet upload) stay typed when they are measures, else become text."""
    out = {f: raw[c].alias(f) for f, c in col_of.items()}
    for f, s in out.items():
        if s.dtype != pl.String and f not in _UNITS and not (s.dtype.is_integer() and f in _INTEGER_CODES):
            out[f] = _as_text(s)
    fields = [f for f, s in out.items() if s.dtype == pl.String]
    if not fields or raw.height == 0:
        return out
    frame = pl.DataFrame([out[f] for f in fields])
    odd = frame.select((pl.col(f).str.contains_any(NORMALIZED_CHARS) | (pl.col(f) == "")).any()
                       for f in fields).row(0)
    return {**out, **{f: normalize_series(out[f]) for f, o in zip(fields, odd) if o}}


# code columns read as integers (年级编号, 性别, 串镜, 屈光不正): an integer column of a Parquet file
# is used as it is, not written out as text and parsed back
_INTEGER_CODES = {"grade_code", "sex", "lens_left", "lens_right", "refraction_left", "refraction_right"}


def _as_text(s: pl.Series) -> pl.Series:
    """A typed code column as the text a person would have typed (1.0 → "1", True → "1")."""
    if s.dtype == pl.Boolean:
        return s.cast(pl.Int8).cast(pl.String)
    if s.dtype.is_float():
        x = pl.col(s.name)
        whole = x.is_finite() & (x == x.round(0))
        return s.to_frame().select(pl.when(whole).then(x.cast(pl.Int64).cast(pl.String))
                                   .otherwise(x.cast(pl.String))).to_series()
    return s.cast(pl.String)


def _parse_measures(texts: dict[str, pl.Series]) -> dict[str, pl.Series]:
    """Every measure and acuity column parsed to Int32 units in one parallel pass (null = no value
    or unparseable; the caller tells the two apart by the text). Text is parsed as exact
    decimals; typed columns (Parquet) are quantised by :func:`units_expr`."""
    n = len(next(iter(texts.values()))) if texts else 0
    out = units_frame(pl.DataFrame([s for f, s in texts.items() if f in _UNITS]), _UNITS)
    return {f: out[f] if f in out.columns else pl.Series(f, [None] * n, dtype=pl.Int32) for f in _UNITS}


_UNITS = {**{i.field: (i.scale, i.time_format) for i in MEASURE_ITEMS}, "vision_left": (10, False),
          "vision_right": (10, False)}


def _fmt_time(seconds: int) -> str:
    return f"{seconds // 60}′{seconds % 60:02d}″"


PLAUSIBLE_FACTOR = 0.5


def plausibility_bounds(item: Item, grade: int, sex: int) -> int:
    """The best value (in units) still plausible: the 100-point mark plus half the span 60 → 100.

    A value beyond it is legal but worth a second look (a 50 m time no child of the grade runs).
    """
    th = dict(load_standard().items[item.field].thresholds[(grade, sex)])
    span = abs(th[100] - th[60])
    margin = int(np.ceil(span * PLAUSIBLE_FACTOR))
    return th[100] + margin if item.direction == "higher_better" else th[100] - margin


def _plausibility(c: _Checker, item: Item, q: pl.Series, rows_np, known, std, raw_values) -> None:
    if q.len() == 0:
        return
    bound = np.full(18, np.iinfo(np.int32).max if item.direction == "higher_better" else np.iinfo(np.int32).min,
                    dtype=np.int64)
    for grade in range(1, 10):
        for sex in (1, 2):
            if item.field in tested_items(grade, sex):
                bound[row_of(grade, sex)] = plausibility_bounds(item, grade, sex)
    b = bound[rows_np]
    v = q.fill_null(0).to_numpy()
    odd = known & q.is_not_null().to_numpy() & (v > b if item.direction == "higher_better" else v < b)
    c.flag(pl.Series(odd), item.header, raw_values, "数值合法但对该年级异常，请复核",
           "legal but implausible for this grade; please check", severity="warning")


def student_id_rows(raw: pl.DataFrame) -> pl.DataFrame:
    """The well-formed 学籍号 of a file read by :func:`read_raw` (``__row__``, ``student_id``), normalised
    as :func:`check_upload` reads them — even when other cells of the file are wrong, so that the
    caller's registry and scope checks report in the same round as the format checks."""
    from junheng.registry.codes import student_id_keys

    col = next((c for c in raw.columns if _HEADER_INDEX.get(_norm_header(c)) == "student_id"), None)
    if col is None or raw.height == 0:
        return pl.DataFrame(schema={ROW: pl.Int64, "student_id": pl.String})
    sid = _normalised_texts(raw, {"student_id": col})["student_id"]
    well_formed, _ = student_id_keys(sid)
    ok = sid.is_not_null() & pl.Series(well_formed)
    return pl.DataFrame({ROW: raw[ROW].cast(pl.Int64), "student_id": sid}).filter(ok)


def read_fitness_file(path: str | Path, *, sheet: str | None = None, limits: ReadLimits | None = None) -> FitnessUpload:
    """Read and check an upload-template file (xlsx / xls / csv / parquet); :class:`InputError` lists
    every bad row. ``limits``: the reader's (default :meth:`ReadLimits.from_env`; the CLI passes
    :func:`census_limits`)."""
    raw, sheet_name = read_raw(path, sheet, limits=limits)
    file = Path(path).name
    upload, issues = check_upload(raw, file, sheet_name)
    n = sum(i.severity == "error" for i in issues)
    raise_for(issues, f"{file}: 体测数据有 {n} 处错误，未写入任何数据 / {file}: the fitness file has {n} error(s); "
                      "nothing was written")
    assert upload is not None
    return upload


__all__ = ["CODE_OF_GRADE", "GRADE_OF_CODE", "grade_of_code", "HEADER_OF", "FitnessUpload", "census_limits", "check_upload",
           "plausibility_bounds",
           "read_fitness_file", "read_raw", "student_id_rows"]
