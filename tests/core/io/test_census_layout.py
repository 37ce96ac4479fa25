"""write_census_parquet's layout as the Parquet file itself records it (pyarrow's reading of the
file's footer, the format's own names): what docs/guide/census.md promises — dictionary-encoded
columns, uncompressed pages, required fields where a column has no null, a missing measure stored
as NaN, row groups of 2^17 records — and the frame's values back."""

from __future__ import annotations

import numpy as np
import polars as pl

from junheng.io import write_census_parquet


def _frame(n: int) -> pl.DataFrame:
    rng = np.random.default_rng(1)
    return pl.DataFrame({"county": (410100 + rng.integers(0, 4, n)).astype(np.int32),
                         "height_cm": rng.integers(1200, 1800, n) / 10,  # measured to 0.1 cm: values repeat
                         "sex": rng.choice(["男", "女"], n)})


def test_the_census_layout_is_dictionary_pages_uncompressed_and_row_groups_of_the_size_asked(tmp_path):
    import pyarrow.parquet as pq

    frame = _frame(1000)
    path = write_census_parquet(frame, tmp_path / "c.parquet", row_group_size=300)
    meta = pq.ParquetFile(path).metadata
    assert [meta.row_group(k).num_rows for k in range(meta.num_row_groups)] == [300, 300, 300, 100]
    for k in range(meta.num_row_groups):
        for c in range(meta.num_columns):
            col = meta.row_group(k).column(c)
            assert col.compression == "UNCOMPRESSED", (k, col.path_in_schema)
            assert col.has_dictionary_page and {"RLE_DICTIONARY", "PLAIN_DICTIONARY"} & set(col.encodings), \
                (k, col.path_in_schema, col.encodings)
    assert pl.read_parquet(path).equals(frame)


def test_columns_without_nulls_are_required_and_missing_measures_are_nan(tmp_path):
    """A required Parquet field has no definition levels (max level 0). Measures (height, a
    whole-number item, a float32 item) lose their nulls to NaN — whole numbers as Float64, float32
    kept; a key column with a null and a text column keep theirs."""
    import pyarrow.parquet as pq

    frame = pl.DataFrame({"county": [410101, None, 410103, 410101], "grade": [1, 2, 3, 4],
                          "height_cm": [120.5, None, 131.0, 140.2],
                          "vital_capacity": pl.Series([900, None, 1500, 2**60 + 1], dtype=pl.Int64),
                          "run_50m": pl.Series([9.1, None, 10.2, 8.8], dtype=pl.Float32),
                          "note": ["a", None, "c", "d"]})
    path = write_census_parquet(frame, tmp_path / "c.parquet")
    schema = pq.ParquetFile(path).schema
    levels = {schema.column(k).name: schema.column(k).max_definition_level for k in range(len(schema))}
    assert levels == {"county": 1, "grade": 0, "height_cm": 0, "vital_capacity": 0, "run_50m": 0, "note": 1}
    back = pl.read_parquet(path)
    assert back.schema == {"county": pl.Int64, "grade": pl.Int64, "height_cm": pl.Float64,
                           "vital_capacity": pl.Float64, "run_50m": pl.Float32, "note": pl.String}
    nan = float("nan")
    assert back["county"].to_list() == [410101, None, 410103, 410101] and back["note"].to_list() == ["a", None, "c", "d"]
    np.testing.assert_array_equal(back["height_cm"].to_numpy(), [120.5, nan, 131.0, 140.2])
    np.testing.assert_array_equal(back["vital_capacity"].to_numpy(), [900.0, nan, 1500.0, 2.0**60])
    np.testing.assert_array_equal(back["run_50m"].to_numpy(), np.array([9.1, nan, 10.2, 8.8], np.float32))


def test_a_census_file_holds_2_17_records_a_row_group_by_default(tmp_path):
    import pyarrow.parquet as pq

    path = write_census_parquet(_frame(2**17 + 5), tmp_path / "c.parquet")
    meta = pq.ParquetFile(path).metadata
    assert [meta.row_group(k).num_rows for k in range(meta.num_row_groups)] == [131072, 5]


def test_batches_of_any_size_are_streamed_into_the_same_file_as_the_whole_frame(tmp_path):
    """A file read batch by batch (uneven batches, a measure null in a later batch only, a key column's null
    named in ``nullable``) gives full row groups and the very file the whole frame gives."""
    import pyarrow.parquet as pq

    from junheng.exceptions import ParameterError

    n = 1000
    k = np.arange(n)
    frame = pl.DataFrame({"county": 410100 + k % 4, "grade": k % 9 + 1, "vital_capacity": (900 + k).astype(np.int32)})
    frame = frame.with_columns(pl.when(pl.col("grade") == 1).then(None).otherwise(pl.col("county")).alias("county"),
                               pl.when(pl.int_range(pl.len()) > 700).then(None).otherwise(pl.col("vital_capacity"))
                               .alias("vital_capacity"))
    whole = write_census_parquet(frame, tmp_path / "whole.parquet", row_group_size=300)
    cuts = [0, 7, 250, 251, 640, 999, 1000]
    seen = []
    streamed = write_census_parquet((frame[a:b] for a, b in zip(cuts, cuts[1:])), tmp_path / "streamed.parquet",
                                    row_group_size=300, nullable=["county"], progress=seen.append)
    assert seen == [7, 243, 1, 389, 359, 1]
    meta = pq.ParquetFile(streamed).metadata
    assert [meta.row_group(g).num_rows for g in range(meta.num_row_groups)] == [300, 300, 300, 100]
    assert pq.ParquetFile(streamed).schema == pq.ParquetFile(whole).schema
    assert pl.read_parquet(streamed).equals(pl.read_parquet(whole))
    try:  # a null in a column not named nullable: refused, nothing left behind
        write_census_parquet(iter([frame]), tmp_path / "bad.parquet", nullable=[])
    except ParameterError as exc:
        assert "county" in str(exc)
    else:
        raise AssertionError("a null outside nullable was written")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["streamed.parquet", "whole.parquet"]
