"""The demo's academic stage: synthetic items and booklets → responses of the sampled pupils →
scoring → classical analysis → the annual pipeline (``junheng.assessment.annual_scores``:
calibration, linking to the base year, EAP + 5 PVs, levels) → the platform's record
(``junheng_web.assessment.services``)."""

from __future__ import annotations

import json
import time

import click
import polars as pl

from junheng.io import read_frame, write_table


def _demo_pupils(ctx) -> pl.DataFrame | None:
    if "sample" in ctx.state:
        return read_frame(ctx.state["sample"])
    if "pupils" in ctx.state:
        roster = read_frame(ctx.state["pupils"])
        if "grade" in roster.columns:
            roster = roster.filter(pl.col("grade") == 6)
        return roster.sample(fraction=0.1, seed=ctx.seed)
    return None


def _dif_pairs(groups: pl.DataFrame) -> tuple[tuple[str, str, str], ...]:
    """The demo's DIF comparisons: girls against boys, rural against urban pupils."""
    pairs = [("sex", "1", "2")] if "sex" in groups.columns else []
    if "location" in groups.columns:
        locs = groups["location"].drop_nulls().unique().sort().to_list()
        urban = next((x for x in locs if "城" in x), locs[0] if locs else None)
        rural = next((x for x in locs if "乡" in x or "村" in x), locs[-1] if locs else None)
        if urban and rural and urban != rural:
            pairs.append(("location", urban, rural))
    return tuple(pairs)


def demo_stage(ctx) -> None:
    """Demo: the academic test of the sampled pupils, scored, analysed, calibrated and stored."""
    from junheng.assessment import CALIBRATION, item_analysis, save_bank, score_responses
    from junheng.io import write_sheets
    from junheng.synth import absent, area_effects, current_year, synth_tests

    pupils = _demo_pupils(ctx)
    if pupils is None:
        click.echo("   (no pupils yet: the registry import or sampling stage must run first; skipped)")
        return
    out = ctx.out / "academic"
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    test = synth_tests(ctx.seed)
    save_bank(test.bank, out / "item_bank.json")
    ctx.output("academic item bank (JSON)", out / "item_bank.json")
    (out / "designs.json").write_text(json.dumps(
        {s: d.to_json() for s, d in test.designs.items()}, ensure_ascii=False, indent=1), encoding="utf-8")
    # the synthetic truth: county and school effects, real changes between the two years; the
    # absent pupils (3 %) have no responses. Both years test the same sampled schools (the base
    # year's cohort is drawn afresh from the base-year truth; a shortcut of the synthetic province,
    # whose roster holds one cohort) on their own booklets with the anchor blocks in common.
    effects = area_effects(_schools(ctx, pupils), ctx.seed)
    present = pupils.filter(~pl.Series(absent(pupils["student_id"], ctx.seed)))
    # pupils are numbered (person_id = row of ``asg``) so the analysis groups by integers, not 学籍号
    asg, raw = current_year(present, test, ctx.seed, integer_ids=True, effects=effects)
    asg = asg.with_row_index("person_id").with_columns(pl.col("person_id").cast(pl.Int64))
    base_asg, base_raw = current_year(present, test, ctx.seed + 7, integer_ids=True, effects=effects, base=True)
    base_asg = base_asg.with_row_index("person_id").with_columns(pl.col("person_id").cast(pl.Int64))
    click.echo(f"   {asg.height} pupils × 24 items ({raw.height} responses; {pupils.height - present.height} absent); "
               f"base year {base_asg.height} pupils ({time.perf_counter() - t0:.1f} s)")

    from junheng_web.bootstrap import setup

    setup()
    from junheng_web.assessment.services import store_test
    from junheng_web.fitness.services import demo_cycle

    t = time.perf_counter()
    cycle = demo_cycle(ctx)
    store_test(cycle, test.bank, test.designs, test.blocks,
               pupils.select("student_id", "school_code", *(["subject"] if "subject" in pupils.columns else [])),
               seed=ctx.seed)
    click.echo(f"   题库/题本/分配已入库 / bank, designs and assignments stored ({time.perf_counter() - t:.1f} s)")

    t = time.perf_counter()
    scored = score_responses(raw, test.bank, treatment=CALIBRATION)
    base_scored = score_responses(base_raw, test.bank, treatment=CALIBRATION)
    bk = asg.select("person_id", "booklet")
    groups = _background(asg, pupils).select("person_id", *[c for c in ("sex", "location") if c in pupils.columns])
    sheets = item_analysis(scored, test.bank, booklets=bk, groups=groups, dif=_dif_pairs(groups),
                           item_info=test.params.select("item_id", "subject", "model", "block", "anchor"))
    write_sheets(sheets, out / "item_analysis.xlsx")
    ctx.output("academic item analysis", out / "item_analysis.xlsx")
    st = sheets["items"]
    click.echo(f"   计分与经典分析 / scored and analysed: mean p {st['p_value'].mean():.2f}, "
               f"mean item-rest r {st['item_rest'].mean():.2f}, alpha {sheets['alpha']['alpha'].min():.2f}–"
               f"{sheets['alpha']['alpha'].max():.2f} ({time.perf_counter() - t:.1f} s)")
    for name in ("dif_sex", "dif_location"):
        if name in sheets:
            counts = sheets[name].group_by(pl.col("ets").str.slice(0, 1)).len().sort("ets")
            click.echo(f"   {name}: " + ", ".join(f"{r[0]} {r[1]}" for r in counts.iter_rows()))

    # the cut scores in force (a panel's, stored by `junheng levels set`; else provisional, printed as 暂定)
    from junheng_web.assessment.services import all_cut_scores

    in_force = all_cut_scores(tuple(test.designs))
    (out / "cut_scores.json").write_text(json.dumps(
        {s: {"cuts": list(c.cuts), "method": c.method, "panel": c.panel, "date": c.date, "label": c.label(),
             "provisional": c.provisional} for s, c in in_force.items()}, ensure_ascii=False, indent=1), encoding="utf-8")
    ctx.state["academic_cut_scores"] = out / "cut_scores.json"
    ctx.output("cut scores of the levels in force, with their provenance", out / "cut_scores.json")
    click.echo("   水平分数线 / cut scores: " + "; ".join(f"{s} {'/'.join(f'{x:.0f}' for x in c.cuts)}"
                                                     f"{' (暂定)' if c.provisional else ''}" for s, c in in_force.items()))

    t = time.perf_counter()
    scores, base_scores, result = _annual(ctx, test, scored, base_scored, asg, base_asg, pupils, out,
                                          {s: c.cuts for s, c in in_force.items()})
    path = out / "scores.parquet"
    write_table(scores, path)
    ctx.state["academic_scores"] = path
    ctx.output("academic pupil scores", path)
    (out / "base_year").mkdir(exist_ok=True)
    write_table(base_scores, out / "base_year" / "scores.parquet")
    ctx.state["academic_base_scores"] = out / "base_year" / "scores.parquet"
    ctx.output("academic pupil scores of the base year (the previous cycle)", out / "base_year" / "scores.parquet")
    _write_truth(ctx, pupils, effects, asg, base_asg, result)
    click.echo(f"   IRT 标定、链接、计分 / calibrated, linked, scored ({time.perf_counter() - t:.1f} s)")
    store_demo_scores(cycle, scores)
    from junheng_cli.demo.sample import BASE_YEAR
    from junheng_web.sampling.services import demo_cycle as sampling_cycle

    store_demo_scores(sampling_cycle(BASE_YEAR), base_scores)  # the previous cycle's record
    lv = scores.group_by("subject").agg(pl.col("scale_score").mean().alias("mean"),
                                        (pl.col("level") >= 2).mean().alias("mid_plus"))
    for r in lv.sort("subject").iter_rows(named=True):
        click.echo(f"   {r['subject']}: 平均 {r['mean']:.0f}, 中等及以上 {r['mid_plus']:.1%}")


REPORTING = ("county_code", "sex", "location")
"""The reporting variables the PVs are conditioned on (with the school mean): every breakdown the
reports publish (docs/methods/irt.md, conditioning model)."""


def _background(asg: pl.DataFrame, pupils: pl.DataFrame) -> pl.DataFrame:
    """``person_id`` + the pupils' reporting variables and school (as text)."""
    cols = [c for c in (*REPORTING, "school_code") if c in pupils.columns]
    bg = pupils.select("student_id", *[pl.col(c).cast(pl.String) for c in cols if c != "school_code"])
    return asg.select("person_id", "student_id", pl.col("school_code").cast(pl.String)).join(
        bg, on="student_id", how="left")


def _schools(ctx, pupils: pl.DataFrame) -> pl.DataFrame:
    """Every school of the province (the registry's), else the sampled ones."""
    if "schools" in ctx.state:
        return read_frame(ctx.state["schools"], ["school_code", "county_code"])
    return pupils.select("school_code", "county_code" if "county_code" in pupils.columns else
                         pl.lit("410000").alias("county_code")).unique()


def _annual(ctx, test, scored, base_scored, asg, base_asg, pupils, out, cuts):
    """Run the annual pipeline for both years (PVs conditioned on county, sex, location and the
    school mean; anchors checked for drift), write the linked item parameters, the drift table, the
    linking errors and the reporting scales; return both years' scores keyed by ``student_id``."""
    from junheng.assessment import annual_scores

    def report(fit) -> None:  # one line per subject as it finishes (the progress report)
        # the generated θ on the base scale: standardised by the base-year sample's true mean and SD
        b = base_asg.filter(pl.col("subject") == fit.subject)["theta_true"]
        truth = (asg.filter(pl.col("subject") == fit.subject)["theta_true"] - b.mean()) / b.std()
        click.echo(f"   {fit.subject}: base ℓ = {fit.base_loglik:.1f} ({fit.base_iterations} EM cycles, converged "
                   f"{fit.base_converged}); this year ℓ = {fit.loglik:.1f} ({fit.iterations} cycles, converged "
                   f"{fit.converged}); latent mean {fit.latent_mean:+.3f} SD {fit.latent_sd:.3f} on the base scale "
                   f"(generated: {truth.mean():+.3f}, {truth.std():.3f}); anchors kept {len(fit.anchors_retained)}, "
                   f"dropped for drift: {', '.join(fit.anchors_dropped) or '—'}; linking error "
                   f"{fit.linking_error:.2f}")

    subjects = {s: test.params.filter(pl.col("subject") == s)["item_id"].to_list() for s in test.designs}
    anchors = test.params.filter(pl.col("anchor"))["item_id"].to_list()
    background, base_background = _background(asg, pupils), _background(base_asg, pupils)
    conditioning = [c for c in REPORTING if c in background.columns]
    result = annual_scores(scored, base_scored, subjects, anchors, background=background, conditioning=conditioning,
                           school="school_code", base_background=base_background, cuts=cuts,
                           random_state=ctx.seed, on_subject=report)
    write_table(result.items, out / "items_calibrated.csv", encoding="utf-8")
    ctx.output("academic item parameters (linked to the base year)", out / "items_calibrated.csv")
    if result.drift:
        write_table(pl.concat(list(result.drift.values())), out / "anchor_drift.csv", encoding="utf-8")
        ctx.output("anchor drift check (robust z; dropped anchors)", out / "anchor_drift.csv")
    (out / "reporting_scale.json").write_text(json.dumps(result.scales, ensure_ascii=False, indent=1),
                                              encoding="utf-8")
    (out / "linking.json").write_text(json.dumps(
        {f.subject: {"linking_error": f.linking_error, "anchors_retained": list(f.anchors_retained),
                     "anchors_dropped": list(f.anchors_dropped)} for f in result.fits}, ensure_ascii=False, indent=1),
        encoding="utf-8")
    ctx.output("linking: retained and dropped anchors, linking error per subject", out / "linking.json")

    def keyed(scores, a):
        return scores.join(a.select("person_id", "student_id"), on="person_id", how="left").select(
            "student_id", pl.exclude("person_id", "student_id"))

    return keyed(result.scores, asg), keyed(result.base_scores, base_asg), result


def _write_truth(ctx, pupils, effects, asg, base_asg, result) -> None:
    """The synthetic truth beside the outputs (demo-output/synth/truth/): the effects, the
    population's county means of both years on the reporting scale (``truth.on_reporting_scale``)
    and its between-school shares per county and subject and pooled over the subjects, with the
    exemplary counties marked (``truth.true_between_shares``, ``truth.exemplary_counties``)."""
    from junheng.synth import (
        MEAN_SHIFT,
        exemplary_counties,
        on_reporting_scale,
        true_between_shares,
        true_county_means,
    )

    tdir = ctx.out / "synth" / "truth"
    tdir.mkdir(parents=True, exist_ok=True)
    write_table(effects, tdir / "effects.parquet")
    population = _population(ctx, pupils)
    base_theta = base_asg.select("subject", "theta_true")
    for name, nxt in (("county_means.csv", True), ("county_means_base_year.csv", False)):
        t = true_county_means(population, effects, MEAN_SHIFT, next_year=nxt)
        write_table(on_reporting_scale(t, result.scales, base_theta), tdir / name, encoding="utf-8")
    ctx.output("synthetic truth: county means on the reporting scale (this year)", tdir / "county_means.csv")
    ctx.output("synthetic truth: county means of the base year", tdir / "county_means_base_year.csv")
    best = exemplary_counties(effects["county_code"], ctx.seed)
    shares = true_between_shares(population, effects, MEAN_SHIFT, next_year=True)
    write_table(shares.with_columns(exemplary=pl.col("county_code").is_in(best)), tdir / "between_school_shares.csv",
                encoding="utf-8")
    ctx.output("synthetic truth: between-school shares (county × subject, 全部 = pooled; exemplary counties marked)",
               tdir / "between_school_shares.csv")
    ctx.state["truth_county_means"] = tdir / "county_means.csv"


def _population(ctx, pupils: pl.DataFrame) -> pl.DataFrame:
    """The reporting population: the registry's grade-6 pupils in the frame's schools (excluded
    schools out), with their school's location; without a registry, the sample."""
    if "pupils" not in ctx.state or "schools" not in ctx.state:
        return pupils
    roster = read_frame(ctx.state["pupils"], ["student_id", "school_code", "sex", "grade"])
    roster = roster.filter(pl.col("grade").cast(pl.Int64) == 6) if "grade" in roster.columns else roster
    schools = read_frame(ctx.state["schools"], ["school_code", "location"])
    excluded = ctx.out / "sample" / "exclusions.csv"
    if excluded.exists():
        gone = read_frame(excluded, ["school_code"])  # text
        roster = roster.join(gone, on="school_code", how="anti")
    return roster.join(schools, on="school_code", how="left")


def store_demo_scores(cycle, scores: pl.DataFrame) -> None:
    """The platform's record of the scores (what the academic dashboard and the progress page read),
    when the sample is in the database (the sample stage saved it)."""
    from junheng_web.assessment.scores import store_scores
    from junheng_web.sampling.services import has_sample

    if not has_sample(cycle):
        click.echo("   (no sample in the database: scores kept as a file only)")
        return
    t = time.perf_counter()
    r = store_scores(cycle, scores, file="scores.parquet")
    click.echo(f"   {cycle.year} 成绩已入库 / scores stored: {r.created} new, {r.updated} updated, {r.unchanged} unchanged "
               f"({time.perf_counter() - t:.1f} s)")


def estimates_stage(ctx) -> None:
    """Demo: both years' published estimates (province and county mean scale scores with JK2 SEs
    and df), the year-on-year changes with the linking error, and the check against the
    synthetic truth (slope of estimates on true county means, coverage of ±2 SE intervals)."""
    from junheng.assessment import trend, year_estimates

    need = ("academic_scores", "academic_base_scores", "replicates", "sample")
    if any(k not in ctx.state for k in need):
        click.echo("   (academic scores or weights missing: skipped)")
        return
    out = ctx.out / "academic"
    sample = read_frame(ctx.state["sample"])
    weights = read_frame(ctx.state["replicates"])
    years = {}
    for key, year in (("academic_scores", "current"), ("academic_base_scores", "base")):
        years[year] = year_estimates(read_frame(ctx.state[key]), sample, weights)
    cur, base = years["current"], years["base"]
    county = cur.filter(pl.col("scope") == "county").select(pl.col("unit").alias("county_code"), "subject", "estimate",
                                                             "se", "df").sort("county_code", "subject")
    write_table(county, out / "county_estimates.csv", encoding="utf-8")
    ctx.output("published county mean scale scores (estimate, se, df)", out / "county_estimates.csv")
    write_table(pl.concat([base.with_columns(pl.lit("base").alias("year")),
                           cur.with_columns(pl.lit("current").alias("year"))]), out / "estimates_by_year.csv",
                encoding="utf-8")
    # the previous cycle's stored results: what every 与上年相比 of the reports compares with
    write_table(base, out / "base_year" / "estimates.csv", encoding="utf-8")
    ctx.state["academic_base_estimates"] = out / "base_year" / "estimates.csv"
    ctx.state["academic_linking"] = out / "linking.json"
    ctx.output("academic estimates of both years (stored results)", out / "estimates_by_year.csv")
    links = json.loads((out / "linking.json").read_text("utf-8"))
    tr = trend(cur, base, {s: v["linking_error"] for s, v in links.items()})
    write_table(tr, out / "trend.csv", encoding="utf-8")
    ctx.state["academic_trend"] = out / "trend.csv"
    ctx.output("与上年相比: year-on-year changes with the linking error", out / "trend.csv")
    for r in tr.filter(pl.col("scope") == "province").sort("subject").iter_rows(named=True):
        click.echo(f"   {r['subject']}: {r['estimate_prev']:.1f} → {r['estimate']:.1f} (Δ {r['difference']:+.1f}, SE "
                   f"{r['se_difference']:.1f} incl. linking error {r['linking_error']:.1f}; "
                   f"{'significant' if r['significant'] else 'not significant'})")
    n_sig = tr.filter((pl.col("scope") == "county") & pl.col("significant")).height
    click.echo(f"   county × subject changes called significant: {n_sig} of "
               f"{tr.filter((pl.col('scope') == 'county') & pl.col('difference').is_not_null()).height}")
    if "truth_county_means" in ctx.state:
        check = truth_check(county, read_frame(ctx.state["truth_county_means"], infer=True,
                                               string_columns=("county_code",)))
        (out / "truth_check.json").write_text(json.dumps(check, ensure_ascii=False, indent=1), encoding="utf-8")
        ctx.output("county means against the synthetic truth (slope, coverage)", out / "truth_check.json")
        if check["n"]:
            click.echo(f"   对照合成真值 / against the truth: slope {check['slope']:.3f}, ±2 SE coverage "
                       f"{check['coverage']:.1%} over {check['n']} county × subject means")
        else:
            click.echo("   (no county mean is published at this scale: nothing to compare with the truth)")


def truth_check(estimates: pl.DataFrame, truth: pl.DataFrame) -> dict:
    """Slope of the published county means on the true ones (OLS) and the share of ±2 SE
    intervals that cover the truth, over the county × subject means that are published."""
    import numpy as np

    j = estimates.join(truth.select("county_code", "subject", "true_mean"), on=["county_code", "subject"],
                       how="inner").drop_nulls(["estimate", "se"])
    x, y, se = j["true_mean"].to_numpy(), j["estimate"].to_numpy(), j["se"].to_numpy()
    slope = float(np.polyfit(x, y, 1)[0]) if j.height > 2 else float("nan")
    return {"n": j.height, "slope": slope, "coverage": float(np.mean(np.abs(y - x) <= 2 * se)) if j.height else None,
            "mean_error": float(np.mean(y - x)) if j.height else None}
