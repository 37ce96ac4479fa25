"""write_census_parquet's layout as the Parquet file itself records it (pyarrow's reading of the
file's footer, the format's own names): what docs/guide/census.md promises — dictionary-encoded
columns, snappy pages, row groups of 2^17 records — and the frame's values back unchanged."""

from __future__ import annotations

import numpy as np
import polars as pl

from junheng.io import write_census_parquet


def _frame(n: int) -> pl.DataFrame:
    rng = np.random.default_rng(1)
    return pl.DataFrame({"county": (410100 + rng.integers(0, 4, n)).astype(np.int32),
                         "height": rng.integers(1200, 1800, n) / 10,  # measured to 0.1 cm: values repeat
                         "sex": rng.choice(["男", "女"], n)})


def test_the_census_layout_is_dictionary_pages_snappy_and_row_groups_of_the_size_asked(tmp_path):
    import pyarrow.parquet as pq

    frame = _frame(1000)
    path = write_census_parquet(frame, tmp_path / "c.parquet", row_group_size=300)
    meta = pq.ParquetFile(path).metadata
    assert [meta.row_group(k).num_rows for k in range(meta.num_row_groups)] == [300, 300, 300, 100]
    for k in range(meta.num_row_groups):
        for c in range(meta.num_columns):
            col = meta.row_group(k).column(c)
            assert col.compression == "SNAPPY", (k, col.path_in_schema)
            assert col.has_dictionary_page and {"RLE_DICTIONARY", "PLAIN_DICTIONARY"} & set(col.encodings), \
                (k, col.path_in_schema, col.encodings)
    assert pl.read_parquet(path).equals(frame)


def test_a_census_file_holds_2_17_records_a_row_group_by_default(tmp_path):
    import pyarrow.parquet as pq

    path = write_census_parquet(_frame(2**17 + 5), tmp_path / "c.parquet")
    meta = pq.ParquetFile(path).metadata
    assert [meta.row_group(k).num_rows for k in range(meta.num_row_groups)] == [131072, 5]
