"""The cost of bounded reading (issue 12.2): the package check ``junheng.io`` runs before
python-calamine loads a workbook, against calamine's own load of the same sheet, for a
province-sized roster sheet (200,000 rows × 30 columns, ``JUNHENG_BENCH_ROWS`` to change); and how
fast the hostile files are refused (one value in XFD1048576; a stray value at GR200000).

    .venv/bin/python benchmarks/run.py read_limits
"""

from __future__ import annotations

import os
import tempfile
import time
import zipfile
from pathlib import Path

ROWS = int(os.environ.get("JUNHENG_BENCH_ROWS", "200000"))
COLS = 30


def _best(fn, repeat: int = 2) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def _hostile(folder: Path, name: str, far: str) -> Path:
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    row = far.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    sheet = (f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{ns}"><sheetData>'
             '<row r="1"><c r="A1" t="inlineStr"><is><t>学籍号</t></is></c></row>'
             f'<row r="{row}"><c r="{far}"><v>1</v></c></row></sheetData></worksheet>')
    wb = (f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{ns}" xmlns:r="http://schemas.openxmlformats.org/'
          'officeDocument/2006/relationships"><sheets><sheet name="s" sheetId="1" r:id="rId1"/></sheets></workbook>')
    rels = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
    path = folder / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/workbook.xml", wb)
        z.writestr("xl/_rels/workbook.xml.rels", rels)
        z.writestr("xl/worksheets/sheet1.xml", sheet)
    return path


def main() -> None:
    import polars as pl
    from python_calamine import CalamineWorkbook

    from junheng.exceptions import InputError
    from junheng.io import read_table, xlsx_bytes
    from junheng.io._limits import ReadLimits, check_workbook

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        frame = pl.DataFrame({f"c{j}": (pl.int_range(ROWS, eager=True).cast(pl.String) + "名" if j % 3 == 0
                                        else pl.int_range(ROWS, eager=True)) for j in range(COLS)})
        path = folder / "roster.xlsx"
        path.write_bytes(xlsx_bytes(frame, [f"列{j}" for j in range(COLS)], "名单"))

        def calamine():
            CalamineWorkbook.from_path(str(path)).get_sheet_by_name("名单").to_python(skip_empty_area=False)

        base = _best(calamine)
        check = _best(lambda: check_workbook(path, "名单", ReadLimits()))
        whole = _best(lambda: read_table(path), repeat=1)
        print(f"{ROWS:,} × {COLS} sheet ({path.stat().st_size / 1e6:.1f} MB): calamine load {base:.2f} s, "
              f"package check {check:.2f} s (ratio check/load {check / base:.2f}); read_table end to end {whole:.2f} s")
        for name, far in (("xfd.xlsx", "XFD1048576"), ("wide.xlsx", "GR200000")):
            p = _hostile(folder, name, far)
            t = time.perf_counter()
            try:
                read_table(p)
                verdict = "read (!)"
            except InputError as exc:
                verdict = exc.issues[0].rule_en[:60]
            print(f"{name} ({p.stat().st_size} bytes, a value in {far}): {1000 * (time.perf_counter() - t):.1f} ms — "
                  f"{verdict}")


if __name__ == "__main__":
    main()
