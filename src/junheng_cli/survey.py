"""``junheng sample`` (selection and weights of a cycle) and ``junheng survey`` (estimates with SEs).

Thin: parse → call ``junheng.survey`` → write → exit code.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click
import polars as pl

from junheng.exceptions import InputError, Issue, ParameterError
from junheng.io import read_frame, write_table


def _read_frame(path: Path, patterns: list[str] | None = None) -> pl.DataFrame:
    """A Parquet or CSV file (UTF-8, UTF-8 with BOM or GB18030; types inferred, codes kept as text)
    through :func:`junheng.io.read_frame`; unknown formats are refused.

    With ``patterns`` (column names or globs such as ``rep_*``), only the matching columns are read
    (Parquet: projection of a polars scan, so the other columns are never decoded); names that match
    nothing are left for the caller to report."""
    return read_frame(path, patterns, infer=True, string_columns=("school_code", "county_code", "student_id"))


def _require_columns(files: dict[Path, tuple[pl.DataFrame, tuple[str, ...]]]) -> None:
    """Every column a file must have (as `junheng sample draw` writes it), each missing one an issue."""
    issues = [Issue(f"缺少列 {c}（应为 junheng sample draw 的输出）", f"missing column {c} (expected the output of "
                    "junheng sample draw)", file=path.name, column=c)
              for path, (frame, needed) in files.items() for c in needed if c not in frame.columns]
    if issues:
        raise InputError(issues)


def _write_frame(frame: pl.DataFrame, out: Path) -> None:
    write_table(frame, out, encoding="utf-8")  # (junheng.io: text cells neutralised against formula injection)


def _coerce(value: str, dtype: pl.DataType) -> object:
    """A --level given on the command line, as the column's type."""
    try:
        if dtype.is_integer():
            return int(value)
        if dtype.is_float():
            return float(value)
    except ValueError as exc:
        raise ParameterError(f"--level {value!r} 与列类型 {dtype} 不符 / does not match the column type {dtype}") from exc
    return value


# ---------------------------------------------------------------------------------------------
# junheng survey


@click.group()
def survey() -> None:
    """估计与标准误 / estimates with standard errors from replicate weights."""


@survey.command("estimate")
@click.argument("data", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--weight", "-w", required=True, help="full-sample (final) weight column")
@click.option("--replicates", "-r", default="rep_*", show_default=True, help="replicate weight columns (glob)")
@click.option("--method", type=click.Choice(["jk2", "fay", "brr", "taylor"]), default="jk2", show_default=True,
              help="replicate method, or taylor (linearisation: --strata and --school as PSU, no replicates)")
@click.option("--fay-k", type=float, default=0.5, show_default=True, help="Fay coefficient k (method fay)")
@click.option("--strata", default=None, help="for taylor: the stratum column (e.g. county_code)")
@click.option("--variable", "-v", help="the analysed column")
@click.option("--pv", help="plausible-value columns (glob, e.g. 'PV*'), combined by Rubin's rules")
@click.option("--by", default="", help="grouping columns, comma-separated (e.g. county_code,sex)")
@click.option("--statistic", type=click.Choice(["mean", "proportion", "total", "quantile"]), default="mean",
              show_default=True)
@click.option("--level", "levels", multiple=True, help="for proportion: the value(s) counted (repeatable)")
@click.option("--q", "q", type=float, default=0.5, show_default=True, help="for quantile: the probability")
@click.option("--compare", default=None, metavar="COL:A:B",
              help="the difference θ(COL=A) − θ(COL=B) of the mean (or proportion) per --by group, e.g. sex:2:1")
@click.option("--school", default="school_code", show_default=True, help="school (PSU) column, for n_schools")
@click.option("--min-pupils", type=int, default=62, show_default=True, help="minimum reporting rule: pupils")
@click.option("--min-schools", type=int, default=5, show_default=True, help="minimum reporting rule: schools")
@click.option("--no-suppress", is_flag=True, help="flag small groups but keep their estimates")
@click.option("--deff", is_flag=True, help="for a mean of one variable: add the design effect column")
@click.option("--spec", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="batch: a JSON file listing several estimates (each with its own out); the data are read "
                   "once and the design built once")
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="output .csv or .parquet (one estimate; with --spec each entry names its own)")
def estimate(data: Path, weight: str, replicates: str, method: str, fay_k: float, strata: str | None,
             variable: str | None,
             pv: str | None, by: str, statistic: str, levels: tuple[str, ...], q: float, compare: str | None,
             school: str,
             min_pupils: int, min_schools: int, no_suppress: bool, deff: bool, spec: Path | None,
             out: Path | None) -> None:
    """One row per group: the grouping columns, estimate, se, n_pupils, n_schools, flag.

    With ``--spec`` several estimates in one call: a JSON list of objects with the keys of the
    single-estimate options (``variable`` or ``pv``, ``by``, ``statistic``, ``levels``, ``q``,
    ``compare``, ``deff``) and ``out`` (relative to the spec file's folder); the data file is read
    once (the union of the columns the estimates need) and the design built once."""
    import os

    # The group sums are small products (pupils × a few groups × replicates): one BLAS thread is as
    # fast, and OpenBLAS's spinning worker threads cost 3–5× on a busy machine (benchmarks/survey_cli.py).
    # Set before NumPy is first imported; an explicit OPENBLAS_NUM_THREADS wins.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from junheng.survey import ReplicateDesign, ReportingRule

    if spec is not None:
        given = click.get_current_context().get_parameter_source
        if variable or pv or compare or levels or by or deff or out is not None or any(
                given(p) != click.core.ParameterSource.DEFAULT for p in ("statistic", "q")):
            raise ParameterError("--spec 与单项估计的选项不能同时使用 / --spec replaces --variable, --pv, --by, "
                                 "--statistic, --level, --q, --compare, --deff and --out (each entry of the spec gives "
                                 "its own)")
        jobs = _spec_entries(spec)
    else:
        if out is None:
            raise ParameterError("须给出 -o/--out（或 --spec）/ give -o/--out (or --spec)")
        jobs = [_Entry(variable, pv, by, statistic, tuple(levels), q, compare, deff, out)]
    for j in jobs:
        if (j.variable is None) == (j.pv is None):
            raise ParameterError("须给出 --variable 或 --pv 之一 / give exactly one of --variable or --pv")
    needed = [weight, school, strata if method == "taylor" else replicates]
    for j in jobs:
        needed += [j.variable or j.pv, *_by(j.by), *([j.compare.split(":")[0]] if j.compare else [])]
    frame = _read_frame(data, list(dict.fromkeys(c for c in needed if c)))  # only the columns the estimates read
    rule = ReportingRule(min_pupils, min_schools, suppress=not no_suppress)
    try:
        if method == "taylor":
            from junheng.survey import TaylorDesign

            design = TaylorDesign(frame, weight, strata=strata, psu=school if school in frame.columns else None,
                                  rule=rule)
        else:
            design = ReplicateDesign(frame, weight, replicates, method=method, fay_k=fay_k,  # type: ignore[arg-type]
                                     school=school if school in frame.columns else None, rule=rule)
    except InputError as exc:  # name the file in every issue
        raise InputError([dataclasses.replace(i, file=data.name) for i in exc.issues], exc.summary) from None
    results = []  # every estimate first, then the files: a failing entry leaves no output behind
    for n, j in enumerate(jobs, start=1):
        try:
            results.append((j, _one(design, frame, j)))
        except ParameterError as exc:
            if spec is None:
                raise
            raise ParameterError(f"{spec.name} 第 {n} 项 / entry {n}: {exc}（未写出任何结果 / nothing written）") \
                from None
    for j, res in results:
        _write_frame(res, j.out)
        flagged = res["flag"].is_not_null().sum()
        click.echo(f"{res.height} 组 / groups → {j.out}" + (f"（{flagged} 组低于最小报告样本 / flagged）" if flagged else ""))


@dataclasses.dataclass(frozen=True)
class _Entry:
    """One estimate: the single-estimate options of ``junheng survey estimate``."""

    variable: str | None
    pv: str | None
    by: str
    statistic: str
    levels: tuple[str, ...]
    q: float
    compare: str | None
    deff: bool
    out: Path


_SPEC_KEYS = {"variable", "pv", "by", "statistic", "levels", "q", "compare", "deff", "out"}


def _spec_entries(path: Path) -> list[_Entry]:
    """The estimates of a ``--spec`` file; every bad entry reported (entry number, key, value, rule)."""
    from junheng.io import read_json

    raw = read_json(path, what=("估计说明文件", "spec file"))
    if not isinstance(raw, list) or not raw:
        raise InputError([Issue("应为估计项的非空列表", "must be a non-empty JSON list of estimates", file=path.name)])
    issues, out, seen = [], [], {}

    def bad(n, key, zh, en, value=None):
        issues.append(Issue(zh, en, file=path.name, row=n, column=key, value=value))

    def text(v) -> bool:
        return isinstance(v, str) and v.strip() != ""

    for n, e in enumerate(raw, start=1):
        if not isinstance(e, dict):
            issues.append(Issue("估计项应为对象", "each estimate must be an object", file=path.name, row=n, value=e))
            continue
        before = len(issues)
        for k in sorted(set(e) - _SPEC_KEYS):
            bad(n, k, "未知的键", f"unknown key (allowed: {', '.join(sorted(_SPEC_KEYS))})", e[k])
        st = e.get("statistic", "mean")
        if st not in ("mean", "proportion", "total", "quantile"):
            bad(n, "statistic", "statistic 须为 mean/proportion/total/quantile",
                "statistic must be mean, proportion, total or quantile", st)
        if not text(e.get("out")):
            bad(n, "out", "缺少输出文件 out", "out (the output file) is missing", e.get("out"))
        elif Path(e["out"]).suffix.lower() not in (".csv", ".parquet", ".xlsx"):
            bad(n, "out", "输出文件须为 .csv、.parquet 或 .xlsx", "out must be a .csv, .parquet or .xlsx file", e["out"])
        elif (path.parent / e["out"]).resolve() in seen:
            bad(n, "out", f"与第 {seen[(path.parent / e['out']).resolve()]} 项的输出文件相同",
                f"the same output file as entry {seen[(path.parent / e['out']).resolve()]}", e["out"])
        else:
            seen[(path.parent / e["out"]).resolve()] = n
        if ("variable" in e) == ("pv" in e):
            bad(n, "variable", "须给出 variable 或 pv 之一", "give exactly one of variable or pv")
        for k in ("variable", "pv"):
            if k in e and not text(e[k]):
                bad(n, k, "应为列名（文本）", "must be a column name (text)", e[k])
        by = e.get("by", "")
        if not (isinstance(by, str) or (isinstance(by, list) and all(text(b) for b in by))):
            bad(n, "by", "应为列名或列名列表", "must be a column name or a list of column names", by)
        levels = e.get("levels", [])
        levels = levels if isinstance(levels, list) else [levels]
        if not all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in levels):
            bad(n, "levels", "应为取值或取值列表", "must be a value or a list of values", e.get("levels"))
        q = e.get("q", 0.5)
        if isinstance(q, bool) or not isinstance(q, int | float) or not 0 < q < 1:
            bad(n, "q", "应为 0 与 1 之间的数", "must be a number between 0 and 1", q)
        compare = e.get("compare")
        if compare is not None and not (isinstance(compare, str) and len(compare.split(":")) == 3):
            bad(n, "compare", "应为 列:A:B", "must be COL:A:B", compare)
        if not isinstance(e.get("deff", False), bool):
            bad(n, "deff", "应为 true 或 false", "must be true or false", e.get("deff"))
        if len(issues) > before:
            continue
        out.append(_Entry(e.get("variable"), e.get("pv"), ",".join(by) if isinstance(by, list) else by, st,
                          tuple(str(v) for v in levels), float(q), compare, e.get("deff", False),
                          path.parent / e["out"]))
    if issues:
        raise InputError(issues, "估计说明文件有误，未作估计 / bad spec file; nothing estimated")
    return out


def _by(by: str) -> list[str]:
    return [b.strip() for b in by.split(",") if b.strip()]


def _one(design, frame: pl.DataFrame, j: _Entry) -> pl.DataFrame:
    """One estimate of ``junheng survey estimate`` on a design built once."""
    from junheng.survey import mean, proportion, quantile, total

    if j.compare is not None:
        return _difference(design, frame, j.compare, j.statistic, j.variable, j.pv, j.levels, j.by)
    if j.statistic == "mean":
        return mean(design, j.variable, pv=j.pv, by=j.by, deff=j.deff)
    if j.statistic == "total":
        return total(design, j.variable, pv=j.pv, by=j.by)
    if j.statistic == "quantile":
        return quantile(design, j.variable, j.q, pv=j.pv, by=j.by)
    from junheng.survey import resolve_pv

    col = j.variable if j.variable is not None else resolve_pv(frame, j.pv)[0]  # type: ignore[arg-type]
    lv = [_coerce(v, frame.schema[col]) for v in j.levels] if j.levels else None
    return proportion(design, j.variable, pv=j.pv, levels=lv, by=j.by)


def _difference(design, frame: pl.DataFrame, compare: str, statistic: str, variable: str | None, pv: str | None,
                levels: tuple[str, ...], by: str) -> pl.DataFrame:
    from junheng.survey import difference, resolve_pv

    parts = compare.split(":")
    if len(parts) != 3 or parts[0] not in frame.columns:
        raise ParameterError(f"--compare 须为 列:A:B / --compare must be COL:A:B with an existing column; got {compare!r}")
    if statistic not in ("mean", "proportion"):
        raise ParameterError("--compare 只用于 mean 或 proportion / --compare works with mean or proportion")
    col, a, b = parts
    dtype = frame.schema[col]
    lv = None
    if statistic == "proportion":
        if not levels:
            raise ParameterError("比较比例需要 --level / comparing proportions needs --level")
        first = variable if variable is not None else resolve_pv(frame, pv)[0]  # type: ignore[arg-type]
        lv = [_coerce(v, frame.schema[first]) for v in levels]
    return difference(design, variable, group=col, a=_coerce(a, dtype), b=_coerce(b, dtype), pv=pv, by=by,
                      statistic=statistic, levels=lv).with_columns(pl.lit(compare).alias("comparison"))


# ---------------------------------------------------------------------------------------------
# junheng sample


@click.group()
def sample() -> None:
    """抽样与权重 / sample selection and weights of a monitoring cycle."""


@sample.command("draw")
@click.option("--schools", "schools_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="school list (.parquet/.csv, registry columns incl. enrol_g6)")
@click.option("--pupils", "pupils_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="grade rosters (.parquet/.csv: student_id, name, sex, school_code, grade)")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="output folder")
@click.option("--grade", type=int, default=6, show_default=True)
@click.option("--target", "target_pupils", type=int, default=168_000, show_default=True, help="pupils to test in all")
@click.option("--per-school", type=int, default=30, show_default=True, help="pupils drawn per school")
@click.option("--min-schools", type=int, default=4, show_default=True, help="minimum schools per stratum")
@click.option("--schools-per-stratum", type=int, default=None, help="fix n_h instead of allocating the target")
@click.option("--min-enrolment", type=int, default=5, show_default=True, help="exclude schools with fewer grade pupils")
@click.option("--keep-special", is_flag=True, help="keep special-education schools (类别码 51) in the frame")
@click.option("--exclude-teaching-points", is_flag=True, help="exclude 教学点 from the frame")
@click.option("--seed", type=int, default=2022, show_default=True)
@click.option("--unmask", is_flag=True, help="test-site lists with full names and 学籍号 (default: masked)")
def draw(schools_path: Path, pupils_path: Path, out: Path, grade: int, target_pupils: int, per_school: int,
         min_schools: int, schools_per_stratum: int | None, min_enrolment: int, keep_special: bool,
         exclude_teaching_points: bool, seed: int, unmask: bool) -> None:
    """Select schools (PPS, replacements) and pupils (spiralled subjects); write the lists."""
    from junheng.survey import FrameRules, SampleParams
    from junheng_cli.progress import bar

    params = SampleParams(target_pupils=target_pupils, pupils_per_school=per_school, min_schools=min_schools,
                          schools=schools_per_stratum, random_state=seed)
    rules = FrameRules(grade=grade, min_enrolment=min_enrolment, exclude_special=not keep_special,
                       exclude_teaching_points=exclude_teaching_points)
    with bar(3, "抽样 / sampling") as b:
        schools = _read_frame(schools_path)
        pupils = _read_frame(pupils_path)
        b.update(1)
        result = write_sample(schools, pupils, params, rules, out, unmask=unmask)
        b.update(2)
    s = result["summary"]
    click.echo(f"{s['schools']} 所学校（另 {s['replacements']} 所替补）, {s['pupils']} 名学生 → {out}")
    click.echo(f"{s['schools']} schools (+{s['replacements']} replacements), {s['pupils']} pupils; "
               f"exclusion rate {s['exclusion_rate']:.2%}")


def write_sample(schools: pl.DataFrame, pupils: pl.DataFrame, params, rules, out: Path, *, unmask: bool = False) -> dict:
    """Draw the sample and write it under ``out``: pupil_sample.parquet, schools.csv (sampled and
    replacements), exclusions.csv, exclusion_rates.csv, allocation.csv (schools per county and
    whether its subjects reach the reporting minimum, with the reason) and sites/<学校标识码>.csv."""
    from junheng.survey import draw_sample, site_lists

    result = draw_sample(schools, pupils, params, rules)
    out.mkdir(parents=True, exist_ok=True)
    write_table(result.pupils, out / "pupil_sample.parquet")
    sch = result.schools.filter(pl.col("role").is_not_null())
    keep = [c for c in ("school_code", "name", "county_code", "city_code", "stratum", "location", "mos", "role",
                        "certainty", "pi", "school_weight", "replacement_1", "replacement_2", "sort_order")
            if c in sch.columns]
    write_table(sch.select(keep), out / "schools.csv", encoding="utf-8")
    write_table(result.frame.excluded.select([c for c in ("school_code", "name", "county_code", "mos", "reason")
                                              if c in result.frame.excluded.columns]), out / "exclusions.csv",
                encoding="utf-8")
    write_table(result.frame.rates, out / "exclusion_rates.csv", encoding="utf-8")
    write_table(result.allocation, out / "allocation.csv", encoding="utf-8")  # n_h per county, reportable or why not
    names = pupils.select([c for c in ("student_id", "name", "class_name") if c in pupils.columns])
    lists = site_lists(result.pupils, names, unmask=unmask)
    (out / "sites").mkdir(exist_ok=True)
    for code, frame in lists.items():
        write_table(frame, out / "sites" / f"{code}.csv")  # UTF-8 with BOM, names neutralised
    return {"sample": result, "summary": result.summary()}


@sample.command("weights")
@click.argument("pupil_sample", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--schools", "schools_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="schools.csv written by `junheng sample draw`")
@click.option("--responded", "responded_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="file with the student_id of every pupil who has data (default: all responded)")
@click.option("--method", type=click.Choice(["jk2", "fay", "brr"]), default="jk2", show_default=True)
@click.option("--replicates", type=int, default=80, show_default=True)
@click.option("--fay-k", type=float, default=0.5, show_default=True)
@click.option("--trim", "trim_cap", type=float, default=None, help="trim weights above this multiple of the stratum median")
@click.option("--margin", "margin_paths", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="known totals (key columns + total), repeatable: one post-stratifies, several rake")
@click.option("--seed", type=int, default=2022, show_default=True)
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def weights(pupil_sample: Path, schools_path: Path, responded_path: Path | None, method: str, replicates: int,
            fay_k: float, trim_cap: float | None, margin_paths: tuple[Path, ...], seed: int, out: Path) -> None:
    """Non-response-adjusted final weights and replicate weights rep_1 … rep_R."""
    from junheng.survey import final_weights

    pupils = _read_frame(pupil_sample)
    schools = _read_frame(schools_path)
    _require_columns({pupil_sample: (pupils, ("student_id", "school_code", "stratum", "base_weight")),
                      schools_path: (schools, ("role", "school_code", "stratum", "certainty", "sort_order"))})
    schools = schools.filter(pl.col("role") == "sampled").with_columns(pl.lit(True).alias("sampled"))
    resp = None
    if responded_path is not None:
        ids = _read_frame(responded_path)
        if "student_id" not in ids.columns:
            raise InputError(Issue("缺少列 学籍号(student_id)", "missing column student_id", file=responded_path.name))
        resp = pupils["student_id"].is_in(ids["student_id"].cast(pl.String).implode()).to_numpy()
    margins = [_read_frame(m) for m in margin_paths] or None
    w = final_weights(pupils, schools, resp, method=method, replicates=replicates, fay_k=fay_k, trim_cap=trim_cap,
                      margins=margins, random_state=seed)
    _write_frame(w, out)
    click.echo(f"{w.height} 名学生, {replicates} 个复制权重 ({method}) → {out}")


@sample.command("run")
@click.option("--year", type=int, required=True, help="the cycle's year (the cycle must exist in the database)")
@click.option("--grade", type=int, default=6, show_default=True)
@click.option("--target", "target_pupils", type=int, default=None, help="pupils to test in all")
@click.option("--per-school", type=int, default=None, help="pupils drawn per school")
@click.option("--seed", type=int, default=None)
def run(year: int, grade: int, target_pupils: int | None, per_school: int | None, seed: int | None) -> None:
    """Draw the sample of a cycle from the registry in the database and save it (platform)."""
    from junheng_cli.platform import platform_cycle
    from junheng_cli.progress import fraction_bar

    cycle = platform_cycle(year, grade)
    from junheng_web.sampling.services import run_sample

    params = {k: v for k, v in (("target_pupils", target_pupils), ("pupils_per_school", per_school),
                                ("seed", seed)) if v is not None}
    with fraction_bar("抽样 / sampling") as progress:
        result = run_sample(cycle, params, progress=progress)
    s = result.summary
    click.echo(f"{s['schools']} 所学校（另 {s['replacements']} 所替补）, {s['pupils']} 名学生 / "
               f"{s['schools']} schools (+{s['replacements']} replacements), {s['pupils']} pupils")


@sample.command("lists")
@click.option("--year", type=int, required=True)
@click.option("--grade", type=int, default=6, show_default=True)
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="output folder")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True)
@click.option("--unmask", is_flag=True, help="full names and 学籍号 (default: masked)")
def lists(year: int, grade: int, out: Path, fmt: str, unmask: bool) -> None:
    """Write the test-site lists of a cycle's saved sample, one file per school (platform)."""
    from junheng_cli.platform import platform_cycle
    from junheng_cli.progress import progress

    cycle = platform_cycle(year, grade)
    from junheng_web.sampling.services import listed_schools, site_list_bytes

    codes = listed_schools(cycle)
    out.mkdir(parents=True, exist_ok=True)
    for code in progress(codes, "名单 / lists", total=len(codes)):
        (out / f"{code}.{fmt}").write_bytes(site_list_bytes(cycle, code, fmt=fmt, unmask=unmask))
    click.echo(f"{len(codes)} 份名单 / lists → {out}")
