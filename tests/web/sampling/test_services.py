"""run_sample / site lists / replace_school / compute_weights over the ORM (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from junheng.exceptions import ParameterError

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    from junheng_web.registry.models import Cycle, Pupil, Region, School

    rng = np.random.default_rng(3)
    city = Region.objects.create(code="410100", level="city", name="郑州市")
    pupils = []
    k = 0
    for c, cname in (("410102", "中原区"), ("410103", "二七区")):
        county = Region.objects.create(code=c, level="county", name=cname, parent=city)
        for j in range(8):
            k += 1
            size = int(rng.integers(8, 40))
            school = School.objects.create(code=f"2141{k:06d}", name=f"第{k}小学", county=county, stage="小学",
                                           location=["城区", "镇区", "乡村"][j % 3], enrol_g6=size)
            pupils += [Pupil(student_id=f"G41{k:04d}{i:012d}", name=f"王小{i}", sex=1 + i % 2,
                             birth_date=dt.date(2013, 1, 1), school=school, grade=6) for i in range(size)]
    # a special school (类别码 51): in scope but excluded from the frame
    county = Region.objects.get(code="410102", level="county")
    School.objects.create(code="5141000099", name="特教学校", county=county, stage="小学", location="城区", enrol_g6=20)
    Pupil.objects.bulk_create(pupils)
    return Cycle.objects.create(year=2022, grade=6, subjects=["语文", "数学", "英语", "科学"])


PARAMS = {"schools": 4, "pupils_per_school": 10, "seed": 7}


def test_it_draws_and_saves_the_sample(world):
    from junheng_web.sampling.models import SampledPupil, SampledSchool
    from junheng_web.sampling.services import pupil_sample, run_sample

    steps = []
    run = run_sample(world, PARAMS, progress=lambda f, m: steps.append(f))
    assert steps[-1] == 1.0
    assert run.summary["schools"] == 8 and run.summary["excluded_schools"] == 1
    sampled = SampledSchool.objects.filter(run=run, role="sampled")
    assert sampled.count() == 8
    assert not SampledSchool.objects.filter(school__code="5141000099").exists()
    for s in sampled:
        for rep in s.replacements.all():
            assert rep.stratum == s.stratum and rep.role.startswith("replacement")
    frame = pupil_sample(world)
    assert frame.height == SampledPupil.objects.filter(run=run).count()
    assert frame.group_by("school_code").len()["len"].max() <= 10
    assert set(frame["subject"]) <= {"语文", "数学", "英语", "科学"}
    np.testing.assert_allclose(frame["base_weight"], frame["school_weight"] * frame["pupil_weight"])


def test_a_rerun_with_the_same_seed_gives_the_same_sample(world):
    from junheng_web.sampling.services import pupil_sample, run_sample

    run_sample(world, PARAMS)
    a = pupil_sample(world)
    run_sample(world, PARAMS)
    assert pupil_sample(world).equals(a)


def test_unknown_parameters_are_refused(world):
    from junheng_web.sampling.services import run_sample

    with pytest.raises(ParameterError, match="unknown sampling parameters"):
        run_sample(world, {"pupils_per_shcool": 10})


def test_site_lists_are_masked_unless_asked(world):
    from junheng_web.sampling.models import SampledSchool
    from junheng_web.sampling.services import run_sample, site_list, site_list_bytes

    run = run_sample(world, PARAMS)
    code = SampledSchool.objects.filter(run=run, role="sampled").first().school.code
    masked = site_list(world, code)
    assert masked.columns == ["序号", "学籍号", "姓名", "性别", "班级", "测试科目"]
    assert masked["姓名"].str.ends_with("**").all() and masked["学籍号"].str.contains(r"\*{10}").all()
    full = site_list(world, code, unmask=True)
    assert full["姓名"].str.starts_with("王小").all()
    data = site_list_bytes(world, code)
    assert data.startswith("\ufeff".encode()) and "测试科目".encode() in data
    assert site_list_bytes(world, code, fmt="xlsx")[:2] == b"PK"


def test_a_refusing_school_is_replaced_with_its_weight(world):
    from junheng_web.sampling.models import SampledSchool
    from junheng_web.sampling.services import replace_school, run_sample

    run = run_sample(world, PARAMS)
    original = next(s for s in SampledSchool.objects.filter(run=run, role="sampled") if s.replacements.exists())
    rep = replace_school(original)
    original.refresh_from_db()
    assert original.status == "refused" and original.pupils.count() == 0
    assert rep.status == "participating" and rep.school_weight == original.school_weight
    assert rep.pupils.count() == min(10, rep.school.enrol_g6)


def test_a_school_already_replaced_is_not_replaced_again(world):
    """The replace button sent twice (a double click, the form again from the history): the second
    request is refused with a message naming the replacement, and the school's second replacement
    stays pending — it activated it too, two schools in the place of one."""
    from junheng_web.registry.models import Pupil, School
    from junheng_web.sampling.models import SampledSchool
    from junheng_web.sampling.services import replace_school, run_sample

    run = run_sample(world, PARAMS)
    original = next(s for s in SampledSchool.objects.filter(run=run, role="sampled")
                    if list(s.replacements.values_list("role", flat=True)) == ["replacement_1"])
    spare = School.objects.create(code="2141000099", name="备用小学", county=original.school.county, stage="小学",
                                  location="城区", enrol_g6=12)  # a second replacement, not in the sample
    Pupil.objects.bulk_create([Pupil(student_id=f"G419999{i:012d}", name=f"李小{i}", sex=1 + i % 2, grade=6,
                                     birth_date=dt.date(2013, 1, 1), school=spare) for i in range(12)])
    SampledSchool.objects.create(run=run, cycle=world, school=spare, role="replacement_2", replaces=original,
                                 stratum=original.stratum, sort_order=99, mos=spare.enrol_g6)
    first = replace_school(original)
    original.refresh_from_db()
    with pytest.raises(ParameterError, match=f"已由 {first.school.code}.*不能再次替补.*replaced by {first.school.code}"):
        replace_school(original, SampledSchool.Status.CLOSED)
    original.refresh_from_db()
    assert original.status == "refused"
    assert {r.role: r.status for r in original.replacements.all()} == {"replacement_1": "participating",
                                                                       "replacement_2": "pending"}
    # a stale copy of the row (read before the first replacement) is refused in the write
    stale = SampledSchool.objects.get(pk=original.pk)
    stale.status = "pending"
    with pytest.raises(ParameterError, match="不能再次替补"):
        replace_school(stale)
    assert SampledSchool.objects.filter(replaces=original, status="participating").count() == 1


def test_weights_are_computed_and_saved(world):
    from junheng_web.sampling.models import SampledPupil
    from junheng_web.sampling.services import compute_weights, pupil_sample, run_sample

    run = run_sample(world, PARAMS)
    frame = pupil_sample(world)
    responded = set(frame["student_id"].to_list()[::3]) | set(frame["student_id"].to_list()[1::3])
    ws = compute_weights(world, responded, replicates=8)
    w = pl.read_parquet(ws.path)
    assert w.height == frame.height and "rep_8" in w.columns
    np.testing.assert_allclose(w["weight"].sum(), frame["base_weight"].sum(), rtol=1e-9)
    saved = SampledPupil.objects.filter(run=run, responded=False)
    assert saved.count() == frame.height - len(responded) and all(p.weight == 0 for p in saved)


def test_cli_run_and_lists_use_the_database(world, tmp_path):
    from click.testing import CliRunner

    from junheng_cli.main import cli

    runner = CliRunner()
    res = runner.invoke(cli, ["sample", "run", "--year", "2022", "--per-school", "10", "--seed", "3"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli, ["sample", "lists", "--year", "2022", "--out", str(tmp_path / "lists")])
    assert res.exit_code == 0, res.output
    files = list((tmp_path / "lists").glob("*.csv"))
    assert files and all("**" in f.read_text(encoding="utf-8-sig") for f in files)
    res = runner.invoke(cli, ["sample", "run", "--year", "1999"])
    assert res.exit_code == 2 and "no cycle" in res.output


def test_design_joins_results_to_the_latest_weights(world):
    from junheng.survey import NO_RULE, mean
    from junheng_web.sampling.services import compute_weights, design, pupil_sample, run_sample

    run_sample(world, PARAMS)
    with pytest.raises(ParameterError, match="no weights yet"):
        design(world, pupil_sample(world))
    compute_weights(world, replicates=8, method="fay")
    frame = pupil_sample(world).select("student_id").with_columns(pl.lit(1.0).alias("y"))
    d = design(world, frame, rule=NO_RULE)
    assert d.method == "fay" and d.n_replicates == 8
    r = mean(d, "y")
    assert r["estimate"][0] == pytest.approx(1.0) and r["se"][0] == pytest.approx(0.0, abs=1e-12)
    assert r["n_schools"][0] == pupil_sample(world)["school_code"].n_unique()


def test_a_core_sample_is_saved_against_the_registry(world):
    from junheng.survey.pipeline import draw_sample
    from junheng.survey.selection import SampleParams
    from junheng_web.registry.models import Pupil
    from junheng_web.sampling.models import SampledPupil
    from junheng_web.sampling.services import pupil_sample, registry_schools, save_sample

    schools = registry_schools(6)
    roster = pl.DataFrame(list(Pupil.objects.values_list("student_id", "sex", "school__code", "grade")),
                          schema=["student_id", "sex", "school_code", "grade"], orient="row")
    sample = draw_sample(schools.drop("school_pk"), roster, SampleParams(schools=3, pupils_per_school=5, random_state=1))
    run = save_sample(world, sample, {"schools": 3}, seed=1)
    assert SampledPupil.objects.filter(run=run).count() == sample.pupils.height
    saved = pupil_sample(world).sort("student_id")
    np.testing.assert_allclose(saved["base_weight"], sample.pupils.sort("student_id")["base_weight"])


def test_a_redraw_over_weights_needs_a_decision_and_keeps_it(world):
    """Issue 12.9: replacing a weighted sample is refused without a decision; with one, the new
    sample records who decided, why, and what was discarded."""
    from junheng_web.sampling.models import SampledPupil
    from junheng_web.sampling.services import run_sample

    first = run_sample(world, PARAMS)
    SampledPupil.objects.filter(run=first).update(weight=5.0)
    with pytest.raises(ParameterError, match="权重"):
        run_sample(world, {**PARAMS, "seed": 8})
    assert SampledPupil.objects.filter(run=first, weight=5.0).count() == first.summary["pupils"]
    run = run_sample(world, {**PARAMS, "seed": 8}, decision={"by": "alice", "reason": "框更新"})
    replaced = run.summary["replaced"]
    assert replaced["by"] == "alice" and replaced["reason"] == "框更新" and replaced["previous_run"] == first.pk
    assert replaced["losses"]["weighted_pupils"] == first.summary["pupils"]
