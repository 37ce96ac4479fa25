"""Frame, PPS systematic selection, replacements and pupil selection."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from junheng.exceptions import InputError, ParameterError
from junheng.survey.frame import FrameRules, build_frame
from junheng.survey.pipeline import draw_sample
from junheng.survey.selection import SampleParams, allocate, select_pupils, select_schools


def test_it_excludes_special_and_small_schools_and_reports_rates(registry):
    schools, _ = registry
    fr = build_frame(schools, FrameRules(min_enrolment=5))
    assert set(fr.excluded["reason"]) == {"special", "small"}
    assert not fr.schools["school_code"].str.starts_with("51").any()
    assert (fr.schools["mos"] >= 5).all()
    # exclusion rate = excluded grade pupils / in-scope grade pupils, county by county (hand check)
    c = "410102"
    scope = schools.filter(pl.col("county_code") == c)
    excl = scope.filter(pl.col("school_code").str.starts_with("51") | (pl.col("enrol_g6") < 5))
    row = fr.rates.filter(pl.col("county_code") == c).row(0, named=True)
    assert row["exclusion_rate"] == pytest.approx(excl["enrol_g6"].sum() / scope["enrol_g6"].sum())


def test_it_keeps_teaching_points_unless_told(registry):
    schools, _ = registry
    kept = build_frame(schools, FrameRules(min_enrolment=0)).schools
    dropped = build_frame(schools, FrameRules(min_enrolment=0, exclude_teaching_points=True)).schools
    assert kept["is_teaching_point"].any() and not dropped["is_teaching_point"].any()


def test_it_names_missing_columns():
    with pytest.raises(InputError, match="enrol_g6"):
        build_frame(pl.DataFrame({"school_code": ["1"], "county_code": ["1"], "location": ["城区"]}))


def test_it_rejects_bad_parameters():
    with pytest.raises(ParameterError, match="pupils_per_school"):
        SampleParams(pupils_per_school=0)
    with pytest.raises(ParameterError, match="grade"):
        FrameRules(grade=12)


def _probabilities(frame: pl.DataFrame, n: int) -> dict[str, float]:
    """π by hand: certainty removal repeated, then n'·M_i/M' (Cochran 1977 §9A.3)."""
    out: dict[str, float] = {}
    for _, g in frame.group_by("county_code"):
        sizes = dict(zip(g["school_code"], g["mos"]))
        cert: set[str] = set()
        while True:
            rest = {k: v for k, v in sizes.items() if k not in cert}
            m, total = n - len(cert), sum(rest.values())
            new = {k for k, v in rest.items() if m * v >= total}
            if not new:
                break
            cert |= new
        for k, v in sizes.items():
            out[k] = 1.0 if k in cert else m * v / total
    return out


def test_inclusion_frequencies_match_the_design_probabilities(registry):
    schools, _ = registry
    frame = build_frame(schools).schools
    n, draws = 6, 4000
    expected = _probabilities(frame, n)
    # 4000 independent draws at once: the frame repeated, each copy of a county its own stratum
    # (each stratum gets its own random start, so the copies are independent selections)
    sim = pl.concat([frame.with_columns(pl.lit(d).alias("draw")) for d in range(draws)]).with_columns(
        (pl.col("county_code") + "#" + pl.col("draw").cast(pl.String)).alias("sim_stratum"))
    sel = select_schools(sim, SampleParams(schools=n, stratum="sim_stratum", random_state=99, replacements=0))
    assert (sel.group_by("sim_stratum").agg(pl.col("sampled").sum())["sampled"] == n).all()
    pis = sel.group_by("school_code").agg(pl.col("pi").first(), pl.col("sampled").mean().alias("freq"))
    pi = np.array([expected[k] for k in pis["school_code"]])
    np.testing.assert_allclose(pis["pi"].to_numpy(), pi, rtol=1e-12)
    freq = pis["freq"].to_numpy()
    se = np.sqrt(np.maximum(pi * (1 - pi), 1e-12) / draws)
    # binomial z-scores of every school's frequency: |z| < 4.5 (≈ 1 in 150,000 per school by chance)
    z = (freq - pi) / se
    assert np.all(np.abs(z) < 4.5), z
    assert np.all(freq[pi == 1.0] == 1.0)


def test_allocation_reaches_the_target(registry):
    schools, _ = registry
    frame = build_frame(schools).schools
    alloc = allocate(frame, SampleParams(target_pupils=600, pupils_per_school=20, min_schools=2))
    assert (alloc["n_schools"] >= 2).all()
    assert (alloc["n_schools"] <= alloc["n_frame"]).all()
    assert alloc["n_schools"].sum() >= 600 / 20


def test_replacements_are_unsampled_neighbours_in_the_same_stratum(registry):
    schools, _ = registry
    sel = select_schools(build_frame(schools).schools, SampleParams(schools=6, random_state=3))
    codes = sel["school_code"].to_list()
    pos = {c: i for i, c in enumerate(codes)}
    sampled = set(sel.filter(pl.col("sampled"))["school_code"])
    used = []
    for row in sel.filter(pl.col("sampled")).iter_rows(named=True):
        for col, step in (("replacement_1", 1), ("replacement_2", -1)):
            r = row[col]
            if r is not None:
                assert pos[r] == pos[row["school_code"]] + step
                assert r not in sampled
                assert sel["county_code"][pos[r]] == row["county_code"]
                used.append(r)
    assert len(used) == len(set(used)) > 0


def test_pupils_drawn_all_when_fewer_and_subjects_spiralled(registry):
    schools, pupils = registry
    params = SampleParams(schools=6, pupils_per_school=20, random_state=11)
    s = draw_sample(schools, pupils, params)
    per = s.pupils.group_by("school_code").agg(pl.len().alias("n"), pl.col("roster_size").first(),
                                               pl.col("pupil_weight").first(), pl.col("school_weight").first())
    assert (per["n"] == per["roster_size"].clip(upper_bound=20)).all()
    assert np.allclose(per["pupil_weight"], per["roster_size"] / per["n"])
    spread = s.pupils.group_by("school_code", "subject").len().group_by("school_code").agg(
        (pl.col("len").max() - pl.col("len").min()).alias("d"), pl.len().alias("k"))
    assert (spread["d"] <= 1).all()
    # base weight = school × pupil weight; the sum estimates the frame's grade enrolment in expectation
    assert np.allclose(s.pupils["base_weight"], s.pupils["school_weight"] * s.pupils["pupil_weight"])
    assert set(s.pupils.columns) >= {"student_id", "school_code", "county_code", "city_code", "stratum", "sex",
                                     "location", "subject", "school_weight", "pupil_weight", "base_weight"}
    assert "name" not in s.pupils.columns


def test_selection_is_reproducible_and_seeded(registry):
    schools, pupils = registry
    a = draw_sample(schools, pupils, SampleParams(schools=5, pupils_per_school=10, random_state=1)).pupils
    b = draw_sample(schools, pupils.sample(fraction=1.0, shuffle=True, seed=4), SampleParams(
        schools=5, pupils_per_school=10, random_state=1)).pupils
    c = draw_sample(schools, pupils, SampleParams(schools=5, pupils_per_school=10, random_state=2)).pupils
    assert a.equals(b)
    assert not a.equals(c)


def test_pupil_inclusion_frequencies_are_n_over_m(registry):
    schools, pupils = registry
    sch = pl.DataFrame({"school_code": [schools["school_code"][0]], "school_weight": [1.0]})
    roster = pupils.filter(pl.col("school_code") == sch["school_code"][0])
    m, n, draws = roster.height, 30, 2000
    # 2000 draws at once: the school repeated under 2000 codes, each drawn independently
    copies = pl.concat([roster.with_columns(pl.lit(f"c{d}").alias("school_code")) for d in range(draws)])
    sch = pl.DataFrame({"school_code": [f"c{d}" for d in range(draws)], "school_weight": [1.0] * draws})
    hits = select_pupils(copies, sch, SampleParams(pupils_per_school=n, random_state=5))["student_id"].value_counts()
    freq = hits["count"].to_numpy() / draws
    p = n / m
    assert hits.height == m or hits.height > 0.99 * m
    assert np.all(np.abs(freq - p) < 4.5 * np.sqrt(p * (1 - p) / draws))


def test_a_sampled_school_without_a_roster_is_reported():
    roster = pl.DataFrame({"student_id": ["a"], "school_code": ["x"]})
    sch = pl.DataFrame({"school_code": ["x", "y"], "school_weight": [1.0, 2.0]})
    with pytest.raises(InputError) as exc:
        select_pupils(roster, sch, SampleParams())
    assert any(i.value == "y" for i in exc.value.issues)


def _small_counties():
    """A: 3 schools; B: 6 schools of 8 pupils; C: 20 schools of 40; D: 60 schools of 25–90."""
    rng = np.random.default_rng(5)
    rows = [("A", 3, [50] * 3), ("B", 6, [8] * 6), ("C", 20, [40] * 20), ("D", 60, list(rng.integers(25, 90, 60)))]
    frame = pl.DataFrame([{"school_code": f"{c}{k:03d}", "county_code": c, "mos": int(m),
                           "location": ["城区", "镇区", "乡村"][k % 3]} for c, n, ms in rows for k, m in enumerate(ms)])
    roster = pl.DataFrame([{"student_id": f"{r['school_code']}-{i}", "school_code": r["school_code"]}
                           for r in frame.iter_rows(named=True) for i in range(r["mos"])])
    return frame, roster


def test_the_allocation_guarantees_the_reporting_minimum_or_says_why_not():
    """Issue 13.6: with the old rule (min_schools=4, 30 pupils per school) a county may get 4
    schools and about 30 pupils per subject; now every reportable county gets ≥ 5 schools and
    ≥ ⌈62 / 0.95⌉ = 66 pupils in every subject (full response), worked per county here."""
    frame, roster = _small_counties()
    old = allocate(frame, SampleParams(target_pupils=200, report_pupils=None))
    assert old.filter(pl.col("county_code") == "C")["n_schools"][0] == 4  # 4 × 30 / 4 = 30 pupils per subject
    params = SampleParams(target_pupils=200, random_state=11)
    alloc = allocate(frame, params)
    by = {r["county_code"]: r for r in alloc.iter_rows(named=True)}
    assert not by["A"]["reportable"] and "只有 3 所学校" in by["A"]["reason"]
    assert not by["B"]["reportable"] and "至多约 12 名" in by["B"]["reason"]  # 6 × ⌊8/4⌋
    assert by["C"]["reportable"] and by["C"]["n_schools"] == 10  # ⌈66 / ⌊30/4⌋⌉ = ⌈66/7⌉
    assert by["D"]["reportable"] and by["D"]["min_pupils_per_subject"] >= 66
    for seed in range(5):
        p = SampleParams(target_pupils=200, random_state=seed)
        sel = select_schools(frame, p).filter(pl.col("sampled"))
        pupils = select_pupils(roster, sel.select("school_code", "county_code", "school_weight"), p)
        counts = pupils.group_by("county_code", "subject").agg(n=pl.len(), s=pl.col("school_code").n_unique())
        ok = counts.filter(pl.col("county_code").is_in(["C", "D"]))
        assert ok.height == 8 and (ok["n"] >= 66).all() and (ok["s"] >= 5).all()


def test_a_county_short_of_pupils_takes_every_school_and_more_pupils_per_school():
    """E: 8 schools of 60 pupils. 8 × ⌊30/4⌋ = 56 < 66, so N is raised for E only: the least
    N_h with 8 × ⌊N_h/4⌋ ≥ 66 is 36 (8 × 9 = 72); every school is taken; its pupils per subject
    reach 66 and the pupil weights are roster ÷ drawn."""
    frame, roster = _small_counties()
    extra = pl.DataFrame([{"school_code": f"E{k:03d}", "county_code": "E", "mos": 60, "location": "乡村"}
                          for k in range(8)])
    frame = pl.concat([frame, extra])
    roster = pl.concat([roster, pl.DataFrame([{"student_id": f"E{k:03d}-{i}", "school_code": f"E{k:03d}"}
                                              for k in range(8) for i in range(60)])])
    p = SampleParams(target_pupils=200, random_state=4)
    alloc = {r["county_code"]: r for r in allocate(frame, p).iter_rows(named=True)}
    assert alloc["E"]["reportable"] and alloc["E"]["pupils_per_school"] == 36 and alloc["E"]["n_schools"] == 8
    assert alloc["E"]["min_pupils_per_subject"] == 72 and alloc["C"]["pupils_per_school"] == 30
    assert "全部学生" in alloc["B"]["reason"]  # 6 schools of 8: even every pupil is too few
    sel = select_schools(frame, p).filter(pl.col("sampled"))
    pupils = select_pupils(roster, sel.select("school_code", "county_code", "school_weight", "pupils_per_school"), p)
    e = pupils.filter(pl.col("county_code") == "E")
    assert e["school_code"].n_unique() == 8 and e.group_by("school_code").len()["len"].to_list() == [36] * 8
    assert (e.group_by("subject").len()["len"] >= 66).all()
    assert e["pupil_weight"].to_list() == [60 / 36] * e.height
