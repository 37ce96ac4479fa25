"""Read and check a questionnaire's responses file: every bad cell is an :class:`Issue`.

A responses file has one row per respondent: the key column(s) (``学籍号`` for students,
``学校标识码`` for principals, ``教师编号`` + ``学校标识码`` for teachers), then one column per
item headed by the item id (``Q01``) or the id and the question (``Q01 你喜欢学习吗``); ``Q1``
matches ``Q01``. A blank cell or one of the definition's missing codes is "no answer" (null).
Checks are vectorised per column; :class:`Issue` objects are built for the bad cells only.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from junheng.exceptions import Issue
from junheng.io import ROW, header_key, normalise_expr, parse_decimals, parse_integers, read_table
from junheng.questionnaire.definition import KEY_HEADERS, Item, Questionnaire
from junheng.registry import codes

_ID_HEAD = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_]*)")
_ID_NUM = re.compile(r"^([A-Za-z]+)0*(\d+)$")


def _id_key(text: str) -> str:
    """The form under which an item id is compared: case folded, leading zeros of the number dropped."""
    m = _ID_NUM.match(text)
    return f"{m.group(1).casefold()}{int(m.group(2))}" if m else text.casefold()


def _header_item(header: str) -> str | None:
    """The item id a header starts with (``Q01 你喜欢…`` → ``q1``), or ``None``."""
    m = _ID_HEAD.match(header)
    return _id_key(m.group(1)) if m else None


def _codes_text(item: Item, missing: tuple[int, ...]) -> tuple[str, str]:
    opts = "、".join(str(c) for c in item.options)
    opts_en = ", ".join(str(c) for c in item.options)
    if missing:
        return (f"应为选项代码 {opts}（未作答可填 {'、'.join(map(str, missing))} 或留空）",
                f"must be an option code {opts_en} (no answer: {', '.join(map(str, missing))} or blank)")
    return f"应为选项代码 {opts}（未作答留空）", f"must be an option code {opts_en} (blank for no answer)"


def _range_text(item: Item) -> tuple[str, str]:
    unit = item.unit or ""
    if item.min is not None and item.max is not None:
        return (f"超出范围（应在 {item.min:g}–{item.max:g}{unit} 之间）",
                f"out of range (must be {item.min:g}–{item.max:g}{' ' + unit if unit else ''})")
    if item.min is not None:
        return f"超出范围（应不小于 {item.min:g}{unit}）", f"out of range (must be at least {item.min:g})"
    return f"超出范围（应不大于 {item.max:g}{unit}）", f"out of range (must be at most {item.max:g})"


class _Cells:
    """Issue builder for one file: one call per rule and column, vectorised over the rows."""

    def __init__(self, frame: pl.DataFrame, file: str | None, sheet: str | None):
        self.frame, self.file, self.sheet = frame, file, sheet
        self.issues: list[Issue] = []

    def issue(self, zh: str, en: str, **kw) -> Issue:
        return Issue(zh, en, file=self.file, sheet=self.sheet, **kw)

    def flag(self, header: str, mask: pl.Series, zh: str, en: str, values: pl.Series | None = None,
             severity: str = "error") -> None:
        mask = mask.fill_null(False)
        if not mask.any():
            return
        rows = self.frame[ROW].filter(mask).to_list()
        vals = (values if values is not None else self.frame[header]).filter(mask).to_list()
        self.issues.extend(self.issue(zh, en, row=r, column=header, value=v, severity=severity)  # type: ignore[arg-type]
                           for r, v in zip(rows, vals))


def _duplicates(ck: _Cells, key: pl.DataFrame, header: str, what_zh: str, what_en: str) -> None:
    """Every row of a group of equal keys, naming the other rows of the group."""
    k = key.with_columns(ck.frame[ROW])
    cols = list(key.columns)
    dup = k.select(pl.struct(cols).is_duplicated() & pl.all_horizontal(pl.col(cols).is_not_null())).to_series()
    if not dup.any():
        return
    d = k.filter(dup)
    groups = d.group_by(cols).agg(pl.col(ROW).sort().alias("rows"))
    d = d.join(groups, on=cols, how="left")
    for r, rows, v in zip(d[ROW].to_list(), d["rows"].to_list(), d[cols[0]].to_list()):
        others = [x for x in rows if x != r]
        ck.issues.append(ck.issue(f"{what_zh}重复（与第 {'、'.join(map(str, others))} 行相同）",
                                  f"duplicate {what_en} (same as row {', '.join(map(str, others))})",
                                  row=r, column=header, value=v))


def _parse(s: pl.Series, integer: bool, labels: dict[str, str] | None = None) -> tuple[pl.Series, pl.Series]:
    """(values, bad) of one answer column: a direct cast for the cells that are plain numbers,
    normalisation (full-width digits, spaces) and the :mod:`junheng.io` parsers for the rest."""
    dtype = pl.Int64 if integer else pl.Float64
    s = s.cast(pl.String)
    fast = s.cast(dtype, strict=False)
    rest = s.is_not_null() & fast.is_null()
    if not rest.any():
        return fast, pl.Series(s.name, [False] * s.len(), dtype=pl.Boolean)
    idx = rest.arg_true()
    sub = pl.DataFrame({"v": s.gather(idx)}).select(normalise_expr(pl.col("v"))).to_series()
    if labels:
        sub = sub.replace(list(labels), list(labels.values()))
    v, bad = parse_integers(sub) if integer else parse_decimals(sub)
    values = fast.scatter(idx, v.cast(dtype))
    bad_all = pl.Series(s.name, [False] * s.len(), dtype=pl.Boolean).scatter(idx, bad)
    return values, bad_all


def _null_where(s: pl.Series, mask: pl.Series) -> pl.Series:
    return pl.DataFrame({"v": s, "m": mask}).select(pl.when(pl.col("m")).then(None).otherwise(pl.col("v"))).to_series()


def _find(columns: list[str], names: tuple[str, ...]) -> str | None:
    wanted = {header_key(n) for n in names}
    return next((c for c in columns if header_key(c) in wanted), None)


def validate_responses(frame: pl.DataFrame, q: Questionnaire, *, file: str | None = None,
                       sheet: str | None = None) -> tuple[pl.DataFrame, list[Issue]]:
    """Check a responses table against the definition ``q``; returns ``(responses, issues)``.

    ``frame`` holds the columns as headed in the file (strings or numbers; ``__row__`` = the
    spreadsheet row, else rows are numbered from 2). The result has ``respondent_id`` (String),
    ``school_code`` (String, when the file has it or the key needs it) and one column per item
    (Int64 for choice, Float64 for number; null = no answer or a bad cell), in the order of the
    definition. Rules: the key column(s) present and filled; 学籍号 well formed (G/J/L + 18, MOD
    11-2 check character — :mod:`junheng.registry.codes`); 学校标识码 10 digits; no respondent
    twice; a choice answer one of the option codes (or its label, or a missing code); a number
    answer a number within min–max (a missing code outside min–max = no answer), whole when the
    item says ``integer``. Unknown columns and items absent from the file are warnings.
    """
    if ROW not in frame.columns:
        frame = frame.with_row_index(ROW, offset=2).with_columns(pl.col(ROW).cast(pl.Int64))
    data_cols = [c for c in frame.columns if c != ROW]
    frame = frame.with_columns(pl.col(c).cast(pl.String) for c in data_cols)
    ck = _Cells(frame, file, sheet)
    used: set[str] = set()
    if frame.height == 0:
        ck.issues.append(ck.issue("文件中没有作答数据", "the file holds no responses"))

    # key columns
    key_specs = KEY_HEADERS[q.respondent]
    key_cols: list[str | None] = []
    for names in key_specs:
        c = _find([x for x in data_cols if x not in used], names)
        key_cols.append(c)
        if c is None:
            ck.issues.append(ck.issue(f"缺少必需的列 {names[0]}（可用列名: {'、'.join(names)}）",
                                      f"required column {names[0]} is missing (accepted headers: {', '.join(names)})",
                                      column=names[0]))
        else:
            used.add(c)
    school_col = key_cols[-1] if q.respondent != "student" else _find(
        [x for x in data_cols if x not in used], ("学校标识码", "school_code"))
    if school_col is not None:
        used.add(school_col)
    out: dict[str, pl.Series] = {}
    rid_col = key_cols[0]
    if rid_col is not None:
        rid = frame.select(normalise_expr(pl.col(rid_col))).to_series()
        if q.respondent in ("student", "principal"):
            rid = rid.str.replace_all(r"\s+", "").str.to_uppercase()
        ck.flag(rid_col, rid.is_null(), "必填，不能为空", "required, must not be blank", values=rid)
        if q.respondent == "student" and frame.height:
            bad = rid.is_not_null() & ~codes.valid_student_ids(rid)
            if bad.any():
                for r, v in zip(frame[ROW].filter(bad).to_list(), rid.filter(bad).to_list()):
                    zh, en = codes.student_id_problem(v) or ("学籍号无效", "invalid 学籍号")
                    ck.issues.append(ck.issue(zh, en, row=r, column=rid_col, value=v))
        out["respondent_id"] = rid.alias("respondent_id")
    else:
        out["respondent_id"] = pl.Series("respondent_id", [None] * frame.height, dtype=pl.String)
    if school_col is not None:
        sc = frame.select(normalise_expr(pl.col(school_col))).to_series().str.replace_all(r"\s+", "")
        if q.respondent != "student":
            ck.flag(school_col, sc.is_null(), "必填，不能为空", "required, must not be blank", values=sc)
        ck.flag(school_col, sc.is_not_null() & ~sc.str.contains(codes.SCHOOL_CODE_RE.pattern),
                "学校标识码应为 10 位数字", "学校标识码 must be 10 digits")
        out["school_code"] = sc.alias("school_code")
    if all(c is not None for c in key_cols):
        keys = [out["respondent_id"]] + ([out["school_code"]] if q.respondent == "teacher" else [])
        what = {"student": ("学籍号", "学籍号"), "principal": ("学校", "school"),
                "teacher": ("教师（学校标识码 + 教师编号）", "teacher (学校标识码 + 教师编号)")}[q.respondent]
        _duplicates(ck, pl.DataFrame(keys), rid_col, *what)  # type: ignore[arg-type]

    # item columns
    by_id: dict[str, str] = {}
    item_keys = {_id_key(i.id) for i in q.items}
    for c in data_cols:
        if c in used:
            continue
        k = _header_item(c)
        if k is None or k not in item_keys:
            continue
        if k in by_id:
            used.add(c)
            ck.issues.append(ck.issue(f"与列 {by_id[k]} 是同一道题（一道题只能有一列）",
                                      f"same item as column {by_id[k]} (one column per item)", column=c))
        else:
            by_id[k] = c
    missing = q.missing_codes
    for item in q.items:
        col = by_id.get(_id_key(item.id))
        if col is None:
            ck.issues.append(ck.issue("文件中没有这道题（全部视为未作答）", "this item is not in the file (all treated as no answer)",
                                      column=item.id, severity="warning"))
            dtype = pl.Int64 if item.type == "choice" else pl.Float64
            out[item.id] = pl.Series(item.id, [None] * frame.height, dtype=dtype)
            continue
        used.add(col)
        s = frame[col]
        if item.type == "choice":
            v, bad = _parse(s, True, {v: str(k) for k, v in item.options.items()})
            ok = v.is_in(list(item.options))
            gone = v.is_in(list(missing)) if missing else pl.Series([False] * frame.height)
            ck.flag(col, bad | (v.is_not_null() & ~ok & ~gone), *_codes_text(item, missing))
            out[item.id] = _null_where(v, ~ok.fill_null(False)).cast(pl.Int64).alias(item.id)
        else:
            v, bad = _parse(s, False)
            ck.flag(col, bad, "不是数", "not a number")
            lo = v < item.min if item.min is not None else pl.Series([False] * frame.height)
            hi = v > item.max if item.max is not None else pl.Series([False] * frame.height)
            outside = (lo | hi).fill_null(False)
            gone = outside & v.is_in([float(m) for m in missing]) if missing else outside & False
            ck.flag(col, outside & ~gone, *_range_text(item))
            fractional = (v != v.floor()).fill_null(False) & ~outside if item.integer else outside & False
            if item.integer:
                ck.flag(col, fractional, "应为整数", "must be a whole number")
            out[item.id] = _null_where(v, outside | fractional).alias(item.id)
    for c in data_cols:
        if c not in used:
            ck.issues.append(ck.issue("无法识别的列，已忽略", "unknown column, ignored", column=c, severity="warning"))
    ck.issues.sort(key=lambda i: (i.row is not None, i.row or 0))
    return pl.DataFrame(list(out.values())), ck.issues


def expected_headers(q: Questionnaire) -> list[str]:
    """Headers that locate the header row of a responses file (keys, ids, 'id text')."""
    keys = [n for spec in KEY_HEADERS[q.respondent] for n in spec]
    return [*keys, "学校标识码", *q.item_ids, *(f"{i.id} {i.text}" for i in q.items)]


def read_responses(path: str | Path, q: Questionnaire, *, sheet: str | None = None
                   ) -> tuple[pl.DataFrame, list[Issue]]:
    """Read a responses file (.xlsx/.xls/.csv in UTF-8, UTF-8 with BOM or GB18030; the header row
    is found under any title rows) and check it with :func:`validate_responses`.

    Returns ``(responses, issues)``; raises :class:`~junheng.exceptions.InputError` only when the
    file cannot be read at all. Callers refuse the file when any issue is an error."""
    raw = read_table(path, sheet=sheet, expected_headers=expected_headers(q))
    return validate_responses(raw.frame, q, file=raw.file, sheet=raw.sheet)


__all__ = ["expected_headers", "read_responses", "validate_responses"]
