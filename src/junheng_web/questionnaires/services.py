"""The only module of this app that calls the core (``junheng.questionnaire``).

* :func:`define` — a definition (JSON) → the cycle's :class:`Questionnaire` row, checked by the
  core; a definition that already has responses cannot change (unless the new one is identical).
* :func:`import_responses` — a responses file (Excel/CSV) → checked by the core (every bad cell),
  then against the registry and the uploader's scope, then written all or nothing in bulk SQL
  (staged, ``INSERT … ON CONFLICT … DO UPDATE … WHERE changed``); a re-import of the same file
  changes nothing and says how many rows were unchanged.  A rejected file raises ``InputError``
  with every issue and ``annotated_path`` (the workbook with the bad cells marked).
* :func:`responses_frame` — the stored responses of a questionnaire (optionally one region) in
  the contract's responses frame + the scale scores, plus ``school_code``, ``county_code``,
  ``city_code`` and, for student questionnaires whose cycle has final weights, ``weight``.
* :func:`region_summary` — the summary page's figures (cached): the core's survey estimators
  over :func:`responses_frame` for a region and its parts.

Registry rules for the rows of a responses file (docs/guide/web.md § 问卷):

* student questionnaire: the 学籍号 must be a pupil of the registry (error); when the file has a
  学校标识码 column it must be the pupil's school (error); a pupil who is not in the cycle's
  sample (when the cycle has one) is stored with a **warning** — the answers are real, but the
  pupil has no sampling weight, so weighted figures leave them out;
* principal / teacher questionnaire: the 学校标识码 must be a registered school (error);
* scope: every pupil or school must be inside the uploader's school or county (else the rows are
  refused, as if they did not exist, and nothing is written).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from junheng.exceptions import InputError, Issue, ParameterError
from junheng.io import ROW, annotate_workbook, header_key
from junheng_web.accounts.scoping import restrict
from junheng_web.questionnaires.models import Questionnaire, QuestionnaireResponse
from junheng_web.registry import importers
from junheng_web.registry.freshness import once, touch
from junheng_web.registry.models import Cycle, Pupil, Region, School
from junheng_web.registry.regions import part_key, region_sql
from junheng_web.sampling.models import SampledPupil
from junheng_web.sampling.services import design as cycle_design
from junheng_web.sampling.services import weights_stamp

Progress = Callable[[float, str], None]
_CHUNK = 5000


def _noop(fraction: float, message: str) -> None:
    return None


# ---------------------------------------------------------------------------------------- definitions

def core_questionnaire(q: Questionnaire):
    """The stored definition as the core's ``Questionnaire``."""
    from junheng.questionnaire import load_questionnaire

    return load_questionnaire(q.definition)


def define(cycle: Cycle, source: str | Path | dict) -> tuple[Questionnaire, bool]:
    """Store the definition ``source`` (a JSON file or a parsed dict) for ``cycle``; returns the
    row and whether anything changed.  Refused (``ParameterError``) when the questionnaire already
    has responses and the new definition differs from the stored one."""
    from junheng.questionnaire import load_questionnaire

    core = load_questionnaire(source)
    definition = core.to_json()
    with transaction.atomic():
        row = Questionnaire.objects.select_for_update().filter(cycle=cycle, code=core.code).first()
        if row is not None and row.definition == definition and row.title == core.title \
                and row.respondent == core.respondent:
            return row, False
        if row is not None and row.responses.exists():
            n = row.responses.count()
            raise ParameterError(f"问卷 {core.code} 已有 {n} 份作答，不能再修改定义 / questionnaire {core.code} "
                                 f"already has {n} responses: its definition cannot change")
        if row is None:
            row = Questionnaire(cycle=cycle, code=core.code)
        row.title, row.respondent, row.definition = core.title, core.respondent, definition
        row.save()
    return row, True


# ---------------------------------------------------------------------------------------- import

def find_questionnaire(cycle: Cycle, code: str) -> Questionnaire:
    """The cycle's questionnaire ``code``; a missing one is a ParameterError."""
    q = Questionnaire.objects.filter(cycle=cycle, code=code).first()
    if q is None:
        raise ParameterError(f"{cycle} 没有问卷 {code} / no questionnaire {code} in {cycle} "
                             "(junheng questionnaire define first)")
    return q


def _reject(issues: list[Issue], source: Path, file_name: str) -> InputError:
    n = sum(i.severity == "error" for i in issues)
    exc = InputError(issues, f"{file_name}: 输入有 {n} 处错误，未写入任何数据 / rejected with {n} error(s), "
                             f"nothing written")
    out = Path(settings.JUNHENG_HOME) / "annotated" / f"{source.stem}-errors.xlsx"
    try:
        exc.annotated_path = annotate_workbook(source, issues, out)
    except InputError:  # the file could not be read at all: nothing to annotate
        exc.annotated_path = None
    return exc


def _header(columns: list[str], names: tuple[str, ...]) -> str:
    """The file's own header for one of ``names`` (for issues and annotation), else the first name."""
    wanted = {header_key(n) for n in names}
    return next((c for c in columns if header_key(c) in wanted), names[0])


def _fetch_in(sql: str, values: list, schema: dict) -> pl.DataFrame:
    """``sql`` (with one ``IN ({marks})``) run over ``values`` in chunks → one frame."""
    parts = [importers.fetch_frame(sql.format(marks=", ".join(["%s"] * len(chunk))), chunk, schema=schema)
             for chunk in (values[k:k + _CHUNK] for k in range(0, len(values), _CHUNK))]
    return pl.concat(parts) if parts else pl.DataFrame(schema=schema)


def _in_scope(user, action: str) -> set[int] | None:
    """The ids of the schools ``user`` may write to (None: no limit)."""
    if user is None:  # the CLI acts for the province
        return None
    return set(restrict(School.objects.all(), user, action).values_list("id", flat=True))


def _locate(frame: pl.DataFrame, q, visible: set[int] | None = None) -> tuple[pl.DataFrame, list[tuple]]:
    """``frame`` (the core's checked responses with ``__row__``) + ``pupil_id``, ``school_id`` from
    the registry, and the registry problems as (row, column, value, zh, en, severity).  A pupil's
    registered school is named only when it is one of ``visible`` (None: any) — a refusal must
    not tell the uploader where a pupil outside their area is (issue 12.9)."""
    s, p = School._meta.db_table, Pupil._meta.db_table
    problems: list[tuple] = []
    if q.respondent == "student":
        ids = frame["respondent_id"].unique().to_list()
        found = _fetch_in(f"SELECT p.student_id, p.id AS pupil_id, p.school_id, s.code AS registered_school "
                          f"FROM {p} p JOIN {s} s ON s.id = p.school_id WHERE p.student_id IN ({{marks}})", ids,
                          {"student_id": pl.String, "pupil_id": pl.Int64, "school_id": pl.Int64,
                           "registered_school": pl.String})
        out = frame.join(found.rename({"student_id": "respondent_id"}), on="respondent_id", how="left")
        for r, v in out.filter(pl.col("pupil_id").is_null()).select(ROW, "respondent_id").iter_rows():
            problems.append((r, "学籍号", v, "学籍号不在本系统名册中", "学籍号 is not in the registry", "error"))
        if "school_code" in out.columns:
            other = out.filter(pl.col("pupil_id").is_not_null() & pl.col("school_code").is_not_null()
                               & (pl.col("school_code") != pl.col("registered_school")))
            for r, v, reg, sid in other.select(ROW, "school_code", "registered_school", "school_id").iter_rows():
                problems.append((r, "学校标识码", v, f"该学生登记在另一所学校（{reg}）",
                                 f"the pupil is registered at another school ({reg})", "error")
                                if visible is None or sid in visible else
                                (r, "学校标识码", v, "该学生登记在您管辖范围以外的另一所学校",
                                 "the pupil is registered at another school outside your area", "error"))
        return out.drop("registered_school"), problems
    codes = frame["school_code"].drop_nulls().unique().to_list()
    found = _fetch_in(f"SELECT code AS school_code, id AS school_id FROM {s} WHERE code IN ({{marks}})", codes,
                      {"school_code": pl.String, "school_id": pl.Int64})
    out = frame.join(found, on="school_code", how="left").with_columns(pl.lit(None, pl.Int64).alias("pupil_id"))
    for r, v in out.filter(pl.col("school_id").is_null()).select(ROW, "school_code").iter_rows():
        problems.append((r, "学校标识码", v, "学校标识码不在本系统名册中", "学校标识码 is not a registered school",
                         "error"))
    return out, problems


def import_responses(path: str | Path, cycle: Cycle, questionnaire: Questionnaire, user=None, *, file_name: str,
                     progress: Progress | None = None) -> dict:
    """Check and store a responses file for ``questionnaire`` (see the module's rules); all or
    nothing.  Returns ``rows, created, updated, unchanged`` (and ``warnings``)."""
    from junheng.io import read_table
    from junheng.questionnaire import KEY_HEADERS, expected_headers, scale_scores, validate_responses

    progress = progress or _noop
    path = Path(path)
    if questionnaire.cycle_id != cycle.pk:
        raise ParameterError(f"questionnaire {questionnaire.code} is not of cycle {cycle}")
    q = core_questionnaire(questionnaire)
    progress(0.1, "读取并检查 / reading and checking")
    try:  # = junheng.questionnaire.read_responses, keeping the spreadsheet row of each response
        raw = read_table(path, expected_headers=expected_headers(q))
        frame, issues = validate_responses(raw.frame, q, file=raw.file, sheet=raw.sheet)
    except InputError as exc:
        raise _reject(exc.issues, path, file_name) from None
    frame = frame.with_columns(raw.frame[ROW])
    school_names = KEY_HEADERS[q.respondent][-1] if q.respondent != "student" else ("学校标识码", "school_code")
    headers = {"学籍号": _header(raw.columns, KEY_HEADERS["student"][0]),
               "学校标识码": _header(raw.columns, school_names)}
    # the registry checks look only at well-formed keys (a malformed one is already an issue)
    bad_keys = {i.row for i in issues if i.severity == "error" and i.row is not None
                and i.column in headers.values()}
    progress(0.3, "核对名册 / checking against the registry")
    frame, problems = _locate(frame.filter(~pl.col(ROW).is_in(list(bad_keys))), q, _in_scope(user, "view"))
    issues = list(issues) + [Issue(zh, en, file=raw.file, sheet=raw.sheet, row=r, column=headers[c], value=v,
                                   severity=sev) for r, c, v, zh, en, sev in problems]
    allowed = _in_scope(user, "questionnaire.upload")
    if allowed is not None:
        outside = frame.filter(pl.col("school_id").is_not_null() & ~pl.col("school_id").is_in(list(allowed)))
        col = headers["学籍号"] if q.respondent == "student" else headers["学校标识码"]
        key = "respondent_id" if q.respondent == "student" else "school_code"
        issues += [Issue("该学生或学校不属于您的学校或区县", "pupil or school outside your school or county",
                         file=raw.file, sheet=raw.sheet, row=r, column=col, value=v)
                   for r, v in outside.select(ROW, key).iter_rows()]
    if q.respondent == "student" and SampledPupil.objects.filter(cycle=cycle).exists():
        sampled = set(SampledPupil.objects.filter(cycle=cycle).values_list("pupil_id", flat=True))
        unsampled = frame.filter(pl.col("pupil_id").is_not_null() & ~pl.col("pupil_id").is_in(list(sampled)))
        issues += [Issue("该学生不在本周期样本中：作答已保存，但不计入加权结果",
                         "the pupil is not in the cycle's sample: stored, but left out of weighted figures",
                         file=raw.file, sheet=raw.sheet, row=r, column=headers["学籍号"], value=v, severity="warning")
                   for r, v in unsampled.select(ROW, "respondent_id").iter_rows()]
    if any(i.severity == "error" for i in issues):
        raise _reject(sorted(issues, key=lambda i: (i.row or 0, i.column or "")), path, file_name)
    progress(0.5, "计算量表得分 / scale scores")
    scores = scale_scores(frame, q)
    rows = _rows(frame, scores, q, cycle, questionnaire, file_name)
    progress(0.6, "写入 / writing")
    table = QuestionnaireResponse._meta.db_table
    with transaction.atomic():
        touch(cycle.pk)  # the progress counts of the cycle (cycles.progress.cached_progress) are stale
        importers.stage(table, rows)
        counts = importers.upsert_staged(table, ("questionnaire_id", "respondent_id"), rows.columns,
                                         touch=("updated_at",))
        importers.drop_stage()
    progress(1.0, "完成 / done")
    out = {"rows": rows.height, "created": counts.created, "updated": counts.updated, "unchanged": counts.unchanged}
    warnings = [i for i in issues if i.severity == "warning"]
    if warnings:
        out["warnings"] = [w.message() for w in warnings][:200]
    return out


def store_one(cycle: Cycle, questionnaire: Questionnaire, respondent_id: str, answers: dict[str, str], *,
              source: str) -> dict:
    """One respondent's answers (``item id → code or number as text``, "" for none) given on a
    screen — the pupil's browser after the test — stored exactly as a keyed-in spreadsheet row:
    the same checks, scale scores and idempotent upsert (:func:`import_responses`)."""
    import tempfile

    from junheng.io import write_table
    from junheng.questionnaire import KEY_HEADERS

    key = KEY_HEADERS[questionnaire.respondent][0][0]
    frame = pl.DataFrame({key: [respondent_id], **{item: [value] for item, value in answers.items()}},
                         schema={key: pl.String, **dict.fromkeys(answers, pl.String)})
    with tempfile.TemporaryDirectory(prefix="junheng-answers.") as folder:
        path = write_table(frame, Path(folder) / "answers.csv")
        return import_responses(path, cycle, questionnaire, file_name=source)


def _rows(frame: pl.DataFrame, scores: pl.DataFrame, q, cycle: Cycle, questionnaire: Questionnaire,
          source: str) -> pl.DataFrame:
    """The table's rows (columns as in the database) for the stage: answers and scores as JSON text."""
    score_cols = [c for c in scores.columns if c not in ("respondent_id", "school_code")]
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    scored = frame.hstack(scores.select(score_cols))  # scale_scores keeps the rows in order
    return scored.select(
        pl.lit(cycle.pk, pl.Int64).alias("cycle_id"),
        pl.lit(questionnaire.pk, pl.Int64).alias("questionnaire_id"),
        _key(q).alias("respondent_id"),
        pl.col("pupil_id"), pl.col("school_id"),
        pl.struct(q.item_ids).struct.json_encode().alias("answers"),
        (pl.struct(score_cols).struct.json_encode() if score_cols else pl.lit("{}")).alias("scores"),
        pl.lit(source[:255]).alias("source_file"),
        pl.lit(now if isinstance(now, str) else now.isoformat()).alias("updated_at"),
    ).sort("respondent_id")


def _key(q) -> pl.Expr:
    """The stored respondent key: 学籍号, 学校标识码, or 学校标识码/教师编号 (teacher numbers are per school)."""
    if q.respondent == "teacher":
        return pl.concat_str([pl.col("school_code"), pl.col("respondent_id")], separator="/")
    return pl.col("respondent_id")


# ---------------------------------------------------------------------------------------- frames

def responses_frame(cycle: Cycle, questionnaire: Questionnaire, region=None, *, answers: bool = True) -> pl.DataFrame:
    """The stored responses of ``questionnaire`` (``region``: a county or city, Region or code)
    as the contract's responses frame + scale scores: ``respondent_id`` (teachers: 教师编号),
    ``school_code``, ``county_code``, ``city_code``, one column per item (Int64 choice / Float64
    number), one Float64 column per scale and one Boolean column per indicator; ``weight`` (the
    final sampling weight) for a student questionnaire when the cycle's weights exist.  One SQL
    query; the JSON is decoded by Polars, not row by row.  ``answers=False``: without the item
    columns (the summary needs only the scores)."""
    q = core_questionnaire(questionnaire)
    r, s, g = QuestionnaireResponse._meta.db_table, School._meta.db_table, Region._meta.db_table
    sql = (f"SELECT r.respondent_id, s.code AS school_code, c.code AS county_code, ci.code AS city_code, "
           f"{'CAST(r.answers AS TEXT)' if answers else 'NULL'} AS answers, CAST(r.scores AS TEXT) AS scores, "
           f"r.pupil_id "
           f"FROM {r} r JOIN {s} s ON s.id = r.school_id JOIN {g} c ON c.id = s.county_id "
           f"LEFT JOIN {g} ci ON ci.id = c.parent_id WHERE r.questionnaire_id = %s")
    where, params = region_sql(region)
    sql += where + " ORDER BY r.respondent_id"
    params = [questionnaire.pk, *params]
    raw = importers.fetch_frame(sql, params, schema={"pupil_id": pl.Int64})
    items = {i.id: (pl.Int64 if i.type == "choice" else pl.Float64) for i in q.items}
    scales = {x.id: pl.Float64 for x in q.scales}
    indicators = {x.id: pl.Boolean for x in q.indicators}
    frame = raw.with_columns(
        pl.col("answers").cast(pl.String).str.json_decode(pl.Struct(items)),
        pl.col("scores").str.json_decode(pl.Struct({**scales, **indicators}) if scales or indicators
                                         else pl.Struct({"_": pl.Null})),
    )
    frame = (frame.unnest("answers") if answers else frame.drop("answers")).unnest("scores")
    if not (scales or indicators):
        frame = frame.drop("_", strict=False)
    if q.respondent == "teacher":
        frame = frame.with_columns(pl.col("respondent_id").str.splitn("/", 2).struct.field("field_1").alias("respondent_id"))
    frame = _with_weights(cycle, frame) if q.respondent == "student" else frame
    return frame.drop("pupil_id")


def _with_weights(cycle: Cycle, frame: pl.DataFrame) -> pl.DataFrame:
    rows = list(SampledPupil.objects.filter(cycle=cycle, weight__isnull=False).values_list("pupil_id", "weight"))
    if not rows or frame.height == 0:
        return frame
    w = pl.DataFrame(rows, schema={"pupil_id": pl.Int64, "weight": pl.Float64}, orient="row")
    return frame.join(w, on="pupil_id", how="left")


# ---------------------------------------------------------------------------------------- pages

def responses_by_county(responses, counties, questionnaires: list[Questionnaire]) -> list[dict]:
    """Response counts per county (rows) and questionnaire (``counts`` in the order of
    ``questionnaires``); ``responses`` and ``counties`` already restricted to the user's scope.
    One grouped query."""
    from django.db.models import Count

    n = {(c, qid): k for c, qid, k in responses.values_list("school__county_id", "questionnaire_id")
         .annotate(k=Count("id")).order_by()}
    return [{"code": c.code, "name": c.name, "counts": [n.get((c.id, q.pk), 0) for q in questionnaires]}
            for c in counties.order_by("code")]


def region_summary(cycle: Cycle, questionnaire: Questionnaire, region: Region | None) -> dict:
    """:func:`compute_region_summary`, cached until the questionnaire's responses or the cycle's
    weights change (the stamp is two aggregate queries; the computation reads every response) —
    computed by one request while the others wait (registry.freshness.once), as the dashboards."""
    from django.db.models import Count, Max

    responses = QuestionnaireResponse.objects.filter(questionnaire=questionnaire)
    f = responses.aggregate(n=Count("id"), last=Max("updated_at"))
    key = (f"junheng:questionnaire-summary:{questionnaire.pk}:{questionnaire.updated_at.timestamp()}:"
           f"{region.pk if region else 'all'}:{f['n']}:{f['last'].timestamp() if f['last'] else 0}:"
           f"{weights_stamp(cycle)}")
    return once(key, lambda: compute_region_summary(cycle, questionnaire, region), 3600)


def compute_region_summary(cycle: Cycle, questionnaire: Questionnaire, region: Region | None) -> dict:
    """Scale means and indicator rates of ``region`` (None: the province) and of its parts
    (cities of the province, counties of a city, schools of a county), from :func:`responses_frame`.

    The estimates are the core's survey estimators (``junheng.survey.mean`` for a scale,
    ``proportion`` of True for an indicator).  A student questionnaire of a cycle with stored
    weights uses the cycle's replicate design (``sampling.services.design``: the final weight and
    the replicate weights of the latest weight set — the design the reports, the academic
    dashboard and ``junheng survey estimate`` use, so the same number has the same SE everywhere,
    issue 13.7).  Otherwise (no weight set yet; principal and teacher questionnaires) a
    ``TaylorDesign`` with schools as clusters: weighted by the final weight when pupils have one,
    else every respondent counts once.  Groups below the reporting rule (62 respondents, 5
    schools) are flagged, not hidden; a group of one school has no SE.

    Returns ``{"variables": [{id, name, kind}], "overall": [{estimate, se, n, flag} per variable],
    "parts": [{code, n, values: [...]}], "part_key", "weighted", "n"}``."""
    from junheng.survey import ReportingRule, TaylorDesign, mean, proportion

    q = core_questionnaire(questionnaire)
    key = part_key(region)
    variables = [{"id": s.id, "name": s.name, "kind": "scale"} for s in q.scales] + \
        [{"id": i.id, "name": i.name, "kind": "indicator"} for i in q.indicators]
    frame = responses_frame(cycle, questionnaire, region, answers=False)
    weighted = "weight" in frame.columns and frame["weight"].is_not_null().any()
    out = {"variables": variables, "overall": [], "parts": [], "part_key": key, "weighted": bool(weighted),
           "n": frame.height}
    if weighted:  # respondents outside the sample have no weight: left out of weighted figures
        frame = frame.filter(pl.col("weight").is_not_null() & (pl.col("weight") > 0))
    else:
        frame = frame.with_columns(pl.lit(1.0).alias("weight"))
    if frame.height == 0 or not variables:
        return out
    design = None
    if weighted:
        try:
            design = cycle_design(cycle, frame.drop("weight").rename({"respondent_id": "student_id"}),
                                  rule=ReportingRule(suppress=False))
        except ParameterError:  # final weights on the pupils but no replicate set stored
            design = None
        if design is not None and design.data.height == 0:
            design = None
    if design is None:
        design = TaylorDesign(frame, weight="weight", psu="school_code", lonely_psu="certainty",
                              rule=ReportingRule(suppress=False))

    def estimate(v: dict, by: list[str]) -> pl.DataFrame:
        if v["kind"] == "scale":
            return mean(design, v["id"], by=by)
        return proportion(design, v["id"], levels=[True], by=by)

    def se(r: dict) -> float | None:  # one school: no between-school variance to estimate from
        return r["se"] if r["n_schools"] >= 2 else None

    for v in variables:
        r = estimate(v, []).row(0, named=True)
        out["overall"].append({"estimate": r["estimate"], "se": se(r), "n": r["n_pupils"], "flag": r["flag"]})
    sizes = dict(frame.group_by(key).len().iter_rows())
    parts = {c: {"code": c, "n": n, "values": [None] * len(variables)} for c, n in sizes.items()}
    for j, v in enumerate(variables):
        for r in estimate(v, [key]).iter_rows(named=True):
            parts[r[key]]["values"][j] = {"estimate": r["estimate"], "se": se(r), "flag": r["flag"]}
    out["parts"] = [parts[c] for c in sorted(parts)]
    return out


__all__ = ["compute_region_summary", "core_questionnaire", "define", "find_questionnaire", "import_responses", "region_summary",
           "responses_by_county", "responses_frame"]
