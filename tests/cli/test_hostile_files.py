"""The hostile-input corpus (issue 12) through the CLI: ``junheng import pupils`` and ``junheng fitness
score`` refuse each bad file with exit 2 and a located bilingual message (no traceback), write nothing,
and read every good one like its clean twin."""

from __future__ import annotations

import re

import click
import openpyxl
import polars as pl
import pytest
from click.testing import CliRunner

from junheng.fitness import national_upload
from junheng.io import read_table
from junheng.synth.fitness import fitness_results
from junheng_cli.main import cli


def _check_refusal(case, result):
    # a crash is exit code 1 with the exception in result.exception, never in result.output
    assert isinstance(result.exception, SystemExit) and result.exit_code == 2, (
        case.name, result.exit_code, repr(result.exception), result.output[-500:])
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


# --- the careless user: every command that reads a file, given the wrong thing -------------------
# (a missing path, a folder, an empty file, a GB18030 CSV that is not the expected table, a workbook
# whose only sheet is some other sheet, broken JSON, a file named .parquet that is not Parquet): a
# bilingual message and exit code 2, never a traceback.

NO_FILE_INPUT = {"backup", "restore", "demo", "synth", "serve", "site serve", "site prepare", "site export",
                 "delivery export", "report annual", "report county", "report school", "sample run", "sample lists",
                 "video reanalyse", "levels show", "items export", "booklets design", "fitness census"}
VALUES = {"--subject": "数学", "--year": "2022", "--seed": "1", "--room": "101:6x8", "--weight": "weight",
          "--method": "bookmark", "--site": "T01", "--session": "语文", "--questionnaire": "S2022", "--panel": "p",
          "--date": "2022-07-01", "--per-booklet": "3"}
NAMED_FILES = {"--bank", "--items", "--design", "--schools", "--pupils", "--judgements", "--scale", "--centre-key",
               "--key", "--responses", "--seating", "--events", "--blocks"}


def _leaves(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from _leaves(command, (*prefix, name))
        elif " ".join((*prefix, name)) not in NO_FILE_INPUT:
            yield (*prefix, name), command


def _careless_files(folder):
    folder.mkdir()
    (folder / "folder").mkdir()
    (folder / "empty.csv").write_bytes(b"")
    (folder / "gb18030.csv").write_bytes("学籍号,姓名,性别\nG41010220120101001X,张三,男\n".encode("gb18030"))
    wb = openpyxl.Workbook()
    wb.active.title = "Sheet9"
    wb.active.append(["甲", "乙"])
    wb.active.append([1, 2])
    wb.save(folder / "other-sheet.xlsx")
    (folder / "broken.json").write_text("{not json", encoding="utf-8")
    (folder / "not.parquet").write_bytes(b"PAR1 not parquet")
    return {"missing": folder / "nope.csv", "folder": folder / "folder", "empty": folder / "empty.csv",
            "gb18030": folder / "gb18030.csv", "other-sheet": folder / "other-sheet.xlsx",
            "broken-json": folder / "broken.json", "not-parquet": folder / "not.parquet"}


def _args(path, command, bad, out):
    """The command with ``bad`` as every file it reads and harmless values for its other required options."""
    args = list(path)
    args += [str(bad) for p in command.params if isinstance(p, click.Argument)]
    for p in command.params:
        if isinstance(p, click.Option) and p.required:
            o = p.opts[0]
            value = (str(out / o.strip("-")) if o in ("-o", "--out", "--codes") else
                     str(bad) if o in NAMED_FILES else VALUES.get(o, "1"))
            args += [o, value]
    return args


def _assert_refused(result, what):
    crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
    assert not crashed, (what, repr(result.exception))
    assert result.exit_code == 2, (what, result.exit_code, result.output[-400:])
    assert "Traceback" not in result.output, what
    said = result.output.replace("错误 / error:", "")  # the prefix alone does not make an English message bilingual
    assert re.search(r"[\u4e00-\u9fff]", said) and re.search(r"[A-Za-z]{3}", said), (
        what, "not bilingual", result.output[-400:])


LEAVES = list(_leaves(cli))


@pytest.mark.django_db
@pytest.mark.parametrize("path,command", LEAVES, ids=[" ".join(p) for p, _ in LEAVES])
def test_a_careless_user_gets_a_message_not_a_traceback(tmp_path, path, command):
    files = _careless_files(tmp_path / "in")
    for case, bad in files.items():
        out = tmp_path / f"out-{case}"
        out.mkdir()
        result = CliRunner().invoke(cli, _args(path, command, bad, out))
        _assert_refused(result, (" ".join(path), case))


@pytest.mark.parametrize("args", [
    ["fitnes"], ["--bogus"], ["irt", "calibrate", "x.parquet", "--model", "9pl", "-o", "o.csv"],
    ["fitness", "score"], ["survey", "estimate", "d.csv"], ["booklets", "design", "--blocks", "seven"],
    ["materials", "seating", "p.csv", "--room", "101", "--seed", "x", "-o", "plan.pdf"],
], ids=lambda a: " ".join(a))
def test_a_wrong_command_line_is_explained_in_both_languages(tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.parquet").write_bytes(b"")
    (tmp_path / "d.csv").write_text("a\n1\n", encoding="utf-8")
    (tmp_path / "p.csv").write_text("a\n1\n", encoding="utf-8")
    _assert_refused(CliRunner().invoke(cli, args), args)


def test_a_workbook_given_as_an_item_bank_is_named_as_one(tmp_path):
    wb = openpyxl.Workbook()
    wb.save(tmp_path / "题库.xlsx")
    result = CliRunner().invoke(cli, ["items", "validate", str(tmp_path / "题库.xlsx")])
    _assert_refused(result, "xlsx as a bank")
    assert "题库.xlsx" in result.output and "Office" in result.output and "sheet1.xml" not in result.output


@pytest.mark.parametrize("command", [["questionnaire", "check"], ["questionnaire", "scales"]], ids=" ".join)
def test_a_sheet_that_is_not_there_is_named_with_the_sheets_that_are(tmp_path, command):
    import json

    from junheng.synth.questionnaire import student_questionnaire

    (tmp_path / "q.json").write_text(json.dumps(student_questionnaire().to_json(), ensure_ascii=False), "utf-8")
    wb = openpyxl.Workbook()
    wb.active.title = "作答"
    wb.active.append(["学籍号"])
    wb.save(tmp_path / "r.xlsx")
    out = ["-o", str(tmp_path / "s.parquet")] if command[-1] == "scales" else []
    result = CliRunner().invoke(cli, [*command, str(tmp_path / "q.json"), str(tmp_path / "r.xlsx"), "--sheet", "学生",
                                      *out])
    _assert_refused(result, command)
    assert "找不到工作表" in result.output and "no such sheet" in result.output and "作答" in result.output
    assert not (tmp_path / "s.parquet").exists()
