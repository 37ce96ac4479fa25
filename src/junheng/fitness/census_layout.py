"""Rewriting census input into the census layout (:func:`junheng.io.write_census_parquet`), streamed:
the files' footers are checked first (the census's columns, one set of columns and one kind of
type in every file, which columns hold a null), then the records go through one row group at a time
— a national year (2×10^8 records) in bounded memory.  ``junheng fitness census-layout`` is a thin
command over :func:`rewrite_census_parquet`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import polars as pl
import pyarrow as pa

from junheng.exceptions import InputError, Issue, raise_for
from junheng.fitness.stream import no_records, require_census_columns
from junheng.io import open_parquet, write_census_parquet

_BATCH = 1 << 17


def _nullable_columns(pf, names: Sequence[str]) -> set[str]:
    """The columns of an open Parquet file holding a null: from the footer's statistics, or (a column
    chunk whose statistics lack a null count) by reading that chunk alone, one row group a call."""
    meta = pf.metadata
    found: set[str] = set()
    unknown: dict[int, list[str]] = {}
    for g in range(meta.num_row_groups):
        rg = meta.row_group(g)
        for j in range(rg.num_columns):
            col = rg.column(j)
            stats = col.statistics
            if stats is None or not stats.has_null_count:
                unknown.setdefault(g, []).append(col.path_in_schema)
            elif stats.null_count:
                found.add(col.path_in_schema)
    for g, cols in unknown.items():
        cols = [c for c in cols if c in names and c not in found]
        if cols:
            for rb in pf.iter_batches(batch_size=_BATCH, row_groups=[g], columns=cols):
                found.update(c for c, a in zip(rb.schema.names, rb.columns) if a.null_count)
    return found


def _type_kind(t) -> str:
    """What a column's Arrow type must agree on across a folder's files: integers (any width) and
    floats are one kind (a measure is Int32 in an older file, Float64 in a census-layout one)."""
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        return "number"
    if pa.types.is_dictionary(t):
        return _type_kind(t.value_type)
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "text"
    return str(t)


def _survey(files: Sequence[Path], label: str) -> tuple[list[str], set[str], int]:
    """Footers only, before a record is written: the columns (every file the same set, of the same
    kinds), those holding a null in any file, and the number of records."""
    names: list[str] | None = None
    first_types: dict = {}
    nullable: set[str] = set()
    total = 0
    for f in files:
        with open_parquet(f) as pf:
            schema = pf.schema_arrow
            have = schema.names
            require_census_columns(have, (), None, f.name)
            types = dict(zip(have, schema.types))
            if names is None:
                names, first_types = have, types
            elif set(have) != set(names):
                issues = [Issue("文件夹中的文件列不一致：其他文件没有此列", "the folder's files differ: the other files lack "
                                "this column", file=f.name, column=c) for c in have if c not in names]
                issues += [Issue(f"文件夹中的文件列不一致：此文件缺少列（{files[0].name} 有）", f"the folder's files differ: "
                                 f"this file lacks the column ({files[0].name} has it)", file=f.name, column=c)
                           for c in names if c not in have]
                raise InputError(issues, f"{label}: 文件夹中的 Parquet 文件须为同一组列 / the folder's Parquet "
                                         "files must hold the same columns")
            else:
                clash = [c for c in names if _type_kind(types[c]) != _type_kind(first_types[c])]
                raise_for([Issue(f"列类型与 {files[0].name} 不一致", f"the column's type differs from {files[0].name}'s",
                                 file=f.name, column=c, value=f"{types[c]} ≠ {first_types[c]}") for c in clash],
                          f"{label}: 文件夹中的 Parquet 文件列类型须一致 / the folder's Parquet files must hold "
                          "columns of the same types")
            nullable |= _nullable_columns(pf, names)
            total += pf.metadata.num_rows
    if total == 0:
        raise no_records(label)
    assert names is not None
    return names, nullable, total


def rewrite_census_parquet(files: Sequence[Path], outfile: Path, *, label: str,
                           progress: Callable[[int], object] | None = None, on_total: Callable[[int], object] | None = None
                           ) -> int:
    """Write the records of ``files`` (Parquet of canonical records, one schema; in this order) into
    ``outfile`` in the census layout; returns the number of records.  ``label`` names the input in
    messages (the file or folder), ``on_total(n)`` is told the count once the footers are read,
    ``progress(k)`` each batch written.  Bad input raises :class:`InputError` naming file and column
    before anything is written; the file is written atomically (nothing partial on error)."""
    names, nullable, total = _survey(files, label)
    if on_total is not None:
        on_total(total)
    current = {"file": files[0].name}

    def batches():
        for f in files:
            current["file"] = f.name
            with open_parquet(f) as pf:
                # one row group a call: a single iter_batches over the whole file kept what it had read
                # (pyarrow 26: +2 MB of Arrow memory a batch, 0.4 GB at 2.4×10^7 records; this way 25 MB flat)
                for g in range(pf.metadata.num_row_groups):
                    for rb in pf.iter_batches(batch_size=_BATCH, row_groups=[g], columns=names):
                        yield pl.from_arrow(rb)

    try:
        write_census_parquet(batches(), outfile, nullable=nullable, progress=progress)
    except (pa.ArrowException, pl.exceptions.PolarsError) as exc:
        raise InputError(Issue("无法转换为普查布局（列类型与文件夹中第一个文件不一致？）", "cannot rewrite into the census "
                               f"layout (a column's type differs from {files[0].name}'s?)", file=current["file"],
                               value=str(exc)[:160])) from None
    return total


__all__ = ["rewrite_census_parquet"]
