"""The hostile-input corpus through the core reader: every file refused with a located bilingual
message, or read exactly as its clean twin (issue 12, points 2, 8, 9)."""

from __future__ import annotations

import polars as pl
import pytest

from junheng.exceptions import InputError
from junheng.io import ROW, read_table
from junheng.registry.schemas import PUPILS
from junheng.registry.validate import validate_pupils


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, hostile, make):
    folder = tmp_path_factory.mktemp("hostile")
    return folder, hostile.build(folder, make.PUPIL_HEADERS, make.pupil_rows(6))


def _clean(make, tmp_path):
    path = make.write_csv(tmp_path / "clean.csv", make.PUPIL_HEADERS, make.pupil_rows(6))
    frame, issues = validate_pupils(read_table(path, expected_headers=PUPILS), school_year=2022)
    assert not [i for i in issues if i.severity == "error"]
    return frame.drop(ROW)


def test_every_file_is_refused_with_a_located_message_or_read_like_the_clean_one(corpus, make, tmp_path):
    folder, cases = corpus
    clean = _clean(make, tmp_path)
    for case in cases:
        path = case.path(folder)
        if case.expect == "refuse":
            with pytest.raises(InputError) as err:
                read_table(path, expected_headers=PUPILS)
            issue = err.value.issues[0]
            assert issue.file == path.name, case.name
            text = str(err.value)
            assert case.rule in text, (case.name, text)
            assert " / " in issue.message() and any("\u4e00" <= ch <= "\u9fff" for ch in issue.rule_zh), case.name
            assert "Traceback" not in text
            continue
        frame, issues = validate_pupils(read_table(path, expected_headers=PUPILS), school_year=2022)
        assert not [i for i in issues if i.severity == "error"], (case.name, issues)
        frame = frame.drop(ROW)
        if case.formula:  # the formula is read as the text typed, nothing evaluated
            assert frame["name"][0].startswith("=HYPERLINK(") or case.name == "formula-cell.xlsx", case.name
            frame = frame.with_columns(name=pl.when(pl.int_range(pl.len()) == 0).then(pl.lit(clean["name"][0]))
                                       .otherwise(pl.col("name")))
        assert frame.equals(clean), case.name


def test_a_huge_sheet_is_refused_at_the_row_where_the_limit_is_crossed(corpus):
    folder, _ = corpus
    with pytest.raises(InputError) as err:
        read_table(folder / "cell-at-XFD1048576.xlsx")
    issue = err.value.issues[0]
    assert (issue.file, issue.sheet, issue.row) == ("cell-at-XFD1048576.xlsx", "名单", 1048576)
    with pytest.raises(InputError) as err:
        read_table(folder / "wide-empty-area.xlsx")
    issue = err.value.issues[0]
    assert (issue.sheet, issue.row, issue.column) == ("名单", 200000, "GR")
    assert "200 000" in issue.rule_en.replace(",", " ") or "40,000,000" in issue.rule_en


def test_the_mixed_encoding_refusal_names_the_utf8_rows(corpus):
    folder, _ = corpus
    with pytest.raises(InputError) as err:
        read_table(folder / "mixed-gb18030-utf8.csv")
    assert [i.row for i in err.value.issues] == [3, 4, 5, 6, 7]


def test_limits_come_from_the_environment(monkeypatch, tmp_path, make):
    from junheng.io import ReadLimits

    monkeypatch.setenv("JUNHENG_MAX_ROWS", "3")
    monkeypatch.setenv("JUNHENG_MAX_CELLS", "oops")  # a typo keeps the default
    assert ReadLimits.from_env().max_rows == 3 and ReadLimits.from_env().max_cells == ReadLimits().max_cells
    path = make.write_csv(tmp_path / "p.csv", make.PUPIL_HEADERS, make.pupil_rows(6))
    with pytest.raises(InputError, match="limit of 3"):
        read_table(path)
    assert read_table(path, limits=ReadLimits(max_rows=10)).frame.height == 6


@pytest.mark.parametrize("target", ["pkg", "pkg.zip"])
def test_a_qti_package_with_entity_declarations_is_refused(tmp_path, target):
    """QTI item packages are XML people send: an entity declaration is refused, never expanded."""
    import zipfile

    from junheng.assessment import bank_from_json, read_qti, write_qti

    bank = bank_from_json({"schema": "junheng.itembank/1", "items": [
        {"item_id": "M001", "subject": "数学", "format": "single_choice", "key": "A", "options": ["1", "2"],
         "stem": "1+0=?"}]})
    path, _ = write_qti(bank, tmp_path / "ok")
    item = next(p for p in path.rglob("*.xml") if p.name != "imsmanifest.xml")
    text = item.read_text("utf-8")
    head, body = text.split("?>", 1) if text.startswith("<?xml") else ("", text)
    bomb = ('<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
            '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>')
    item.write_text((head + "?>" if head else "") + bomb + body.replace("1+0=?", "&c;"), "utf-8")
    if target.endswith(".zip"):
        pkg = tmp_path / target
        with zipfile.ZipFile(pkg, "w") as z:
            for p in path.rglob("*"):
                if p.is_file():
                    z.write(p, p.relative_to(path).as_posix())
        path = pkg
    with pytest.raises(InputError) as err:
        read_qti(path)
    assert "entity" in str(err.value).lower() and "aaaaaaaaaa" not in str(err.value)
