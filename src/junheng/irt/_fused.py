"""The E-step fused into one compiled pass over the response patterns (numba), when numba is present.

For each pattern p: log L_pq = log π_g(q) + Σ_{j seen} log P_j(y_pj | θ_q), the stabilised
exponent, the marginal log-likelihood term n_p·(max + log Σ_q), and the posterior weights
added straight into the expected counts r_{(j,y),q} and the group totals — without forming the
(patterns × nodes) matrices.  The rows are split into one chunk per thread with private
accumulators summed at the end, so the result does not depend on the thread count's timing.
The NumPy path in :func:`junheng.irt._em.estep` is the reference; tests hold them equal.
"""

from __future__ import annotations

import importlib.util

import numpy as np

# numba is an accelerator, not a requirement; imported on first use (it takes seconds)
AVAILABLE = importlib.util.find_spec("numba") is not None
MIN_PATTERNS = 20_000  # below this the NumPy E-step is as fast (thread start-up dominates)
_compiled = None


def prange(*args):  # replaced by numba.prange when compiled
    return range(*args)


def _kernel(cols, logp, logprior, group, count, n_chunks):
    P, J = cols.shape
    C, Q = logp.shape
    G = logprior.shape[0]
    R = np.zeros((n_chunks, C, Q))
    Wg = np.zeros((n_chunks, G, Q))
    ll = np.zeros(n_chunks)
    step = (P + n_chunks - 1) // n_chunks
    for c in prange(n_chunks):
        row = np.empty(Q)
        lo = c * step
        hi = min(P, lo + step)
        for p in range(lo, hi):
            g = group[p]
            for q in range(Q):
                row[q] = logprior[g, q]
            for j in range(J):
                k = cols[p, j]
                if k < 0:
                    break
                for q in range(Q):
                    row[q] += logp[k, q]
            m = row[0]
            for q in range(1, Q):
                if row[q] > m:
                    m = row[q]
            s = 0.0
            for q in range(Q):
                row[q] = np.exp(row[q] - m)
                s += row[q]
            ll[c] += count[p] * (m + np.log(s))
            f = count[p] / s
            for q in range(Q):
                row[q] *= f
                Wg[c, g, q] += row[q]
            for j in range(J):
                k = cols[p, j]
                if k < 0:
                    break
                for q in range(Q):
                    R[c, k, q] += row[q]
    return ll.sum(), R.sum(axis=0), Wg.sum(axis=0)


def estep(cols, logp, logprior, group, count):
    """(loglik, expected counts R (C × Q), posterior totals per group (G × Q))."""
    global _compiled
    import numba

    if _compiled is None:
        _kernel.__globals__["prange"] = numba.prange
        _compiled = numba.njit(parallel=True, cache=True, nogil=True)(_kernel)
    n_chunks = max(1, min(4 * numba.get_num_threads(), cols.shape[0]))
    return _compiled(cols, logp, logprior, group, count, n_chunks)


def column_index(Y: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Per pattern, the (item, category) columns of its administered items, left-packed, −1 padded."""
    seen = Y >= 0
    full = np.where(seen, offsets[None, :] + np.where(seen, Y, 0), -1).astype(np.int32)
    order = np.argsort(~seen, axis=1, kind="stable")
    return np.ascontiguousarray(np.take_along_axis(full, order, axis=1))
