"""Files the core writes get 0660 less the process umask, not ``mkstemp``'s 0600: a deployment
that shares output folders within a group sets its umask and gets files its group can read, but no
umask makes them readable by every user of the machine (exports may name pupils). The rename stays atomic: nothing is left under a temporary name."""

from __future__ import annotations

import os
import stat

import polars as pl
import pytest
from openpyxl import Workbook

from junheng.io import save_workbook, write_census_parquet, write_sheets, write_table

FRAME = pl.DataFrame({"student_id": ["G1", "G2"], "height_cm": [120.5, None], "grade": [1, 2], "sex": [1, 2]})


def _writers(folder):
    def workbook(path):
        wb = Workbook()
        wb.active["A1"] = "x"
        return save_workbook(wb, path)

    return {
        "t.parquet": lambda p: write_table(FRAME, p),
        "t.csv": lambda p: write_table(FRAME, p),
        "t.xlsx": lambda p: write_table(FRAME, p),
        "s.xlsx": lambda p: write_sheets({"a": FRAME, "b": FRAME}, p),
        "w.xlsx": workbook,
        "c.parquet": lambda p: write_census_parquet(FRAME, p),
    }


@pytest.mark.parametrize("umask", [0o002, 0o022, 0o077])
def test_written_files_honour_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        for name, write in _writers(tmp_path).items():
            path = tmp_path / name
            write(path)
            assert stat.S_IMODE(path.stat().st_mode) == 0o660 & ~umask, name
            path.chmod(0o600)
            write(path)  # over an existing file: a new one, the umask's mode again (the rename replaces it)
            assert stat.S_IMODE(path.stat().st_mode) == 0o660 & ~umask, name
    finally:
        os.umask(old)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(_writers(tmp_path))  # no .part left behind


def test_a_failed_write_leaves_neither_file_nor_temporary(tmp_path):
    path = tmp_path / "t.parquet"
    write_table(FRAME, path)
    before = path.read_bytes()
    with pytest.raises(pl.exceptions.PolarsError):
        write_table(pl.DataFrame({"x": [object()]}, schema={"x": pl.Object}), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]
