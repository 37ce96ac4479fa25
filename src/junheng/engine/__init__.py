"""Engines for census-size work: the same kernels on one machine or on a cluster.

Public API::

    census_summary(path, by, weight=None, engine="local")   Parquet of canonical fitness records
                                                             → 达标率 … table, streamed
    ENGINES                                                  ("local", "spark")

``local`` streams record batches through a thread pool on this machine
(:func:`junheng.fitness.stream.summarize_parquet`); ``spark`` runs the same batch function
inside Spark's ``mapInArrow`` on a cluster (:mod:`junheng.engine.spark`, needs the ``spark``
extra). Both give the same table.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from junheng.exceptions import InputError, Issue, ParameterError

ENGINES = ("local", "spark")


def census_summary(path: str | Path, by: Sequence[str] = ("grade", "sex"), *, weight: str | None = None,
                   engine: str = "local") -> pl.DataFrame:
    """Read → score → aggregate the fitness records of a Parquet file (or, on Spark, files/folders
    at any URI the cluster reads) by ``by``; see :func:`junheng.fitness.summarize` for the columns."""
    if engine == "local":
        from junheng.fitness.stream import summarize_parquet

        if not Path(path).is_file():
            raise InputError(Issue("文件不存在（本机引擎读取一个 Parquet 文件）", "file not found (the local engine reads one "
                                   "Parquet file)", file=Path(path).name))

        return summarize_parquet(path, by, weight=weight)
    if engine == "spark":
        try:
            import pyspark  # noqa: F401
        except ImportError as exc:  # pyspark is an optional extra
            raise ParameterError("spark 引擎需要 pyspark / engine 'spark' needs pyspark: pip install 'junheng[spark]' (and Java 17)") from exc
        from junheng.engine.spark import summarize_spark

        return summarize_spark(str(path), by, weight=weight)
    raise ParameterError(f"未知的引擎 / engine must be one of {', '.join(ENGINES)}; got {engine!r}")


__all__ = ["ENGINES", "census_summary"]
