"""Response scoring: raw responses → scored responses, with missing codes kept apart.

Input is the long frame ``person_id, item_id, raw`` (one row per administered item; ``raw`` a
string: an option letter or letters for choice items, the scorer's code for constructed items),
optionally ``position`` (the item's place in the pupil's booklet) and ``row`` (the spreadsheet
row, for messages). Scoring is one Polars join against the bank's score table
(``ItemBank.score_frame``), so it is vectorised over all responses.

Each response gets a ``status``:

* ``valid`` — an admissible code, scored by the key, the partial-credit rule or the score map;
* ``omitted`` — blank (or an omit code) followed later in the booklet by an answered item;
* ``not_reached`` — blank at the end of the booklet (every later item blank too), the
  convention of TIMSS and PISA (Foy & LaRoche, *TIMSS 2019 Technical Report*, ch. 11);
* ``not_administered`` — an explicit not-administered code, or an item outside the pupil's booklet
  (absent from the long frame, and null in the wide frame);
* ``invalid`` — a code the item does not admit (e.g. a double mark on an OMR sheet).

How each kind of missing is scored is configurable (``MissingTreatment``). The default follows
PISA/TIMSS for calibration: omitted → 0, not reached → missing, not administered → missing;
invalid responses raise ``InputError`` unless ``invalid`` is set to 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from junheng.assessment.items import ItemBank
from junheng.exceptions import InputError, Issue, ParameterError

STATUSES = ("valid", "omitted", "not_reached", "not_administered", "invalid")


@dataclass(frozen=True)
class MissingCodes:
    """Raw codes that mean something other than an answer (compared after stripping spaces)."""

    omitted: tuple[str, ...] = ("", "9", "-")
    not_administered: tuple[str, ...] = ("N", "7")


@dataclass(frozen=True)
class MissingTreatment:
    """Score given to each kind of missing; ``None`` keeps it missing (null)."""

    omitted: int | None = 0
    not_reached: int | None = None
    not_administered: int | None = None
    invalid: int | None | str = "error"  # "error": raise InputError listing every invalid response

    def __post_init__(self) -> None:
        for name in ("omitted", "not_reached", "not_administered"):
            v = getattr(self, name)
            if v is not None and v != 0:
                raise ParameterError(f"{name} may be scored 0 or kept missing (None); got {v!r}")
        if self.invalid not in ("error", 0, None):
            raise ParameterError(f"invalid must be 'error', 0 or None; got {self.invalid!r}")


CALIBRATION = MissingTreatment()
"""PISA/TIMSS for item calibration: omitted wrong, not reached and not administered missing."""
REPORTING = MissingTreatment(omitted=0, not_reached=0)
"""TIMSS/PISA for person scoring: not reached also counted wrong."""


def score_responses(responses: pl.DataFrame, bank: ItemBank, *, codes: MissingCodes = MissingCodes(),
                    treatment: MissingTreatment = CALIBRATION, file: str | None = None) -> pl.DataFrame:
    """Score raw responses; returns ``person_id, item_id, raw, status, score`` (+ ``position``).

    Multiple-choice responses are normalised (letters upper-cased, de-duplicated, sorted, so
    ``"ca"`` equals ``"AC"``). Unknown items raise ``InputError``.
    """
    for col in ("person_id", "item_id", "raw"):
        if col not in responses.columns:
            raise InputError(Issue(rule_zh="缺少列", rule_en="missing column", file=file, column=col))
    has_pos = "position" in responses.columns
    has_row = "row" in responses.columns
    df = responses.with_columns(
        pl.col("raw").cast(pl.String).str.strip_chars().str.to_uppercase().fill_null("").alias("_raw"),
        pl.col("item_id").cast(pl.String),
    )
    if not has_row:
        df = df.with_row_index("row", offset=2).with_columns(pl.col("row").cast(pl.Int64))
    keys = bank.score_frame()
    fmt = bank.to_frame().select("item_id", "format")
    df = df.join(fmt, on="item_id", how="left")
    unknown = df.filter(pl.col("format").is_null())
    if unknown.height:
        raise InputError([Issue(rule_zh="题库中没有这道题", rule_en="item not in the item bank", file=file,
                                row=r["row"], column="item_id", value=r["item_id"])
                          for r in unknown.select("row", "item_id").head(1000).iter_rows(named=True)])
    # multiple choice: "CA", "A,C", "ca" → "AC"
    df = df.with_columns(
        pl.when((pl.col("format") == "multiple_choice")
                & ~pl.col("_raw").is_in([*codes.omitted, *codes.not_administered]))
        .then(pl.col("_raw").str.replace_all(r"[^A-H]", "").str.split("").list.unique().list.sort().list.join(""))
        .otherwise(pl.col("_raw")).alias("_raw")
    )
    df = df.join(keys.rename({"raw": "_raw"}), on=["item_id", "_raw"], how="left")
    is_omit = pl.col("_raw").is_in(list(codes.omitted)) & pl.col("score").is_null()
    is_na = pl.col("_raw").is_in(list(codes.not_administered)) & pl.col("score").is_null()
    df = df.with_columns(
        pl.when(pl.col("score").is_not_null()).then(pl.lit("valid"))
        .when(is_na).then(pl.lit("not_administered"))
        .when(is_omit).then(pl.lit("omitted"))
        .otherwise(pl.lit("invalid")).alias("status")
    )
    if has_pos:
        # not reached: omitted, and no answered item at a later position in the pupil's booklet
        last_answered = (pl.when(pl.col("status").is_in(["valid", "invalid"])).then(pl.col("position"))
                         .max().over("person_id"))
        df = df.with_columns(
            pl.when((pl.col("status") == "omitted") & (pl.col("position") > last_answered.fill_null(0)))
            .then(pl.lit("not_reached")).otherwise(pl.col("status")).alias("status")
        )
    bad = df.filter(pl.col("status") == "invalid")
    if bad.height and treatment.invalid == "error":
        raise InputError([Issue(rule_zh="该题不接受此作答代码", rule_en="response code not admissible for this item",
                                file=file, row=r["row"], column=f"raw ({r['item_id']})", value=r["raw"])
                          for r in bad.select("row", "item_id", "raw").head(1000).iter_rows(named=True)])
    fill = {"omitted": treatment.omitted, "not_reached": treatment.not_reached,
            "not_administered": treatment.not_administered,
            "invalid": None if treatment.invalid == "error" else treatment.invalid}
    expr = pl.col("score")
    for status, value in fill.items():
        expr = pl.when(pl.col("status") == status).then(pl.lit(value, dtype=pl.Int32)).otherwise(expr)
    df = df.with_columns(expr.cast(pl.Int32).alias("score"), pl.col("status").cast(pl.Enum(STATUSES)))
    cols = ["person_id", "item_id", "raw", "status", "score"] + (["position"] if has_pos else [])
    return df.select(cols)


def expand_booklets(responses: pl.DataFrame, assignment: pl.DataFrame, booklet_items: pl.DataFrame) -> pl.DataFrame:
    """Add the booklet's ``position`` to each response and a blank row for every booklet item with
    no response row, so that omitted and not-reached items are visible to ``score_responses``.

    ``assignment``: ``student_id, booklet``; ``booklet_items``: ``booklet, item_id, position``.
    """
    frame = (assignment.select(pl.col("student_id").alias("person_id"), "booklet")
             .join(booklet_items.select("booklet", "item_id", "position"), on="booklet", how="inner"))
    r = responses.select("person_id", "item_id", "raw", *(["row"] if "row" in responses.columns else []))
    return frame.join(r, on=["person_id", "item_id"], how="left").drop("booklet")


def to_wide(scored: pl.DataFrame, items: list[str] | None = None) -> pl.DataFrame:
    """Scored long → the wide contract frame: ``person_id`` + one Int column per item (null = missing).

    Rows are sorted by ``person_id``; columns follow ``items`` (default: sorted item ids). Built by
    scattering into a NumPy matrix (one pass, no pivot).
    """
    order = items or sorted(scored["item_id"].unique().to_list())
    persons = scored["person_id"].unique().sort()
    idx_p = scored.select(pl.col("person_id")).join(
        persons.to_frame().with_row_index("_p"), on="person_id", how="left", maintain_order="left")["_p"].to_numpy()
    imap = pl.DataFrame({"item_id": order}).with_row_index("_i")
    idx_i = scored.select("item_id").join(imap, on="item_id", how="left", maintain_order="left")["_i"]
    keep = idx_i.is_not_null().to_numpy()
    sc = scored["score"]
    mat = np.full((persons.len(), len(order)), -1, dtype=np.int32)
    ok = keep & sc.is_not_null().to_numpy()
    mat[idx_p[ok], idx_i.to_numpy()[ok]] = sc.to_numpy()[ok]
    cols = {c: pl.Series(c, mat[:, j]) for j, c in enumerate(order)}
    return pl.DataFrame({"person_id": persons, **cols}).with_columns(
        [pl.when(pl.col(c) >= 0).then(pl.col(c)).cast(pl.Int32).alias(c) for c in order])


def missing_summary(scored: pl.DataFrame) -> pl.DataFrame:
    """Share of each status per item: ``item_id, n, valid, omitted, not_reached, not_administered, invalid``."""
    counts = scored.group_by("item_id", "status").len().pivot(on="status", index="item_id", values="len")
    for s in STATUSES:
        if s not in counts.columns:
            counts = counts.with_columns(pl.lit(0, dtype=pl.UInt32).alias(s))
    counts = counts.fill_null(0).with_columns(pl.sum_horizontal(*STATUSES).alias("n"))
    return counts.select("item_id", "n", *[(pl.col(s) / pl.col("n")).alias(s) for s in STATUSES]).sort("item_id")
