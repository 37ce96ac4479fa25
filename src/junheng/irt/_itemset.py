"""A set of calibrated items grouped into blocks of one model and one category count.

Converts to and from the ITEMS.csv frame of ``docs/dev/contracts.md``:
``item_id, model, a, b, c, b_1 … b_k`` (logistic metric, D = 1) and ``se_<param>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from junheng.exceptions import Issue, Issues

from . import _models as M


@dataclass
class Block:
    model: str
    ncat: int
    idx: np.ndarray  # positions of the block's items in the item list
    par: np.ndarray  # (J_b, p) slope–intercept
    fixed: np.ndarray  # (J_b,) bool: parameters held at given values
    cov: np.ndarray | None = None  # (J_b, p, p) sampling covariance of par

    @property
    def free(self) -> np.ndarray:
        return M.free_mask(self.model, self.ncat)


@dataclass
class ItemSet:
    items: list[str]
    ncat: np.ndarray
    blocks: list[Block] = field(default_factory=list)

    @property
    def offsets(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.ncat)[:-1]]).astype(np.int64)

    @property
    def n_cols(self) -> int:
        return int(self.ncat.sum())

    def block_cols(self, b: Block) -> np.ndarray:
        """Indicator-column indices (J_b, K) of the block's (item, category) cells."""
        return self.offsets[b.idx][:, None] + np.arange(b.ncat)[None, :]

    def log_probs(self, theta: np.ndarray) -> np.ndarray:
        """log P for every (item, category) column at every node: (C, Q)."""
        out = np.empty((self.n_cols, theta.size))
        for b in self.blocks:
            P = M.probs(b.model, b.par, theta)
            out[self.block_cols(b).ravel()] = np.log(np.clip(P, 1e-300, None)).reshape(-1, theta.size)
        return out

    def models(self) -> list[str]:
        out = [""] * len(self.items)
        for b in self.blocks:
            for i in b.idx:
                out[i] = b.model
        return out

    def subset(self, names: list[str]) -> ItemSet:
        """The items in ``names`` order (every name must be present)."""
        pos = {n: i for i, n in enumerate(self.items)}
        where = {}
        for bi, b in enumerate(self.blocks):
            for r, i in enumerate(b.idx):
                where[int(i)] = (bi, r)
        order = [pos[n] for n in names]
        groups: dict[tuple[str, int], list[tuple[int, int, int]]] = {}
        for new_i, old_i in enumerate(order):
            bi, r = where[old_i]
            b = self.blocks[bi]
            groups.setdefault((b.model, b.ncat), []).append((new_i, bi, r))
        blocks = []
        for (model, ncat), rows in groups.items():
            par = np.array([self.blocks[bi].par[r] for _, bi, r in rows])
            fixed = np.array([self.blocks[bi].fixed[r] for _, bi, r in rows])
            blocks.append(Block(model, ncat, np.array([n for n, _, _ in rows]), par, fixed))
        return ItemSet(list(names), self.ncat[order], blocks)


def build(items: list[str], ncat: np.ndarray, models: list[str]) -> ItemSet:
    groups: dict[tuple[str, int], list[int]] = {}
    for j, (m, k) in enumerate(zip(models, ncat)):
        groups.setdefault((m, int(k)), []).append(j)
    blocks = [Block(m, k, np.array(ix), np.zeros((len(ix), M.n_params(m, k))), np.zeros(len(ix), bool))
              for (m, k), ix in groups.items()]
    return ItemSet(list(items), np.asarray(ncat, dtype=np.int64), blocks)


def _delta_se(model: str, par: np.ndarray, cov: np.ndarray) -> dict[str, np.ndarray]:
    """Standard errors of the reporting-metric parameters by the delta method (numerical Jacobian)."""
    base = M.to_difficulty(model, par)
    J, p = par.shape
    D = {k: np.zeros((J, p)) for k in base}
    for i in range(p):
        h = 1e-6 * np.maximum(1.0, np.abs(par[:, i]))
        up, dn = par.copy(), par.copy()
        up[:, i] += h
        dn[:, i] -= h
        fu, fd = M.to_difficulty(model, up), M.to_difficulty(model, dn)
        for k in base:
            D[k][:, i] = (fu[k] - fd[k]) / (2 * h)
    return {k: np.sqrt(np.maximum(np.einsum("ji,jil,jl->j", D[k], cov, D[k]), 0.0)) for k in base}


def to_frame(s: ItemSet) -> pl.DataFrame:
    """The ITEMS.csv frame: item_id, model, ncat, a, b, c, b_1 … b_k, se_a, se_b, se_c, se_b_1 …"""
    kmax = int(s.ncat.max()) - 1
    J = len(s.items)
    cols: dict[str, np.ndarray] = {n: np.full(J, np.nan) for n in ["a", "b", "c"] + [f"b_{k}" for k in range(1, kmax + 1)]
                                   if n in ("a", "b", "c") or kmax > 1}
    ses = {f"se_{n}": np.full(J, np.nan) for n in cols}
    for b in s.blocks:
        vals = M.to_difficulty(b.model, b.par)
        for k, v in vals.items():
            if k in cols:
                cols[k][b.idx] = v
        if b.cov is not None:
            for k, v in _delta_se(b.model, b.par, b.cov).items():
                if f"se_{k}" in ses:
                    v = v.copy()
                    v[b.fixed] = np.nan
                    if k == "a" and b.model in M.FIXED_SLOPE:
                        v[:] = np.nan
                    if k == "c" and b.model != "3pl":
                        v[:] = np.nan
                    ses[f"se_{k}"][b.idx] = v
    frame = pl.DataFrame({"item_id": s.items, "model": s.models(), "ncat": s.ncat.astype(np.int32)})
    frame = frame.with_columns([pl.Series(k, v) for k, v in cols.items()] + [pl.Series(k, v) for k, v in ses.items()])
    return frame.with_columns(pl.all().exclude("item_id", "model", "ncat").fill_nan(None))


def from_frame(frame: pl.DataFrame, file: str | None = None) -> ItemSet:
    """Read an ITEMS.csv frame back into an item set; every bad row is reported."""
    issues = Issues()
    for c in ("item_id", "model", "a", "b"):
        if c not in frame.columns:
            issues.add(Issue("缺少列", "column is missing", file=file, column=c))
    issues.raise_if_errors()
    steps_cols = sorted([c for c in frame.columns if c.startswith("b_") and c[2:].isdigit()], key=lambda c: int(c[2:]))
    items, ncat, models, rows = [], [], [], []
    for r, row in enumerate(frame.iter_rows(named=True)):
        line = r + 2
        model = str(row["model"] or "").strip().lower()
        if model not in M.MODELS:
            issues.add(Issue(f"模型应为 {'/'.join(M.MODELS)}", f"model must be one of {', '.join(M.MODELS)}",
                             file=file, row=line, column="model", value=row["model"]))
            continue
        a = 1.0 if row["a"] is None and model in M.FIXED_SLOPE else row["a"]
        if a is None or not np.isfinite(a) or (a <= 0 and model not in M.FIXED_SLOPE):
            issues.add(Issue("区分度 a 应为正数", "slope a must be a positive number", file=file, row=line, column="a", value=row["a"]))
            continue
        steps = [row[c] for c in steps_cols if row[c] is not None]
        if model in M.DICHOTOMOUS:
            if row["b"] is None:
                issues.add(Issue("缺少难度 b", "difficulty b is missing", file=file, row=line, column="b"))
                continue
            k = 2
        else:
            if not steps:
                issues.add(Issue("多级计分题需要 b_1 … b_k", "a polytomous item needs b_1 … b_k", file=file, row=line, column="b_1"))
                continue
            k = len(steps) + 1
        c = row.get("c") if model == "3pl" else 0.0
        if model == "3pl" and (c is None or not 0 <= c < 1):
            issues.add(Issue("猜测参数 c 应在 [0, 1) 内", "guessing c must be in [0, 1)", file=file, row=line, column="c", value=c))
            continue
        items.append(str(row["item_id"]))
        ncat.append(k)
        models.append(model)
        rows.append((float(a), float(row["b"] if row["b"] is not None else np.mean(steps)), float(c or 0.0), steps))
    issues.raise_if_errors()
    s = build(items, np.array(ncat), models)
    for b in s.blocks:
        a = np.array([rows[i][0] for i in b.idx])
        bb = np.array([rows[i][1] for i in b.idx])
        c = np.array([rows[i][2] for i in b.idx])
        steps = np.array([rows[i][3] for i in b.idx], dtype=float) if b.model in M.POLYTOMOUS else None
        b.par = M.from_difficulty(b.model, a, bb, c, steps)
        b.fixed[:] = True
    return s
