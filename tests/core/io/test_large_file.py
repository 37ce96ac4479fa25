"""A 50 MB roster: read, normalised and validated whole; a bad row near the end is found with its row number.

Slow (tens of seconds): ``benchmarks/import.py`` measures a 1-million-row (72 MB) file end to end.
"""

from __future__ import annotations

import pytest

from junheng.io import read_table
from junheng.registry.schemas import PUPILS
from junheng.registry.validate import validate_pupils


@pytest.mark.slow
def test_a_50_mb_gb18030_roster(tmp_path, make):
    lines = [",".join(make.PUPIL_HEADERS)]
    n = 0
    size = 0
    while size < 50_000_000:
        sid = make.student_id(n % 1000, birth=f"2011{(n // 1000) % 12 + 1:02d}{(n // 12000) % 28 + 1:02d}",
                              county=f"41{(n // 336000) % 90 + 10:02d}01")
        line = f"{sid},学生{n},{n % 2 + 1},2011-04-27,01,{make.SCHOOL_A},6,601,六(1)班"
        lines.append(line)
        size += len(line.encode("gb18030")) + 2
        n += 1
    lines[-1] = lines[-1].replace(",6,601,", ",十六,601,")  # the last row's grade is bad
    path = tmp_path / "big.csv"
    path.write_bytes("\r\n".join(lines).encode("gb18030"))
    assert path.stat().st_size >= 50_000_000
    raw = read_table(path, expected_headers=PUPILS)
    assert raw.frame.height == n
    _, issues = validate_pupils(raw, school_year=2022)
    errors = [(i.row, i.column, i.value) for i in issues if i.severity == "error"]
    assert errors == [(n + 1, "年级", "十六")]
