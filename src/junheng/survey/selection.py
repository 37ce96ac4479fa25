"""Two-stage selection: schools by PPS systematic sampling within explicit strata, pupils at random.

Schools (first stage).  Within each explicit stratum h (county by default) the frame is sorted
by the implicit strata (location 城区/镇区/乡村, then size, serpentine so that neighbours are
alike) and n_h schools are drawn by systematic PPS on the measure of size M_i (grade
enrolment): with interval I_h = M_h / n_h and a random start u_h ~ U(0, I_h), school i is drawn
when a point u_h + k·I_h falls in its cumulative range (C_{i−1}, C_i].  Schools with
n_h·M_i / M_h ≥ 1 are taken with certainty and removed, repeatedly, before the draw.  Inclusion
probability π_i = n'_h·M_i / M'_h (1 for certainty schools); school weight 1/π_i (Cochran 1977
§9A; Lohr 2022 §6.2; the TIMSS 2019 Methods and Procedures, ch. 3).  Each sampled school gets
two replacements, its neighbours in the sorted frame: the next school first, the previous
second, if neither is sampled nor already a replacement.

Pupils (second stage).  Within each sampled school, N pupils of the grade's roster are drawn by
simple random sampling (all when fewer), pupil weight m_i / n_i, and the four subjects are
spiralled: in random order, pupil k gets subject (k + o_i) mod 4 with a random school offset
o_i, so each school's subjects are balanced to within one pupil.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from junheng.exceptions import Issue, Issues, ParameterError

SUBJECTS: tuple[str, ...] = ("语文", "数学", "英语", "科学")
LOCATION_ORDER = {"城区": 0, "镇区": 1, "乡村": 2}


@dataclass(frozen=True)
class SampleParams:
    """Parameters of one cycle's selection.

    ``target_pupils`` is allocated to strata in proportion to their grade enrolment (at least
    ``min_schools`` schools per stratum); ``schools`` fixes n_h for every stratum instead.

    Reporting minimum (issue 13.6): every stratum also gets enough schools that each subject
    reaches the minimum reporting rule (``report_pupils`` pupils from ``report_schools`` schools,
    the defaults of :class:`junheng.survey.ReportingRule`) when at least ``expected_response`` of
    the drawn pupils take part — see :func:`allocate`.  ``report_pupils=None`` turns this off.
    """

    target_pupils: int = 168_000
    pupils_per_school: int = 30
    min_schools: int = 4
    schools: int | None = None
    stratum: str = "county_code"
    implicit: tuple[str, ...] = ("location",)
    subjects: tuple[str, ...] = SUBJECTS
    replacements: int = 2
    random_state: int = 2022
    report_pupils: int | None = 62
    report_schools: int = 5
    expected_response: float = 0.95

    def __post_init__(self) -> None:
        if not 0 < self.expected_response <= 1:
            raise ParameterError(f"预期应答率须在 (0, 1] / expected_response must be in (0, 1]; got "
                                 f"{self.expected_response}")
        if self.pupils_per_school < 1:
            raise ParameterError(f"每校学生数须 ≥ 1 / pupils_per_school must be ≥ 1; got {self.pupils_per_school}")
        if self.target_pupils < 1 and self.schools is None:
            raise ParameterError(f"目标样本须 ≥ 1 / target_pupils must be ≥ 1; got {self.target_pupils}")
        if self.schools is not None and self.schools < 1:
            raise ParameterError(f"每层学校数须 ≥ 1 / schools per stratum must be ≥ 1; got {self.schools}")
        if self.min_schools < 1:
            raise ParameterError(f"每层最少学校数须 ≥ 1 / min_schools must be ≥ 1; got {self.min_schools}")
        if not 0 <= self.replacements <= 2:
            raise ParameterError(f"替补学校数须为 0–2 / replacements must be 0, 1 or 2; got {self.replacements}")
        if not self.subjects:
            raise ParameterError("至少一个学科 / at least one subject")


def sort_frame(frame: pl.DataFrame, stratum: str, implicit: Sequence[str] = ("location",)) -> pl.DataFrame:
    """Sort by stratum, the implicit strata, then size — serpentine (size ascending in even
    implicit cells, descending in odd ones), so that neighbours in the list are alike."""
    keys = []
    df = frame
    for col in implicit:
        if col == "location":
            df = df.with_columns(pl.col("location").replace_strict(LOCATION_ORDER, default=9).alias("__loc"))
            keys.append("__loc")
        else:
            keys.append(col)
    cell = pl.struct(keys).rank("dense").over(stratum) if keys else pl.lit(1)
    df = df.with_columns(cell.alias("__cell"))
    df = df.with_columns(
        pl.when(pl.col("__cell") % 2 == 1).then(pl.col("mos")).otherwise(-pl.col("mos")).alias("__size")
    )
    out = df.sort([stratum, *keys, "__size", "school_code"])
    return out.drop([c for c in ("__loc", "__cell", "__size") if c in out.columns])


def allocate(frame: pl.DataFrame, params: SampleParams) -> pl.DataFrame:
    """n_h per stratum, and whether the stratum's subjects can be reported, with the reason.

    1. Target: schools needed so that the expected pupil count reaches the stratum's share of
       ``target_pupils``; the expected pupils from one PPS draw are Σ_i p_i·min(N, M_i),
       p_i = M_i / M_h (at least ``min_schools``).
    2. Reporting minimum: every sampled school tests every subject (pupils are spiralled over
       the S subjects, so a school of M_i pupils gives each subject at least ⌊min(N, M_i)/S⌋).
       The sample's n_h schools are distinct, so its pupils per subject are at least the sum
       over the n_h *smallest* schools of ⌊min(N, M_i)/S⌋ — a guarantee, not an expectation.
       n_min = the least n ≥ ``report_schools`` whose worst case reaches
       ⌈``report_pupils`` / ``expected_response``⌉; n_h = max(target, n_min).
    3. Capped at the stratum's school count.  Where every school with N pupils each is still
       short, all its schools are taken and the pupils per school raised to the least
       N_h > N that reaches the minimum (``pupils_per_school``; the pupil weights follow, as
       roster ÷ drawn).  A stratum that cannot reach it even so is **not reportable**
       (``reportable`` false, ``reason`` says why: fewer than ``report_schools`` schools, or too
       few pupils per subject from every pupil of every school).

    Returns ``stratum, n_frame, mos_total, n_schools, n_min, min_pupils_per_subject`` (the
    guaranteed worst case at n_h and N_h, before non-response), ``pupils_per_school``,
    ``reportable, reason``.
    """
    s, N = params.stratum, params.pupils_per_school
    S = len(params.subjects)
    g = frame.group_by(s).agg(
        pl.len().alias("n_frame"),
        pl.col("mos").sum().alias("mos_total"),
        (pl.col("mos") * pl.col("mos").clip(upper_bound=N)).sum().alias("__num"),
    )
    if params.schools is not None:
        g = g.with_columns(pl.lit(params.schools).cast(pl.Int64).alias("n_schools"))
    else:
        total = g["mos_total"].sum()
        g = g.with_columns(
            (params.target_pupils * pl.col("mos_total") / total).alias("target"),
            (pl.col("__num") / pl.col("mos_total")).alias("per_school"),
        ).with_columns(
            (pl.col("target") / pl.col("per_school")).ceil().cast(pl.Int64).clip(lower_bound=params.min_schools)
            .alias("n_schools")
        ).drop("target", "per_school")
    # worst case per subject: the k smallest schools' ⌊min(N, M_i)/S⌋, cumulated
    worst = frame.select(s, (pl.col("mos").clip(upper_bound=N) // S).cast(pl.Int64).alias("__q")).sort(s, "__q")
    worst = worst.with_columns(pl.col("__q").cum_sum().over(s).alias("__cum"),
                               (pl.int_range(pl.len()).over(s) + 1).alias("__k"))
    need = 0 if params.report_pupils is None else int(np.ceil(params.report_pupils / params.expected_response))
    min_schools = params.report_schools if params.report_pupils is not None else 0
    n_min = worst.filter((pl.col("__cum") >= need) & (pl.col("__k") >= min_schools)).group_by(s).agg(
        pl.col("__k").min().alias("n_min"))
    g = g.join(n_min, on=s, how="left")
    if params.report_pupils is not None and params.schools is None:
        g = g.with_columns(pl.max_horizontal("n_schools", pl.col("n_min").fill_null(0)).alias("n_schools"))
    g = g.with_columns(pl.min_horizontal("n_schools", "n_frame").alias("n_schools")).drop("__num")
    guaranteed = worst.join(g.select(s, "n_schools"), on=s).filter(pl.col("__k") == pl.col("n_schools")).select(
        s, pl.col("__cum").alias("min_pupils_per_subject"))
    g = g.join(guaranteed, on=s, how="left").with_columns(pl.col("min_pupils_per_subject").fill_null(0))
    census = worst.group_by(s).agg(pl.col("__q").sum().alias("__all"))
    g = g.join(census, on=s, how="left").with_columns(pl.lit(N, pl.Int64).alias("pupils_per_school"))
    if params.report_pupils is None:
        return g.with_columns(reportable=pl.lit(None, pl.Boolean), reason=pl.lit(None, pl.String)).drop(
            "__all").sort(s)
    if params.schools is None:
        g = _raise_pupils(frame, g, params, need)
    few_schools = pl.col("n_frame") < params.report_schools
    few_pupils = pl.col("__all") < need
    # a fixed n_h (``schools``) below what the minimum needs
    short = (pl.col("n_schools") < pl.col("n_min").fill_null(10**9)) if params.schools is not None else pl.lit(False)
    reason = (
        pl.when(few_schools).then(pl.format("本县只有 {} 所学校（每科至少 {} 所）/ only {} schools (at least {} per "
                                            "subject)", "n_frame", pl.lit(params.report_schools), "n_frame",
                                            pl.lit(params.report_schools)))
        .when(few_pupils).then(pl.format("全部学校的全部学生每科至多约 {} 名（至少 {} 名）/ at most about {} pupils "
                                         "per subject even from every pupil of every school (at least {})", "__all",
                                         pl.lit(need), "__all", pl.lit(need)))
        .when(short).then(pl.format("固定每层 {} 所学校，少于报告所需 {} 所 / fixed {} schools per stratum, below "
                                    "the {} the reporting minimum needs", "n_schools", "n_min", "n_schools", "n_min"))
    )
    return g.with_columns(reportable=~(few_schools | few_pupils | short), reason=reason).drop("__all").sort(s)


def _raise_pupils(frame: pl.DataFrame, g: pl.DataFrame, params: SampleParams, need: int) -> pl.DataFrame:
    """Strata where every school with N pupils each is still short of the reporting minimum: all
    their schools, and the least N_h > N pupils per school that reaches it (``pupils_per_school``;
    ``__all`` becomes the census's worst case at N_h, or at every pupil when even that is short)."""
    s, N, S = params.stratum, params.pupils_per_school, len(params.subjects)
    short = g.filter((pl.col("__all") < need) & (pl.col("n_frame") >= params.report_schools))
    if short.height == 0:
        return g
    sizes = frame.filter(pl.col(s).is_in(short[s].implode())).group_by(s).agg(pl.col("mos").cast(pl.Int64))
    fix = []
    for key, m in sizes.iter_rows():
        m = np.asarray(m, dtype=np.int64)
        top = int(m.max())
        got = int((m // S).sum())  # every pupil of every school
        n_h = next((k for k in range(N + 1, top + 1) if int((np.minimum(m, k) // S).sum()) >= need), None)
        fix.append({s: key, "__n": n_h if n_h is not None else top,
                    "__got": int((np.minimum(m, n_h) // S).sum()) if n_h is not None else got})
    fixes = pl.DataFrame(fix, schema={s: g.schema[s], "__n": pl.Int64, "__got": pl.Int64})
    g = g.join(fixes, on=s, how="left")
    raised = pl.col("__n").is_not_null()
    return g.with_columns(
        pupils_per_school=pl.when(raised).then(pl.col("__n")).otherwise(pl.col("pupils_per_school")),
        n_schools=pl.when(raised).then(pl.col("n_frame")).otherwise(pl.col("n_schools")),
        min_pupils_per_subject=pl.when(raised).then(pl.col("__got")).otherwise(pl.col("min_pupils_per_subject")),
        __all=pl.when(raised).then(pl.col("__got")).otherwise(pl.col("__all")),
    ).drop("__n", "__got")


def _certainty(frame: pl.DataFrame, stratum: str) -> pl.DataFrame:
    """Mark certainty schools, iterating until no remaining school has n'_h·M_i/M'_h ≥ 1."""
    df = frame.with_columns(pl.lit(False).alias("certainty"))
    while True:
        rest = pl.col("mos").filter(~pl.col("certainty")).sum().over(stratum)
        n_rest = (pl.col("n_schools") - pl.col("certainty").sum().over(stratum))
        new = (~pl.col("certainty")) & (n_rest > 0) & (n_rest * pl.col("mos") >= rest)
        step = df.with_columns(new.alias("__new"))
        if not step["__new"].any():
            return df
        df = step.with_columns((pl.col("certainty") | pl.col("__new")).alias("certainty")).drop("__new")


def select_schools(frame: pl.DataFrame, params: SampleParams) -> pl.DataFrame:
    """Draw the schools.  Returns the sorted frame with ``n_schools`` (n_h), ``certainty``,
    ``pi`` (inclusion probability), ``sampled``, ``sort_order`` and, for sampled schools,
    ``school_weight`` = 1/π and ``replacement_1``/``replacement_2`` (school codes or null);
    ``role`` is ``sampled``, ``replacement_1``, ``replacement_2`` or null; ``pupils_per_school``
    (the stratum's N, raised where the reporting minimum needs it: :func:`allocate`)."""
    s = params.stratum
    if frame.height == 0:
        raise ParameterError("抽样框为空 / the sampling frame is empty")
    if (frame["mos"] <= 0).any():
        raise ParameterError("抽样框中的学校规模须为正 / every frame school needs a positive size")
    alloc = allocate(frame, params)
    df = sort_frame(frame, s, params.implicit).join(alloc.select(s, "n_schools", "pupils_per_school"), on=s,
                                                    how="left", maintain_order="left")
    df = _certainty(df, s).with_row_index("sort_order")
    rng = np.random.default_rng(params.random_state)
    strata = df[s].unique(maintain_order=True)
    starts = pl.DataFrame({s: strata, "__u": rng.random(strata.len())})
    df = df.join(starts, on=s, how="left", maintain_order="left")
    nc = ~pl.col("certainty")
    df = df.with_columns(
        (pl.col("n_schools") - pl.col("certainty").sum().over(s)).alias("__n"),
        pl.col("mos").filter(nc).sum().over(s).alias("__M"),
        pl.when(nc).then(pl.col("mos")).otherwise(0).cum_sum().over(s).alias("__C"),
    ).with_columns(
        (pl.col("__M") / pl.col("__n")).alias("__I"),
    ).with_columns(
        (pl.col("__u") * pl.col("__I")).alias("__start"),
    )
    hits = ((pl.col("__C") - pl.col("__start")) / pl.col("__I")).ceil()
    hits_before = ((pl.col("__C") - pl.when(nc).then(pl.col("mos")).otherwise(0) - pl.col("__start"))
                   / pl.col("__I")).ceil()
    df = df.with_columns(
        pl.when(pl.col("certainty")).then(pl.lit(1.0))
        .when(pl.col("__n") > 0).then(pl.col("__n") * pl.col("mos") / pl.col("__M"))
        .otherwise(0.0).alias("pi"),
        (pl.col("certainty") | ((pl.col("__n") > 0) & (hits - hits_before > 0))).alias("sampled"),
    )
    df = df.with_columns(
        pl.when(pl.col("sampled")).then(1.0 / pl.col("pi")).otherwise(None).alias("school_weight")
    ).drop([c for c in df.columns if c.startswith("__")])
    return _replacements(df, s, params.replacements)


def _replacements(df: pl.DataFrame, stratum: str, k: int) -> pl.DataFrame:
    """Next (then previous) unsampled neighbour in the sorted stratum, each used at most once."""
    n = df.height
    sampled = df["sampled"].to_numpy()
    strat = df[stratum].to_numpy()
    codes = df["school_code"].to_numpy()
    taken = sampled.copy()
    rep = [np.full(n, -1), np.full(n, -1)]
    idx = np.flatnonzero(sampled)
    for j, step in enumerate((1, -1)[:k]):
        cand = idx + step
        ok = (cand >= 0) & (cand < n)
        cand_c = np.clip(cand, 0, n - 1)
        ok &= (strat[cand_c] == strat[idx]) & ~taken[cand_c]
        # a school adjacent to two sampled schools goes to the first of them only
        cand_ok = cand_c[ok]
        _, first = np.unique(cand_ok, return_index=True)
        keep = np.zeros(cand_ok.size, dtype=bool)
        keep[first] = True
        chosen_rows = idx[ok][keep]
        rep[j][chosen_rows] = cand_ok[keep]
        taken[cand_ok[keep]] = True
    role = np.full(n, None, dtype=object)
    role[sampled] = "sampled"
    out = df
    for j in range(2):
        col = np.full(n, None, dtype=object)
        has = rep[j] >= 0
        col[has] = codes[rep[j][has]]
        role[rep[j][has]] = f"replacement_{j + 1}"
        out = out.with_columns(pl.Series(f"replacement_{j + 1}", col.tolist(), dtype=pl.String))
    return out.with_columns(pl.Series("role", role.tolist(), dtype=pl.String))


def select_pupils(roster: pl.DataFrame, schools: pl.DataFrame, params: SampleParams) -> pl.DataFrame:
    """Draw N pupils per participating school from the grade roster and spiral the subjects.

    ``schools``: one row per school that tests (``school_code``, ``school_weight`` and any
    columns to carry, e.g. ``county_code``, ``location``, ``stratum``; ``pupils_per_school``, when
    present, overrides N for that school — :func:`allocate` raises it in small counties).  Returns one row per
    sampled pupil with ``roster_size``, ``subject``, ``pupil_weight`` = roster size / drawn,
    ``base_weight`` = school × pupil weight, and ``pupil_order`` (the random rank in school).
    """
    issues = Issues()
    for col in ("student_id", "school_code"):
        if col not in roster.columns:
            issues.add(Issue(f"名单缺少列 {col}", f"roster lacks column {col}", file="roster", column=col))
    issues.raise_if_errors()
    N = params.pupils_per_school
    carry = [c for c in schools.columns if c not in roster.columns or c == "school_code"]
    r = (
        roster.with_columns(pl.col("school_code").cast(pl.String), pl.col("student_id").cast(pl.String))
        .join(schools.select(carry), on="school_code", how="inner")
        .sort("school_code", "student_id")
    )
    missing = schools.join(r.select("school_code").unique(), on="school_code", how="anti")
    for code in missing["school_code"]:
        issues.add(Issue("抽中学校没有该年级名单", "a sampled school has no roster for the grade", file="roster",
                         column="学校标识码", value=code))
    issues.raise_if_errors("名单不完整，未抽取学生 / rosters incomplete; no pupils drawn")
    rng = np.random.default_rng([params.random_state, 2])
    r = r.with_columns(pl.Series("__key", rng.random(r.height)))
    codes = r["school_code"].unique(maintain_order=True)
    offsets = pl.DataFrame({"school_code": codes,
                            "__off": rng.integers(0, len(params.subjects), codes.len())})
    out = (
        r.with_columns(
            (pl.col("__key").rank("ordinal").over("school_code") - 1).cast(pl.Int64).alias("pupil_order"),
            pl.len().over("school_code").alias("roster_size"),
        )
        .filter(pl.col("pupil_order") < (pl.col("pupils_per_school") if "pupils_per_school" in r.columns
                                         else pl.lit(N)))
        .join(offsets, on="school_code", how="left", maintain_order="left")
        .with_columns(
            pl.len().over("school_code").alias("__drawn"),
            ((pl.col("pupil_order") + pl.col("__off")) % len(params.subjects)).alias("__s"),
        )
        .with_columns(
            pl.col("__s").replace_strict(dict(enumerate(params.subjects)), return_dtype=pl.String)
            .alias("subject"),
            (pl.col("roster_size") / pl.col("__drawn")).alias("pupil_weight"),
        )
        .with_columns((pl.col("school_weight") * pl.col("pupil_weight")).alias("base_weight"))
        .drop("__key", "__off", "__drawn", "__s")
        .sort("school_code", "pupil_order")
    )
    return out


__all__ = ["LOCATION_ORDER", "SUBJECTS", "SampleParams", "allocate", "select_pupils", "select_schools", "sort_frame"]
