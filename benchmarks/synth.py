"""The synthetic province at full scale: draw, write, and the workbook writer against openpyxl.

``python benchmarks/run.py synth`` (``BENCH_SYNTH_SCALE`` overrides scale 1 = 1.5 million pupils).

1. ``junheng.synth.province(scale)``: every school and the grade-6 rosters, in memory;
2. ``write_province``: schools.xlsx + 157 roster CSVs (UTF-8 BOM / GB18030) + manifest;
3. the school list as .xlsx: junheng's vectorised writer vs openpyxl in write-only mode (the
   usual fast path) on the same frame, in the same run; both files must read back equal.
"""

from __future__ import annotations

import io
import os
import tempfile
import time
from pathlib import Path

from openpyxl import Workbook, load_workbook

from junheng.registry.schemas import SCHOOLS
from junheng.synth import province, write_province
from junheng.synth.write import SCHOOLS_SHEET, _xlsx_bytes

SCALE = float(os.environ.get("BENCH_SYNTH_SCALE", 1.0))


def _openpyxl_bytes(schools) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(SCHOOLS_SHEET)
    ws.append(SCHOOLS.headers)
    for row in schools.iter_rows():
        ws.append(["是" if v is True else "否" if v is False else v for v in row])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _rows(data: bytes) -> list[tuple]:
    return list(load_workbook(io.BytesIO(data), read_only=True)[SCHOOLS_SHEET].iter_rows(values_only=True))


def main() -> None:
    t = time.perf_counter()
    prov = province(SCALE, 2022)
    t_draw = time.perf_counter() - t
    print(f"province(scale={SCALE}): {prov.schools.height} schools, {prov.pupils.height} pupils in {t_draw:.2f} s")

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        write_province(prov, Path(tmp) / "p")
        t_write = time.perf_counter() - t
        size = sum(p.stat().st_size for p in (Path(tmp) / "p").rglob("*") if p.is_file())
    print(f"write_province: {t_write:.2f} s ({size / 1e6:.0f} MB); draw + write {t_draw + t_write:.2f} s")

    t = time.perf_counter()
    ours = _xlsx_bytes(prov.schools)
    t_ours = time.perf_counter() - t
    t = time.perf_counter()
    base = _openpyxl_bytes(prov.schools.select(c.field for c in SCHOOLS.columns))
    t_base = time.perf_counter() - t
    same = _rows(ours) == _rows(base)
    print(f"schools.xlsx ({prov.schools.height} rows): junheng writer {t_ours:.2f} s, "
          f"openpyxl write-only {t_base:.2f} s → {t_base / t_ours:.1f}× faster; same cells: {same}")


if __name__ == "__main__":
    main()
