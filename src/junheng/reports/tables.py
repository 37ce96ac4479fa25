"""Every number of the annual, county and school reports, computed once in vectorised passes.

Estimates with standard errors come from :mod:`junheng.survey` (replicate weights, JK2; minimum
reporting rule: fewer than 62 pupils or 5 schools → suppressed).  The 优质均衡 indicators come
from :mod:`junheng.indicators`.  A missing input (no academic scores, no fitness records, no
checklist) leaves its tables empty and is listed in ``missing`` so the report can say so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from junheng import indicators as ind

PASS = ["优秀", "良好", "及格"]
GOOD = ["优秀", "良好"]
POOR_VISION = ["轻度", "中度", "重度"]
SEX = {1: "男", 2: "女"}
SUBJECTS = ("语文", "数学", "英语", "科学")


@dataclass
class ReportInputs:
    """What a report is built from (frames as in ``docs/dev/contracts.md``)."""

    schools: pl.DataFrame
    names: pl.DataFrame  # county_code, county_name, city_code, city_name
    year: int = 2022
    seed: int | None = None
    data_version: str = ""
    software_version: str = ""
    weights: pl.DataFrame | None = None
    sample: pl.DataFrame | None = None
    fitness: pl.DataFrame | None = None
    scores: pl.DataFrame | None = None
    checklist: pl.DataFrame | None = None
    province_name: str = "河南省"
    # 相关因素: the student questionnaire's scale scores and indicators (student_id + one Float64
    # column per scale + one Boolean column per indicator, ``junheng.questionnaire.scale_scores``),
    # its definition (names; scales cut into 低/中/高 by ``scale_groups`` at ``questionnaire_cuts``)
    questionnaire: pl.DataFrame | None = None
    questionnaire_def: object | None = None  # junheng.questionnaire.Questionnaire
    questionnaire_cuts: tuple[float, ...] | None = None
    # 与上年相比: the previous cycle's stored estimates (``scope, unit, subject, estimate, se, df``)
    # and each subject's linking error on the reporting scale; the cut scores in force per subject
    # (``{subject: {"cuts": [...], "method": ..., "label": ..., "provisional": bool}}``)
    previous: pl.DataFrame | None = None
    linking_error: dict | None = None
    cut_scores: dict | None = None
    # the cover of an official document (the cycle's report configuration, ``reports/report.json``):
    # 文号 (e.g. 豫教督办〔2023〕5号), date of issue (e.g. 2023年6月30日) and issuing office; an empty
    # 文号 or date is printed as a marked placeholder (the report is then a draft)
    doc_number: str = ""
    issue_date: str = ""
    issuer: str = ""


@dataclass
class Tables:
    inputs: ReportInputs
    missing: list[str] = field(default_factory=list)
    t: dict[str, pl.DataFrame] = field(default_factory=dict)

    def __getitem__(self, key: str) -> pl.DataFrame:
        return self.t[key]

    def get(self, key: str) -> pl.DataFrame | None:
        return self.t.get(key)


_SCOPES = {"province": [], "city": ["city_code"], "county": ["county_code"]}


def _levels(frame: pl.DataFrame, fn, scopes: tuple[str, ...] = ("province", "city", "county")) -> pl.DataFrame:
    """Run an estimator at province, city and/or county level; column ``unit`` holds the code.
    (Each call costs one pass over the pupils × replicates, whatever the number of groups.)"""
    out = []
    for scope in scopes:
        by = _SCOPES[scope]
        r = fn(by)
        if by:
            r = r.rename({by[0]: "unit"})
        else:
            r = r.with_columns(unit=pl.lit("410000"))
        out.append(r.with_columns(scope=pl.lit(scope)))
    cols = out[0].columns
    return pl.concat([o.select(cols) for o in out])


def _design(frame: pl.DataFrame, weights: pl.DataFrame):
    from junheng.survey import ReplicateDesign

    reps = [c for c in weights.columns if c.startswith("rep_")]
    w = weights.select("student_id", "weight", *reps)
    data = frame.drop([c for c in ("weight", *reps) if c in frame.columns]).join(w, on="student_id", how="inner")
    data = data.filter(pl.col("weight") > 0)
    return ReplicateDesign(data, "weight", "rep_*", method="jk2")


def _fitness(tb: Tables, fit: pl.DataFrame, weights: pl.DataFrame) -> None:
    from junheng.survey import proportion

    fit = fit.filter(pl.col("complete").fill_null(False) & ~pl.col("exempt").fill_null(False))
    fit = fit.with_columns(sex_label=pl.col("sex").cast(pl.Int64).replace_strict(SEX, default=None))
    d = _design(fit, weights)
    rows = []
    for metric, var, levels in (("达标率", "rating", PASS), ("优良率", "rating", GOOD),
                                ("视力不良率", "vision_class", POOR_VISION), ("肥胖率", "bmi_class", ["肥胖"]),
                                ("超重率", "bmi_class", ["超重"]), ("低体重率", "bmi_class", ["低体重"])):
        for group in (None, "sex_label", "location"):
            def est(by, var=var, levels=levels, group=group):
                b = by + ([group] if group else [])
                r = proportion(d, var, levels=levels, by=b or None)
                return r if group else r.with_columns(pl.lit("全体").alias("_g"))
            r = _levels(fit, est, ("province", "city", "county") if group is None else ("province", "county"))
            r = r.rename({group: "group"}) if group else r.rename({"_g": "group"})
            rows.append(r.select("scope", "unit", pl.col("group").cast(pl.String),
                                 pl.lit(metric).alias("metric"), "estimate", "se", "n_pupils", "n_schools", "flag"))
    tb.t["fitness"] = pl.concat(rows)
    from junheng.survey import compare, difference, versus_total

    vs = [versus_total(d, var, levels=levels, by="county_code").with_columns(metric=pl.lit(metric))
          for metric, var, levels in (("达标率", "rating", PASS), ("优良率", "rating", GOOD),
                                      ("视力不良率", "vision_class", POOR_VISION))]
    _add_versus(tb, vs)
    gap = difference(d, "rating", group="sex_label", a="女", b="男", statistic="proportion", levels=GOOD)
    tb.t["fitness_gap"] = compare(gap.rename({"estimate": "diff", "se": "diff_se"}))


def _add_versus(tb: Tables, frames: list[pl.DataFrame]) -> None:
    """Append county − province comparisons (``junheng.survey.versus_total``: t with the design's
    df, Benjamini–Hochberg within each metric across the counties) to ``tb["vs_province"]``."""
    cols = ["metric", "county_code", "estimate", "total", "diff", "diff_se", "df", "p", "p_adj", "significant",
            "direction"]
    new = pl.concat([f.select(cols) for f in frames])
    old = tb.get("vs_province")
    tb.t["vs_province"] = new if old is None else pl.concat([old, new])


def _academic(tb: Tables, scores: pl.DataFrame, weights: pl.DataFrame, sample: pl.DataFrame | None) -> None:
    from junheng.survey import difference, mean, proportion

    data = scores
    need = [c for c in ("county_code", "city_code", "sex", "location", "school_code") if c not in data.columns]
    if need and sample is not None:
        data = data.join(sample.select("student_id", *[c for c in need if c in sample.columns]),
                         on="student_id", how="left")
    d = _design(data, weights)
    pvs = sorted([c for c in data.columns if c.startswith("pv") and c[2:].isdigit()], key=lambda c: int(c[2:]))
    lvs = sorted([c for c in data.columns if c.startswith("level_pv")], key=lambda c: int(c[8:]))
    tb.t["score_mean"] = _levels(data, lambda by: mean(d, pv=pvs, by=[*by, "subject"]))
    dist = []
    for lv in (1, 2, 3, 4):
        r = _levels(data, lambda by, lv=lv: proportion(d, pv=lvs, levels=[lv], by=[*by, "subject"]),
                    ("province", "county"))
        dist.append(r.with_columns(level=pl.lit(lv)))
    tb.t["level_dist"] = pl.concat(dist)
    tb.t["level_3up"] = _levels(data, lambda by: proportion(d, pv=lvs, levels=[3, 4], by=[*by, "subject"]),
                                ("province", "county"))
    gaps = []
    for name, group, a, b in (("女−男", "sex", 2, 1), ("城区−乡村", "location", "城区", "乡村")):
        if group not in data.columns:
            continue
        r = _levels(data, lambda by, g=group, a=a, b=b: difference(d, pv=pvs, group=g, a=a, b=b, by=[*by, "subject"]),
                    ("province", "county"))
        gaps.append(r.with_columns(gap=pl.lit(name)))
    if gaps:
        from junheng.survey import compare

        g = pl.concat(gaps)
        # families: the province page's gaps together; each gap × subject across the counties
        fam = pl.when(pl.col("scope") == "province").then(pl.lit("province")).otherwise(
            pl.concat_str(pl.col("gap"), pl.col("subject")))
        g = compare(g.with_columns(_family=fam).rename({"estimate": "diff", "se": "diff_se"}), family=["_family"])
        tb.t["gaps"] = g.rename({"diff": "estimate", "diff_se": "se"}).drop("_family")
    from junheng.survey import versus_total

    _add_versus(tb, [versus_total(d, pv=pvs, by="county_code", within="subject").with_columns(
        metric=pl.concat_str(pl.col("subject"), pl.lit(" 平均分"))).drop("subject")])
    q = ind.quality_indicator(data, weights, by="county_code")
    tb.t["quality"] = q
    between = ind.between_school_diff(d, ["subject"])
    tb.t["between_school"] = between


def factor_columns(inp: ReportInputs) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The questionnaire's (indicator id, name) and (scale id, name) present in its scores frame;
    without a definition, the Boolean columns are the indicators (named by id) and no scale is cut."""
    qs, q = inp.questionnaire, inp.questionnaire_def
    if qs is None:
        return [], []
    if q is None:
        return [(c, c) for c, t in qs.schema.items() if t == pl.Boolean], []
    inds = [(i.id, i.name) for i in q.indicators if i.id in qs.columns]
    scales = [(s.id, s.name) for s in q.scales if s.id in qs.columns]
    return inds, scales


def _questionnaire(tb: Tables, inp: ReportInputs) -> None:
    """相关因素: the share of pupils meeting each indicator (province, city, county, with SEs) and
    mean achievement by factor with the high − low gap (``junheng.questionnaire.factor_gaps``)."""
    from junheng.questionnaire import factor_gaps, scale_groups
    from junheng.survey import proportion

    inds, scales = factor_columns(inp)
    qs = inp.questionnaire
    if "student_id" not in qs.columns and "respondent_id" in qs.columns:  # `junheng questionnaire scales` output
        qs = qs.rename({"respondent_id": "student_id"})
    if "student_id" not in qs.columns:
        from junheng.exceptions import ParameterError

        raise ParameterError("问卷量表文件需要 student_id 或 respondent_id（学籍号）列 / the questionnaire scales "
                             "file needs a student_id or respondent_id (学籍号) column")
    qs = qs.with_columns(pl.col("student_id").cast(pl.String))
    qs = qs.select("student_id", *[c for c, _ in inds], *[c for c, _ in scales])
    if scales:
        groups = scale_groups(qs, inp.questionnaire_def, cuts=inp.questionnaire_cuts)
        qs = qs.join(groups.select("student_id", *[f"{c}_group" for c, _ in scales]), on="student_id", how="left")
    geo = inp.sample if inp.sample is not None and "county_code" in inp.sample.columns else inp.weights
    if geo is None or "county_code" not in geo.columns:
        tb.missing.append("学生所在县（抽样名单）")
        return
    geo = geo.select(pl.col("student_id").cast(pl.String), "county_code",
                     *[c for c in ("school_code",) if c in geo.columns]).join(
        inp.names.select("county_code", "city_code"), on="county_code", how="left")
    data = qs.join(geo, on="student_id", how="inner")
    d = _design(data, inp.weights)
    shares = [_levels(data, lambda by, c=c: proportion(d, c, levels=[True], by=by or None))
              .with_columns(indicator=pl.lit(c)) for c, _ in inds]
    if shares:
        from junheng.survey import versus_total

        tb.t["q_share"] = pl.concat(shares)
        _add_versus(tb, [versus_total(d, c, levels=[True], by="county_code").with_columns(metric=pl.lit(c))
                         for c, _ in inds])
    factors = [c for c, _ in inds] + [f"{c}_group" for c, _ in scales]
    if inp.scores is not None and factors:
        sc = inp.scores.with_columns(pl.col("student_id").cast(pl.String))
        pvs = sorted([c for c in sc.columns if c.startswith("pv") and c[2:].isdigit()], key=lambda c: int(c[2:]))
        ach = sc.select("student_id", "subject", *pvs).join(data, on="student_id", how="inner")
        from junheng.survey import compare

        fg = factor_gaps(_design(ach, inp.weights), factors, pv=pvs, by="subject")
        # one family: every factor's gap in every subject (the 相关因素 page)
        tested = compare(fg.filter(pl.col("is_gap")).rename({"estimate": "diff", "se": "diff_se"}))
        tb.t["q_gaps"] = fg.join(tested.select("factor", "subject", "category", "p", "p_adj", "significant"),
                                 on=["factor", "subject", "category"], how="left")


def _sample_summary(tb: Tables, inp: ReportInputs) -> None:
    w = inp.weights
    if w is None:
        return
    s = w.join(inp.sample.select("student_id", "county_code"), on="student_id", how="left") \
        if inp.sample is not None and "county_code" not in w.columns else w
    if "county_code" not in s.columns:
        return
    resp = pl.col("responded").fill_null(False) if "responded" in s.columns else pl.lit(True)
    tb.t["sample_county"] = s.group_by("county_code").agg(
        n_schools=pl.col("school_code").n_unique(), n_pupils=pl.len(),
        n_responded=resp.sum(), response_rate=resp.mean(),
    ).sort("county_code")


def build(inp: ReportInputs) -> Tables:
    """Compute every table of the reports (one pass per estimator over all counties)."""
    tb = Tables(inputs=inp)
    units = ind.school_indicators(inp.schools)
    cvs = ind.county_cv(units)
    res = ind.county_resource_verdict(units, cvs)
    tb.t["units"] = units
    tb.t["cv"] = cvs
    tb.t["resource"] = res
    _sample_summary(tb, inp)
    if inp.weights is None:
        tb.missing.append("抽样权重（复制权重）")
    if inp.fitness is not None and inp.weights is not None:
        _fitness(tb, inp.fitness, inp.weights)
    else:
        tb.missing.append("体质健康测试数据")
    if inp.scores is not None and inp.weights is not None:
        _academic(tb, inp.scores, inp.weights, inp.sample)
        if inp.previous is not None:
            from junheng.assessment import trend

            cur = tb["score_mean"].select("scope", "unit", "subject", "estimate", "se",
                                          *(["df"] if "df" in tb["score_mean"].columns else []))
            tb.t["trend"] = trend(cur, inp.previous.with_columns(pl.col("unit").cast(pl.String)),
                                  inp.linking_error or {})
        else:
            tb.missing.append("上年学业结果（与上年相比）")
    else:
        tb.missing.append("学业成绩（IRT 量尺分数与水平）")
    if inp.questionnaire is not None and inp.weights is not None:
        _questionnaire(tb, inp)
    else:
        tb.missing.append("学生问卷（相关因素）")
    names = dict(inp.names.select("county_code", "county_name").iter_rows())
    if inp.checklist is not None:
        q = tb.get("quality")
        verdict = ind.county_verdict(res, inp.checklist, q, year=inp.year, names=names)
        last = ind.county_verdict(res, inp.checklist, q, year=inp.year - 1, names=names) \
            if (inp.checklist["year"] == inp.year - 1).any() else None
        tb.t["verdict"] = ind.change(verdict, last) if last is not None else verdict.with_columns(
            change=pl.lit("无上年数据"))
    else:
        tb.missing.append("政府保障程度、教育质量、社会认可度核查数据")
    return tb


def county_names() -> pl.DataFrame:
    """``county_code, county_name, city_code, city_name`` from the registry's Henan divisions."""
    from junheng.registry.validate import divisions

    d = divisions()
    cities = d.filter(pl.col("level") == "city").select(city_code="code", city_name="name")
    return (d.filter(pl.col("level") == "county")
            .select(county_code="code", county_name="name", city_code="parent_code")
            .join(cities, on="city_code", how="left").sort("county_code"))


def _read(path, schema: dict | None = None, digest=None) -> pl.DataFrame | None:
    """A report input (Parquet or CSV) typed by its declared schema (``junheng.indicators.schemas``;
    a CSV is read as text and parsed column by column, never inferred); None when absent.
    ``digest``: fed the file's name and bytes as it is read (the inputs' data version)."""
    from pathlib import Path

    from junheng.indicators.schemas import read_typed

    if path is None:
        return None
    p = Path(path)
    if not p.exists():
        return None
    ids = {c: pl.String for c in ("county_code", "school_code", "student_id", "city_code", "respondent_id")}
    return read_typed(p, schema if schema is not None else ids, digest=digest)


def _read_json(path, digest=None, what: tuple[str, str] = ("JSON 文件", "JSON file")):
    """A JSON input or None when absent (:func:`junheng.io.read_json`: size limit, read once,
    ``digest`` as :func:`_read`, bad JSON an InputError naming the file and ``what`` it is)."""
    from pathlib import Path

    from junheng.io import read_json

    return read_json(path, digest=digest, what=what) if path is not None and Path(path).exists() else None


def _linking_errors(links, path) -> dict | None:
    """``linking.json`` (subject → {linking_error: number, …}) as subject → linking error; every
    subject whose entry is not of that shape reported."""
    from pathlib import Path

    from junheng.exceptions import InputError, Issue

    if not links:
        return None
    name = Path(path).name
    if not isinstance(links, dict):
        raise InputError(Issue("应为 学科 → {linking_error: 数值} 的对象", "must be an object subject → "
                               "{linking_error: number}", file=name))
    def number(v) -> bool:
        return v is None or (isinstance(v, int | float) and not isinstance(v, bool))

    bad = [Issue("应有 linking_error（数值或 null）", "linking_error (a number or null) is missing or not a number",
                 file=name, column=str(k), value=v.get("linking_error") if isinstance(v, dict) else v)
           for k, v in links.items() if not isinstance(v, dict) or "linking_error" not in v
           or not number(v["linking_error"])]
    if bad:
        raise InputError(bad)
    return {k: v["linking_error"] for k, v in links.items()}


def inputs_from_paths(*, schools, weights=None, sample=None, fitness=None, scores=None, checklist=None,
                      questionnaire=None, questionnaire_definition=None, questionnaire_cuts=None,
                      previous=None, linking=None, cut_scores=None, config=None,
                      year: int = 2022, seed: int | None = None, data_version: str = "",
                      doc_number: str = "", issue_date: str = "") -> ReportInputs:
    """Read the report inputs from files (Parquet or CSV); a missing optional file is left out.
    ``questionnaire`` is the scale scores frame, ``questionnaire_definition`` its JSON definition;
    ``previous`` the previous cycle's stored estimates (CSV), ``linking`` the linking errors
    (``linking.json``: subject → {linking_error, …}), ``cut_scores`` the cuts in force
    (``cut_scores.json``: subject → {cuts, method, label, provisional}).

    ``config`` is the report configuration (``report.json``: ``doc_number`` 文号, ``issue_date``,
    ``issuer``); ``doc_number`` and ``issue_date`` given here win over it.

    ``data_version`` defaults to a digest of the input files' names and bytes, in the order above
    (same files → same version).  Each file is read once: the digest is fed as it is read.
    """
    import hashlib
    from pathlib import Path

    import junheng
    from junheng.exceptions import ParameterError
    from junheng.indicators import schemas as sc

    h = hashlib.sha256()
    sch = _read(schools, sc.SCHOOLS, h)
    if sch is None:
        raise ParameterError(f"找不到学校表 / schools file not found: {schools}")
    frames = {"weights": _read(weights, sc.WEIGHTS, h), "sample": _read(sample, sc.SAMPLE, h),
              "fitness": _read(fitness, None, h), "scores": _read(scores, sc.SCORES, h),
              "checklist": _read(checklist, sc.CHECKLIST, h), "questionnaire": _read(questionnaire, None, h)}
    qdef = None
    if questionnaire_definition is not None and Path(questionnaire_definition).exists():
        from junheng.questionnaire import questionnaire_from_json

        name = Path(questionnaire_definition).name
        raw = _read_json(questionnaire_definition, h, ("JSON 问卷定义", "JSON questionnaire definition"))
        qdef = questionnaire_from_json(raw, name)
    prev = None
    if previous is not None and Path(previous).exists():
        from junheng.io import read_frame as read_file

        prev = read_file(previous, infer=True, string_columns=("unit", "scope", "subject"), digest=h)
    links = _linking_errors(_read_json(linking, h, ("链接误差文件", "linking-error file")), linking)
    cuts = _read_json(cut_scores, h, ("分数线文件", "cut-score file"))
    if not data_version:
        data_version = "sha256:" + h.hexdigest()[:16]

    cfg = _read_json(config, None, ("报告配置", "report configuration")) or {}
    if not isinstance(cfg, dict):
        raise ParameterError(f"报告配置须为 JSON 对象 / the report configuration must be a JSON object: {config}")
    unknown = sorted(set(cfg) - {"doc_number", "issue_date", "issuer"})
    if unknown:
        raise ParameterError(f"报告配置 {config} 含未知项 / unknown keys in the report configuration: "
                             f"{'、'.join(unknown)}（可用 / allowed: doc_number, issue_date, issuer）")
    cover = {"doc_number": doc_number or str(cfg.get("doc_number") or ""),
             "issue_date": issue_date or str(cfg.get("issue_date") or ""), "issuer": str(cfg.get("issuer") or "")}
    extra = {"previous": prev, "linking_error": links, "cut_scores": cuts}
    return ReportInputs(**extra, **cover, **frames, schools=sch, names=county_names(), year=year, seed=seed,
                        data_version=data_version, software_version=getattr(junheng, "__version__", "dev"),
                        questionnaire_def=qdef,
                        questionnaire_cuts=tuple(questionnaire_cuts) if questionnaire_cuts else None)
