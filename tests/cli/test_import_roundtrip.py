"""Round trip against an independent source: the synthetic province written to files (xlsx + GB18030/BOM
CSV rosters), imported by the demo stage, read back from the database — equals the generator's own frames."""

from __future__ import annotations

import polars as pl
import pytest

pytestmark = pytest.mark.django_db


def test_imported_registry_equals_the_synthetic_province(tmp_path):
    from junheng.synth import province
    from junheng.synth.write import write_province
    from junheng_cli.demo import DemoContext
    from junheng_cli.demo.registry import demo_stage

    prov = province(0.003, 11)
    write_province(prov, tmp_path / "synth")
    ctx = DemoContext(out=tmp_path / "out", scale=0.003, seed=11, state={"synth_dir": tmp_path / "synth"})
    demo_stage(ctx)
    pupils = pl.read_parquet(ctx.state["pupils"])
    expected = prov.pupils.sort("student_id").select(pupils.columns)
    assert pupils.height == expected.height > 0
    assert pupils.equals(expected)
    schools = pl.read_parquet(ctx.state["schools"])
    want = prov.schools.sort("school_code")
    assert schools.select(want.columns).cast({c: pl.Float64 for c in want.columns if want[c].dtype.is_numeric()}).equals(
        want.cast({c: pl.Float64 for c in want.columns if want[c].dtype.is_numeric()}))
