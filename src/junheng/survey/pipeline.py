"""One cycle's sample from registry frames to final and replicate weights.

:func:`draw_sample` = frame → school selection → pupil selection (contract: the *pupil sample*
of ``docs/dev/contracts.md``).  :func:`final_weights` = base weights → school non-response
adjustment within strata → pupil non-response within school × sex (collapsed to school) →
optional trimming → optional post-stratification or raking to known totals → replicate
weights repeating every step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from junheng.exceptions import Issue, Issues, ParameterError
from junheng.survey.frame import Frame, FrameRules, build_frame
from junheng.survey.replicates import form_zones, replicate_factors
from junheng.survey.selection import SampleParams, allocate, select_pupils, select_schools
from junheng.survey.weights import adjust_nonresponse, cell_ids, poststratify, rake, trim

PUPIL_SAMPLE_COLUMNS = ("student_id", "school_code", "county_code", "city_code", "stratum", "sex", "location",
                        "subject", "school_weight", "pupil_weight", "base_weight")


@dataclass
class Sample:
    """``frame``: the frame with exclusions; ``schools``: the sorted frame with selection results
    (``sampled``, ``pi``, ``school_weight``, replacements, ``role``); ``pupils``: the pupil sample;
    ``allocation``: n_h per stratum and whether its subjects can be reported, and why not
    (:func:`junheng.survey.selection.allocate`)."""

    frame: Frame
    schools: pl.DataFrame
    pupils: pl.DataFrame
    allocation: pl.DataFrame | None = None

    @property
    def sampled_schools(self) -> pl.DataFrame:
        return self.schools.filter(pl.col("sampled"))

    def summary(self) -> dict:
        """Counts for the operator: ``schools`` (sampled), ``replacements``, ``pupils``, the
        frame's pupil ``exclusion_rate`` (excluded / in scope) and the ``unreportable`` strata
        (whose subjects cannot reach the reporting minimum; see ``allocation``)."""
        rates = self.frame.rates
        return {
            "schools": int(self.schools["sampled"].sum()),
            "replacements": int(self.schools["role"].str.starts_with("replacement").sum()),
            "pupils": self.pupils.height,
            "exclusion_rate": float(rates["pupils_excluded"].sum() / max(int(rates["pupils_in_scope"].sum()), 1)),
            "unreportable": 0 if self.allocation is None
            else int((~self.allocation["reportable"].fill_null(True)).sum()),
        }


def _city(county: pl.Expr) -> pl.Expr:
    # GB/T 2260: the first four digits + "00" name the prefecture-level city
    return county.cast(pl.String).str.slice(0, 4) + pl.lit("00")


def draw_sample(schools: pl.DataFrame, pupils: pl.DataFrame, params: SampleParams | None = None,
                rules: FrameRules | None = None) -> Sample:
    """Select the schools and the pupils of one cycle (seeded by ``params.random_state``)."""
    params = params or SampleParams()
    rules = rules or FrameRules()
    frame = build_frame(schools, rules)
    sel = select_schools(frame.schools, params).with_columns(pl.col(params.stratum).cast(pl.String).alias("stratum"))
    if "city_code" not in sel.columns:
        sel = sel.with_columns(_city(pl.col("county_code")).alias("city_code"))
    roster = pupils
    if "grade" in roster.columns:
        roster = roster.filter(pl.col("grade").cast(pl.Int64) == rules.grade)
    carry = sel.filter(pl.col("sampled")).select("school_code", "county_code", "city_code", "stratum", "location",
                                                 "school_weight", "pupils_per_school")
    pup = select_pupils(roster, carry, params)
    cols = [c for c in PUPIL_SAMPLE_COLUMNS if c in pup.columns]
    rest = [c for c in pup.columns if c not in cols and c not in ("name",)]
    return Sample(frame, sel, pup.select(cols + rest), allocate(frame.schools, params))


def _margin_cells(pupils: pl.DataFrame, margin: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Cell index of every pupil in a margin frame (key columns + ``total``) and the totals."""
    keys = [c for c in margin.columns if c != "total"]
    issues = Issues()
    if "total" not in margin.columns or not keys:
        raise ParameterError("校准总数表须有键列和 total 列 / a margin needs key columns and a 'total' column")
    missing = [k for k in keys if k not in pupils.columns]
    if missing:
        raise ParameterError(f"校准键列不在样本中 / margin key columns not in the sample: {missing}")
    m = margin.with_columns(pl.col(k).cast(pupils.schema[k]) for k in keys).with_row_index("__cell")
    for row, t in enumerate(m["total"].to_list()):
        if t is None or not t > 0:
            issues.add(Issue("总数须为正数", "a total must be positive", file="margin", row=row + 2, column="total",
                             value=t))
    issues.raise_if_errors()
    cells = pupils.select(keys).join(m, on=keys, how="left", maintain_order="left")["__cell"]
    if cells.null_count():
        lost = pupils.select(keys).filter(cells.is_null()).unique().head(5).to_dicts()
        raise ParameterError(f"样本中有不在校准表中的格 / sample cells missing from the margin: {lost}")
    return cells.to_numpy().astype(np.int64), m["total"].cast(pl.Float64).to_numpy()


def final_weights(pupils: pl.DataFrame, schools: pl.DataFrame, responded: pl.Series | np.ndarray | None = None, *,
                  method: str = "jk2", replicates: int = 80, fay_k: float = 0.5, school_threshold: float = 0.5,
                  trim_cap: float | None = None, margins: list[pl.DataFrame] | None = None,
                  school_cells: Sequence[str] = ("stratum",), random_state: int = 2022) -> pl.DataFrame:
    """Final weight ``weight`` and replicate weights ``rep_1 … rep_R`` for the pupil sample.

    ``pupils``: the pupil sample (``student_id``, ``school_code``, ``stratum``, ``sex``,
    ``base_weight``); ``schools``: the selection frame (``school_code``, ``certainty``,
    ``sort_order``, ``stratum``) — only sampled schools are used; ``responded``: per pupil,
    whether the pupil has data (default: all).  A school participates when at least
    ``school_threshold`` of its sampled pupils responded (the international studies' 50 % rule).
    ``school_cells``: the school non-response cells (e.g. ``("stratum", "location")``), collapsed to
    the stratum where a cell has no participating school.  ``margins``: known population totals, each a frame of key columns + ``total`` (e.g.
    ``county_code, total``): one margin post-stratifies, several are raked.
    Returns ``student_id``, ``school_code``, ``zone``, ``member``, ``weight``, ``rep_1 …``.
    """
    if not 0.0 <= school_threshold <= 1.0:
        raise ParameterError(f"学校参与阈值须在 [0, 1] / school_threshold must be in [0, 1]; got {school_threshold}")
    n = pupils.height
    resp = np.ones(n, dtype=bool) if responded is None else np.asarray(responded, dtype=bool)
    if resp.size != n:
        raise ParameterError("应答标记与学生数不一致 / responded must have one value per pupil")
    p = pupils.with_columns(pl.Series("__resp", resp))
    rate = pl.col("__resp").mean().over("school_code")
    p = p.with_columns(((rate >= school_threshold) & (rate > 0)).alias("__school_ok"))
    sch = schools.filter(pl.col("sampled")) if "sampled" in schools.columns else schools
    if "stratum" not in sch.columns:
        raise ParameterError("学校样本缺少 stratum 列 / the school sample lacks a stratum column")
    zones = form_zones(p, sch.select("school_code", "stratum", "certainty", "sort_order"), random_state=random_state)
    zone = zones["zone"].to_numpy()
    member = zones["member"].to_numpy()
    base = p["base_weight"].cast(pl.Float64).to_numpy()
    W = np.column_stack([base, base[:, None] * replicate_factors(zone, member, method, replicates, fay_k)])
    # 1. school non-response within the explicit stratum: one school's pupils move together
    school_ok = p["__school_ok"].to_numpy()
    missing = [c for c in school_cells if c not in p.columns]
    if missing:
        raise ParameterError(f"无应答调整格列不在样本中 / school_cells columns not in the sample: {missing}")
    levels = [cell_ids(p, list(school_cells))]
    if list(school_cells) != ["stratum"]:
        levels.append(cell_ids(p, ["stratum"]))
    W = adjust_nonresponse(W, school_ok, levels)
    # 2. pupil non-response within school × sex, collapsed to the school
    in_ok = school_ok
    sex_cells = cell_ids(p, ["school_code", "sex"]) if "sex" in p.columns else cell_ids(p, ["school_code"])
    Wp = adjust_nonresponse(W[in_ok], resp[in_ok], [sex_cells[in_ok], cell_ids(p.filter(pl.Series(in_ok)),
                                                                                 ["school_code"])])
    W = np.zeros_like(W)
    W[in_ok] = Wp
    if trim_cap is not None:
        W = trim(W, cell_ids(p, ["stratum"]), cap=trim_cap)
    if margins:
        cells = [_margin_cells(p, m) for m in margins]
        W = poststratify(W, *cells[0]) if len(cells) == 1 else rake(W, cells)
    out = pl.DataFrame({
        "student_id": p["student_id"],
        "school_code": p["school_code"],
        "zone": zone,
        "member": member,
        "responded": resp,
        "weight": W[:, 0],
    })
    return out.with_columns(pl.Series(f"rep_{r}", W[:, r]) for r in range(1, W.shape[1]))


__all__ = ["PUPIL_SAMPLE_COLUMNS", "Sample", "draw_sample", "final_weights"]
