"""Integer codes for id columns, so the hot paths index NumPy arrays instead of hashing strings.

Strings are hashed once (Polars' vectorised 64-bit hash), the hashes are sorted by NumPy, and the
result is *verified* by comparing every value with its category's representative — a hash
collision (vanishingly rare) falls back to an exact hash join, so codes are always exact.
"""

from __future__ import annotations

import numpy as np
import polars as pl


def _join_codes(s: pl.Series, categories: pl.Series) -> np.ndarray:
    lookup = categories.rename("v").to_frame().with_row_index("_c")
    codes = s.rename("v").to_frame().join(lookup, on="v", how="left", maintain_order="left")["_c"]
    return codes.cast(pl.Int64).fill_null(-1).to_numpy()


def encode(s: pl.Series, categories: list | None = None) -> tuple[np.ndarray, list]:
    """``(codes, categories)``: ``codes[i]`` is the index of ``s[i]`` in ``categories`` (the sorted
    unique values when not given), −1 for null or a value not among the categories."""
    if s.dtype in (pl.Categorical, pl.Enum):
        s = s.cast(pl.String)
    if s.dtype != pl.String:
        return _encode_numeric(s, categories)
    if categories is None:
        sample = s.gather_every(max(1, len(s) // 20000)) if len(s) > 50000 else s
        uniq = s.drop_nulls().unique() if sample.n_unique() <= 4096 else None
        if uniq is not None and uniq.len() <= 4096:  # few distinct values (item ids, raw codes): Enum cast
            cats = uniq.sort().to_list()
            codes = s.cast(pl.Enum(cats), strict=False).to_physical()
            return codes.cast(pl.Int64).fill_null(-1).to_numpy(), cats
    elif len(categories) <= 4096:
        codes = s.cast(pl.Enum([str(c) for c in categories]), strict=False).to_physical()
        return codes.cast(pl.Int64).fill_null(-1).to_numpy(), categories
    null = s.is_null().to_numpy()
    h = s.hash(seed=0).to_numpy()
    if categories is None:
        uh, first, inv = np.unique(np.where(null, 0, h), return_index=True, return_inverse=True)
        reps = s.gather(first)
        if not (s.is_null() | (s == reps.gather(inv))).all():  # a hash collision: be exact instead
            cats = s.drop_nulls().unique().sort()
            return _join_codes(s, cats), cats.to_list()
        order = reps.arg_sort(nulls_last=True).to_numpy().astype(np.int64)
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        codes = np.where(null, -1, rank[inv.reshape(-1)])
        cats = reps.gather(order)
        if cats.null_count():
            cats = cats.drop_nulls()
        return codes.astype(np.int64), cats.to_list()
    cat_s = pl.Series(categories, dtype=pl.String)
    ch = cat_s.hash(seed=0).to_numpy()
    order = np.argsort(ch, kind="stable")
    pos = np.clip(np.searchsorted(ch[order], h), 0, max(len(ch) - 1, 0))
    if len(ch) == 0:
        return np.full(len(s), -1, dtype=np.int64), categories
    code = order[pos]
    hit = (ch[code] == h) & ~null
    exact = pl.Series(hit) & (s == cat_s.gather(code)).fill_null(False)
    if (exact != pl.Series(hit)).any() or len(np.unique(ch)) != len(ch):
        return _join_codes(s, cat_s), categories
    return np.where(hit, code, -1).astype(np.int64), categories


def _encode_numeric(s: pl.Series, categories: list | None) -> tuple[np.ndarray, list]:
    null = s.is_null().to_numpy()
    values = s.fill_null(0).to_numpy()
    if s.dtype.is_integer() and len(values):
        lo, hi = int(values.min()), int(values.max())
        cat_arr = None if categories is None else np.asarray(categories)
        if cat_arr is not None and cat_arr.size and cat_arr.dtype.kind in "iu":
            lo, hi = min(lo, int(cat_arr.min())), max(hi, int(cat_arr.max()))
        if lo >= 0 and hi < 4 * len(values) + 1_000_000 and (cat_arr is None or cat_arr.dtype.kind in "iu"):
            # small non-negative integers (pupil numbers): a direct lookup table, no sort
            if cat_arr is None:
                present = np.zeros(hi + 1, dtype=bool)
                present[values[~null]] = True
                rank = np.cumsum(present) - 1
                codes = np.where(null, -1, rank[values])
                return codes.astype(np.int64), np.flatnonzero(present).tolist()
            table = np.full(hi + 1, -1, dtype=np.int64)
            table[cat_arr[::-1]] = np.arange(len(cat_arr))[::-1]  # first occurrence wins
            return np.where(null, -1, table[values]).astype(np.int64), list(categories)
    if categories is None:
        categories = np.unique(values[~null]).tolist()
    cats = np.asarray(categories)
    if cats.size == 0:
        return np.full(len(s), -1, dtype=np.int64), list(categories)
    order = np.argsort(cats, kind="stable")
    pos = np.clip(np.searchsorted(cats[order], values), 0, len(cats) - 1)
    codes = order[pos]
    ok = (cats[codes] == values) & ~null
    return np.where(ok, codes, -1).astype(np.int64), list(categories)
