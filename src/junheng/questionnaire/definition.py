"""A questionnaire's definition: items, scales, indicators — loaded from JSON and checked.

A definition is data (JSON), so a province can change its questionnaire without code. The
JSON has the fields of :class:`Questionnaire`; :func:`load_questionnaire` checks every rule
and reports every broken one at once, each :class:`~junheng.exceptions.Issue` naming the JSON
path (``items[3].options."A"``) in its ``column``.

One module on purpose (over 400 lines): the definition's dataclasses and the checks of the JSON
that fills them mirror each other field by field.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from junheng.exceptions import InputError, Issue, Issues

RESPONDENTS = ("student", "principal", "teacher")
ITEM_TYPES = ("choice", "number")
OPS = (">=", "<=", "==", "in")
Respondent = Literal["student", "principal", "teacher"]

_ID_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Item:
    """One question. ``choice``: ``options`` maps integer codes to labels. ``number``: an answer
    between ``min`` and ``max`` (inclusive, either may be ``None``) in ``unit``; ``integer``
    requires a whole number."""

    id: str
    text: str
    type: Literal["choice", "number"]
    options: Mapping[int, str] = field(default_factory=dict)
    min: float | None = None
    max: float | None = None
    unit: str | None = None
    integer: bool = False

    @property
    def low(self) -> float | None:
        """The lowest valid answer (smallest option code, or ``min``)."""
        return float(min(self.options)) if self.type == "choice" else self.min

    @property
    def high(self) -> float | None:
        """The highest valid answer (largest option code, or ``max``)."""
        return float(max(self.options)) if self.type == "choice" else self.max

    def to_json(self) -> dict:
        d: dict = {"id": self.id, "text": self.text, "type": self.type}
        if self.type == "choice":
            d["options"] = {str(k): v for k, v in self.options.items()}
        else:
            for k in ("min", "max", "unit"):
                v = getattr(self, k)
                if v is not None:
                    d[k] = int(v) if isinstance(v, float) and v.is_integer() else v
            if self.integer:
                d["integer"] = True
        return d


@dataclass(frozen=True)
class Scale:
    """A scale (量表): the score is the mean of the valid answers to ``items``, items in ``reverse``
    coded as low + high − x first; no score with fewer than ``min_items`` valid answers."""

    id: str
    name: str
    items: tuple[str, ...]
    reverse: tuple[str, ...] = ()
    min_items: int = 1

    def to_json(self) -> dict:
        d: dict = {"id": self.id, "name": self.name, "items": list(self.items)}
        if self.reverse:
            d["reverse"] = list(self.reverse)
        d["min_items"] = self.min_items
        return d


@dataclass(frozen=True)
class Indicator:
    """A yes/no variable from one item: ``item op value`` (e.g. 睡眠时间 ``>=`` 10)."""

    id: str
    name: str
    item: str
    op: Literal[">=", "<=", "==", "in"]
    value: float | tuple[float, ...]

    def to_json(self) -> dict:
        v = self.value
        if isinstance(v, tuple):
            v = [int(x) if float(x).is_integer() else x for x in v]
        elif isinstance(v, float) and v.is_integer():
            v = int(v)
        return {"id": self.id, "name": self.name, "item": self.item, "op": self.op, "value": v}


@dataclass(frozen=True)
class Questionnaire:
    """A questionnaire: ``code`` (e.g. ``S2022``), ``title``, ``respondent`` (student / principal /
    teacher), ``items``, ``scales``, ``indicators`` and ``missing_codes`` (answers meaning "no
    answer": always for choice items; for number items when outside the item's min–max)."""

    code: str
    title: str
    respondent: Respondent
    items: tuple[Item, ...]
    scales: tuple[Scale, ...] = ()
    indicators: tuple[Indicator, ...] = ()
    missing_codes: tuple[int, ...] = ()

    @property
    def item_ids(self) -> list[str]:
        return [i.id for i in self.items]

    def item(self, item_id: str) -> Item:
        for i in self.items:
            if i.id == item_id:
                return i
        raise KeyError(item_id)

    @property
    def key_columns(self) -> tuple[str, ...]:
        """The respondent key headers of a responses file (see :data:`KEY_HEADERS`)."""
        return tuple(h[0] for h in KEY_HEADERS[self.respondent])

    def to_json(self) -> dict:
        return {
            "code": self.code, "title": self.title, "respondent": self.respondent,
            "missing_codes": list(self.missing_codes),
            "items": [i.to_json() for i in self.items],
            "scales": [s.to_json() for s in self.scales],
            "indicators": [i.to_json() for i in self.indicators],
        }


# the key columns of a responses file per respondent: (header, accepted aliases…)
KEY_HEADERS: dict[str, tuple[tuple[str, ...], ...]] = {
    "student": (("学籍号", "student_id", "respondent_id", "全国学籍号", "学生学籍号"),),
    "principal": (("学校标识码", "school_code", "respondent_id"),),
    "teacher": (("教师编号", "teacher_id", "respondent_id"), ("学校标识码", "school_code")),
}


# ---------------------------------------------------------------------------------------------
# loading and checking


class _Check:
    def __init__(self, file: str | None):
        self.file = file
        self.issues = Issues()

    def bad(self, where: str, zh: str, en: str, value: object = None) -> None:
        self.issues.add(Issue(zh, en, file=self.file, column=where, value=value))


def _number(v: object) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        return None
    return float(v)


def _text(ck: _Check, d: dict, key: str, where: str, required: bool = True) -> str:
    v = d.get(key)
    if isinstance(v, str) and v.strip():
        return v.strip()
    if required or v is not None:
        ck.bad(f"{where}.{key}" if where else key, "必填，应为非空文本", "required, must be non-empty text", v)
    return ""


def _ident(ck: _Check, d: dict, where: str) -> str:
    v = d.get("id")
    if not isinstance(v, str) or not _ID_RE.match(v):
        ck.bad(f"{where}.id", "编号应以字母开头，只含字母、数字和下划线（如 Q01）",
               "id must start with a letter and hold only letters, digits and underscores (e.g. Q01)", v)
        return v if isinstance(v, str) else ""
    return v


def _unknown_fields(ck: _Check, d: dict, known: set[str], where: str) -> None:
    for k in d:
        if k not in known:
            ck.bad(f"{where}.{k}" if where else k, "未知字段", "unknown field", k)


def _item(ck: _Check, d: object, where: str, missing: set[int]) -> Item | None:
    if not isinstance(d, dict):
        ck.bad(where, "题目应为 JSON 对象", "an item must be a JSON object", type(d).__name__)
        return None
    _unknown_fields(ck, d, {"id", "text", "type", "options", "min", "max", "unit", "integer"}, where)
    item_id = _ident(ck, d, where)
    text = _text(ck, d, "text", where)
    kind = d.get("type")
    if kind not in ITEM_TYPES:
        ck.bad(f"{where}.type", "题型应为 choice（选择）或 number（数值）", "type must be choice or number", kind)
        return None
    if kind == "choice":
        raw = d.get("options")
        if isinstance(raw, list):  # [{"code": 1, "label": "…"}, …]
            pairs = []
            for j, o in enumerate(raw):
                if not isinstance(o, dict) or "code" not in o or "label" not in o:
                    ck.bad(f"{where}.options[{j}]", "选项应为 {\"code\": 整数, \"label\": 文本}",
                           "an option must be {\"code\": integer, \"label\": text}", o)
                    continue
                pairs.append((o["code"], o["label"], f"{where}.options[{j}]"))
        elif isinstance(raw, dict):
            pairs = [(k, v, f'{where}.options."{k}"') for k, v in raw.items()]
        else:
            ck.bad(f"{where}.options", "选择题须有选项（代码 → 文字）", "a choice item needs options (code → label)", raw)
            return None
        options: dict[int, str] = {}
        for code, label, at in pairs:
            c = code
            if isinstance(c, str) and re.fullmatch(r"[+-]?\d+", c.strip()):
                c = int(c)
            if isinstance(c, bool) or not isinstance(c, int):
                ck.bad(at, "选项代码应为整数", "option codes must be integers", code)
                continue
            if c in options:
                ck.bad(at, "选项代码重复", "duplicate option code", code)
                continue
            if c in missing:
                ck.bad(at, "选项代码与缺失代码相同", "option code is one of the missing codes", code)
                continue
            if not isinstance(label, str) or not label.strip():
                ck.bad(at, "选项文字必填", "an option needs a label", label)
                continue
            options[c] = label.strip()
        if len(options) < 2 and len(pairs) == len(options):
            ck.bad(f"{where}.options", "选择题至少需要 2 个选项", "a choice item needs at least 2 options", len(options))
        for k in ("min", "max", "unit", "integer"):
            if k in d:
                ck.bad(f"{where}.{k}", "选择题不用此字段", "not a field of a choice item", d[k])
        return Item(item_id, text, "choice", dict(sorted(options.items())))
    if "options" in d:
        ck.bad(f"{where}.options", "数值题不用选项", "a number item has no options", d["options"])
    lo, hi = d.get("min"), d.get("max")
    low, high = _number(lo), _number(hi)
    if lo is not None and low is None:
        ck.bad(f"{where}.min", "应为数", "must be a number", lo)
    if hi is not None and high is None:
        ck.bad(f"{where}.max", "应为数", "must be a number", hi)
    if low is not None and high is not None and low > high:
        ck.bad(f"{where}.max", "最大值小于最小值", "max is below min", hi)
    unit = d.get("unit")
    if unit is not None and not isinstance(unit, str):
        ck.bad(f"{where}.unit", "单位应为文本", "unit must be text", unit)
        unit = None
    integer = d.get("integer", False)
    if not isinstance(integer, bool):
        ck.bad(f"{where}.integer", "应为 true 或 false", "must be true or false", integer)
        integer = False
    return Item(item_id, text, "number", {}, low, high, unit, integer)


def _scale(ck: _Check, d: object, where: str, items: dict[str, Item]) -> Scale | None:
    if not isinstance(d, dict):
        ck.bad(where, "量表应为 JSON 对象", "a scale must be a JSON object", type(d).__name__)
        return None
    _unknown_fields(ck, d, {"id", "name", "items", "reverse", "min_items"}, where)
    sid = _ident(ck, d, where)
    name = _text(ck, d, "name", where)
    members = d.get("items")
    if not isinstance(members, list) or not members:
        ck.bad(f"{where}.items", "量表须列出至少 1 道题", "a scale must list at least one item", members)
        members = []
    ok: list[str] = []
    for j, m in enumerate(members):
        at = f"{where}.items[{j}]"
        if m not in items:
            ck.bad(at, "量表中的题目未定义", "unknown item in the scale", m)
        elif m in ok:
            ck.bad(at, "量表中题目重复", "item listed twice in the scale", m)
        elif items[m].type == "number" and (items[m].min is None or items[m].max is None):
            ck.bad(at, "数值题须有 min 和 max 才能进入量表", "a number item needs min and max to enter a scale", m)
        else:
            ok.append(m)
    reverse = d.get("reverse", [])
    if not isinstance(reverse, list):
        ck.bad(f"{where}.reverse", "应为题目编号的列表", "must be a list of item ids", reverse)
        reverse = []
    for j, m in enumerate(reverse):
        if m not in ok:
            ck.bad(f"{where}.reverse[{j}]", "反向计分题不在本量表中", "reverse-coded item is not in this scale", m)
    n_items = len(members)
    min_items = d.get("min_items", max(1, math.ceil(n_items / 2)))
    if isinstance(min_items, bool) or not isinstance(min_items, int) or not 1 <= min_items <= max(1, n_items):
        ck.bad(f"{where}.min_items", f"应为 1 到 {n_items} 之间的整数", f"must be a whole number from 1 to {n_items}",
               min_items)
        min_items = 1
    return Scale(sid, name, tuple(ok), tuple(m for m in reverse if m in ok), min_items)


def _indicator(ck: _Check, d: object, where: str, items: dict[str, Item]) -> Indicator | None:
    if not isinstance(d, dict):
        ck.bad(where, "指标应为 JSON 对象", "an indicator must be a JSON object", type(d).__name__)
        return None
    _unknown_fields(ck, d, {"id", "name", "item", "op", "value"}, where)
    iid = _ident(ck, d, where)
    name = _text(ck, d, "name", where)
    item = d.get("item")
    if item not in items:
        ck.bad(f"{where}.item", "指标所用题目未定义", "unknown item", item)
    op = d.get("op")
    if op not in OPS:
        ck.bad(f"{where}.op", f"运算应为 {' '.join(OPS)} 之一", f"op must be one of {', '.join(OPS)}", op)
        return None
    v = d.get("value")
    value: float | tuple[float, ...]
    if op == "in":
        vals = [_number(x) for x in v] if isinstance(v, list) else [None]
        if not vals or any(x is None for x in vals):
            ck.bad(f"{where}.value", "in 的值应为数的列表", "the value of 'in' must be a list of numbers", v)
            return None
        value = tuple(x for x in vals if x is not None)
        if item in items and items[item].type == "choice":
            for x in value:
                if x not in items[item].options:
                    ck.bad(f"{where}.value", "不是该题的选项代码", "not an option code of the item", x)
    else:
        n = _number(v)
        if n is None:
            ck.bad(f"{where}.value", "应为数", "must be a number", v)
            return None
        value = n
    return Indicator(iid, name, item if isinstance(item, str) else "", op, value)


def questionnaire_from_json(data: object, file: str | None = None) -> Questionnaire:
    """Check a parsed JSON definition and build the :class:`Questionnaire`; every broken rule is
    reported together (:class:`~junheng.exceptions.InputError`, each issue naming its JSON path)."""
    ck = _Check(file)
    if not isinstance(data, dict):
        raise InputError(Issue("问卷定义应为 JSON 对象", "a questionnaire definition must be a JSON object",
                               file=file, value=type(data).__name__))
    _unknown_fields(ck, data, {"code", "title", "respondent", "missing_codes", "items", "scales", "indicators"}, "")
    code = _text(ck, data, "code", "")
    title = _text(ck, data, "title", "")
    respondent = data.get("respondent")
    if respondent not in RESPONDENTS:
        ck.bad("respondent", "作答者应为 student（学生）/ principal（校长）/ teacher（教师）",
               "respondent must be student, principal or teacher", respondent)
        respondent = "student"
    raw_missing = data.get("missing_codes", [])
    missing: list[int] = []
    if not isinstance(raw_missing, list):
        ck.bad("missing_codes", "应为整数列表", "must be a list of integers", raw_missing)
    else:
        for j, m in enumerate(raw_missing):
            if isinstance(m, bool) or not isinstance(m, int):
                ck.bad(f"missing_codes[{j}]", "缺失代码应为整数", "missing codes must be integers", m)
            else:
                missing.append(m)
    raw_items = data.get("items")
    if not isinstance(raw_items, list) or not raw_items:
        ck.bad("items", "问卷至少需要 1 道题", "a questionnaire needs at least one item", raw_items)
        raw_items = []
    items: dict[str, Item] = {}
    item_where: dict[str, str] = {}
    for j, d in enumerate(raw_items):
        it = _item(ck, d, f"items[{j}]", set(missing))
        if it is None or not it.id:
            continue
        if it.id in items:
            ck.bad(f"items[{j}].id", "题目编号重复", "duplicate item id", it.id)
            continue
        items[it.id] = it
        item_where[it.id] = f"items[{j}]"
    scales: list[Scale] = []
    raw_scales = data.get("scales", [])
    if not isinstance(raw_scales, list):
        ck.bad("scales", "应为列表", "must be a list", raw_scales)
        raw_scales = []
    where: dict[int, str] = {}  # id(object) → its JSON path
    for j, d in enumerate(raw_scales):
        s = _scale(ck, d, f"scales[{j}]", items)
        if s is not None:
            scales.append(s)
            where[id(s)] = f"scales[{j}]"
    indicators: list[Indicator] = []
    raw_ind = data.get("indicators", [])
    if not isinstance(raw_ind, list):
        ck.bad("indicators", "应为列表", "must be a list", raw_ind)
        raw_ind = []
    for j, d in enumerate(raw_ind):
        s = _indicator(ck, d, f"indicators[{j}]", items)
        if s is not None:
            indicators.append(s)
            where[id(s)] = f"indicators[{j}]"
    # one name space for the columns a scored frame will have
    seen: dict[str, str] = dict(item_where)
    for o in [*scales, *indicators]:
        if o.id and o.id in seen:
            ck.bad(f"{where[id(o)]}.id", f"编号与 {seen[o.id]} 重复", f"id already used by {seen[o.id]}", o.id)
        seen.setdefault(o.id, where[id(o)])
    ck.issues.raise_if_errors(f"问卷定义有 {sum(i.severity == 'error' for i in ck.issues.items)} 处错误 / "
                              f"the questionnaire definition has "
                              f"{sum(i.severity == 'error' for i in ck.issues.items)} error(s)")
    return Questionnaire(code, title, respondent, tuple(items.values()), tuple(scales), tuple(indicators),
                         tuple(missing))


def load_questionnaire(source: str | Path | Mapping) -> Questionnaire:
    """A :class:`Questionnaire` from a JSON file (UTF-8, with or without BOM) or an already parsed
    dict, checked by :func:`questionnaire_from_json`."""
    if isinstance(source, Mapping):
        return questionnaire_from_json(dict(source))
    if not isinstance(source, str | Path):
        return questionnaire_from_json(source)
    path = Path(source)
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise InputError(Issue("文件不存在", "file not found", file=str(path))) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(Issue("无法读取 JSON 问卷定义", "cannot read the JSON questionnaire definition",
                               file=path.name, value=str(exc)[:120])) from None
    return questionnaire_from_json(data, path.name)


def save_questionnaire(q: Questionnaire, path: str | Path) -> Path:
    """Write ``q`` as JSON (UTF-8, Chinese readable); :func:`load_questionnaire` reads it back equal."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(q.to_json(), ensure_ascii=False, indent=1), encoding="utf-8")
    return path


__all__ = ["ITEM_TYPES", "KEY_HEADERS", "OPS", "RESPONDENTS", "Indicator", "Item", "Questionnaire", "Scale",
           "load_questionnaire", "questionnaire_from_json", "save_questionnaire"]
