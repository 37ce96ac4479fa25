"""Bounded reading (issue 12.2), memory-bounded: each read runs in a subprocess under an address-space
limit (RLIMIT_AS) and a time limit. Before the fix python-calamine allocated the whole declared
area — 16384 × 1048576 cells for one value in XFD1048576 — and the process died."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

resource = pytest.importorskip("resource")

MEMORY = 1 << 30  # 1 GiB of address space for interpreter, Polars, calamine and the read
SECONDS = 30

_CHILD = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({memory}, {memory}))
from junheng.exceptions import InputError
from junheng.io import read_table
try:
    raw = read_table(sys.argv[1])
    print(json.dumps({{"rows": raw.frame.height}}))
except InputError as exc:
    i = exc.issues[0]
    print(json.dumps({{"refused": i.message(), "row": i.row, "column": i.column}}))
"""

pytestmark = pytest.mark.integration  # each read runs in a memory-bounded child process


def _read_bounded(path) -> tuple[dict, float]:
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", _CHILD.format(memory=MEMORY), str(path)], capture_output=True,
                          text=True, timeout=SECONDS)
    elapsed = time.monotonic() - start
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1]), elapsed


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, hostile, make):
    folder = tmp_path_factory.mktemp("bounded")
    hostile.build(folder, make.PUPIL_HEADERS, make.pupil_rows(6))
    return folder


def test_one_value_in_XFD1048576_is_refused_within_the_memory_limit(corpus):
    out, elapsed = _read_bounded(corpus / "cell-at-XFD1048576.xlsx")
    assert out["row"] == 1048576 and "limit" in out["refused"], out
    assert elapsed < SECONDS


def test_a_200_column_by_200k_row_area_is_refused_within_the_memory_limit(corpus):
    out, _ = _read_bounded(corpus / "wide-empty-area.xlsx")
    assert (out["row"], out["column"]) == (200000, "GR"), out


def test_a_zip_bomb_is_refused_within_the_memory_limit(corpus):
    out, _ = _read_bounded(corpus / "zip-bomb.xlsx")
    assert "zip bomb" in out["refused"], out


def test_a_declared_but_empty_range_reads_what_is_there(corpus):
    out, _ = _read_bounded(corpus / "declared-XFD1048576.xlsx")
    assert out == {"rows": 6}
