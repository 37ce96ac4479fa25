"""The records of a site's result package (``results.json``, written by ``sitenode.export_results``)
checked field by field before the centre merges anything; and a site package's records
(``records.json``, Django's serialisation) before a site node loads them (:func:`check_site_records`).

The package's signature says *who* wrote the records, not that they are well formed: a site
node of another version, a hand-edited export re-signed with a leaked site key, or a bug must
give a message, not a traceback half-way through the merge.  :func:`check_results` returns one
:class:`~junheng.exceptions.Issue` per bad field — every one, not the first — naming the package
file, the member (``results.json``), the record (list and number, counted from 1), the field, the
value and the rule; ``sitenode.ingest`` raises them together before it writes anything.

Each field is checked against what the database will take: UUIDs, whole numbers within the
column's range (a bool is not a number), texts within the column's length and without NUL (which
PostgreSQL refuses), times as ISO 8601 with a UTC offset, a proctor action among the known ones.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid

from django.db import models
from django.db.backends.base.operations import BaseDatabaseOperations

from junheng.exceptions import Issue
from junheng_web.delivery.models import Answer, Attempt, Lease, PageContact, ProctorEvent, QuestionnaireAnswer

MEMBER = "results.json"
BIGINT = 2**63 - 1


def is_uuid(v) -> bool:
    """``v`` is text that reads as a UUID (anything else, not text included: no)."""
    if not isinstance(v, str):
        return False
    try:
        uuid.UUID(v)
    except ValueError:
        return False
    return True


def _whole(lo: int, hi: int, null: bool = False):
    def ok(v) -> bool:
        return (null and v is None) or (isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi)
    return ok


def _text(longest: int | None = None, null: bool = False):
    def ok(v) -> bool:
        if null and v is None:
            return True
        return isinstance(v, str) and "\x00" not in v and (longest is None or len(v) <= longest)
    return ok


def _time(null: bool = False):
    def ok(v) -> bool:
        if null and v is None:
            return True
        if not isinstance(v, str):
            return False
        try:
            t = dt.datetime.fromisoformat(v)
            # aware, and its UTC time a datetime too (0001-01-01T00:00+05:00 is not: the database
            # layer's conversion to UTC would overflow half-way through the merge)
            return t.utcoffset() is not None and t.astimezone(dt.UTC) is not None
        except (ValueError, OverflowError):
            return False
    return ok


UUID = (is_uuid, "应为 UUID", "must be a UUID")
ID = (_whole(1, BIGINT), "应为正整数编号", "must be a positive whole-number id")
TIME = (_time(), "应为带时区的 ISO 8601 时间", "must be an ISO 8601 time with a UTC offset")
TIME_OR_NULL = (_time(null=True), "应为空或带时区的 ISO 8601 时间", "must be empty or an ISO 8601 time with a UTC offset")
TEXT = (_text(), "应为文本（不含 NUL 字符）", "must be text (without NUL)")
NUMBER = (lambda v: isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and 0 <= v <= 1e9,
          "应为 0–10⁹ 的数", "must be a number 0–10⁹")


def _short(model, field: str):
    n = model._meta.get_field(field).max_length
    return (_text(n), f"应为至多 {n} 个字符的文本（不含 NUL 字符）", f"must be text of at most {n} characters (without NUL)")


def _rule(field) -> tuple:
    """The check of one model field's value in ``results.json``, from the field itself: its type,
    its portable integer range (Django's ``integer_field_ranges``, which every supported database
    holds), its length, whether it may be empty, its choices; a foreign key by its target's key."""
    if field.is_relation:
        return UUID if isinstance(field.target_field, models.UUIDField) else ID
    if isinstance(field, models.UUIDField):
        return UUID
    if isinstance(field, models.DateTimeField):
        return TIME_OR_NULL if field.null else TIME
    if field.choices:
        codes = tuple(code for code, _ in field.choices)
        return (lambda v: v in codes, "应为以下之一：" + "、".join(codes), "must be one of: " + ", ".join(codes))
    if isinstance(field, models.IntegerField):
        lo, hi = BaseDatabaseOperations.integer_field_ranges[field.get_internal_type()]
        if field.null:
            return (_whole(lo, hi, null=True), f"应为空或 {lo}–{hi} 的整数", f"must be empty or a whole number {lo}–{hi}")
        return (_whole(lo, hi), f"应为 {lo}–{hi} 的整数", f"must be a whole number {lo}–{hi}")
    if isinstance(field, models.CharField):
        return _short(field.model, field.name)
    if isinstance(field, models.TextField):
        return TEXT
    if isinstance(field, models.FloatField):
        return NUMBER
    raise TypeError(f"no rule for {field.model.__name__}.{field.name} ({type(field).__name__}): add one to _rule")


# The record lists of results.json, required lists first: each list's model, whose fields are the
# records' keys (all but an automatic id) — the one definition ``sitenode.export_results`` writes by
# (:func:`export_row`) and :func:`check_results` checks by.  An answer names its item by the bank's
# ``item_id``, not the row's key.
ITEM = Answer.item.field.related_model
MODELS = {"attempts": Attempt, "leases": Lease, "answers": Answer, "events": ProctorEvent,
          "questionnaire_answers": QuestionnaireAnswer, "contacts": PageContact}
BY_REFERENCE = {(Answer, "item"): ("item_id", _short(ITEM, "item_id"))}  # key → (the target's field, rule)


def record_fields(model) -> list:
    return [f for f in model._meta.concrete_fields if not isinstance(f, models.AutoField)]


FIELDS: dict[str, dict[str, tuple]] = {
    key: {f.name: BY_REFERENCE.get((model, f.name), (None, None))[1] or _rule(f) for f in record_fields(model)}
    for key, model in MODELS.items()}


def export_row(obj) -> dict:
    """The record of ``obj`` in ``results.json``: its fields (:data:`MODELS`) as JSON values — a
    key or UUID as text, a time in ISO 8601, a foreign key as its target's key."""
    out = {}
    for f in record_fields(type(obj)):
        ref = BY_REFERENCE.get((type(obj), f.name))
        v = getattr(getattr(obj, f.name), ref[0]) if ref else getattr(obj, f.attname)
        out[f.name] = (v.isoformat() if isinstance(v, dt.datetime) else str(v) if isinstance(v, uuid.UUID) else v)
    return out


REQUIRED = ("attempts", "leases", "answers", "events")


def _shown(v) -> str:
    text = "null" if v is None else repr(v) if not isinstance(v, str) else v
    return text.replace("\x00", "\\x00")[:80]


def check_results(data, name: str) -> list[Issue]:
    """Every bad field of ``data`` (``results.json`` as parsed) of the package file ``name``."""
    where = f"{name} › {MEMBER}"
    if not isinstance(data, dict):
        return [Issue("结果记录应为 JSON 对象", "the records must be a JSON object", file=where, value=type(data).__name__)]
    issues: list[Issue] = []
    for key, fields in FIELDS.items():
        rows = data.get(key, None if key in REQUIRED else [])
        if not isinstance(rows, list):
            issues.append(Issue("应为记录列表", "must be a list of records", file=where, column=key,
                                value="缺少 / missing" if rows is None else type(rows).__name__))
            continue
        for k, row in enumerate(rows, start=1):
            at = f"{key}[{k}]"
            if not isinstance(row, dict):
                issues.append(Issue("记录应为 JSON 对象", "a record must be a JSON object", file=where, column=at,
                                    value=_shown(row)))
                continue
            for field, (ok, zh, en) in fields.items():
                if field not in row:
                    issues.append(Issue(f"缺少字段（{zh}）", f"the field is missing ({en})", file=where,
                                        column=f"{at}.{field}"))
                elif not ok(row[field]):
                    issues.append(Issue(zh, en, file=where, column=f"{at}.{field}", value=_shown(row[field])))
    issues += _twice(data.get("attempts"), where)
    done = data.get("questionnaires_done", [])
    if not isinstance(done, list):
        issues.append(Issue("应为记录列表", "must be a list of records", file=where, column="questionnaires_done",
                            value=type(done).__name__))
        done = []
    for k, pair in enumerate(done, start=1):
        if not (isinstance(pair, list) and len(pair) == 2 and is_uuid(pair[0]) and ID[0](pair[1])):
            issues.append(Issue("应为 [作答 UUID, 问卷编号]", "must be [attempt UUID, questionnaire id]", file=where,
                                column=f"questionnaires_done[{k}]", value=_shown(pair)))
    return issues


def _twice(attempts, where: str) -> list[Issue]:
    """The attempts given twice — the same id, or the same pupil in the same session under another
    id (the database's unique keys: the merge would stop half-way)."""
    issues, ids, pupils = [], set(), set()
    for k, a in enumerate(attempts if isinstance(attempts, list) else [], start=1):
        if not (isinstance(a, dict) and isinstance(a.get("id"), str) and isinstance(a.get("student_id"), str)):
            continue
        try:
            pk, pupil = uuid.UUID(a["id"]), (a.get("session"), a["student_id"])
            hash(pupil)
        except (ValueError, TypeError):
            continue
        if pk in ids:
            issues.append(Issue("作答重复出现（同一编号）", "the attempt appears twice (the same id)", file=where,
                                column=f"attempts[{k}].id", value=a["id"]))
        elif pupil in pupils:
            issues.append(Issue("同一学生在同一场次有两条作答", "the same pupil has two attempts in the same session",
                                file=where, column=f"attempts[{k}].student_id", value=_shown(a["student_id"])))
        ids.add(pk)
        pupils.add(pupil)
    return issues


def unknown_references(data: dict, name: str, booklets: set[int], questionnaires: set[int]) -> list[Issue]:
    """The attempts' booklets and the questionnaire ids the centre does not have in the site's
    cycle (``booklets``, ``questionnaires``: those it has; checked after :func:`check_results` found
    the fields well formed)."""
    where = f"{name} › {MEMBER}"
    no_q = ("中心没有此学生问卷（本测试点的轮次）", "the centre has no such pupils' questionnaire in the site's cycle")
    issues = [Issue("中心没有此题本（本测试点的轮次）", "the centre has no such booklet in the site's cycle", file=where,
                    column=f"attempts[{k}].booklet",
                    value=str(a["booklet"])) for k, a in enumerate(data["attempts"], start=1)
              if a["booklet"] not in booklets]
    issues += [Issue(*no_q, file=where,
                     column=f"questionnaire_answers[{k}].questionnaire", value=str(q["questionnaire"]))
               for k, q in enumerate(data.get("questionnaire_answers", []), start=1)
               if q["questionnaire"] not in questionnaires]
    issues += [Issue(*no_q, file=where,
                     column=f"questionnaires_done[{k}]", value=str(q))
               for k, (_, q) in enumerate(data.get("questionnaires_done", []), start=1) if q not in questionnaires]
    return issues


def check_site_records(data, name: str, member: str) -> list[Issue]:
    """Every bad record or field of a site package's ``member`` (Django's JSON serialisation as
    parsed): a record that is not ``{model, pk, fields}``, a model this platform does not have, a
    primary key or field value its model field refuses (``to_python``: a malformed UUID, a date,
    a number), a field the model does not have."""
    from django.apps import apps
    from django.core.exceptions import FieldDoesNotExist, ValidationError

    where = f"{name} › {member}"
    if not isinstance(data, list):
        return [Issue("记录应为 JSON 列表", "the records must be a JSON list", file=where, value=type(data).__name__)]
    issues: list[Issue] = []
    for k, rec in enumerate(data, start=1):
        at = f"[{k}]"
        if not (isinstance(rec, dict) and isinstance(rec.get("model"), str) and isinstance(rec.get("fields"), dict)):
            issues.append(Issue("记录应为 {model, pk, fields}", "a record must be {model, pk, fields}", file=where,
                                column=at, value=_shown(rec)))
            continue
        try:
            model = apps.get_model(rec["model"])
        except (LookupError, ValueError):
            issues.append(Issue("本平台没有此数据类型", "no such model on this platform", file=where,
                                column=f"{at}.model", value=_shown(rec["model"])))
            continue
        values = [("pk", model._meta.pk, rec.get("pk"))]
        for field_name, value in rec["fields"].items():
            try:
                values.append((field_name, model._meta.get_field(field_name), value))
            except FieldDoesNotExist:
                issues.append(Issue(f"{rec['model']} 没有此字段", f"{rec['model']} has no such field", file=where,
                                    column=f"{at}.{field_name}"))
        for field_name, field, value in values:
            target = field.target_field if field.is_relation and not field.many_to_many else field
            try:
                if field.many_to_many:
                    if not isinstance(value, list):
                        raise ValidationError("")
                    for v in value:
                        field.target_field.to_python(v)
                elif value is not None:
                    target.to_python(value)
            except (ValidationError, TypeError, ValueError, AttributeError):
                issues.append(Issue(f"{rec['model']}.{field_name} 的取值不合类型", f"not a valid value of "
                                    f"{rec['model']}.{field_name}", file=where, column=f"{at}.{field_name}",
                                    value=_shown(value)))
    return issues
