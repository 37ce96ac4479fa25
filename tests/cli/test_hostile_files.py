"""The hostile-input corpus (issue 12) through the CLI: ``junheng import pupils`` and ``junheng fitness
score`` refuse each bad file with exit 2 and a located bilingual message (no traceback), write nothing,
and read every good one like its clean twin."""

from __future__ import annotations

import polars as pl
import pytest
from click.testing import CliRunner

from junheng.fitness import national_upload
from junheng.io import read_table
from junheng.synth.fitness import fitness_results
from junheng_cli.main import cli


def _check_refusal(case, result):
    assert result.exit_code == 2, (case.name, result.exit_code, result.output[-500:])
    assert "Traceback" not in result.output and case.rule in result.output, (case.name, result.output[-500:])
    assert " / " in result.output


@pytest.mark.django_db
def test_import_pupils(tmp_path, hostile, make):
    from junheng_web.registry.models import Pupil

    run = CliRunner().invoke
    assert run(cli, ["import", "schools", str(make.write_xlsx(tmp_path / "s.xlsx", make.SCHOOL_HEADERS,
                                                               make.school_rows()))]).exit_code == 0
    folder = tmp_path / "corpus"
    for case in hostile.build(folder, make.PUPIL_HEADERS, make.pupil_rows(6)):
        before = Pupil.objects.count()
        r = run(cli, ["import", "pupils", str(case.path(folder))])
        if case.expect == "refuse":
            _check_refusal(case, r)
            assert Pupil.objects.count() == before, case.name
        else:
            assert r.exit_code == 0, (case.name, r.output[-800:])
    assert Pupil.objects.count() == 6


def test_fitness_score(tmp_path, hostile):
    from junheng.registry.codes import check_char

    ids = ["G" + b + check_char(b) for b in (f"41010220120101{k:03d}" for k in range(8))]
    roster = pl.DataFrame({"student_id": ids, "name": [f"学生{k}" for k in range(8)], "sex": [1, 2] * 4,
                           "grade": [6] * 8})
    table = national_upload(fitness_results(roster, 5), mask=False).with_columns(pl.all().cast(pl.String))
    rows = [["" if v is None else v for v in r] for r in table.iter_rows()]
    folder = tmp_path / "corpus"
    cases = hostile.build(folder, table.columns, rows, formula_column=table.columns.index("姓名"))
    reference = None
    for case in cases:
        out = tmp_path / f"out-{len(case.name)}-{cases.index(case)}.csv"
        r = CliRunner().invoke(cli, ["fitness", "score", str(case.path(folder)), "-o", str(out)])
        if case.expect == "refuse":
            _check_refusal(case, r)
            assert not out.exists() and not list(tmp_path.glob(f"{out.name}*")), case.name
            continue
        assert r.exit_code == 0, (case.name, r.output[-800:])
        scored = read_table(out).frame.drop("__row__", "姓名", "备注", strict=False)
        reference = scored if reference is None else reference
        assert scored.equals(reference), case.name
        if case.formula and case.name != "formula-cell.xlsx":  # the name comes out neutralised (masked: 1 char + **)
            assert "'=" in out.read_text("utf-8-sig")
