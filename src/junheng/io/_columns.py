"""Match a file's headers to a schema's fields (Chinese header, English field name or an alias)."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from junheng.exceptions import Issue
from junheng.io._normalise import header_key
from junheng.io._read import ROW, RawTable


@dataclass(frozen=True)
class ColumnMap:
    """field → header as written in the file, for the fields found."""

    headers: dict[str, str]

    def header(self, field: str, default: str) -> str:
        return self.headers.get(field, default)


def resolve_columns(raw: RawTable, schema) -> tuple[pl.DataFrame, list[Issue], ColumnMap]:
    """Like :func:`map_columns`, also returning which header each field was found under."""
    by_key: dict[str, str] = {}
    for c in raw.columns:
        by_key.setdefault(header_key(c), c)
    issues: list[Issue] = []
    found: dict[str, str] = {}
    for col in schema.columns:
        for name in col.names():
            h = by_key.get(header_key(name))
            if h is not None and h not in found.values():
                found[col.field] = h
                break
        else:
            if col.required:
                issues.append(raw.issue(f"缺少必需的列（可用列名: {'、'.join(dict.fromkeys(col.names()))}）",
                                        f"required column is missing (accepted headers: {', '.join(dict.fromkeys(col.names()))})",
                                        column=col.header))
    used = set(found.values())
    for c in raw.columns:
        if c not in used:
            issues.append(raw.issue("无法识别的列，已忽略", "unknown column, ignored", column=c, severity="warning"))
    exprs = [pl.col(ROW)]
    for col in schema.columns:
        h = found.get(col.field)
        exprs.append(pl.col(h).alias(col.field) if h is not None else pl.lit(None, dtype=pl.String).alias(col.field))
    return raw.frame.select(exprs), issues, ColumnMap(found)


def map_columns(raw: RawTable, schema) -> tuple[pl.DataFrame, list[Issue]]:
    """Rename ``raw``'s columns to ``schema``'s fields, matching the Chinese header, the field name
    or an alias after normalisation (full-width, spaces and brackets ignored, case folded).

    Returns the frame (``__row__`` + every schema field, String, null where the column is absent)
    and the issues: a missing required column is an error, an unknown extra column a warning.
    """
    frame, issues, _ = resolve_columns(raw, schema)
    return frame, issues
