"""The only module of this app that calls the core (``junheng.assessment``).

Every write is validated in full first and committed in one transaction (all or nothing); a
re-run with the same input changes nothing.

- item bank, booklet designs, assignments and human scores (``import_item_bank`` … ``record_human_scores``);
- :func:`set_cut_scores` / :func:`cut_scores` — a standard-setting panel's cut scores (Bookmark or
  modified Angoff) with their provenance, and the cuts in force (provisional until a panel met).

The pupils' scores of a cycle (EAP, plausible values, levels) are in :mod:`scores`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl
from django.db import connection, transaction

from junheng.assessment import (
    BookletDesign,
    Item,
    ItemBank,
    Usage,
    agreement_by_item,
    assign_booklets,
    load_bank,
    resolve_scores,
    save_bank,
    write_qti,
)
from junheng.exceptions import InputError, Issue, Issues, ParameterError
from junheng_web.assessment import models as m

_FIELDS = ("subject", "format", "max_score", "key", "options", "rubric", "score_map", "stem", "content_domain",
           "cognitive_level", "status", "media")


@dataclass
class ImportResult:
    created: int
    updated: int
    unchanged: int


def _row_values(item: Item) -> dict:
    return {
        "subject": item.subject, "format": item.format, "max_score": item.max_score, "key": item.key or "",
        "options": list(item.options), "rubric": list(item.rubric), "score_map": dict(item.score_map),
        "stem": item.stem, "content_domain": item.content_domain, "cognitive_level": item.cognitive_level,
        "status": item.status, "media": list(item.media),
    }


def import_item_bank(source: str | Path | ItemBank) -> ImportResult:
    """Upsert a bank (JSON file, QTI package or ``ItemBank``) by ``item_id``; usage rows are added
    when new (same item, year, block and booklet)."""
    bank = source if isinstance(source, ItemBank) else load_bank(source)
    existing = {i.item_id: i for i in m.Item.objects.filter(item_id__in=[it.item_id for it in bank])}
    created = updated = unchanged = 0
    with transaction.atomic():
        for item in bank:
            values = _row_values(item)
            row = existing.get(item.item_id)
            if row is None:
                row = m.Item.objects.create(item_id=item.item_id, **values)
                created += 1
            elif any(getattr(row, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(row, k, v)
                row.save()
                updated += 1
            else:
                unchanged += 1
            for u in item.usage:
                m.ItemUsage.objects.update_or_create(
                    item=row, year=u.year, block=u.block or "", booklet=u.booklet or "",
                    defaults={"p_value": u.p_value, "n": u.n})
    return ImportResult(created, updated, unchanged)


def bank_from_db(subject: str | None = None, status: list[str] | None = None) -> ItemBank:
    """The stored bank (optionally one subject / some statuses) as a core ``ItemBank``."""
    qs = m.Item.objects.all().prefetch_related("usages")
    if subject:
        qs = qs.filter(subject=subject)
    if status:
        qs = qs.filter(status__in=status)
    items = []
    for r in qs.order_by("item_id"):
        items.append(Item(
            item_id=r.item_id, subject=r.subject, format=r.format, max_score=r.max_score, key=r.key or None,
            options=tuple(r.options), rubric=tuple(r.rubric), score_map=tuple(r.score_map.items()), stem=r.stem,
            content_domain=r.content_domain, cognitive_level=r.cognitive_level, status=r.status,
            media=tuple(r.media),
            usage=tuple(Usage(year=u.year, block=u.block or None, booklet=u.booklet or None, p_value=u.p_value, n=u.n)
                        for u in r.usages.all()),
        ))
    return ItemBank(tuple(items))


def export_item_bank(path: str | Path, *, subject: str | None = None, fmt: str = "json") -> tuple[Path, list[str]]:
    """Write the stored bank as JSON or as a QTI 3.0 package; returns (path, skipped item ids)."""
    bank = bank_from_db(subject)
    if fmt == "json":
        return save_bank(bank, path), []
    if fmt == "qti":
        return write_qti(bank, path)
    raise ParameterError(f"format must be json or qti; got {fmt!r}")


def save_design(cycle, subject: str, design: BookletDesign, blocks: pl.DataFrame) -> None:
    """Store a subject's blocks (``item_id, block, order``) and booklets for a cycle, replacing any
    earlier design of that subject in the cycle (refused once pupils are assigned to it)."""
    ids = blocks["item_id"].to_list()
    known = dict(m.Item.objects.filter(item_id__in=ids).values_list("item_id", "id"))
    issues = Issues()
    for r in blocks.with_row_index("row", offset=2).iter_rows(named=True):
        if r["item_id"] not in known:
            issues.add(Issue(rule_zh="题库中没有这道题", rule_en="item not in the item bank", row=r["row"],
                             column="item_id", value=r["item_id"]))
        elif r["block"] not in design.blocks:
            issues.add(Issue(rule_zh="题组不在设计中", rule_en="block not in the design", row=r["row"],
                             column="block", value=r["block"]))
    issues.raise_if_errors()
    with transaction.atomic():
        if m.BookletAssignment.objects.filter(cycle=cycle, subject=subject).exists():
            raise ParameterError(f"{subject}: pupils are already assigned to booklets of this cycle")
        m.Booklet.objects.filter(cycle=cycle, subject=subject).delete()
        m.Block.objects.filter(cycle=cycle, subject=subject).delete()
        bobj = {b: m.Block.objects.create(cycle=cycle, code=b, subject=subject, is_anchor=b in design.anchor_blocks)
                for b in design.blocks}
        m.BlockItem.objects.bulk_create([m.BlockItem(block=bobj[r["block"]], item_id=known[r["item_id"]], order=r["order"])
                                         for r in blocks.iter_rows(named=True)])
        for code, bk in zip(design.booklet_ids, design.booklets):
            booklet = m.Booklet.objects.create(cycle=cycle, code=code, subject=subject)
            m.BookletBlock.objects.bulk_create([m.BookletBlock(booklet=booklet, block=bobj[b], position=j + 1)
                                                for j, b in enumerate(bk)])


def design_from_db(cycle, subject: str) -> tuple[BookletDesign, pl.DataFrame]:
    """A stored design and its blocks frame (``item_id, block, order``)."""
    blocks = list(m.Block.objects.filter(cycle=cycle, subject=subject).order_by("code"))
    if not blocks:
        raise ParameterError(f"no booklet design for {subject} in {cycle}")
    booklets = m.Booklet.objects.filter(cycle=cycle, subject=subject).order_by("code").prefetch_related("slots__block")
    design = BookletDesign(
        blocks=tuple(b.code for b in blocks),
        booklets=tuple(tuple(s.block.code for s in bk.slots.all()) for bk in booklets),
        anchor_blocks=tuple(b.code for b in blocks if b.is_anchor),
        booklet_ids=tuple(bk.code for bk in booklets))
    rows = m.BlockItem.objects.filter(block__in=blocks).values_list("item__item_id", "block__code", "order")
    frame = pl.DataFrame(list(rows), schema={"item_id": pl.String, "block": pl.String, "order": pl.Int32}, orient="row")
    return design, frame


def assign(cycle, pupils: pl.DataFrame, *, seed: int) -> pl.DataFrame:
    """Spiral subjects and booklets over the pupils (``student_id, school_code[, subject]``) with the
    cycle's stored designs and store the assignment (replacing the cycle's earlier one)."""
    subjects = list(m.Booklet.objects.filter(cycle=cycle).values_list("subject", flat=True).distinct())
    if not subjects:
        raise ParameterError(f"no booklet designs stored for {cycle}")
    designs = {s: design_from_db(cycle, s)[0] for s in sorted(subjects)}
    out = assign_booklets(pupils, designs, random_state=seed)
    booklet_ids = dict(m.Booklet.objects.filter(cycle=cycle).values_list("code", "id"))
    rows = out.select(
        pl.lit(cycle.pk).alias("cycle_id"), "student_id", pl.col("school_code").cast(pl.String).fill_null(""),
        "subject", pl.col("booklet").replace_strict(booklet_ids, return_dtype=pl.Int64).alias("booklet_id"),
        pl.lit(seed).alias("seed")).rows()
    table = m.BookletAssignment._meta.db_table
    sql = (f"INSERT INTO {connection.ops.quote_name(table)} (cycle_id, student_id, school_code, subject, booklet_id, seed) "
           "VALUES (%s, %s, %s, %s, %s, %s)")
    with transaction.atomic():
        m.BookletAssignment.objects.filter(cycle=cycle).delete()
        with connection.cursor() as cur:  # executemany: 168,000 rows in seconds, no model objects
            for i in range(0, len(rows), 20000):
                cur.executemany(sql, rows[i:i + 20000])
    return out


def store_test(cycle, bank: ItemBank, designs: dict[str, BookletDesign], blocks: pl.DataFrame, pupils: pl.DataFrame,
               *, seed: int) -> pl.DataFrame:
    """Store a cycle's whole test in one transaction: the bank (upsert), each subject's design with
    its blocks (``item_id, block, order`` of all subjects), and the pupils' booklets
    (:func:`assign`), replacing the cycle's earlier assignment and designs."""
    with transaction.atomic():
        import_item_bank(bank)
        m.BookletAssignment.objects.filter(cycle=cycle).delete()
        for subject, design in designs.items():
            save_design(cycle, subject, design, blocks.filter(pl.col("block").is_in(design.blocks)))
        return assign(cycle, pupils, seed=seed)


def assignment_frame(cycle) -> pl.DataFrame:
    rows = m.BookletAssignment.objects.filter(cycle=cycle).values_list("student_id", "school_code", "subject",
                                                                       "booklet__code")
    return pl.DataFrame(list(rows), schema={"student_id": pl.String, "school_code": pl.String, "subject": pl.String,
                                            "booklet": pl.String}, orient="row")


def record_human_scores(cycle, markings: pl.DataFrame, *, file: str | None = None) -> int:
    """Store markings (``student_id, item_id, rater, score``); every bad row is reported and nothing
    is written unless all are good. A marking already stored (same pupil, item, rater) is replaced."""
    issues = Issues()
    for c in ("student_id", "item_id", "rater", "score"):
        if c not in markings.columns:
            issues.add(Issue(rule_zh="缺少列", rule_en="missing column", file=file, column=c))
    issues.raise_if_errors()
    items = {r[0]: r[1:] for r in m.Item.objects.filter(item_id__in=markings["item_id"].unique().to_list())
             .values_list("item_id", "id", "format", "max_score")}
    for r in markings.with_row_index("row", offset=2).iter_rows(named=True):
        it = items.get(r["item_id"])
        if it is None:
            issues.add(Issue(rule_zh="题库中没有这道题", rule_en="item not in the item bank", file=file, row=r["row"],
                             column="item_id", value=r["item_id"]))
            continue
        if it[1] != "constructed":
            issues.add(Issue(rule_zh="只有建构反应题需要人工评分", rule_en="only constructed-response items are scored by people",
                             file=file, row=r["row"], column="item_id", value=r["item_id"]))
        s = r["score"]
        if not isinstance(s, int) or not 0 <= s <= it[2]:
            issues.add(Issue(rule_zh=f"得分应为 0–{it[2]} 的整数", rule_en=f"score must be an integer 0–{it[2]}",
                             file=file, row=r["row"], column="score", value=s))
        if not r["rater"]:
            issues.add(Issue(rule_zh="评分员必填", rule_en="rater is required", file=file, row=r["row"], column="rater"))
    if issues.has_errors:
        raise InputError(issues.items)
    with transaction.atomic():
        for r in markings.iter_rows(named=True):
            m.HumanScore.objects.update_or_create(
                cycle=cycle, student_id=r["student_id"], item_id=items[r["item_id"]][0], rater=r["rater"],
                defaults={"score": r["score"]})
    return markings.height


def markings_frame(cycle) -> pl.DataFrame:
    rows = m.HumanScore.objects.filter(cycle=cycle).values_list("student_id", "item__item_id", "rater", "score")
    return pl.DataFrame(list(rows), schema={"person_id": pl.String, "item_id": pl.String, "rater": pl.String,
                                            "score": pl.Int64}, orient="row")


def agreement_report(cycle) -> pl.DataFrame:
    """Double-marking agreement per item (exact, adjacent, Cohen's kappa, quadratic kappa)."""
    return agreement_by_item(markings_frame(cycle))


def resolved_human_scores(cycle, *, adjudicator: str | None = None) -> pl.DataFrame:
    return resolve_scores(markings_frame(cycle), adjudicator=adjudicator)


# ---------------------------------------------------------------------------------------------
# standard setting: the cut scores of 水平Ⅰ–Ⅳ with their provenance


def set_cut_scores(subject: str, method: str, judgements: pl.DataFrame, items: pl.DataFrame, scale: dict | None, *,
                   panel: str, date: str, statistic: str = "median", rp: float = 0.67,
                   file: str | None = None) -> m.CutScore:
    """Compute a panel's cut scores (``junheng.irt.standard_setting``: Bookmark from the
    panellists' bookmarks on the ordered item booklet of ``items``, or modified Angoff from their
    item ratings), on the reporting scale ``scale`` (``ReportingScale.to_dict()``), and store them
    with their provenance. Every bad judgement row is reported before anything is written; the
    same panel meeting imported again replaces its record (idempotent)."""
    import datetime as dt

    from junheng import irt

    if subject not in dict(m.SUBJECTS):
        raise ParameterError(f"学科应为 语文/数学/英语/科学 / subject must be 语文, 数学, 英语 or 科学; got {subject!r}")
    try:
        day = dt.date.fromisoformat(date)
    except ValueError:
        raise ParameterError(f"日期应为 YYYY-MM-DD / date must be YYYY-MM-DD; got {date!r}") from None
    if not panel.strip():
        raise ParameterError("须写明专家组 / the panel must be named")
    rs = None
    if scale is not None:
        rs = irt.ReportingScale.from_constants(scale["theta_mean"], scale["theta_sd"], scale.get("mean", 500.0),
                                               scale.get("sd", 100.0))
    if method == "bookmark":
        cuts, per = irt.bookmark(irt.ordered_item_booklet(items, rp=rp), judgements, subject=subject, scale=rs,
                                statistic=statistic, panel=panel, date=date, file=file)
    elif method == "angoff":
        cuts, per = irt.angoff(items, judgements, subject=subject, scale=rs, statistic=statistic, panel=panel,
                              date=date, file=file)
    else:
        raise ParameterError(f"方法应为 bookmark 或 angoff / method must be bookmark or angoff; got {method!r}")
    se = [None if x != x else x for x in (cuts.se or (None, None, None))]
    values = {"rounds": cuts.rounds, "panellists": cuts.panellists, "statistic": statistic,
              "cut_2": cuts.cuts[0], "cut_3": cuts.cuts[1], "cut_4": cuts.cuts[2],
              "se_2": se[0], "se_3": se[1], "se_4": se[2], "judgements": per.to_dicts(),
              "by_round": [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()}
                           for r in cuts.by_round], "source": file or ""}
    obj, _ = m.CutScore.objects.update_or_create(subject=subject, method=method, panel=panel.strip(), date=day,
                                                 defaults=values)
    return obj


def cut_scores(subject: str):
    """The cut scores in force for ``subject`` (:class:`junheng.irt.standard_setting.CutScores`): the
    latest stored panel's, else the provisional 400/500/600 (levels printed as 暂定)."""
    from junheng import irt

    c = m.CutScore.objects.filter(subject=subject).order_by("-date", "-created_at").first()
    if c is None:
        return irt.provisional(subject)
    return irt.CutScores(subject, (c.cut_2, c.cut_3, c.cut_4), c.method, (c.se_2, c.se_3, c.se_4), c.panel,
                        c.date.isoformat(), c.rounds, c.panellists, c.statistic)


def all_cut_scores(subjects=("语文", "数学", "英语", "科学")) -> dict:
    """``{subject: CutScores}`` for every subject (stored or provisional)."""
    return {s: cut_scores(s) for s in subjects}


__all__ = ["ImportResult", "agreement_report", "all_cut_scores", "assign", "assignment_frame", "bank_from_db",
           "cut_scores", "design_from_db", "export_item_bank", "import_item_bank", "markings_frame",
           "record_human_scores", "resolved_human_scores", "save_design", "set_cut_scores", "store_test"]
