"""The census path on Apache Spark: Parquet → score → group sums per partition → merge.

Each executor reads its share of the Parquet files (local, ``hdfs://`` or ``s3a://`` — whatever
the cluster's Spark reads), receives it as Arrow record batches (``mapInArrow``) and runs the
same function as the local engine on every batch
(:func:`junheng.fitness.stream.batch_partials`: the scoring kernel, then group sums). A
partition sends back one small Arrow batch — a row per group with its sums — and the driver
adds those up and finishes the rates with the local engine's code
(:func:`~junheng.fitness.stream.table_from_partials`).

Exactness: records are scored in integers, and without weights every group sum is a whole
number held exactly in a double (counts and score sums of 2×10^8 records stay far below 2^53),
so the table equals the local engine's to the last digit whatever the partitioning. With a
weight column the sums are of doubles, added in a partition-dependent order: equal to about
1e-15 relative.

Executors need junheng and its dependencies (see docs/guide/census.md: a packed virtualenv
shipped with ``--archives``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence

import numpy as np
import polars as pl
import pyarrow as pa

from junheng.fitness.stream import (
    census_columns,
    no_records,
    partial_layout,
    require_census_columns,
    sum_batches,
    table_from_partials,
)

ARROW_BATCH_ROWS = 1 << 17


def _flat_names() -> list[str]:
    return [name if width == 1 else f"{name}__{j}" for name, width in partial_layout() for j in range(width)]


def partition_sums(batches: Iterator[pa.RecordBatch], by: Sequence[str], weight: str | None,
                   key_types: Sequence[pa.DataType]) -> Iterator[pa.RecordBatch]:
    """The ``mapInArrow`` function: one partition's record batches → one batch of group sums
    (the key columns, then every partial flattened into float64 columns)."""
    keys, total = sum_batches(batches, by, weight)
    layout = partial_layout()
    cols = [pa.array([k[j] for k in keys], type=t) for j, t in enumerate(key_types)]
    for name, width in layout:
        v = total[name].astype(np.float64)
        cols += [pa.array(v)] if width == 1 else [pa.array(v[:, j]) for j in range(width)]
    yield pa.RecordBatch.from_arrays(cols, names=[*by, *_flat_names()])


def session(app: str = "junheng-fitness-census"):
    """The active Spark session, or a new one: the master ``spark-submit`` configured, else
    ``local[*]`` (this machine's cores) — with Arrow batches sized for the kernel."""
    from pyspark import SparkConf
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    builder = SparkSession.builder.appName(app)
    if not SparkConf().contains("spark.master"):  # not under spark-submit: this machine
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = builder.master("local[*]").config("spark.ui.enabled", "false")
    return (builder.config("spark.sql.execution.arrow.maxRecordsPerBatch", str(ARROW_BATCH_ROWS))
            .config("spark.ui.showConsoleProgress", "false")
            # splits of ≈ 32 MB (Parquet splits at row groups): every core busy on a file of a few
            # hundred MB, ≈ 100 tasks for a national year — few enough that scheduling stays cheap
            .config("spark.sql.files.maxPartitionBytes", str(32 << 20))
            .config("spark.sql.session.timeZone", "UTC").getOrCreate())


def _read(spark, paths: list[str]):
    """The Parquet files as one frame, a whole-number measure column read as a double.

    Spark takes the schema from one of the files and reads the others' columns as that type: an
    INT32 measure widens to a DOUBLE, but a DOUBLE one cannot be read as an INT32. Files of the
    census layout (:func:`junheng.io.write_census_parquet`: whole-number measures as Float64, NaN
    for a missing one) and files by other writers (the same measures as integers with nulls) in
    one folder failed when the integer file was the one Spark looked at. Reading every such column
    as a double gives the same units (whole numbers are exact in a double below 2^53) whichever
    file comes first; float measures keep their type (Float32 and Float64 round with different
    tolerances)."""
    from pyspark.sql.types import DoubleType, IntegralType, StructField, StructType

    from junheng.fitness import CENSUS_MEASURES

    df = spark.read.parquet(*paths)
    fields = df.schema.fields
    if not any(f.name in CENSUS_MEASURES and isinstance(f.dataType, IntegralType) for f in fields):
        return df
    schema = StructType([StructField(f.name, DoubleType(), True)
                         if f.name in CENSUS_MEASURES and isinstance(f.dataType, IntegralType) else f for f in fields])
    return spark.read.schema(schema).parquet(*paths)


def summarize_spark(path: str | Sequence[str], by: Sequence[str] = ("grade", "sex"), *, weight: str | None = None,
                    spark=None) -> pl.DataFrame:
    """:func:`~junheng.fitness.stream.summarize_parquet` on Spark: the same table (rows sorted
    by ``by``). ``path``: one or several Parquet files or folders, any URI the cluster reads."""
    from pyspark.sql.types import DoubleType, StructField, StructType

    spark = spark or session()
    paths = [str(path)] if isinstance(path, str | os.PathLike) else [str(p) for p in path]
    df = _read(spark, paths)
    names = df.columns
    require_census_columns(names, by, weight, paths[0])
    df = df.select(*census_columns(names, by, weight))
    key_fields = [df.schema[c] for c in by]
    out_schema = StructType([*(StructField(f.name, f.dataType, True) for f in key_fields),
                             *(StructField(n, DoubleType(), False) for n in _flat_names())])
    from pyspark.sql.pandas.types import to_arrow_type

    key_types = [to_arrow_type(f.dataType) for f in key_fields]
    by_ = list(by)

    def run(batches):
        return partition_sums(batches, by_, weight, key_types)

    sums = pl.from_arrow(df.mapInArrow(run, out_schema).toArrow())
    if by_:
        merged = sums.group_by(by_).agg(pl.all().sum())
    else:
        merged = sums.select(pl.all().sum())
    if merged.height == 0:
        raise no_records(paths[0])
    total = {}
    for name, width in partial_layout():
        cols = [name] if width == 1 else [f"{name}__{j}" for j in range(width)]
        v = merged.select(cols).to_numpy()
        total[name] = v[:, 0] if width == 1 else v
    keys = list(merged.select(by_).iter_rows()) if by_ else [()]
    return table_from_partials(keys, total, by_)


__all__ = ["partition_sums", "session", "summarize_spark"]
