"""``junheng survey estimate`` and ``junheng sample draw/weights`` end to end (CliRunner)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import polars as pl
from click.testing import CliRunner

from junheng_cli.main import cli

TESTS = Path(__file__).resolve().parents[1]
REF = TESTS / "reference" / "survey"


def _r(case: str, method: str) -> pl.DataFrame:
    r = pl.read_csv(REF / "r_results.csv", schema_overrides={"group": pl.String, "estimate": pl.Float64,
                                                              "se": pl.Float64}, null_values="NA")
    return r.filter((pl.col("case") == case) & (pl.col("method") == method)).sort("group")


def test_it_estimates_means_by_group_as_r_does(tmp_path):
    out = tmp_path / "est.csv"
    res = CliRunner().invoke(cli, ["survey", "estimate", str(REF / "design_data.csv"), "--weight", "weight",
                                   "--replicates", "jk_*", "--method", "jk2", "--variable", "score",
                                   "--by", "county_code", "--min-pupils", "0", "--min-schools", "0", "-o", str(out)])
    assert res.exit_code == 0, res.output
    got = pl.read_csv(out)
    assert got.columns == ["county_code", "estimate", "se", "df", "n_pupils", "n_schools", "flag"]
    ref = _r("mean_score_by_county", "jk2")
    np.testing.assert_allclose(got.sort("county_code")["estimate"], ref["estimate"], rtol=1e-8)
    np.testing.assert_allclose(got.sort("county_code")["se"], ref["se"], rtol=1e-8)
    assert (got["n_schools"] == 8).all()


def test_it_combines_plausible_values_with_fay(tmp_path):
    out = tmp_path / "pv.csv"
    res = CliRunner().invoke(cli, ["survey", "estimate", str(REF / "design_data.csv"), "-w", "weight", "-r", "fay_*",
                                   "--method", "fay", "--fay-k", "0.5", "--pv", "pv*", "--by", "location",
                                   "--no-suppress", "-o", str(out)])
    assert res.exit_code == 0, res.output
    got = pl.read_csv(out).sort("location")
    ref = _r("pv_mean_by_location", "fay")
    ref = ref.with_columns(pl.col("group").str.replace("location=", "")).sort("group")
    np.testing.assert_allclose(got["estimate"], ref["estimate"], rtol=1e-8)
    np.testing.assert_allclose(got["se"], ref["se"], rtol=1e-8)


def test_it_suppresses_small_groups_by_default(tmp_path):
    out = tmp_path / "small.csv"
    res = CliRunner().invoke(cli, ["survey", "estimate", str(REF / "design_data.csv"), "-w", "weight", "-r", "jk_*",
                                   "-v", "score", "--by", "county_code,sex", "--min-pupils", "120", "-o", str(out)])
    assert res.exit_code == 0, res.output
    got = pl.read_csv(out)
    small = got.filter(pl.col("n_pupils") < 120)
    assert small.height and small["estimate"].is_null().all() and (small["flag"] == "few_pupils").all()
    assert got.filter(pl.col("n_pupils") >= 120)["estimate"].is_not_null().all()


def test_bad_parameters_exit_2_with_a_bilingual_message(tmp_path):
    runner = CliRunner()
    res = runner.invoke(cli, ["survey", "estimate", str(REF / "design_data.csv"), "-w", "nope", "-v", "score",
                              "-o", str(tmp_path / "x.csv")])
    assert res.exit_code == 2 and "weight column not found" in res.output and "权重列不存在" in res.output
    res = runner.invoke(cli, ["survey", "estimate", str(REF / "design_data.csv"), "-w", "weight", "-r", "zz*",
                              "-v", "score", "-o", str(tmp_path / "x.csv")])
    assert res.exit_code == 2 and "no replicate weight column" in res.output
    res = runner.invoke(cli, ["survey", "estimate", str(REF / "design_data.csv"), "-w", "weight", "-r", "jk_*",
                              "-o", str(tmp_path / "x.csv")])
    assert res.exit_code == 2 and "--variable or --pv" in res.output
    assert not (tmp_path / "x.csv").exists()


def _toy_registry():
    """The toy registry of the core survey tests (schools, pupils)."""
    sys.path.insert(0, str(TESTS / "core" / "survey"))
    try:
        from conftest import toy_registry
    finally:
        sys.path.pop(0)
    return toy_registry()


def test_sample_draw_then_weights(tmp_path):
    schools, pupils = _toy_registry()
    schools.write_parquet(tmp_path / "schools.parquet")
    pupils.write_csv(tmp_path / "pupils.csv")
    runner = CliRunner()
    out = tmp_path / "sample"
    res = runner.invoke(cli, ["sample", "draw", "--schools", str(tmp_path / "schools.parquet"), "--pupils",
                              str(tmp_path / "pupils.csv"), "--out", str(out), "--target", "600", "--per-school",
                              "20", "--min-schools", "3", "--seed", "5"])
    assert res.exit_code == 0, res.output
    sample = pl.read_parquet(out / "pupil_sample.parquet")
    sites = sorted((out / "sites").glob("*.csv"))
    assert len(sites) == sample["school_code"].n_unique()
    first = pl.read_csv(sites[0], encoding="utf8-lossy")
    assert first.columns[:3] == ["\ufeff序号", "学籍号", "姓名"] or first.columns[:3] == ["序号", "学籍号", "姓名"]
    assert first["姓名"].str.ends_with("**").all()  # masked by default
    res = runner.invoke(cli, ["sample", "weights", str(out / "pupil_sample.parquet"), "--schools",
                              str(out / "schools.csv"), "--replicates", "16", "-o", str(tmp_path / "w.parquet")])
    assert res.exit_code == 0, res.output
    w = pl.read_parquet(tmp_path / "w.parquet")
    assert w.height == sample.height and "rep_16" in w.columns
    np.testing.assert_allclose(w["weight"].sum(), sample["base_weight"].sum(), rtol=1e-12)


def test_bad_weight_rows_are_all_reported_with_the_file(tmp_path):
    data = pl.read_csv(REF / "design_data.csv").head(50)
    w = data["weight"].to_list()
    w[3], w[10] = -1.0, None
    bad = tmp_path / "bad.csv"
    data.with_columns(pl.Series("weight", w)).write_csv(bad)
    res = CliRunner().invoke(cli, ["survey", "estimate", str(bad), "-w", "weight", "-r", "jk_*", "-v", "score",
                                   "-o", str(tmp_path / "x.csv")])
    assert res.exit_code == 2
    assert "bad.csv 第5行 weight" in res.output and "row 12, column weight" in res.output
    assert not (tmp_path / "x.csv").exists()


def test_it_estimates_with_taylor_linearisation(tmp_path):
    out = tmp_path / "t.csv"
    res = CliRunner().invoke(cli, ["survey", "estimate", str(REF / "design_data.csv"), "-w", "weight",
                                   "--method", "taylor", "--strata", "county_code", "-v", "pass",
                                   "--statistic", "proportion", "--level", "1", "--by", "county_code",
                                   "--no-suppress", "-o", str(out)])
    assert res.exit_code == 0, res.output
    got = pl.read_csv(out).sort("county_code")
    ref = _r("prop_pass_by_county", "taylor")
    np.testing.assert_allclose(got["estimate"], ref["estimate"], rtol=1e-8)
    np.testing.assert_allclose(got["se"], ref["se"], rtol=1e-8)


def test_sample_weights_post_stratify_to_a_margin_file(tmp_path):
    schools, pupils = _toy_registry()
    schools.write_parquet(tmp_path / "schools.parquet")
    pupils.write_parquet(tmp_path / "pupils.parquet")
    runner = CliRunner()
    out = tmp_path / "s"
    assert runner.invoke(cli, ["sample", "draw", "--schools", str(tmp_path / "schools.parquet"), "--pupils",
                               str(tmp_path / "pupils.parquet"), "--out", str(out), "--schools-per-stratum", "5",
                               "--per-school", "15"]).exit_code == 0
    margin = tmp_path / "county.csv"
    pl.DataFrame({"county_code": ["410102", "410103", "410104"], "total": [1000, 2000, 3000]}).write_csv(margin)
    res = runner.invoke(cli, ["sample", "weights", str(out / "pupil_sample.parquet"), "--schools",
                              str(out / "schools.csv"), "--replicates", "8", "--margin", str(margin),
                              "-o", str(tmp_path / "w.parquet")])
    assert res.exit_code == 0, res.output
    w = pl.read_parquet(tmp_path / "w.parquet").join(pl.read_parquet(out / "pupil_sample.parquet")
                                                     .select("student_id", "county_code"), on="student_id")
    got = w.group_by("county_code").agg(pl.col("weight").sum(), pl.col("rep_8").sum()).sort("county_code")
    np.testing.assert_allclose(got["weight"], [1000, 2000, 3000], rtol=1e-12)
    np.testing.assert_allclose(got["rep_8"], [1000, 2000, 3000], rtol=1e-12)


def test_it_compares_groups_as_r_does(tmp_path):
    out = tmp_path / "diff.csv"
    res = CliRunner().invoke(cli, ["survey", "estimate", str(REF / "design_data.csv"), "-w", "weight", "-r", "jk_*",
                                   "-v", "score", "--compare", "sex:2:1", "--by", "county_code", "--no-suppress",
                                   "-o", str(out)])
    assert res.exit_code == 0, res.output
    got = pl.read_csv(out).sort("county_code")
    ref = _r("diff_score_sex_by_county", "jk2")
    np.testing.assert_allclose(got["estimate"], ref["estimate"], rtol=1e-8)
    np.testing.assert_allclose(got["se"], ref["se"], rtol=1e-8)
    assert (got["comparison"] == "sex:2:1").all()
    res = CliRunner().invoke(cli, ["survey", "estimate", str(REF / "design_data.csv"), "-w", "weight", "-r", "jk_*",
                                   "-v", "score", "--compare", "sex-2-1", "-o", str(out)])
    assert res.exit_code == 2 and "COL:A:B" in res.output


def test_it_adds_the_design_effect(tmp_path):
    out = tmp_path / "deff.csv"
    res = CliRunner().invoke(cli, ["survey", "estimate", str(REF / "design_data.csv"), "-w", "weight", "-r", "fay_*",
                                   "--method", "fay", "-v", "score", "--deff", "-o", str(out)])
    assert res.exit_code == 0, res.output
    np.testing.assert_allclose(pl.read_csv(out)["deff"][0], _r("deff_score", "fay")["estimate"][0], rtol=1e-8)


def test_a_spec_file_gives_several_estimates_in_one_call_as_r_does(tmp_path):
    """``--spec``: three estimates (mean by county, PV mean by location, the sex difference by
    county) from one reading of the data and one design, each equal to R's (tests/reference)."""
    import json

    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps([
        {"variable": "score", "by": "county_code", "out": "mean.csv"},
        {"pv": "pv*", "by": ["location"], "out": "pv.csv"},
        {"variable": "score", "by": "county_code", "compare": "sex:2:1", "out": "diff.parquet"},
    ]), encoding="utf-8")
    res = CliRunner().invoke(cli, ["survey", "estimate", str(REF / "design_data.csv"), "-w", "weight", "-r", "jk_*",
                                   "--method", "jk2", "--no-suppress", "--spec", str(spec)])
    assert res.exit_code == 0, res.output
    got = pl.read_csv(tmp_path / "mean.csv").sort("county_code")
    ref = _r("mean_score_by_county", "jk2")
    np.testing.assert_allclose(got["estimate"], ref["estimate"], rtol=1e-8)
    np.testing.assert_allclose(got["se"], ref["se"], rtol=1e-8)
    got = pl.read_csv(tmp_path / "pv.csv").sort("location")
    ref = _r("pv_mean_by_location", "jk2").with_columns(pl.col("group").str.replace("location=", "")).sort("group")
    np.testing.assert_allclose(got["estimate"], ref["estimate"], rtol=1e-8)
    np.testing.assert_allclose(got["se"], ref["se"], rtol=1e-8)
    diff = pl.read_parquet(tmp_path / "diff.parquet").sort("county_code")
    ref = _r("diff_score_sex_by_county", "jk2")
    np.testing.assert_allclose(diff["estimate"], ref["estimate"], rtol=1e-8)
    np.testing.assert_allclose(diff["se"], ref["se"], rtol=1e-8)
    # the same as three separate calls, to the last digit
    for name, args in (("mean.csv", ["-v", "score", "--by", "county_code"]), ("pv.csv", ["--pv", "pv*", "--by", "location"])):
        one = tmp_path / f"one-{name}"
        r = CliRunner().invoke(cli, ["survey", "estimate", str(REF / "design_data.csv"), "-w", "weight", "-r", "jk_*",
                                     "--no-suppress", *args, "-o", str(one)])
        assert r.exit_code == 0, r.output
        assert pl.read_csv(one).equals(pl.read_csv(tmp_path / name))


def test_a_bad_spec_file_reports_every_bad_entry(tmp_path):
    import json

    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps([{"variable": "score", "out": "a.csv", "colour": "red"},
                                {"variable": "score", "pv": "pv*", "out": "b.csv"},
                                {"variable": "score", "statistic": "median"}]), encoding="utf-8")
    res = CliRunner().invoke(cli, ["survey", "estimate", str(REF / "design_data.csv"), "-w", "weight", "-r", "jk_*",
                                   "--spec", str(spec)])
    assert res.exit_code != 0
    for text in ("colour", "variable", "statistic", "out", "spec.json"):
        assert text in res.output, text
    assert not (tmp_path / "a.csv").exists()  # all or nothing
    mixed = CliRunner().invoke(cli, ["survey", "estimate", str(REF / "design_data.csv"), "-w", "weight",
                                     "-r", "jk_*", "--spec", str(spec), "-v", "score"])
    assert mixed.exit_code != 0 and "--spec" in mixed.output
    # every single-estimate option is refused with --spec (the spec's entries give their own), those
    # with defaults too: none is silently ignored
    for opt in (["--statistic", "total"], ["--q", "0.9"], ["-o", str(tmp_path / "x.csv")], ["--pv", "pv*"],
                ["--by", "county"], ["--level", "1"], ["--compare", "sex:1:2"], ["--deff"]):
        mixed = CliRunner().invoke(cli, ["survey", "estimate", str(REF / "design_data.csv"), "-w", "weight",
                                         "-r", "jk_*", "--spec", str(spec), *opt])
        assert mixed.exit_code != 0 and "--spec replaces" in mixed.output, opt


def test_a_spec_with_bad_values_reports_each_without_a_traceback(tmp_path):
    """Wrong types in the spec (q not a number, deff not a boolean, compare not COL:A:B, a list
    where a column name belongs) and two entries writing one file: every one reported, by entry
    and key, and nothing estimated — not a Python traceback from float('abc')."""
    import json

    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps([
        {"variable": "score", "statistic": "quantile", "q": "abc", "out": "a.csv"},
        {"variable": "score", "deff": "no", "out": "b.csv"},
        {"variable": ["score"], "compare": 5, "out": "c.csv"},
        {"variable": "score", "q": 1.5, "statistic": "quantile", "out": "a.csv"},
        {"variable": "score", "out": "e.txt"},
    ]), encoding="utf-8")
    res = CliRunner().invoke(cli, ["survey", "estimate", str(REF / "design_data.csv"), "-w", "weight", "-r", "jk_*",
                                   "--spec", str(spec)])
    assert res.exit_code != 0 and not isinstance(res.exception, ValueError | TypeError | AttributeError), res.output
    for text in ("'abc'", "deff", "compare", "variable", "1.5", "a.csv", "row 1", "row 4", "e.txt"):
        assert text in res.output, (text, res.output)
    assert not any((tmp_path / f).exists() for f in ("a.csv", "b.csv", "c.csv"))


def test_a_spec_entry_that_fails_to_estimate_leaves_no_file_behind(tmp_path):
    """All or nothing: the second entry cannot be estimated (--compare with a quantile), so the
    first entry's file is not written either, and the message names the entry."""
    import json

    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps([{"variable": "score", "by": "county_code", "out": "ok.csv"},
                                {"variable": "score", "statistic": "quantile", "compare": "sex:2:1", "out": "no.csv"}]),
                    encoding="utf-8")
    res = CliRunner().invoke(cli, ["survey", "estimate", str(REF / "design_data.csv"), "-w", "weight", "-r", "jk_*",
                                   "--spec", str(spec)])
    assert res.exit_code != 0 and "entry 2" in res.output, res.output
    assert not (tmp_path / "ok.csv").exists() and not (tmp_path / "no.csv").exists()
