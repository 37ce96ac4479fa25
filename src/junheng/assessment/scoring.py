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

from junheng.assessment._codes import encode
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


def _normal_forms(u: str | None) -> tuple[str, str]:
    """(plain, multiple-choice) normal forms of a raw code: stripped and upper-cased; for multiple
    choice also separators dropped and letters de-duplicated and sorted ("c, a" → "AC")."""
    plain = (u or "").strip().upper()
    letters = [ch for ch in plain if ch in "ABCDEFGH"]
    rest = [ch for ch in plain if ch not in "ABCDEFGH"]
    mc = "".join(sorted(set(letters))) if letters and all(ch in " ,;，、/" for ch in rest) else plain
    return plain, mc


SOURCE_COLUMNS = ("channel", "sheet", "source")  # what a message names as a response's origin, when present


def _refuse_duplicates(responses: pl.DataFrame, file: str | None) -> None:
    """More than one row for one pupil and item is refused, every such row named (with its
    ``channel``/``sheet``/``source`` when the frame has one): a pupil answered in the browser *and*
    on a paper sheet, or one sheet was read twice — which answer counts is a person's decision
    (docs/methods/omr.md § one pupil, two channels), never the scorer's silent pick."""
    if responses.height == 0:
        return
    keys = responses.select(pl.col("person_id").cast(pl.String), pl.col("item_id").cast(pl.String))
    dup = keys.is_duplicated().to_numpy()
    if not dup.any():
        return
    idx = np.flatnonzero(dup)[:1000]
    rows = responses["row"].to_numpy()[idx] if "row" in responses.columns else idx + 2
    src = next((c for c in SOURCE_COLUMNS if c in responses.columns), None)
    origin = responses[src].cast(pl.String).gather(idx).to_list() if src else [None] * len(idx)
    raise InputError([Issue(rule_zh="同一学生同一题有不止一条作答（如既有在线作答又有答题卡），须先由人确定以哪一份为准",
                            rule_en="more than one response of one pupil to one item (e.g. a browser answer and an "
                                    "answer sheet): a person must decide which counts first",
                            file=file, row=int(r), column="person_id",
                            value=f"{p} {i}" + (f" ({o})" if o else ""))
                      for r, p, i, o in zip(rows, keys["person_id"].gather(idx).to_list(),
                                            keys["item_id"].gather(idx).to_list(), origin, strict=True)])


def channel_conflicts(answers: pl.DataFrame) -> pl.DataFrame:
    """Pupils with answers from more than one channel in one subject.

    ``answers``: one row per source of answers — ``person_id``, ``subject``, ``channel`` (e.g.
    ``browser`` for the test in the browser, ``paper`` for an OMR sheet), ``source`` (a description
    a reviewer reads: the session, the scanned page) and ``answered`` (items with an answer).
    Returns one row per (``person_id``, ``subject``) with at least two channels: ``channels`` (the
    channels, sorted), ``sources`` (every source as ``channel: source (answered)``, joined by
    ``；``) and ``answered`` (a list, in the order of ``sources``).  Nothing is dropped or chosen
    here: the caller holds the pupil's score until a person decides."""
    need = ("person_id", "subject", "channel", "source", "answered")
    missing = [c for c in need if c not in answers.columns]
    if missing:
        raise ParameterError(f"作答来源表缺少列 / the answer sources lack columns: {', '.join(missing)}")
    schema = {"person_id": pl.String, "subject": pl.String, "channels": pl.List(pl.String), "sources": pl.String,
              "answered": pl.List(pl.Int64)}
    a = answers.select(pl.col("person_id").cast(pl.String), pl.col("subject").cast(pl.String),
                       pl.col("channel").cast(pl.String), pl.col("source").cast(pl.String),
                       pl.col("answered").cast(pl.Int64)).sort("person_id", "subject", "channel", "source")
    many = a.group_by("person_id", "subject").agg(pl.col("channel").n_unique().alias("n")).filter(pl.col("n") > 1)
    if many.height == 0:
        return pl.DataFrame(schema=schema)
    hit = a.join(many.select("person_id", "subject"), on=["person_id", "subject"], how="semi")
    out = hit.group_by("person_id", "subject", maintain_order=True).agg(
        pl.col("channel").unique().sort().alias("channels"),
        pl.format("{}: {} ({})", "channel", "source", "answered").str.join("；").alias("sources"),
        pl.col("answered"))
    return out.select(list(schema)).cast(schema).sort("person_id", "subject")


def score_responses(responses: pl.DataFrame, bank: ItemBank, *, codes: MissingCodes = MissingCodes(),
                    treatment: MissingTreatment = CALIBRATION, file: str | None = None) -> pl.DataFrame:
    """Score raw responses; returns ``person_id, item_id, raw, status, score`` (+ ``position``).

    Multiple-choice responses are normalised (letters upper-cased, de-duplicated, sorted, so
    ``"ca"`` equals ``"AC"``). Unknown items, (by default) inadmissible codes and more than one row
    for one pupil and item (two channels, a sheet read twice) raise ``InputError`` listing every
    offending row.

    Implementation: item ids and the (few) distinct raw codes are mapped to integers; the score
    of every response is one fancy-index into an ``items × codes`` table built from the keys.
    """
    for col in ("person_id", "item_id", "raw"):
        if col not in responses.columns:
            raise InputError(Issue(rule_zh="缺少列", rule_en="missing column", file=file, column=col))
    has_pos = "position" in responses.columns
    n = responses.height
    _refuse_duplicates(responses, file)

    def rows_of(mask: np.ndarray) -> np.ndarray:
        if "row" in responses.columns:
            return responses["row"].to_numpy()[mask]
        return np.flatnonzero(mask) + 2

    item_ids = [it.item_id for it in bank]
    icode, _ = encode(responses["item_id"].cast(pl.String), item_ids)
    unknown = icode < 0
    if unknown.any():
        idx = np.flatnonzero(unknown)[:1000]
        vals = responses["item_id"].cast(pl.String).gather(idx).to_list()
        raise InputError([Issue(rule_zh="题库中没有这道题", rule_en="item not in the item bank", file=file,
                                row=int(r), column="item_id", value=v) for r, v in zip(rows_of(unknown)[:1000], vals)])
    raw = responses["raw"].cast(pl.String)
    rcode, uniq = encode(raw)
    uniq = list(uniq) + [None]  # code −1 (null) → the last column
    forms = [_normal_forms(u) for u in uniq]
    omit_set, na_set = set(codes.omitted), set(codes.not_administered)
    table = np.full((len(item_ids), len(uniq)), -1, dtype=np.int16)
    for i, it in enumerate(bank):
        st = it.score_table()
        mc = it.format == "multiple_choice"
        for j, (plain, mcf) in enumerate(forms):
            v = st.get(mcf if mc else plain)
            if v is not None:
                table[i, j] = v
    kind = np.array([1 if f[0] in na_set else 2 if f[0] in omit_set else 0 for f in forms], dtype=np.int8)
    rcode = np.where(rcode < 0, len(uniq) - 1, rcode)
    score = table[icode, rcode].astype(np.int32)
    k = kind[rcode]
    # status codes: 0 valid, 1 omitted, 2 not_reached, 3 not_administered, 4 invalid
    status = np.where(score >= 0, 0, np.where(k == 1, 3, np.where(k == 2, 1, 4))).astype(np.int8)
    if has_pos:
        pos = responses["position"].cast(pl.Int64).fill_null(0).to_numpy()
        pcode, _ = encode(responses["person_id"])
        answered = (status == 0) | (status == 4)
        last = np.zeros(pcode.max() + 2 if n else 1, dtype=np.int64)
        np.maximum.at(last, pcode[answered], pos[answered])
        status[(status == 1) & (pos > last[pcode])] = 2
    bad = status == 4
    if bad.any() and treatment.invalid == "error":
        idx = np.flatnonzero(bad)[:1000]
        items_bad = responses["item_id"].cast(pl.String).gather(idx).to_list()
        raws_bad = raw.gather(idx).to_list()
        raise InputError([Issue(rule_zh="该题不接受此作答代码", rule_en="response code not admissible for this item",
                                file=file, row=int(r), column=f"raw ({i})", value=v)
                          for r, i, v in zip(rows_of(bad)[:1000], items_bad, raws_bad)])
    fill = {1: treatment.omitted, 2: treatment.not_reached, 3: treatment.not_administered,
            4: None if treatment.invalid == "error" else treatment.invalid}
    valid_mask = status == 0
    for code, value in fill.items():
        if value is not None:
            score[status == code] = value
            valid_mask |= status == code
    out = responses.select("person_id", pl.col("item_id").cast(pl.String), "raw",
                           *(["position"] if has_pos else []))
    return out.with_columns(
        pl.Series("status", status).replace_strict(dict(enumerate(STATUSES)), return_dtype=pl.Enum(STATUSES)),
        pl.when(pl.Series(valid_mask)).then(pl.Series(score)).otherwise(None).cast(pl.Int32).alias("score"),
    ).select("person_id", "item_id", "raw", "status", "score", *(["position"] if has_pos else []))


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

    Rows are sorted by ``person_id``; columns follow ``items`` (default: sorted item ids; items of
    ``scored`` not listed are dropped). Built by scattering into a NumPy matrix (no pivot).
    """
    icode, order = encode(scored["item_id"], items)
    pcode, persons = encode(scored["person_id"])
    sc = scored["score"]
    ok = (icode >= 0) & (pcode >= 0) & sc.is_not_null().to_numpy()
    mat = np.full((len(persons), len(order)), -1, dtype=np.int32)
    mat[pcode[ok], icode[ok]] = sc.to_numpy()[ok]
    cols = [pl.Series(str(c), mat[:, j]) for j, c in enumerate(order)]
    frame = pl.DataFrame([pl.Series("person_id", persons, dtype=scored.schema["person_id"]), *cols])
    return frame.with_columns([pl.when(pl.col(str(c)) >= 0).then(pl.col(str(c))).cast(pl.Int32).alias(str(c))
                               for c in order])


def missing_summary(scored: pl.DataFrame) -> pl.DataFrame:
    """Share of each status per item: ``item_id, n, valid, omitted, not_reached, not_administered, invalid``."""
    counts = scored.group_by("item_id", "status").len().pivot(on="status", index="item_id", values="len")
    for s in STATUSES:
        if s not in counts.columns:
            counts = counts.with_columns(pl.lit(0, dtype=pl.UInt32).alias(s))
    counts = counts.fill_null(0).with_columns(pl.sum_horizontal(*STATUSES).alias("n"))
    return counts.select("item_id", "n", *[(pl.col(s) / pl.col("n")).alias(s) for s in STATUSES]).sort("item_id")
