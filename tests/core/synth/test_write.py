"""Written files: byte-identical for a seed, the schemas' headers, encodings, round trip, atomicity."""

from __future__ import annotations

import io
import json

import polars as pl
import pytest
from openpyxl import load_workbook
from polars.testing import assert_frame_equal

from junheng.registry.schemas import PUPILS, SCHOOLS
from junheng.synth import province, write_province
from junheng.synth import write as write_module


@pytest.fixture(scope="module")
def written(tmp_path_factory, small):
    out = tmp_path_factory.mktemp("synth") / "province"
    manifest = write_province(small, out)
    return out, manifest


def _all_files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_byte_identical_files(tmp_path, written):
    out, _ = written
    again = write_province(province(scale=0.02, random_state=2022), tmp_path / "again")
    assert again["pupils"] > 0
    assert _all_files(out) == _all_files(tmp_path / "again")


def test_school_workbook_has_the_schema_headers_and_every_school(written, small):
    out, manifest = written
    wb = load_workbook(out / "schools.xlsx", read_only=True)
    assert wb.sheetnames == ["学校"]
    rows = list(wb["学校"].iter_rows(values_only=True))
    assert list(rows[0]) == SCHOOLS.headers
    assert len(rows) - 1 == small.schools.height == manifest["schools"]["rows"]
    first = dict(zip(SCHOOLS.headers, rows[1]))
    expected = small.schools.row(0, named=True)
    assert first["学校标识码"] == expected["school_code"] and first["区县代码"] == expected["county_code"]
    assert first["是否教学点"] in ("是", "否")
    assert first["六年级在校生数"] == expected["enrol_g6"]
    assert first["教学仪器设备值"] == expected["equipment_value_yuan"]


def test_school_workbook_reads_with_calamine(written, small):
    from python_calamine import CalamineWorkbook

    rows = CalamineWorkbook.from_path(str(written[0] / "schools.xlsx")).get_sheet_by_name("学校").to_python()
    assert rows[0] == SCHOOLS.headers and len(rows) == small.schools.height + 1


def test_rosters_have_the_schema_headers_and_declared_encodings(written):
    out, manifest = written
    encodings = {r["encoding"] for r in manifest["rosters"]}
    assert encodings == {"utf-8-sig", "gb18030"}
    header = ",".join(PUPILS.headers)
    for r in manifest["rosters"]:
        raw = (out / r["file"]).read_bytes()
        if r["encoding"] == "gb18030":
            assert not raw.startswith(b"\xef\xbb\xbf")
            text = raw.decode("gb18030")
            with pytest.raises(UnicodeDecodeError):
                raw.decode("utf-8")
        else:
            assert raw.startswith(b"\xef\xbb\xbf")
            text = raw.decode("utf-8-sig")
        assert text.splitlines()[0] == header
        assert len(text.splitlines()) - 1 == r["rows"]


def test_rosters_round_trip_to_the_pupil_frame(written, small):
    out, manifest = written
    frames = []
    for r in manifest["rosters"]:
        text = (out / r["file"]).read_bytes().decode(r["encoding"])
        frames.append(pl.read_csv(io.StringIO(text), infer_schema=False))
    back = pl.concat(frames).rename({c.header: c.field for c in PUPILS.columns}).with_columns(
        pl.col("sex").cast(pl.Int8), pl.col("grade").cast(pl.Int8), pl.col("birth_date").str.to_date())
    assert_frame_equal(back.sort("student_id"), small.pupils.sort("student_id"))
    assert manifest["pupils"] == small.pupils.height
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8"))["synthetic"] is True


def test_a_failure_leaves_nothing_behind(tmp_path, small, monkeypatch):
    calls = {"n": 0}
    real = write_module._csv_bytes

    def flaky(frame, encoding):
        calls["n"] += 1
        if calls["n"] == 40:
            raise OSError("disk full")
        return real(frame, encoding)

    monkeypatch.setattr(write_module, "_csv_bytes", flaky)
    with pytest.raises(OSError):
        write_province(small, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []
