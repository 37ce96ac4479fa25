"""The census path fused into one compiled pass per record batch (numba), when numba is present.

Scores every record from the same compiled look-up tables as :mod:`junheng.fitness.kernel`
(identical integers; the NumPy kernel is the reference and the tests hold the two equal) and
adds each record straight into the group sums of :func:`junheng.fitness.aggregate.partial_sums`
— one pass over the batch instead of about a hundred array passes. Used by
:func:`junheng.fitness.stream.batch_partials`; everything else uses the NumPy kernel.
"""

from __future__ import annotations

import numpy as np

from junheng.fitness.items import ITEMS
from junheng.fitness.kernel import _compiled
from junheng.fitness.quantize import MISSING
from junheng.fitness.standard import load_standard

try:  # numba is an accelerator, not a requirement
    from numba import njit
except ImportError:  # pragma: no cover - exercised only where numba is absent
    njit = None

AVAILABLE = njit is not None
N_ITEMS = len(ITEMS)
_MISSING = int(MISSING)


def _body(rows, gid, w, weighted, exempt, values, has_value, lo1, hi, width, start, score_lut, packed_lut,
          bmi_score, bmi_packed, bmi_cat, bmi_width, vis_l, vis_r,
          n_records, n_exempt, n_incomplete, n_tested, w_rating, w_total, w_bmi_class, w_bmi, n_vision, w_vision,
          it_level, it_n, it_score, it_units):
    n = rows.shape[0]
    for i in range(n):
        r = rows[i]
        g = gid[i]
        wi = w[i] if weighted else 1.0
        ex = exempt[i]
        n_records[g] += 1
        # BMI (exact integers, half up)
        h = np.int64(values[0, i])
        m = np.int64(values[1, i])
        if h > 0 and m > 0 and h != _MISSING and m != _MISSING:
            braw = (2_000_000 * m + h * h) // (2 * h * h)
        else:
            braw = 0
        b = braw if braw < bmi_width else bmi_width - 1
        bidx = r * bmi_width + b
        acc = np.int64(bmi_packed[bidx])
        cls = bmi_cat[bidx]
        if cls >= 0 and not ex:
            w_bmi_class[g, cls] += wi
            w_bmi[g] += wi * braw  # tenths (finish divides)
        for j in range(N_ITEMS):
            q = values[2 + j, i] if has_value[j] else _MISSING
            c = q
            if c < lo1[j]:
                c = lo1[j]
            elif c > hi[j]:
                c = hi[j]
            idx = start[j] + r * width[j] + (c - lo1[j])
            s = score_lut[idx]
            acc += packed_lut[idx]
            if s >= 0 and not ex:
                lv = (1 if s >= 60 else 0) + (1 if s >= 80 else 0) + (1 if s >= 90 else 0)
                it_level[g, j, lv] += wi
                it_n[g, j] += 1
                it_score[g, j] += wi * s
                it_units[g, j] += wi * q
        complete = (acc >> 24) == 0 and not ex
        if ex:
            n_exempt[g] += 1
        elif not complete:
            n_incomplete[g] += 1
        else:
            n_tested[g] += 1
            ws = acc & 0xFFFF
            bonus = (acc >> 16) & 0xFF
            if bonus > 20:
                bonus = 20
            total = (ws + 5) // 10 + bonus * 10
            rating = 0 if total >= 900 else (1 if total >= 800 else (2 if total >= 600 else 3))
            w_rating[g, rating] += wi
            w_total[g] += wi * total  # tenths
        # vision: the worse measured eye
        v = -1
        for a in (vis_l[i], vis_r[i]):
            if a != _MISSING and a > 0:
                k = 0 if a >= 50 else (1 if a == 49 else (2 if a >= 46 else 3))
                if k > v:
                    v = k
        if v >= 0:
            n_vision[g] += 1
            w_vision[g, v] += wi


_fused = njit(nogil=True, cache=True)(_body) if AVAILABLE else None


def fused_partials(grade: np.ndarray, sex: np.ndarray, gid: np.ndarray, n_groups: int, w: np.ndarray | None,
                   exempt: np.ndarray, values: dict[str, np.ndarray], vision_left: np.ndarray,
                   vision_right: np.ndarray) -> dict[str, np.ndarray]:
    """Score a batch and return its group sums, keyed as :func:`~junheng.fitness.aggregate.partial_sums` keys them."""
    comp, bmi_c, bmi_cat = _compiled(load_standard())
    n = grade.shape[0]
    starts, offset = [], 0
    for item in ITEMS:
        starts.append(offset)
        offset += comp[item.field].score.shape[0]
    score_lut = np.concatenate([comp[i.field].score for i in ITEMS])
    packed_lut = np.concatenate([comp[i.field].packed for i in ITEMS]).astype(np.int64)
    missing = np.full(n, MISSING, np.int32)
    cols = (values.get("height_cm", missing), values.get("weight_kg", missing),
            *(values.get(i.field, missing) for i in ITEMS))
    has_value = np.array([i.field in values for i in ITEMS])
    stacked = np.empty((len(cols), n), np.int32)
    for k, c in enumerate(cols):
        stacked[k] = c
    G = n_groups
    z = np.zeros
    out = dict(n_records=z(G, np.int64), n_exempt=z(G, np.int64), n_incomplete=z(G, np.int64),
               n_tested=z(G, np.int64), W_rating=z((G, 4)), W_total=z(G), W_bmi_class=z((G, 4)), W_bmi=z(G),
               n_vision=z(G, np.int64), W_vision=z((G, 4)))
    it_level, it_n, it_score, it_units = z((G, N_ITEMS, 4)), z((G, N_ITEMS), np.int64), z((G, N_ITEMS)), \
        z((G, N_ITEMS))
    rows = ((grade.astype(np.int64) - 1) * 2 + (sex.astype(np.int64) - 1))
    _fused(rows, gid.astype(np.int64), w if w is not None else np.zeros(1), w is not None, exempt.astype(np.bool_),
           stacked, has_value,
           np.array([comp[i.field].lo1 for i in ITEMS], np.int64), np.array([comp[i.field].hi for i in ITEMS], np.int64),
           np.array([comp[i.field].width for i in ITEMS], np.int64), np.array(starts, np.int64), score_lut, packed_lut,
           bmi_c.score, bmi_c.packed.astype(np.int64), bmi_cat, bmi_c.width,
           np.ascontiguousarray(vision_left, dtype=np.int32), np.ascontiguousarray(vision_right, dtype=np.int32),
           out["n_records"], out["n_exempt"], out["n_incomplete"], out["n_tested"], out["W_rating"], out["W_total"],
           out["W_bmi_class"], out["W_bmi"], out["n_vision"], out["W_vision"], it_level, it_n, it_score, it_units)
    for j, item in enumerate(ITEMS):
        f = item.score_field
        out[f"W_{f}_level"] = it_level[:, j, :]
        out[f"{f}_n"] = it_n[:, j]
        out[f"W_{f}_score"] = it_score[:, j]
        out[f"W_{f}_units"] = it_units[:, j]
    return out


__all__ = ["AVAILABLE", "fused_partials"]
