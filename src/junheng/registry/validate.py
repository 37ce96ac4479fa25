"""Validate registry files (schools, pupil rosters): every rule, every bad cell reported.

``validate_schools(raw)`` and ``validate_pupils(raw, …)`` take a :class:`~junheng.io.RawTable`
(from :func:`junheng.io.read_table`) and return ``(frame, issues)``: the frame has the canonical
fields of :mod:`junheng.registry.schemas`, typed (nulls where a cell was bad), plus ``__row__``
(the spreadsheet row); the issues name file, sheet, row, column, value and rule. The rules are
listed in ``docs/guide/import.md``; codes follow GB/T 2260 (divisions), GB/T 2261.1 (sex),
GB 3304 (ethnicity), GB 11643 MOD 11-2 (学籍号 check character) and the 年级编号 of the national
fitness upload (11–16 primary, 21–23 junior secondary).
"""

from __future__ import annotations

import functools

import polars as pl

from junheng.exceptions import Issue
from junheng.io import (
    ROW,
    RawTable,
    parse_dates,
    parse_decimals,
    parse_integers,
    read_package_table,
    resolve_columns,
)
from junheng.registry import codes
from junheng.registry.schemas import LOCATIONS, PUPILS, SCHOOLS, STAGES

INT_FIELDS = tuple(f"enrol_g{g}" for g in range(1, 10)) + tuple(f"classes_g{g}" for g in range(1, 10)) + (
    "teachers_above_qualification", "key_teachers", "pe_arts_teachers", "multimedia_classrooms")
DECIMAL_FIELDS = ("teaching_area_m2", "sports_area_m2", "equipment_value_yuan")
COUNT_DEFAULT_ZERO = tuple(f"enrol_g{g}" for g in range(1, 10)) + tuple(f"classes_g{g}" for g in range(1, 10))

# how old (completed years on 1 September of the school year) a pupil in grade g may be:
# entry at 6 gives g + 5; outside [g+3, g+9] is an error, outside [g+4, g+7] a warning
AGE_ERROR = (3, 9)
AGE_WARN = (4, 7)


def _read_data(name: str) -> pl.DataFrame:
    return read_package_table("junheng.registry.data", name)


@functools.cache
def divisions() -> pl.DataFrame:
    """Henan's divisions (GB/T 2260, 2022): ``code``, ``name``, ``level`` (province/city/county),
    ``parent_code``. 济源 (419001) is both a city and a county unit. Source: ``data/SOURCES.md``."""
    d = _read_data("divisions_henan.csv")
    province = pl.DataFrame({"code": ["410000"], "name": ["河南省"], "level": ["province"], "parent_code": [None]},
                            schema=d.schema)
    return pl.concat([province, d])


@functools.cache
def ethnicities() -> pl.DataFrame:
    """GB 3304-1991 民族代码: ``code`` (2 digits), ``name`` (e.g. 汉族)."""
    return _read_data("ethnicity_gb3304.csv")


def county_codes() -> frozenset[str]:
    return frozenset(divisions().filter(pl.col("level") == "county")["code"].to_list())


class _Checker:
    """Collects issues for one table: one call per rule, vectorised over the rows."""

    def __init__(self, raw: RawTable, frame: pl.DataFrame, headers: dict[str, str], schema):
        self.raw, self.frame, self.headers, self.schema = raw, frame, headers, schema
        self.issues: list[Issue] = []

    def header(self, field: str) -> str:
        return self.headers.get(field) or self.schema.column(field).header

    def flag(self, field: str, mask: pl.Series, rule_zh: str, rule_en: str, *, severity="error",
             values: pl.Series | None = None) -> None:
        """One issue per row where ``mask`` is true (nulls in ``mask`` count as false)."""
        mask = mask.fill_null(False)
        if not mask.any():
            return
        rows = self.frame[ROW].filter(mask).to_list()
        vals = (values if values is not None else self.frame[field]).filter(mask).to_list()
        col = self.header(field)
        self.issues.extend(
            self.raw.issue(rule_zh, rule_en, row=r, column=col, value=v, severity=severity) for r, v in zip(rows, vals))

    def required(self, field: str) -> None:
        if field in self.headers:
            self.flag(field, self.frame[field].is_null(), "必填，不能为空", "required, must not be blank",
                      values=pl.Series([None] * self.frame.height, dtype=pl.String))

    def duplicates(self, field: str, what_zh: str, what_en: str) -> None:
        """Every row of a duplicate group, naming the other rows."""
        s = self.frame[field]
        dup = s.is_duplicated() & s.is_not_null()
        if not dup.any():
            return
        groups = self.frame.filter(dup).group_by(field).agg(pl.col(ROW).sort())
        others = {k: v for k, v in zip(groups[field].to_list(), groups[ROW].to_list())}
        col = self.header(field)
        for r, v in zip(self.frame[ROW].filter(dup).to_list(), s.filter(dup).to_list()):
            rows = "、".join(str(x) for x in others[v] if x != r)
            rows_en = ", ".join(str(x) for x in others[v] if x != r)
            self.issues.append(self.raw.issue(f"{what_zh}重复（与第 {rows} 行相同）", f"duplicate {what_en} (same as row {rows_en})",
                                              row=r, column=col, value=v))


def _codes_only(s: pl.Series) -> pl.Series:
    """Codes: inner spaces removed, letters upper-cased."""
    return s.str.replace_all(r"\s+", "").str.to_uppercase()


def validate_schools(raw: RawTable, known_counties=None) -> tuple[pl.DataFrame, list[Issue]]:
    """Check a school list against every rule; returns (typed frame, issues).

    Rules: 学校标识码 10 digits, unique in the file; name given; 区县代码 a county-level code of
    the divisions (or of ``known_counties``); 办学类型 in :data:`STAGES`; 城乡类型 in
    :data:`LOCATIONS`; 是否教学点 是/否 (1/0, Y/N); enrolment and class counts non-negative whole
    numbers (blank = 0); resource figures non-negative numbers (blank = unknown).
    """
    frame, issues, cmap = resolve_columns(raw, SCHOOLS)
    counties = frozenset(known_counties) if known_counties is not None else county_codes()
    frame = frame.with_columns(_codes_only(pl.col(c)).alias(c) for c in ("school_code", "county_code"))
    ck = _Checker(raw, frame, cmap.headers, SCHOOLS)
    ck.issues.extend(issues)
    for f in ("school_code", "name", "county_code", "stage", "location"):
        ck.required(f)
    if "school_code" in cmap.headers:
        ck.flag("school_code", ~frame["school_code"].str.contains(r"^\d{10}$"),
                "学校标识码应为 10 位数字", "学校标识码 must be 10 digits")
        ck.duplicates("school_code", "学校标识码", "学校标识码")
    if "county_code" in cmap.headers:
        ck.flag("county_code", ~frame["county_code"].is_in(list(counties)),
                "区县代码不是河南省的县级行政区划代码（GB/T 2260）", "not a county-level division code of Henan (GB/T 2260)")
    ck.flag("stage", ~frame["stage"].is_in(list(STAGES)), f"应为 {'/'.join(STAGES)} 之一",
            f"must be one of {', '.join(STAGES)}")
    ck.flag("location", ~frame["location"].is_in(list(LOCATIONS)), f"应为 {'/'.join(LOCATIONS)} 之一",
            f"must be one of {', '.join(LOCATIONS)}")
    tp = frame["is_teaching_point"].str.to_lowercase()
    yes, no = ["是", "1", "y", "yes", "true", "t"], ["否", "0", "n", "no", "false", "f"]
    ck.flag("is_teaching_point", tp.is_not_null() & ~tp.is_in(yes + no), "应为 是 或 否", "must be 是 (yes) or 否 (no)")
    typed = [pl.Series("is_teaching_point", tp.is_in(yes).fill_null(False))]
    for f in INT_FIELDS:
        v, bad = parse_integers(frame[f])
        ck.flag(f, bad, "应为整数", "must be a whole number")
        ck.flag(f, (v < 0), "不能为负数", "must not be negative")
        v = _non_negative(v)
        if f in COUNT_DEFAULT_ZERO:
            v = v.fill_null(0)
        typed.append(v.cast(pl.Int64).alias(f))
    for f in DECIMAL_FIELDS:
        v, bad = parse_decimals(frame[f])
        ck.flag(f, bad, "应为数字", "must be a number")
        ck.flag(f, (v < 0), "不能为负数", "must not be negative")
        typed.append(_non_negative(v).alias(f))
    out = frame.with_columns(typed)
    return out, ck.issues


def _non_negative(v: pl.Series) -> pl.Series:
    return pl.DataFrame({"v": v}).select(pl.when(pl.col("v") >= 0).then(pl.col("v"))).to_series().alias(v.name)


def _sex(frame: pl.DataFrame) -> pl.Series:
    s = frame["sex"]
    return (pl.DataFrame({"s": s}).select(
        pl.col("s").replace_strict({"1": 1, "2": 2, "男": 1, "女": 2}, default=None, return_dtype=pl.Int8))
        .to_series().alias("sex"))


def _ethnicity(frame: pl.DataFrame) -> tuple[pl.Series, pl.Series]:
    eth = ethnicities()
    by_code = dict(zip(eth["code"], eth["code"]))
    by_name = dict(zip(eth["name"], eth["code"]))
    by_short = {n[:-1]: c for n, c in by_name.items() if n.endswith("族") and len(n) >= 2}
    lookup = {**by_short, **by_name, **by_code, **{c.lstrip("0"): c for c in by_code}}
    s = frame["ethnicity"].str.replace_all(r"\s+", "")
    out = pl.DataFrame({"s": s}).select(pl.col("s").replace_strict(lookup, default=None, return_dtype=pl.String))
    out = out.to_series().alias("ethnicity")
    return out, s.is_not_null() & out.is_null()


def _grade(frame: pl.DataFrame) -> tuple[pl.Series, pl.Series]:
    v, bad = parse_integers(frame["grade"])
    g = (pl.DataFrame({"g": v}).select(
        pl.when(pl.col("g").is_between(1, 9)).then(pl.col("g"))
        .when(pl.col("g").is_between(11, 16)).then(pl.col("g") - 10)
        .when(pl.col("g").is_between(21, 23)).then(pl.col("g") - 14)
        .otherwise(None).cast(pl.Int8)).to_series().alias("grade"))
    return g, frame["grade"].is_not_null() & g.is_null()


def roster_school_codes(raw: RawTable) -> list[str]:
    """The distinct 学校标识码 a pupil roster names, normalised exactly as :func:`validate_pupils`
    compares them with ``known_schools`` (so a caller can look up only these schools)."""
    frame, _, _ = resolve_columns(raw, PUPILS)
    if "school_code" not in frame.columns:
        return []
    return sorted(_codes_only(frame["school_code"]).drop_nulls().unique().to_list())


def validate_pupils(raw: RawTable, known_schools=None, known_counties=None, *,
                    school_year: int | None = None) -> tuple[pl.DataFrame, list[Issue]]:
    """Check a pupil roster against every rule; returns (typed frame, issues).

    Rules: 学籍号 G/J/L + 18 characters with the GB 11643 MOD 11-2 check character for G/J
    (:mod:`junheng.registry.codes`), unique in the file (every row of a duplicate group is
    reported); 姓名 given; 性别 1/2 (男/女 accepted, stored 1/2; anything else, e.g. ``男性``,
    rejected); 出生日期 a real date in any accepted form, not in the future, and plausible for
    the grade (age on 1 September of ``school_year`` within grade + [3, 9], warning outside
    grade + [4, 7]; ``school_year`` defaults to the most common birth year + grade + 5 in the
    file, +1 for those born after 1 September); 民族 a GB 3304 code or name (optional); 学校标识码 10 digits and, when
    ``known_schools`` is given, one of them; 年级 1–9 or 年级编号 11–16 / 21–23 (stored 1–9).
    A J-number whose first six digits are not in ``known_counties`` is a warning.
    """
    frame, issues, cmap = resolve_columns(raw, PUPILS)
    frame = frame.with_columns(_codes_only(pl.col(c)).alias(c) for c in ("student_id", "school_code"))
    ck = _Checker(raw, frame, cmap.headers, PUPILS)
    ck.issues.extend(issues)
    for f in ("student_id", "name", "sex", "birth_date", "school_code", "grade"):
        ck.required(f)
    sid = frame["student_id"]
    if "student_id" in cmap.headers:
        ok = codes.valid_student_ids(sid)
        bad = sid.is_not_null() & ~ok
        if bad.any():
            rows = frame[ROW].filter(bad).to_list()
            for r, v in zip(rows, sid.filter(bad).to_list()):
                zh, en = codes.student_id_problem(v) or ("学籍号无效", "invalid 学籍号")
                ck.issues.append(raw.issue(zh, en, row=r, column=ck.header("student_id"), value=v))
        ck.duplicates("student_id", "学籍号", "学籍号")
        if known_counties is not None:
            j = sid.str.starts_with("J").fill_null(False) & ok
            ck.flag("student_id", j & ~sid.str.slice(1, 6).is_in(list(known_counties)),
                    "J 字头学籍号的前 6 位不是已知的区县代码", "the division code in this J-number is not a known county",
                    severity="warning")
    sex = _sex(frame)
    ck.flag("sex", frame["sex"].is_not_null() & sex.is_null(), "应为 1（男）或 2（女）",
            "must be 1 (male) or 2 (female); 男/女 accepted")
    birth, bad_date = parse_dates(frame["birth_date"])
    ck.flag("birth_date", bad_date, "不是有效日期（可写 2011-09-01、2011/9/1、20110901、2011年9月1日）",
            "not a valid date (write 2011-09-01, 2011/9/1, 20110901 or 2011年9月1日)")
    grade, bad_grade = _grade(frame)
    ck.flag("grade", bad_grade, "应为 1–9，或年级编号 11–16 / 21–23", "must be 1–9, or 年级编号 11–16 / 21–23")
    eth, bad_eth = _ethnicity(frame)
    ck.flag("ethnicity", bad_eth, "不是 GB 3304 民族代码或民族名称", "not a GB 3304 ethnicity code or name")
    sc = frame["school_code"]
    if "school_code" in cmap.headers:
        ck.flag("school_code", sc.is_not_null() & ~sc.str.contains(r"^\d{10}$"), "学校标识码应为 10 位数字",
                "学校标识码 must be 10 digits")
        if known_schools is not None:
            ck.flag("school_code", sc.str.contains(r"^\d{10}$") & ~sc.is_in(list(known_schools)),
                    "学校不在学校名册中（请先导入学校）", "school not in the school register (import the schools first)")
    # age on 1 September of the school year
    year = birth.dt.year()
    if school_year is None:
        # the school year in which a pupil of this birth date is in this grade at the usual age
        # (6 on 1 September when entering grade 1): birth year + grade + 5, +1 if born after 1 Sept
        late = ((birth.dt.month().cast(pl.Int64) * 100 + birth.dt.day().cast(pl.Int64)) > 901).cast(pl.Int64)
        guess = (year.cast(pl.Int64) + grade.cast(pl.Int64) + 5 + late).drop_nulls()
        school_year = int(guess.mode().sort()[-1]) if guess.len() else None
    if school_year is not None:
        ref = pl.date(school_year, 9, 1)
        age_df = pl.DataFrame({"b": birth, "g": grade.cast(pl.Int64)}).select(
            age=(pl.lit(school_year) - pl.col("b").dt.year()
                 - ((pl.col("b").dt.month() * 100 + pl.col("b").dt.day()) > 901).cast(pl.Int32)),
            g=pl.col("g"), future=pl.col("b") > ref)
        age, g = age_df["age"], age_df["g"]
        future = age_df["future"]
        ck.flag("birth_date", future, f"出生日期晚于 {school_year} 年 9 月 1 日",
                f"birth date after 1 September {school_year}")
        hard = ~future.fill_null(False) & ((age < g + AGE_ERROR[0]) | (age > g + AGE_ERROR[1]))
        soft = ~hard.fill_null(False) & ~future.fill_null(False) & ((age < g + AGE_WARN[0]) | (age > g + AGE_WARN[1]))
        ck.flag("birth_date", hard, f"与年级不符（{school_year} 年 9 月 1 日的年龄应在 年级+{AGE_ERROR[0]} 至 年级+{AGE_ERROR[1]} 岁之间）",
                f"implausible for the grade (age on 1 September {school_year} must be grade+{AGE_ERROR[0]} to grade+{AGE_ERROR[1]})")
        ck.flag("birth_date", soft, f"年龄与年级不太相符（{school_year} 年 9 月 1 日通常为 年级+{AGE_WARN[0]} 至 年级+{AGE_WARN[1]} 岁），请核对",
                f"unusual age for the grade (on 1 September {school_year} usually grade+{AGE_WARN[0]} to grade+{AGE_WARN[1]}); please check",
                severity="warning")
    out = frame.with_columns(sex, birth.alias("birth_date"), eth, grade)
    return out, ck.issues


__all__ = ["county_codes", "divisions", "ethnicities", "roster_school_codes", "validate_pupils", "validate_schools"]
