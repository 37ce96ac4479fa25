"""``junheng import schools|pupils``: summary on success, every issue and exit 2 with nothing written."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from junheng_cli.main import cli

pytestmark = pytest.mark.django_db

def _run(*args):
    return CliRunner().invoke(cli, ["import", *map(str, args)])


def test_it_imports_schools_then_pupils_and_reruns_change_nothing(tmp_path, make):
    from junheng_web.registry.models import Pupil

    schools = make.write_xlsx(tmp_path / "s.xlsx", make.SCHOOL_HEADERS, make.school_rows())
    r = _run("schools", schools)
    assert r.exit_code == 0, r.output
    assert "新增 created 2, 更新 updated 0, 未变 unchanged 0" in r.output
    pupils = make.write_csv(tmp_path / "p.csv", make.PUPIL_HEADERS, make.pupil_rows(5), "gb18030")
    r = _run("pupils", pupils)
    assert r.exit_code == 0, r.output
    assert "p.csv: 5 行 rows — 新增 created 5, 更新 updated 0, 未变 unchanged 0" in r.output
    r = _run("pupils", pupils)
    assert "新增 created 0, 更新 updated 0, 未变 unchanged 5" in r.output
    assert Pupil.objects.count() == 5


def test_bad_rows_exit_2_print_every_issue_and_write_nothing(tmp_path, make, cli_refused):
    from junheng_web.registry.models import Pupil

    _run("schools", make.write_xlsx(tmp_path / "s.xlsx", make.SCHOOL_HEADERS, make.school_rows()))
    rows = make.pupil_rows(4)
    rows[1][2] = "男性"
    rows[2][0] = "G123"
    rows[3][3] = "2011-02-30"
    out = tmp_path / "marked.xlsx"
    r = _run("pupils", make.write_csv(tmp_path / "p.csv", make.PUPIL_HEADERS, rows), "--annotate", out)
    cli_refused(r, 2)
    assert "p.csv 第3行 性别: 应为 1（男）或 2（女），实际为 '男性'" in r.output
    assert "p.csv 第4行 学籍号: 应为 G/J/L 加 18 位数字（末位可为 X），实际为 'G123'" in r.output
    assert "p.csv 第5行 出生日期: 不是有效日期" in r.output
    assert out.exists()
    assert Pupil.objects.count() == 0


def test_dry_run_writes_nothing(tmp_path, make):
    from junheng_web.registry.models import School

    r = _run("schools", make.write_xlsx(tmp_path / "s.xlsx", make.SCHOOL_HEADERS, make.school_rows()), "--dry-run")
    assert r.exit_code == 0, r.output
    assert "试运行，未写入 / dry run, nothing written" in r.output
    assert School.objects.count() == 0


def test_an_unreadable_file_is_exit_2(tmp_path, cli_refused):
    bad = tmp_path / "x.csv"
    bad.write_bytes(b"\xff\xfe\x00\x81\x30")
    r = _run("pupils", bad)
    cli_refused(r, 2, "x.csv")


def test_demo_stage_imports_the_synthetic_files_and_writes_the_frames(tmp_path, make):
    import polars as pl

    from junheng_cli.demo import DemoContext
    from junheng_cli.demo.registry import demo_stage

    synth = tmp_path / "synth"
    (synth / "rosters").mkdir(parents=True)
    make.write_xlsx(synth / "schools.xlsx", make.SCHOOL_HEADERS, make.school_rows(), sheet="学校")
    make.write_csv(synth / "rosters" / "410102.csv", make.PUPIL_HEADERS, make.pupil_rows(4), "utf-8-sig")
    make.write_csv(synth / "rosters" / "410103.csv", make.PUPIL_HEADERS,
                   make.pupil_rows(3, school=make.SCHOOL_B, start=40), "gb18030")
    ctx = DemoContext(out=tmp_path / "out", scale=0.0, seed=1, state={"synth_dir": synth})
    demo_stage(ctx)
    pupils = pl.read_parquet(ctx.state["pupils"])
    schools = pl.read_parquet(ctx.state["schools"])
    assert pupils.height == 7 and schools.height == 2
    assert set(pupils["school_code"]) == {make.SCHOOL_A, make.SCHOOL_B}
    assert [label for label, _ in ctx.outputs] == ["registry schools", "registry pupils"]


def test_school_year_option_drives_the_age_check(tmp_path, make):
    _run("schools", make.write_xlsx(tmp_path / "s.xlsx", make.SCHOOL_HEADERS, make.school_rows()))
    path = make.write_csv(tmp_path / "p.csv", make.PUPIL_HEADERS, make.pupil_rows(2))  # born 2011-04-27, grade 6
    r = _run("pupils", path, "--school-year", "2030", "--dry-run")
    assert r.exit_code == 2
    assert "implausible for the grade (age on 1 September 2030 must be grade+3 to grade+9)" in r.output
    assert _run("pupils", path, "--school-year", "2022").exit_code == 0
