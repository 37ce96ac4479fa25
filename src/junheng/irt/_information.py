"""Observed information of the item parameters at the EM solution, without differentiating the E-step.

The marginal log-likelihood is ℓ(ξ) = Σ_p n_p log Σ_q π(θ_q) f_p(θ_q; ξ) over the distinct
response patterns p.  At node θ_q pattern p's complete-data score is
s_pq = Σ_{j administered} ∂ log P_j(y_pj | θ_q) / ∂ξ, and with the posterior weights w_pq
(Louis 1982; the same quantity as Oakes' 1999 identity, whose cross term ∂²Q(ξ'|ξ)/∂ξ'∂ξ is
Σ_p n_p Cov_q(s_pq)):

    −∂²ℓ/∂ξ∂ξᵀ = −∂²Q/∂ξ'²  −  Σ_q Σ_p n_p w_pq s_pq s_pqᵀ  +  Σ_p n_p s̄_p s̄_pᵀ,   s̄_p = Σ_q w_pq s_pq.

1. −∂²Q/∂ξ'² is block diagonal (one block per item) and needs only the expected counts r_jkq:
   for the canonical models (Rasch, 2PL, PCM, GPCM in slope–intercept form) −∂² log P_jk does not
   depend on k and equals Σ_k P_jk ∂log P_jk ∂log P_jkᵀ, the M-step's information; for 3PL and GRM
   it is the central difference of the M-step's exact gradient with the counts held (no E-step).
2. The posterior second moment: s_pq = x_p T_q, with x_p a 0/1 row over "this set of items was
   administered" (one column per distinct administered set of items, e.g. per booklet block) and
   1[y_pj = k] for k ≥ 1, and T_q mapping those columns to ∂log P_j0(θ_q) and
   ∂log P_jk(θ_q) − ∂log P_j0(θ_q).  So the term is Σ_q T_qᵀ N_q T_q with N_q = Σ_p n_p w_pq x_p x_pᵀ,
   all nodes at once by BLAS products over chunks of patterns.
3. The cross-product of the per-pattern observed scores (what ``se="xpd"`` uses alone).

The group means and SDs are held at their estimates, as in the finite-difference version this
replaces (the information of the item parameters given the latent distribution).
"""

from __future__ import annotations

import numpy as np

from . import _fused
from . import _models as M
from ._em import block_grad_info

CANONICAL = ("rasch", "2pl", "pcm", "gpcm")
MIN_PATTERNS_FUSED = 20_000  # below this the BLAS path is as fast (no compilation to load)
_compiled = None


def prange(*args):  # replaced by numba.prange when compiled
    return range(*args)


def _pairs_kernel(act, nact, W, n_x, n_chunks):
    """N[c, d, q] = Σ_p W_pq over patterns whose active columns (``act[p, :nact[p]]``, ascending)
    include c ≤ d — only the pairs a pattern has, each a contiguous run over the nodes."""
    P, Q = W.shape
    N = np.zeros((n_chunks, n_x, n_x, Q))
    step = (P + n_chunks - 1) // n_chunks
    for c in prange(n_chunks):
        for p in range(c * step, min(P, (c + 1) * step)):
            m = nact[p]
            for a in range(m):
                i = act[p, a]
                for b in range(a, m):
                    j = act[p, b]
                    for q in range(Q):
                        N[c, i, j, q] += W[p, q]
    return N.sum(axis=0)


def _pair_counts_numba(x: np.ndarray, W: np.ndarray) -> np.ndarray:
    """(Q, n_x, n_x) posterior pair counts from the 0/1 codes ``x`` (P × n_x, bool) by the compiled kernel."""
    global _compiled
    import numba

    if _compiled is None:
        _pairs_kernel.__globals__["prange"] = numba.prange
        _compiled = numba.njit(parallel=True, cache=True, nogil=True)(_pairs_kernel)
    nact = x.sum(axis=1).astype(np.int64)
    act = np.ascontiguousarray(np.argsort(~x, axis=1, kind="stable").astype(np.int64))
    n_chunks = max(1, min(numba.get_num_threads(), x.shape[0]))
    N = _compiled(act, nact, np.ascontiguousarray(W), x.shape[1], n_chunks)  # upper triangle
    N = N + np.tril(np.ones((x.shape[1], x.shape[1])), -1)[:, :, None] * N.transpose(1, 0, 2)
    return N.transpose(2, 0, 1)


def _item_hessian(b, r: np.ndarray, theta: np.ndarray, prior) -> np.ndarray:
    """−∂²Q/∂ξ'² per item of block ``b`` (J, p, p), all stored parameters."""
    grad, info = block_grad_info(b, r, theta, prior)
    if b.model in CANONICAL:
        return info
    p = b.par.shape[1]
    H = np.zeros((b.par.shape[0], p, p))
    x0 = b.par.copy()
    try:
        for a in range(p):
            h = 1e-5 * np.maximum(1.0, np.abs(x0[:, a]))
            b.par[:, a] = x0[:, a] + h
            gp = block_grad_info(b, r, theta, prior)[0]
            b.par[:, a] = x0[:, a] - h
            gm = block_grad_info(b, r, theta, prior)[0]
            b.par[:, a] = x0[:, a]
            H[:, :, a] = -(gp - gm) / (2 * h[:, None])
    finally:
        b.par[...] = x0
    return (H + H.transpose(0, 2, 1)) / 2


def observed_information(itemset, pat, theta: np.ndarray, W: np.ndarray, R: np.ndarray,
                         idx: list[tuple[int, int, int]], prior) -> np.ndarray:
    """−∂²ℓ over the free item parameters ``idx`` ((block, item row, parameter) each).

    ``W`` (P × Q): n_p × posterior weights of every pattern at the final estimates; ``R`` (C × Q)
    the expected counts (Xᵀ W).  The products here have long inner and small outer dimensions:
    one BLAS thread does them as fast, and OpenBLAS's spinning workers were 5–10× slower on a
    busy machine (measured), so BLAS is held to one thread meanwhile."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        return _information(itemset, pat, theta, W, R, idx, prior)


def _information(itemset, pat, theta, W, R, idx, prior) -> np.ndarray:
    n_par = len(idx)
    Q = theta.size
    where = {key: k for k, key in enumerate(idx)}
    info = np.zeros((n_par, n_par))
    # per free item: its position j in the item list, category count, derivative table, columns
    items = []
    for bi, b in enumerate(itemset.blocks):
        if not (~b.fixed).any():
            continue
        hess = _item_hessian(b, R[itemset.block_cols(b)], theta, prior)
        P = np.clip(M.probs(b.model, b.par, theta), 1e-300, None)
        dlog = M.jac(b.model, b.par, theta) / P[..., None]  # (J_b, K, Q, p)
        free = np.flatnonzero(b.free)
        for r in range(b.par.shape[0]):
            cols = [where[(bi, r, int(p))] for p in free if (bi, r, int(p)) in where]
            if not cols:
                continue
            cols_a = np.array(cols)
            info[np.ix_(cols_a, cols_a)] += hess[r][np.ix_(free, free)]
            items.append((int(b.idx[r]), b.ncat, dlog[r][:, :, free], cols_a))
    if not items:
        return info
    Y = pat.Y
    count = pat.count
    n_pat = Y.shape[0]
    # 2. x_p columns: one per distinct administered set, then 1[y = k] for k ≥ 1 of every free item
    set_key: dict[bytes, int] = {}
    set_cols: list[np.ndarray] = []
    set_of = []
    for j, *_ in items:
        seen_j = Y[:, j] >= 0
        key = np.packbits(seen_j).tobytes()
        if key not in set_key:
            set_key[key] = len(set_cols)
            set_cols.append(seen_j)
        set_of.append(set_key[key])
    n_sets = len(set_cols)
    n_x = n_sets + sum(k - 1 for _, k, _, _ in items)
    T = np.zeros((Q, n_x, n_par))
    ind_cols = []  # (item position j, k, x column)
    c = n_sets
    d_cols = []  # (first column in the all-items derivative table, K, p) per free item
    width = 0
    for f, (j, K, D, cols_a) in enumerate(items):
        T[:, set_of[f], cols_a] += D[0]  # D: (K, Q, p_f)
        for k in range(1, K):
            T[:, c, cols_a] = D[k] - D[0]
            ind_cols.append((j, k, c))
            c += 1
        d_cols.append((width, K, D.shape[2]))
        width += K * D.shape[2]
    d_all = np.concatenate([D.transpose(1, 0, 2).reshape(Q, -1) for _, _, D, _ in items], axis=1)  # (Q, Σ K·p)

    def codes(lo: int, hi: int, out: np.ndarray) -> np.ndarray:
        for u, col in enumerate(set_cols):
            out[:, u] = col[lo:hi]
        for j, k, col in ind_cols:
            out[:, col] = Y[lo:hi, j] == k
        return out

    fused = _fused.AVAILABLE and n_pat >= MIN_PATTERNS_FUSED
    if fused:  # compiled: only the pairs each pattern has (~(J/2)² of them), 2 threads
        Nq = _pair_counts_numba(codes(0, n_pat, np.empty((n_pat, n_x), dtype=bool)), W)
    else:  # BLAS: (pairs × patterns) @ (patterns × Q) per chunk
        iu, ju = np.triu_indices(n_x)
        chunk = max(256, 2_000_000 // iu.size)
        N = np.zeros((iu.size, Q))
        xb, zi, zj = np.empty((chunk, n_x)), np.empty((chunk, iu.size)), np.empty((chunk, iu.size))  # reused
        for lo in range(0, n_pat, chunk):
            hi = min(lo + chunk, n_pat)
            x, z, z2 = codes(lo, hi, xb[:hi - lo]), zi[:hi - lo], zj[:hi - lo]
            np.take(x, iu, axis=1, out=z)
            np.take(x, ju, axis=1, out=z2)
            np.multiply(z, z2, out=z)
            N += z.T @ W[lo:hi]
        Nq = np.zeros((Q, n_x, n_x))
        Nq[:, iu, ju] = N.T
        Nq[:, ju, iu] = N.T
    # per-pattern observed scores s̄_p (term 3): column (f, a) of S reads Σ_q w_pq ∂log P_f,y(θ_q)/∂ξ_a
    # from the all-items table g = (w / n) @ d_all at start_f + y_pf · p_f + a
    item_pos = np.array([j for j, *_ in items])
    p_of = np.array([p for _, _, p in d_cols])
    col_item = np.concatenate([np.full(cols_a.size, f) for f, (*_, cols_a) in enumerate(items)])
    col_base = np.concatenate([start + np.arange(p) for start, _, p in d_cols])
    order = np.concatenate([cols_a for *_, cols_a in items])  # S's columns in that layout
    S = np.zeros((n_pat, n_par))
    chunk = 8192
    for lo in range(0, n_pat, chunk):
        hi = min(lo + chunk, n_pat)
        y = Y[lo:hi][:, item_pos].astype(np.int64)  # (rows, free items)
        seen = y >= 0
        g_all = (W[lo:hi] / count[lo:hi, None]) @ d_all  # Σ_q w_pq ∂log P_jk(θ_q) for every item and category
        at = col_base[None, :] + np.where(seen, y, 0)[:, col_item] * p_of[col_item][None, :]
        S[lo:hi, order] = np.where(seen[:, col_item], np.take_along_axis(g_all, at, axis=1), 0.0)
    second = np.einsum("qca,qcb->ab", T, Nq @ T, optimize=True)
    info -= (second + second.T) / 2
    root = S * np.sqrt(count)[:, None]
    info += root.T @ root  # Σ_p n_p s̄_p s̄_pᵀ (a symmetric rank-k update)
    return info
