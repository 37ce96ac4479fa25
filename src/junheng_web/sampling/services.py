"""The only module of this app that calls the core (``junheng.survey``).

- :func:`run_sample` — draw a cycle's sample from the registry and save it (one transaction);
- :func:`site_list` / :func:`site_list_bytes` — the list a test site downloads (masked by default);
- :func:`replace_school` — a sampled school refuses: its next replacement takes its place;
- :func:`pupil_sample` — the cycle's pupil sample as a frame (``docs/dev/contracts.md``);
- :func:`compute_weights` — non-response-adjusted and replicate weights, saved as Parquet;
- :func:`store_weights` — save weights computed elsewhere (the demo's weights stage) the same way;
- :func:`design` — the cycle's :class:`ReplicateDesign` over a frame of pupils (what pages estimate with);
- the rules about sampled schools and pupils that other apps use: :data:`ACTIVE_SCHOOL` (a sampled
  school that takes part) and :func:`sitting_q` / :func:`sitting_pupils` (who sits a test session).

Apps above this one pass data down (e.g. the 学籍号 of the pupils of invalid sessions to
:func:`compute_weights`); this module imports no other app's services.

One module on purpose (over 400 lines): it is this app's only door to the core, and the sample,
its replacements and its weights share one transaction discipline and one audit trail.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import fields
from pathlib import Path

import polars as pl
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max, Q, Sum

from junheng.exceptions import ParameterError
from junheng.io import read_frame, table_bytes, write_table
from junheng.survey import (
    FrameRules,
    ReplicateDesign,
    ReportingRule,
    Sample,
    SampleParams,
    build_frame,
    final_weights,
    select_pupils,
    select_schools,
    site_list_frame,
)
from junheng_web.registry.freshness import touch
from junheng_web.registry.importers import fetch_frame
from junheng_web.registry.models import Cycle, Pupil, School
from junheng_web.sampling.models import SampledPupil, SampledSchool, SampleRun, WeightSet

Progress = Callable[[float, str], None]

# a school of the sample that takes part: drawn and not refused, replaced or closed, or a replacement
# that has taken a refusing school's place
ACTIVE_SCHOOL = (Q(role=SampledSchool.Role.SAMPLED) & ~Q(status__in=[SampledSchool.Status.REFUSED,
                                                                      SampledSchool.Status.REPLACED,
                                                                      SampledSchool.Status.CLOSED])) | Q(
    status=SampledSchool.Status.PARTICIPATING)

_PARAM_FIELDS = {f.name for f in fields(SampleParams)} - {"stratum", "implicit", "subjects", "random_state"} | {"seed"}
_RULE_FIELDS = {f.name for f in fields(FrameRules)} - {"grade", "special_prefixes"}


def _noop(_fraction: float, _message: str) -> None:
    return None


def _split_params(cycle: Cycle, params: dict | None) -> tuple[SampleParams, FrameRules]:
    merged = {**(cycle.design or {}).get("sampling", {}), **(params or {})}
    unknown = set(merged) - _PARAM_FIELDS - _RULE_FIELDS
    if unknown:
        raise ParameterError(f"未知的抽样参数 / unknown sampling parameters: {sorted(unknown)}")
    sp = {("random_state" if k == "seed" else k): v for k, v in merged.items() if k in _PARAM_FIELDS}
    if cycle.subjects:
        sp["subjects"] = tuple(cycle.subjects)
    rules = FrameRules(grade=cycle.grade, **{k: v for k, v in merged.items() if k in _RULE_FIELDS})
    return SampleParams(**sp), rules


def registry_schools(grade: int) -> pl.DataFrame:
    """The registry's schools as the core's ``schools`` frame (the grade's enrolment only)."""
    enrol = f"enrol_g{grade}"
    rows = list(School.objects.values_list("id", "code", "name", "county__code", "location", "is_teaching_point", enrol))
    return pl.DataFrame(rows, schema={"school_pk": pl.Int64, "school_code": pl.String, "name": pl.String,
                                      "county_code": pl.String, "location": pl.String,
                                      "is_teaching_point": pl.Boolean, enrol: pl.Int64}, orient="row")


def _rosters(school_codes: list[str], grade: int) -> pl.DataFrame:
    rows = list(Pupil.objects.filter(school__code__in=school_codes, grade=grade)
                .values_list("id", "student_id", "sex", "school__code"))
    return pl.DataFrame(rows, schema={"pupil_pk": pl.Int64, "student_id": pl.String, "sex": pl.Int8,
                                      "school_code": pl.String}, orient="row")


def redraw_losses(cycle: Cycle) -> dict[str, int]:
    """What replacing the cycle's sample discards of the sampling app's records: stored weight sets
    (final and replicate weights), sampled pupils' final weights, and schools' recorded refusals,
    closures and replacements.  (The cycle page adds what other apps lose: ``cycles.views``.)"""
    return {
        "weight_sets": WeightSet.objects.filter(run__cycle=cycle).count(),
        "weighted_pupils": SampledPupil.objects.filter(cycle=cycle, weight__isnull=False).count(),
        "school_decisions": SampledSchool.objects.filter(cycle=cycle).filter(
            Q(status__in=[SampledSchool.Status.REFUSED, SampledSchool.Status.REPLACED, SampledSchool.Status.CLOSED])
            | Q(role__startswith="replacement", status=SampledSchool.Status.PARTICIPATING)).count(),
    }


def run_sample(cycle: Cycle, params: dict | None = None, progress: Progress | None = None, *,
               decision: dict | None = None) -> SampleRun:
    """Draw the cycle's sample (schools, replacements, pupils, subjects) and save it, replacing
    any earlier sample of the cycle.  ``params``: fields of ``SampleParams`` and ``FrameRules``
    (e.g. ``{"target_pupils": 168000, "pupils_per_school": 30, "seed": 2022}``), over
    ``cycle.design["sampling"]``.  Nothing is written unless everything succeeds.

    Replacing a sample that has weights or schools' decisions (``redraw_losses``) needs a recorded
    ``decision`` (who, when, why, what is lost: the cycle page asks for it); it is kept in the new
    sample's ``summary["replaced"]``.  Without one, nothing is discarded (``ParameterError``)."""
    progress = progress or _noop
    losses = redraw_losses(cycle)
    if any(losses.values()) and not decision:
        raise ParameterError(
            f"重新抽样将删除已保存的权重（{losses['weight_sets']} 套权重，{losses['weighted_pupils']} 名学生的最终权重）"
            f"和 {losses['school_decisions']} 条学校替补/拒绝记录，需要在周期页面确认并说明原因。 / Re-drawing would "
            f"discard stored weights ({losses['weight_sets']} weight sets, final weights of {losses['weighted_pupils']} "
            f"pupils) and {losses['school_decisions']} schools' refusal/replacement records; confirm it with a reason "
            "on the cycle page.")
    if decision:
        old = SampleRun.objects.filter(cycle=cycle).order_by("-id").first()
        params = {**(params or {})}
        decision = {**decision, "previous_run": old.pk if old else None, "previous_seed": old.seed if old else None,
                    "losses": losses}
    sp, rules = _split_params(cycle, params)
    progress(0.05, "读取学校 / reading schools")
    schools = registry_schools(cycle.grade)
    frame = build_frame(schools, rules)
    progress(0.2, "抽取学校 / selecting schools")
    sel = select_schools(frame.schools, sp).with_columns(pl.col("county_code").alias("stratum"))
    sampled = sel.filter(pl.col("sampled"))
    progress(0.4, "读取名单 / reading rosters")
    roster = _rosters(sampled["school_code"].to_list(), cycle.grade)
    progress(0.6, "抽取学生 / selecting pupils")
    pupils = select_pupils(roster, sampled.select("school_code", "school_weight", "pupils_per_school"), sp)
    progress(0.75, "保存 / saving")
    run = _save(cycle, sel, pupils, frame, params or {}, sp.random_state, replaced=decision)
    progress(1.0, "完成 / done")
    return run


def save_sample(cycle: Cycle, sample: Sample, params: dict | None = None, seed: int | None = None) -> SampleRun:
    """Save a sample drawn by the core (``junheng.survey.pipeline.draw_sample``) for ``cycle``,
    matching schools and pupils to the registry by 学校标识码 and 学籍号."""
    codes = sample.schools.filter(pl.col("role").is_not_null())["school_code"].to_list()
    school_pk = pl.DataFrame(list(School.objects.filter(code__in=codes).values_list("code", "id")),
                             schema={"school_code": pl.String, "school_pk": pl.Int64}, orient="row")
    sel = sample.schools.join(school_pk, on="school_code", how="inner", maintain_order="left")
    if sel.filter(pl.col("role").is_not_null()).height != len(codes):
        raise ParameterError("样本中的学校不在名册数据库中 / sampled schools missing from the registry database")
    ids = sample.pupils["student_id"].to_list()
    pupil_pk = pl.DataFrame([r for i in range(0, len(ids), 20_000) for r in
                             Pupil.objects.filter(student_id__in=ids[i:i + 20_000]).values_list("student_id", "id")],
                            schema={"student_id": pl.String, "pupil_pk": pl.Int64}, orient="row")
    pupils = sample.pupils.join(pupil_pk, on="student_id", how="inner")
    if pupils.height != sample.pupils.height:
        raise ParameterError("样本中的学生不在名册数据库中 / sampled pupils missing from the registry database")
    if "stratum" not in sel.columns:
        sel = sel.with_columns(pl.col("county_code").alias("stratum"))
    return _save(cycle, sel, pupils, sample.frame, params or {}, seed if seed is not None else 0)


def _save(cycle: Cycle, sel: pl.DataFrame, pupils: pl.DataFrame, frame, params: dict, seed: int, *,
          replaced: dict | None = None) -> SampleRun:
    sampled = sel.filter(pl.col("sampled"))
    summary = {
        "schools": sampled.height,
        "replacements": int(sel["role"].str.starts_with("replacement").sum()),
        "pupils": pupils.height,
        "excluded_schools": frame.excluded.height,
        "exclusion_rates": frame.rates.select("county_code", "exclusion_rate").to_dicts(),
    }
    if replaced:
        summary["replaced"] = replaced
    with transaction.atomic():
        SampleRun.objects.filter(cycle=cycle).delete()
        run = SampleRun.objects.create(cycle=cycle, params=params, seed=seed, summary=summary)
        listed = sel.filter(pl.col("role").is_not_null())
        objs = [
            SampledSchool(run=run, cycle=cycle, school_id=r["school_pk"], role=r["role"], stratum=r["stratum"],
                          sort_order=r["sort_order"], mos=r["mos"], certainty=r["certainty"],
                          pi=r["pi"] if r["role"] == "sampled" else None, school_weight=r["school_weight"])
            for r in listed.iter_rows(named=True)
        ]
        SampledSchool.objects.bulk_create(objs, batch_size=2000)
        by_pk = {o.school_id: o for o in objs}
        code_to_pk = dict(zip(listed["school_code"], listed["school_pk"]))
        links = []
        for r in listed.filter(pl.col("role") == "sampled").iter_rows(named=True):
            for col in ("replacement_1", "replacement_2"):
                if r[col] is not None:
                    rep = by_pk[code_to_pk[r[col]]]
                    rep.replaces = by_pk[r["school_pk"]]
                    links.append(rep)
        SampledSchool.objects.bulk_update(links, ["replaces"], batch_size=2000)
        _save_pupils(run, cycle, pupils, {code: by_pk[pk] for code, pk in code_to_pk.items()})
    return run


def demo_cycle(year: int = 2022) -> Cycle:
    """The demo's cycle (grade 6 of the demo year), shared with the other demo stages."""
    cycle, _ = Cycle.objects.get_or_create(year=year, grade=6, defaults={
        "subjects": ["语文", "数学", "英语", "科学"], "name": f"{year} 年六年级监测"})
    return cycle


_PUPIL_COLUMNS = ("run_id", "cycle_id", "pupil_id", "sampled_school_id", "subject", "pupil_order", "school_weight",
                  "pupil_weight", "base_weight")


def _save_pupils(run: SampleRun, cycle: Cycle, pupils: pl.DataFrame, schools: dict[str, SampledSchool]) -> None:
    """Insert the sampled pupils (about 168,000 per cycle at scale 1) with one batched
    ``executemany`` from the frame's rows — no model object per pupil (ten times the CPU). Called
    inside the caller's transaction; the rows go in the frame's order, as ``bulk_create`` put them."""
    school_ids = {code: s.pk for code, s in schools.items()}
    rows = pupils.select(
        pl.lit(run.pk, pl.Int64).alias("run_id"), pl.lit(cycle.pk, pl.Int64).alias("cycle_id"),
        pl.col("pupil_pk").alias("pupil_id"),
        pl.col("school_code").replace_strict(school_ids, return_dtype=pl.Int64).alias("sampled_school_id"),
        "subject", pl.col("pupil_order").cast(pl.Int64), *[pl.col(c).cast(pl.Float64) for c in _PUPIL_COLUMNS[-3:]],
    ).rows()
    quote = connection.ops.quote_name
    sql = (f"INSERT INTO {quote(SampledPupil._meta.db_table)} ({', '.join(quote(c) for c in _PUPIL_COLUMNS)}) "
           f"VALUES ({', '.join(['%s'] * len(_PUPIL_COLUMNS))})")
    with connection.cursor() as cur:
        for k in range(0, len(rows), 20_000):
            cur.executemany(sql, rows[k:k + 20_000])


def replace_sampled(cycle: Cycle, codes, status: str = SampledSchool.Status.REFUSED) -> list[tuple[str, str]]:
    """Replace each of the sampled schools ``codes`` (学校标识码) of the cycle's current sample by its
    first pending replacement (:func:`replace_school`); returns (refused, replacement) code pairs.
    A code that is not a sampled school of the cycle is skipped."""
    out = []
    for code in codes:
        row = SampledSchool.objects.filter(cycle=cycle, school__code=code, role=SampledSchool.Role.SAMPLED).first()
        if row is not None:
            out.append((code, replace_school(row, status).school.code))
    return out


def replace_school(sampled: SampledSchool, status: str = SampledSchool.Status.REFUSED) -> SampledSchool:
    """A sampled school does not take part: mark it, activate its first pending replacement
    (which carries the original's school weight) and draw that school's pupils.  A school already
    replaced (refused, closed) is refused: a second request — a double click, a form sent again
    from the browser's history, two staff at once — would activate its next replacement too and
    count the stratum's school twice.  The status is read again under a row lock in the write."""
    if sampled.role != SampledSchool.Role.SAMPLED:
        raise ParameterError("只能替补抽中学校 / only a sampled school can be replaced")
    _not_replaced(sampled)
    rep = sampled.replacements.filter(status=SampledSchool.Status.PENDING).order_by("role").first()
    if rep is None:
        raise ParameterError(f"学校 {sampled.school.code} 没有可用的替补学校 / no replacement school left")
    run, cycle = sampled.run, sampled.cycle
    sp, _ = _split_params(cycle, run.params)
    roster = _rosters([rep.school.code], cycle.grade)
    pupils = select_pupils(roster, pl.DataFrame({"school_code": [rep.school.code],
                                                 "school_weight": [sampled.school_weight]}), sp)
    with transaction.atomic():
        _not_replaced(SampledSchool.objects.select_for_update().get(pk=sampled.pk))
        if SampledSchool.objects.select_for_update().get(pk=rep.pk).status != SampledSchool.Status.PENDING:
            raise ParameterError(f"替补学校 {rep.school.code} 已被启用，请刷新页面 / the replacement school "
                                 f"{rep.school.code} was activated meanwhile; reload the page")
        sampled.pupils.all().delete()
        sampled.status = status
        sampled.save(update_fields=["status"])
        rep.status = SampledSchool.Status.PARTICIPATING
        rep.school_weight = sampled.school_weight
        rep.pi = sampled.pi
        rep.save(update_fields=["status", "school_weight", "pi"])
        _save_pupils(run, cycle, pupils, {rep.school.code: rep})
    return rep


def _not_replaced(sampled: SampledSchool) -> None:
    """``ParameterError`` (bilingual, naming the replacement) when ``sampled`` no longer takes part."""
    gone = (SampledSchool.Status.REFUSED, SampledSchool.Status.CLOSED, SampledSchool.Status.REPLACED)
    if sampled.status in gone:
        active = (sampled.replacements.filter(status=SampledSchool.Status.PARTICIPATING)
                  .select_related("school").first())
        by = f"（已由 {active.school.code} {active.school.name} 替补）" if active else ""
        by_en = f" (replaced by {active.school.code})" if active else ""
        raise ParameterError(f"学校 {sampled.school.code} 已标为“{sampled.get_status_display()}”{by}，不能再次替补 / "
                             f"school {sampled.school.code} is already {sampled.status}{by_en}; it cannot be replaced "
                             "again")


def has_sample(cycle: Cycle) -> bool:
    """Whether the cycle's sample (its sampled pupils) is in the database."""
    return SampledPupil.objects.filter(cycle=cycle).exists()


def current_run(cycle: Cycle) -> SampleRun:
    run = SampleRun.objects.filter(cycle=cycle).first()
    if run is None:
        raise ParameterError(f"{cycle} 尚未抽样 / the cycle has no sample yet")
    return run


def pupil_sample(cycle: Cycle) -> pl.DataFrame:
    """The cycle's pupil sample (contract columns; no names)."""
    run = current_run(cycle)
    rows = list(SampledPupil.objects.filter(run=run).values_list(
        "pupil__student_id", "sampled_school__school__code", "sampled_school__school__county__code",
        "sampled_school__stratum", "pupil__sex", "sampled_school__school__location", "subject",
        "school_weight", "pupil_weight", "base_weight", "pupil_order"))
    schema = {"student_id": pl.String, "school_code": pl.String, "county_code": pl.String, "stratum": pl.String,
              "sex": pl.Int8, "location": pl.String, "subject": pl.String, "school_weight": pl.Float64,
              "pupil_weight": pl.Float64, "base_weight": pl.Float64, "pupil_order": pl.Int64}
    df = pl.DataFrame(rows, schema=schema, orient="row")
    return df.with_columns((pl.col("county_code").str.slice(0, 4) + "00").alias("city_code")).select(
        "student_id", "school_code", "county_code", "city_code", "stratum", "sex", "location", "subject",
        "school_weight", "pupil_weight", "base_weight", "pupil_order").sort("school_code", "pupil_order")


def listed_schools(cycle: Cycle) -> list[str]:
    """学校标识码 of the current sample's schools that have sampled pupils (one site list each)."""
    return list(SampledSchool.objects.filter(run=current_run(cycle), pupils__isnull=False)
                .values_list("school__code", flat=True).distinct().order_by("school__code"))


def site_list(cycle: Cycle, school_code: str, *, unmask: bool = False) -> pl.DataFrame:
    """The list of one test site (a sampled or participating replacement school)."""
    run = current_run(cycle)
    qs = SampledPupil.objects.filter(run=run, sampled_school__school__code=school_code)
    rows = list(qs.values_list("pupil__student_id", "pupil__name", "pupil__sex", "pupil__school_class__name",
                               "subject"))
    df = pl.DataFrame(rows, schema={"student_id": pl.String, "name": pl.String, "sex": pl.Int8,
                                    "class_name": pl.String, "subject": pl.String}, orient="row")
    df = df.with_columns(pl.lit(school_code).alias("school_code"))
    names = df.select("student_id", "name", "class_name")
    return site_list_frame(df.drop("name", "class_name"), names, unmask=unmask).drop("school_code")


def site_list_bytes(cycle: Cycle, school_code: str, *, fmt: str = "csv", unmask: bool = False) -> bytes:
    """The site list as a download: CSV (UTF-8 with BOM, opens in Excel) or XLSX."""
    if fmt not in ("csv", "xlsx"):
        raise ParameterError(f"格式须为 csv 或 xlsx / fmt must be csv or xlsx; got {fmt!r}")
    return table_bytes(site_list(cycle, school_code, unmask=unmask), fmt, sheet=school_code)


def compute_weights(cycle: Cycle, responded: set[str] | None = None, *, invalid: Collection[str] = (),
                    method: str = "jk2", replicates: int = 80, fay_k: float = 0.5, trim_cap: float | None = None,
                    margins: list[pl.DataFrame] | None = None, progress: Progress | None = None) -> WeightSet:
    """Final and replicate weights for the cycle's sample; ``responded``: 学籍号 of pupils with data
    (default all); ``margins``: known totals (key columns + ``total``) to post-stratify or rake to.
    ``invalid``: 学籍号 of pupils whose data do not count — those who sat a session the video review
    found invalid (the caller passes ``supervision.services.invalid_pupils(cycle)``); they are
    non-respondents whatever ``responded`` says. Saves ``weight`` on each pupil and the replicate
    weights as Parquet."""
    progress = progress or _noop
    run = current_run(cycle)
    pupils = pupil_sample(cycle)
    schools = pl.DataFrame(
        list(SampledSchool.objects.filter(run=run, pupils__isnull=False)
             .values_list("school__code", "stratum", "certainty", "sort_order").distinct()),
        schema={"school_code": pl.String, "stratum": pl.String, "certainty": pl.Boolean, "sort_order": pl.Int64},
        orient="row")
    ids = pupils["student_id"]
    resp = None if responded is None else ids.is_in(list(responded)).to_numpy()
    if invalid:
        valid = ~ids.is_in(list(invalid)).to_numpy()
        resp = valid if resp is None else resp & valid
    progress(0.3, "计算权重 / computing weights")
    w = final_weights(pupils, schools, resp, method=method, replicates=replicates, fay_k=fay_k, trim_cap=trim_cap,
                      margins=margins, random_state=run.seed)
    progress(0.7, "保存 / saving")
    ws = store_weights(cycle, w, method=method, fay_k=fay_k)
    progress(1.0, "完成 / done")
    return ws


def store_weights(cycle: Cycle, weights: pl.DataFrame, *, method: str = "jk2", fay_k: float = 0.5) -> WeightSet:
    """Store final and replicate weights computed for the cycle's current sample (the contract's
    *weights* frame: ``student_id``, ``weight``, ``rep_1 … rep_R``, optionally ``responded``):
    ``weight`` and ``responded`` on each sampled pupil, the whole frame as Parquet under
    JUNHENG_HOME named by a new :class:`WeightSet` (the latest one is what :func:`design` uses).

    Every pupil of the sample must have exactly one row and every row must be a pupil of the
    sample; otherwise nothing is stored.  One transaction; the pupils are updated by one batched
    UPDATE statement (no model object per pupil)."""
    run = current_run(cycle)
    if method not in WeightSet.Method.values:
        raise ParameterError(f"复制方法须为 {'/'.join(WeightSet.Method.values)} / method must be one of "
                             f"{WeightSet.Method.values}; got {method!r}")
    reps = [c for c in weights.columns if re.fullmatch(r"rep_\d+", c)]
    if "student_id" not in weights.columns or "weight" not in weights.columns or not reps:
        raise ParameterError("权重表须有 student_id、weight 和 rep_1 … rep_R 列 / the weights frame needs student_id, "
                             "weight and rep_1 … rep_R")
    table = SampledPupil._meta.db_table
    sample = fetch_frame(f"SELECT p.student_id AS student_id, s.id AS id FROM {table} s "
                         f"JOIN {Pupil._meta.db_table} p ON p.id = s.pupil_id WHERE s.run_id = %s", [run.pk],
                         schema={"id": pl.Int64})
    w = weights.with_columns(pl.col("student_id").cast(pl.String))
    if "responded" not in w.columns:
        w = w.with_columns((pl.col("weight") > 0).alias("responded"))
    joined = sample.join(w.select("student_id", "weight", "responded"), on="student_id", how="full", coalesce=True)
    unmatched = joined.filter(pl.col("id").is_null() | pl.col("weight").is_null())
    if unmatched.height or w["student_id"].is_duplicated().any():
        raise ParameterError(f"权重与 {cycle} 的样本不一致（{unmatched.height} 名学生只在一方，或有重复）/ the weights do not "
                             f"match the sample of {cycle} ({unmatched.height} pupils on one side only, or duplicates)")
    folder = Path(settings.JUNHENG_HOME) / "sampling"
    folder.mkdir(parents=True, exist_ok=True)
    n = WeightSet.objects.filter(run=run).count() + 1
    path = folder / f"weights_cycle{cycle.pk}_run{run.pk}_{method}_{n}.parquet"
    write_table(w, path)
    rows = joined.select(pl.col("weight").cast(pl.Float64), pl.col("responded").cast(pl.Boolean), "id").rows()
    sql = f"UPDATE {connection.ops.quote_name(table)} SET weight = %s, responded = %s WHERE id = %s"
    with transaction.atomic():
        with connection.cursor() as cur:
            for k in range(0, len(rows), 20_000):
                cur.executemany(sql, rows[k:k + 20_000])
        ws = WeightSet.objects.create(run=run, method=method, replicates=len(reps), fay_k=fay_k, path=str(path))
        touch(cycle.pk)  # the cycle's cached weighted figures are stale
    return ws


def weights_stamp(cycle: Cycle) -> str:
    """What the cycle's weights are now, for cache keys of weighted figures: the pupils with a final
    weight, their sum, and the latest weight set (whose replicates give the SEs)."""
    w = SampledPupil.objects.filter(cycle=cycle, weight__isnull=False).aggregate(n=Count("id"), s=Sum("weight"))
    ws = WeightSet.objects.filter(run__cycle=cycle).aggregate(last=Max("id"))
    return f"{w['n']}:{w['s'] or 0:.9g}:{ws['last']}"


def design(cycle: Cycle, data: pl.DataFrame, *, rule: ReportingRule | None = None) -> ReplicateDesign:
    """A :class:`ReplicateDesign` over ``data`` (one row per pupil, with ``student_id``) joined to the
    cycle's latest weight set: the pages and reports estimate with SEs through this."""
    run = current_run(cycle)
    ws = WeightSet.objects.filter(run=run).first()
    if ws is None:
        raise ParameterError(f"{cycle} 尚未计算权重 / the cycle has no weights yet")
    weights = read_frame(ws.path).drop("school_code", "responded", "zone", "member", strict=False)
    frame = data.with_columns(pl.col("student_id").cast(pl.String)).join(weights, on="student_id", how="inner")
    if "school_code" not in frame.columns:
        frame = frame.join(pupil_sample(cycle).select("student_id", "school_code"), on="student_id", how="left")
    return ReplicateDesign(frame, "weight", "rep_*", method=ws.method, fay_k=ws.fay_k,  # type: ignore[arg-type]
                           rule=rule or ReportingRule())


def sitting_q(cycle: Cycle, site_id: int, subject: str) -> Q:
    """The sampled pupils who sit a session of test site ``site_id``: the site's schools' pupils
    assigned its subject (for a session of another kind — 体质健康, 问卷 — every sampled pupil of
    those schools).  The seating plans, login cards, the proctor's view and the video review's
    invalid pupils all use this one rule."""
    part = Q(sampled_school__test_sites=site_id)
    return part & Q(subject=subject) if subject in (cycle.subjects or []) else part


def sitting_pupils(cycle: Cycle, site_id: int, subject: str):
    """The ``SampledPupil`` rows of :func:`sitting_q` in the cycle's sample."""
    return SampledPupil.objects.filter(cycle=cycle).filter(sitting_q(cycle, site_id, subject))


__all__ = ["ACTIVE_SCHOOL", "compute_weights", "current_run", "has_sample", "listed_schools", "demo_cycle", "design", "pupil_sample",
           "registry_schools", "replace_school", "run_sample", "save_sample", "site_list", "site_list_bytes",
           "sitting_pupils", "sitting_q", "store_weights", "weights_stamp"]
