"""Scored-response frames → the arrays the estimators work on (validated, patterns collapsed).

The wide frame of ``docs/dev/contracts.md``: ``person_id`` plus one integer column per item,
null where the item was not administered. Categories are 0 … K−1 per item.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp

from junheng.exceptions import Issue, Issues, ParameterError

from ._models import DICHOTOMOUS, MODELS

ID_COLUMNS = ("person_id", "student_id")


@dataclass
class Responses:
    """Validated responses: Y (N × J, int16, −1 = not administered), item names, ids, groups."""

    Y: np.ndarray
    items: list[str]
    ids: pl.Series | None
    group_codes: np.ndarray  # (N,) int, index into group_labels
    group_labels: list


def item_columns(frame: pl.DataFrame, exclude: tuple[str, ...] = ()) -> list[str]:
    return [c for c in frame.columns if c not in ID_COLUMNS and c not in exclude]


def read_responses(frame: pl.DataFrame, group: str | None = None, items: list[str] | None = None,
                   file: str | None = None, calibration: bool = True) -> Responses:
    """Check a wide response frame and turn it into arrays; every bad cell is reported.

    Rows in issues are spreadsheet rows (header = row 1, so the first pupil is row 2).
    For calibration every item also needs responses in at least two score categories.
    """
    if not isinstance(frame, pl.DataFrame):
        raise ParameterError(f"responses 应为 polars DataFrame / responses must be a polars DataFrame; got {type(frame).__name__}")
    if group is not None and group not in frame.columns:
        raise ParameterError(f"分组列不存在 / group column {group!r} is not in the responses")
    cols = items if items is not None else item_columns(frame, (group,) if group else ())
    issues = Issues()
    missing = [c for c in cols if c not in frame.columns]
    for c in missing:
        issues.add(Issue("缺少题目列", "item column is missing", file=file, column=c))
    if not cols:
        issues.add(Issue("没有题目列", "no item columns", file=file))
    issues.raise_if_errors()
    Y = np.full((frame.height, len(cols)), -1, dtype=np.int16)
    for j, c in enumerate(cols):
        s = frame[c]
        if s.dtype == pl.String:
            s = s.str.strip_chars().replace("", None)
        num = s.cast(pl.Float64, strict=False)
        bad = (num.is_null() & s.is_not_null()) | (num.is_not_null() & ((num < 0) | (num != num.round()) | (num > 50)))
        if bad.any():
            for r in np.flatnonzero(bad.to_numpy()):
                issues.add(Issue("应为 0 起的整数得分或空（未作答/未施测）",
                                 "must be a whole score from 0, or empty (not administered)",
                                 file=file, row=int(r) + 2, column=c, value=s[int(r)]))
            continue
        Y[:, j] = num.fill_null(-1).to_numpy().astype(np.int16)
    issues.raise_if_errors()
    for j, c in enumerate(cols if calibration else []):
        seen = Y[:, j][Y[:, j] >= 0]
        if seen.size == 0:
            issues.add(Issue("该题没有任何作答", "the item has no responses", file=file, column=c))
        elif seen.max() == 0 or np.unique(seen).size < 2:
            issues.add(Issue("该题所有作答得分相同，无法估计", "every response to the item has the same score; it cannot be estimated",
                             file=file, column=c, value=int(seen[0])))
    issues.raise_if_errors()
    ids = None
    for c in ID_COLUMNS:
        if c in frame.columns:
            ids = frame[c]
            break
    if group is not None:
        g = frame[group]
        if g.null_count():
            r = int(np.flatnonzero(g.is_null().to_numpy())[0])
            raise ParameterError(f"分组列有空值 / group column {group!r} has empty values (first at row {r + 2})")
        labels = g.unique(maintain_order=True).to_list()
        codes = g.replace_strict(labels, list(range(len(labels))), return_dtype=pl.Int32).to_numpy()
    else:
        labels = ["all"]
        codes = np.zeros(frame.height, dtype=np.int32)
    return Responses(Y, cols, ids, codes.astype(np.int32), labels)


def resolve_models(model: str | dict, items: list[str], ncat: np.ndarray) -> list[str]:
    """Model per item: one name for all (dichotomous ↔ polytomous counterpart chosen by K), or a dict."""
    counterpart = {"rasch": "pcm", "2pl": "gpcm", "3pl": "gpcm", "pcm": "pcm", "gpcm": "gpcm", "grm": "grm"}
    dich = {"rasch": "rasch", "2pl": "2pl", "3pl": "3pl", "pcm": "rasch", "gpcm": "2pl", "grm": "2pl"}
    out = []
    for j, it in enumerate(items):
        m = model.get(it, model.get("*", "2pl")) if isinstance(model, dict) else model
        m = str(m).lower()
        if m not in MODELS:
            raise ParameterError(f"未知模型 / unknown model {m!r} for item {it!r}; expected one of {', '.join(MODELS)}")
        out.append(dich[m] if ncat[j] == 2 else counterpart[m])
        if ncat[j] > 2 and m in DICHOTOMOUS and m not in counterpart:
            raise ParameterError(f"item {it!r} is polytomous")
    return out


@dataclass
class Patterns:
    """Distinct (response pattern, group) rows with their counts, and the one-hot design.

    Rows are ordered by their set of administered items.  Every set shared by at least
    ``dense_min`` rows (a booklet) is a contiguous slice with a dense one-hot block over its
    administered (item, category) columns, so the E-step is a few BLAS products; rows with rare
    sets share one sparse matrix.
    """

    Y: np.ndarray  # (P, J)
    group: np.ndarray  # (P,)
    count: np.ndarray  # (P,) float
    inverse: np.ndarray  # (N,) pattern of each person
    dense: list  # [(slice, cols, X_block)]
    sparse: tuple | None  # (rows, X csr, XT csr) over all columns
    n_cols: int

    def loglik(self, logp: np.ndarray) -> np.ndarray:
        """Σ_j log P_j(y_pj | θ_q): (P, Q) from log P per (item, category) column (C, Q)."""
        out = np.empty((self.Y.shape[0], logp.shape[1]))
        for sl, cols, X in self.dense:
            np.matmul(X, logp[cols], out=out[sl])
        if self.sparse is not None:
            rows, X, _ = self.sparse
            out[rows] = X @ logp
        return out

    def counts(self, W: np.ndarray) -> np.ndarray:
        """Expected counts Xᵀ W: (C, Q)."""
        R = np.zeros((self.n_cols, W.shape[1]))
        for sl, cols, X in self.dense:
            R[cols] += (W[sl].T @ X).T
        if self.sparse is not None:
            rows, _, XT = self.sparse
            R += XT @ W[rows]
        return R


def collapse(Y: np.ndarray, group: np.ndarray, offsets: np.ndarray, n_cols: int, collapse: bool = True,
             dense_min: int = 200) -> Patterns:
    """Collapse identical (pattern, group) rows; one-hot X[p, off_j + y_pj] = 1 for administered items."""
    if collapse:
        key = np.ascontiguousarray(np.column_stack([Y.astype(np.int16), group.astype(np.int16)]))
        view = key.view(np.dtype((np.void, key.dtype.itemsize * key.shape[1]))).ravel()
        _, first, inverse, count = np.unique(view, return_index=True, return_inverse=True, return_counts=True)
        Yp, gp = Y[first], group[first]
        count = count.astype(float)
        inverse = inverse.ravel()
    else:
        Yp, gp, inverse, count = Y, group, np.arange(Y.shape[0]), np.ones(Y.shape[0])
    seen = Yp >= 0
    packed = np.packbits(seen, axis=1)
    pview = np.ascontiguousarray(packed).view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, mask_id, mask_n = np.unique(pview, return_inverse=True, return_counts=True)
    mask_id = mask_id.ravel()
    big = mask_n[mask_id] >= dense_min
    # order: dense sets first (grouped), then the rest
    order = np.lexsort((mask_id, ~big))
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    Yp, gp, count, seen, mask_id, big = Yp[order], gp[order], count[order], seen[order], mask_id[order], big[order]
    inverse = rank[inverse]
    dense = []
    n_big = int(big.sum())
    if n_big:
        starts = np.flatnonzero(np.r_[True, mask_id[1:n_big] != mask_id[:n_big - 1]])
        ends = np.r_[starts[1:], n_big]
        for a, b in zip(starts, ends):
            items = np.flatnonzero(seen[a])
            ncat = np.diff(np.r_[offsets, n_cols])[items]
            cols = np.concatenate([offsets[j] + np.arange(k) for j, k in zip(items, ncat)])
            local = np.concatenate([[0], np.cumsum(ncat)[:-1]])
            X = np.zeros((b - a, cols.size))
            X[np.arange(b - a)[:, None], local[None, :] + Yp[a:b][:, items]] = 1.0
            dense.append((slice(int(a), int(b)), cols, X))
    sparse = None
    if n_big < Yp.shape[0]:
        rows = np.arange(n_big, Yp.shape[0])
        r, c = np.nonzero(seen[n_big:])
        X = sp.csr_matrix((np.ones(r.size), (r, offsets[c] + Yp[n_big:][r, c])), shape=(rows.size, n_cols))
        sparse = (slice(n_big, Yp.shape[0]), X, X.T.tocsr())
    return Patterns(Yp, gp, count, inverse, dense, sparse, n_cols)
