"""``junheng fitness census-layout``: a census input (a Parquet file or a folder of them) rewritten into
the census layout gives the census table of the original exactly — checked against the eager path
(``summarize(score_fitness(records))``) on the original records — and the file has the layout's
properties as its own footer records them; bad input is a bilingual error, nothing written."""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow.parquet as pq
from click.testing import CliRunner

from junheng.fitness import CENSUS_MEASURES, score_fitness, summarize
from junheng.synth.fitness import fitness_results
from junheng_cli.main import cli

from .test_fitness_cli import _roster

BY = ["county_code", "grade", "sex"]


def _records() -> pl.DataFrame:
    recs = fitness_results(_roster(400), 11, missing_rate=0.2)  # many missing items: nulls in every measure
    k = pl.int_range(pl.len())
    return recs.with_columns(pl.when(k % 7 == 0).then(None).otherwise(k % 3 + 410101).alias("county_code"),
                             pl.when(k % 5 == 0).then(None).otherwise(pl.col("vision_left")).alias("vision_left"),
                             pl.when(k % 6 == 0).then(None).otherwise(pl.col("vision_right")).alias("vision_right"))


def test_a_folder_rewritten_into_the_census_layout_gives_the_same_census_table(tmp_path):
    recs = _records()
    folder = tmp_path / "national"
    folder.mkdir()
    recs.head(150).write_parquet(folder / "part-0.parquet")  # Polars' default layout: nullable, zstd
    recs.slice(150).write_parquet(folder / "part-1.parquet")
    whole = tmp_path / "whole.parquet"
    recs.write_parquet(whole)
    out = tmp_path / "census.parquet"
    r = CliRunner().invoke(cli, ["fitness", "census-layout", str(folder), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert f"{recs.height} records, 2 file(s)" in r.output

    # the layout, as the file's footer records it
    schema = pq.ParquetFile(out).schema
    levels = {schema.column(k).name: schema.column(k).max_definition_level for k in range(len(schema))}
    measures = [c for c in CENSUS_MEASURES if c in recs.columns]
    assert len(measures) == len(CENSUS_MEASURES) and all(recs[c].null_count() for c in measures)
    assert all(levels[c] == 0 for c in measures), levels  # required: a missing measure is NaN
    assert levels["grade"] == 0 and levels["sex"] == 0 and levels["county_code"] == 1
    meta = pq.ParquetFile(out).metadata
    assert all(meta.row_group(0).column(k).compression == "UNCOMPRESSED" for k in range(meta.num_columns))
    back = pl.read_parquet(out)
    assert back.columns == recs.columns and back.height == recs.height
    for c in measures:
        assert back[c].null_count() == 0
        np.testing.assert_array_equal(back[c].is_nan().to_numpy(), recs[c].is_null().to_numpy())
        np.testing.assert_array_equal(back[c].drop_nans().to_numpy(), recs[c].drop_nulls().cast(pl.Float64).to_numpy())
    assert back.drop(measures).equals(recs.drop(measures))

    # the census of the converted file against the census of the original, and the eager path
    runs = {}
    for name, path in (("converted", out), ("original", whole)):
        table = tmp_path / f"{name}-rates.parquet"
        r = CliRunner().invoke(cli, ["fitness", "census", str(path), "--by", ",".join(BY), "-o", str(table)])
        assert r.exit_code == 0, r.output
        runs[name] = pl.read_parquet(table)
    assert runs["converted"].equals(runs["original"])
    want = summarize(score_fitness(recs), BY)
    got = runs["converted"]
    assert got.height == want.height > 3
    for c in ("n_tested", "pass_rate", "good_rate", "excellent_rate", "fail_rate", "obesity_rate"):
        assert c in got.columns and c in want.columns, c
        np.testing.assert_allclose(got[c].cast(pl.Float64).to_numpy(), want[c].cast(pl.Float64).to_numpy(),
                                   rtol=1e-12, err_msg=c)


def test_bad_input_is_a_bilingual_error_and_nothing_is_written(tmp_path, cli_refused):
    recs = _records()
    src = tmp_path / "national.parquet"
    recs.drop("grade").write_parquet(src)
    out = tmp_path / "census.parquet"
    r = CliRunner().invoke(cli, ["fitness", "census-layout", str(src), "-o", str(out)])
    cli_refused(r, 2)
    for text in ("national.parquet", "缺少必需列“grade”", "required column grade is missing"):
        assert text in r.output, (text, r.output)
    assert not out.exists() and list(tmp_path.iterdir()) == [src]

    before = src.read_bytes()  # never over its own input
    r = CliRunner().invoke(cli, ["fitness", "census-layout", str(src), "-o", str(src)])
    assert r.exit_code == 2 and "must not be the input" in r.output and src.read_bytes() == before

    folder = tmp_path / "mixed"  # a folder whose files differ: each missing column named
    folder.mkdir()
    recs.head(100).write_parquet(folder / "a.parquet")
    recs.slice(100).drop("county_code").write_parquet(folder / "b.parquet")
    r = CliRunner().invoke(cli, ["fitness", "census-layout", str(folder), "-o", str(out)])
    cli_refused(r, 2)
    for text in ("b.parquet", "county_code", "this file lacks the column (a.parquet has it)"):
        assert text in r.output, (text, r.output)
    assert not out.exists()

    (folder / "b.parquet").unlink()  # a column of another kind (text where the first file has numbers): named with both types
    recs.slice(100).with_columns(pl.col("county_code").cast(pl.String)).write_parquet(folder / "b.parquet")
    r = CliRunner().invoke(cli, ["fitness", "census-layout", str(folder), "-o", str(out)])
    cli_refused(r, 2)
    for text in ("b.parquet, column county_code", "列类型与 a.parquet 不一致", "string ≠ int64"):
        assert text in r.output, (text, r.output)
    assert not out.exists()


def test_a_file_without_statistics_has_its_nulls_found_by_reading(tmp_path):
    """A writer that records no statistics: which columns hold a null is read from the data (a key
    column with nulls stays optional, one without becomes required), and the census table is the same."""
    recs = _records()
    src = tmp_path / "nostats.parquet"
    pq.write_table(recs.to_arrow(), src, write_statistics=False, row_group_size=128)
    assert pq.ParquetFile(src).metadata.row_group(0).column(0).statistics is None
    out = tmp_path / "census.parquet"
    r = CliRunner().invoke(cli, ["fitness", "census-layout", str(src), "-o", str(out)])
    assert r.exit_code == 0, r.output
    schema = pq.ParquetFile(out).schema
    levels = {schema.column(k).name: schema.column(k).max_definition_level for k in range(len(schema))}
    assert levels["county_code"] == 1 and levels["grade"] == 0 and levels["vital_capacity"] == 0
    tables = []
    for path in (src, out):
        r = CliRunner().invoke(cli, ["fitness", "census", str(path), "--by", ",".join(BY), "-o",
                                     str(tmp_path / f"{path.stem}-rates.parquet")])
        assert r.exit_code == 0, r.output
        tables.append(pl.read_parquet(tmp_path / f"{path.stem}-rates.parquet"))
    assert tables[0].equals(tables[1])
