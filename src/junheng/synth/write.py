"""Write a synthetic province as the files a province office receives.

- ``schools.xlsx``: one sheet ``学校`` with the Chinese headers of ``SCHOOLS`` (是/否 for 教学点);
- ``rosters/<county_code>.csv``: the grade-6 rosters of the county with the Chinese headers of
  ``PUPILS``; about four in five files are UTF-8 with a BOM, the others GB18030, as schools
  write them (Excel on a Chinese Windows saves GB18030-compatible "ANSI" CSV);
- ``manifest.json``: seed, scale, every file with its encoding and row count.

Files are byte-identical for the same province: the workbook is written by a small vectorised
writer (:func:`junheng.io.xlsx_bytes`) with fixed zip time stamps, and nothing depends on the clock. The
files are first written to a scratch folder next to ``out_dir`` and moved in only when all are
written, so a failure leaves no half-written province.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl

from junheng.io import write_csv_text, xlsx_bytes
from junheng.registry.schemas import PUPILS, SCHOOLS
from junheng.synth.province import Province

SCHOOLS_FILE = "schools.xlsx"
SCHOOLS_SHEET = "学校"
ROSTERS_DIR = "rosters"
MANIFEST = "manifest.json"
GB18030_SHARE = 0.2


def roster_encodings(province: Province) -> dict[str, str]:
    """county_code → ``utf-8-sig`` or ``gb18030``, drawn from the province's seed."""
    codes = province.regions["county_code"].to_list()
    u = np.random.default_rng([province.random_state, 18030]).random(len(codes))
    return {c: ("gb18030" if x < GB18030_SHARE else "utf-8-sig") for c, x in zip(codes, u)}


def _xlsx_bytes(schools: pl.DataFrame) -> bytes:
    frame = schools.select(c.field for c in SCHOOLS.columns).with_columns(
        pl.when(pl.col("is_teaching_point")).then(pl.lit("是")).otherwise(pl.lit("否")).alias("is_teaching_point"))
    return xlsx_bytes(frame, SCHOOLS.headers, SCHOOLS_SHEET)


def _csv_bytes(pupils: pl.DataFrame, encoding: str) -> bytes:
    text = write_csv_text(pupils.rename({c.field: c.header for c in PUPILS.columns}), date_format="%Y-%m-%d")
    return text.encode(encoding)  # "utf-8-sig" writes the BOM


def write_province(province: Province, out_dir: str | Path,
                   on_file: Callable[[str], None] | None = None) -> dict:
    """Write ``schools.xlsx``, ``rosters/<county>.csv`` and ``manifest.json`` into ``out_dir``
    (created if needed; earlier synth files there are replaced). Returns the manifest.
    ``on_file(relative_path)`` is called after each file (for a progress bar); there are
    ``len(province.regions) + 2`` of them."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tick = on_file or (lambda _path: None)
    encodings = roster_encodings(province)
    scratch = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))
    try:
        (scratch / SCHOOLS_FILE).write_bytes(_xlsx_bytes(province.schools))
        tick(SCHOOLS_FILE)
        (scratch / ROSTERS_DIR).mkdir()
        county_of = province.schools.select("school_code", "county_code")
        pupils = province.pupils.join(county_of, on="school_code", how="left", maintain_order="left")
        parts = {k[0]: v.drop("county_code") for k, v in pupils.partition_by("county_code", as_dict=True).items()}
        rosters = []
        for code, name in province.regions.select("county_code", "county_name").iter_rows():
            part = parts.get(code, province.pupils.clear())
            rel = f"{ROSTERS_DIR}/{code}.csv"
            (scratch / rel).write_bytes(_csv_bytes(part, encodings[code]))
            rosters.append({"county_code": code, "county_name": name, "file": rel,
                            "encoding": encodings[code], "rows": part.height})
            tick(rel)
        manifest = {
            "generator": "junheng.synth",
            "synthetic": True,
            "note": "合成数据，不对应任何真实学生或学校 / synthetic data: no real pupil or school",
            "seed": province.random_state,
            "scale": province.scale,
            "schools": {"file": SCHOOLS_FILE, "sheet": SCHOOLS_SHEET, "rows": province.schools.height},
            "pupils": province.pupils.height,
            "rosters": rosters,
        }
        (scratch / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        tick(MANIFEST)
        out_dir.mkdir(parents=True, exist_ok=True)
        for rel in (SCHOOLS_FILE, MANIFEST, ROSTERS_DIR):
            target = out_dir / rel
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
            (scratch / rel).replace(target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return manifest
