"""The census path compiled (numba), when numba is present: units, group ids, scores and sums.

Per record batch, in compiled loops with no NumPy temporaries:

* :func:`float_units` / :func:`int_units` — a measure column (float with NaN for null, or an
  integer column with its Arrow validity bitmap) → Int32 resolution units, one pass per column,
  the same arithmetic as :func:`junheng.fitness.quantize.float_to_units` (half away from zero
  with the input dtype's tolerance);
* :func:`dense_ids` — group ids from per-column integer codes packed into one number, through a
  direct table when the packed range is small (a few thousand groups: county × grade × sex);
* :func:`accumulate` — every record scored from the same compiled look-up tables as
  :mod:`junheng.fitness.kernel` (identical integers; the NumPy kernel is the reference and the
  tests hold the two equal) and added straight into the group sums of
  :func:`junheng.fitness.aggregate.partial_sums`, kept across batches by :class:`Sums` (one
  set of arrays per task, grown when new groups appear — no per-batch allocation or merge).

Used by :mod:`junheng.fitness.stream`; everything else uses the NumPy kernel.
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


def _float_units(x, scale, half, out):
    for i in range(x.shape[0]):
        v = np.float64(x[i])
        if v != v:  # NaN: no value
            out[i] = _MISSING
        else:
            v = v * scale
            m = min(np.floor(abs(v) + half), 2147483647.0)  # saturate as float_to_units does
            out[i] = np.int32(-m if v < 0 else m)


def _int_units(x, bitmap, offset, has_bitmap, scale, out):
    for i in range(x.shape[0]):
        if has_bitmap:
            k = offset + i
            if not (bitmap[k >> 3] >> (k & 7)) & 1:
                out[i] = _MISSING
                continue
        xi = x[i]  # saturate as the NumPy path does, never wrap (2**32 + 5 is not 5)
        v = np.int64(2147483647) if xi > 2147483647 else (np.int64(-2147483647) if xi < -2147483647 else np.int64(xi))
        v = v * scale
        out[i] = np.int32(max(min(v, 2147483647), -2147483647))


def _min_max(x):
    lo = x[0]
    hi = x[0]
    for i in range(1, x.shape[0]):
        v = x[i]
        if v < lo:
            lo = v
        elif v > hi:
            hi = v
    return np.int64(lo), np.int64(hi)


def _dense_ids(codes, mult, table, gid, first):
    """codes (k, n) int64 per-column codes; ``table`` (product of radices) filled with -1 →
    ``gid`` local ids in order of first appearance, ``first`` each id's packed code; returns
    the number of ids."""
    k, n = codes.shape
    n_ids = 0
    for i in range(n):
        p = 0
        for c in range(k):
            p += codes[c, i] * mult[c]
        g = table[p]
        if g < 0:
            g = n_ids
            table[p] = g
            first[g] = p
            n_ids += 1
        gid[i] = g
    return n_ids


def _accumulate(rows, gid, gmap, w, weighted, exempt, values, has_value, lo1, hi, width, start, score_lut,
                packed_lut, bmi_packed, bmi_cat, bmi_width, vis_l, vis_r,
                n_records, n_exempt, n_incomplete, n_tested, w_rating, w_total, w_bmi_class, w_bmi, n_vision,
                w_vision, it_level, it_n, it_score, it_units, ic_level, ic_score, ic_units):
    n = rows.shape[0]
    for i in range(n):
        r = rows[i]
        g = gmap[gid[i]]
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
                if weighted:
                    it_level[g, j, lv] += wi
                    it_n[g, j] += 1
                    it_score[g, j] += wi * s
                    it_units[g, j] += wi * q
                else:  # integer sums: one-cycle adds (the float adds' latency doubled the pass); n = Σ levels
                    ic_level[g, j, lv] += 1
                    ic_score[g, j] += s
                    ic_units[g, j] += q
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


if AVAILABLE:
    _jit = njit(nogil=True, cache=True)
    float_units, int_units, min_max, dense_ids, accumulate = (
        _jit(f) for f in (_float_units, _int_units, _min_max, _dense_ids, _accumulate))
else:  # pragma: no cover
    float_units = int_units = min_max = dense_ids = accumulate = None


class _Tables:
    """The compiled look-up tables laid out for :func:`accumulate` (built once per process)."""

    def __init__(self) -> None:
        comp, bmi_c, bmi_cat = _compiled(load_standard())
        starts, offset = [], 0
        for item in ITEMS:
            starts.append(offset)
            offset += comp[item.field].score.shape[0]
        self.start = np.array(starts, np.int64)
        self.score = np.concatenate([comp[i.field].score for i in ITEMS])
        self.packed = np.concatenate([comp[i.field].packed for i in ITEMS]).astype(np.int32)
        self.lo1 = np.array([comp[i.field].lo1 for i in ITEMS], np.int64)
        self.hi = np.array([comp[i.field].hi for i in ITEMS], np.int64)
        self.width = np.array([comp[i.field].width for i in ITEMS], np.int64)
        self.bmi_packed = bmi_c.packed.astype(np.int64)
        self.bmi_cat = bmi_cat
        self.bmi_width = bmi_c.width


_TABLES: list[_Tables] = []


def tables() -> _Tables:
    if not _TABLES:
        _TABLES.append(_Tables())
    return _TABLES[0]


class Sums:
    """The group sums of one task (a run of batches), grown as new groups appear; :meth:`partials`
    gives them keyed as :func:`~junheng.fitness.aggregate.partial_sums` keys them."""

    _SCALARS = ("n_records", "n_exempt", "n_incomplete", "n_tested", "W_total", "W_bmi", "n_vision")
    _FOURS = ("W_rating", "W_bmi_class", "W_vision")

    def __init__(self, capacity: int = 64) -> None:
        self.size = 0
        self.key_cache: dict = {}  # the task's packed group code → id tables (junheng.fitness.stream)
        self._alloc(capacity)

    def _alloc(self, cap: int) -> None:
        old = self.__dict__.get("arrays")
        z = np.zeros
        ints = {"n_records", "n_exempt", "n_incomplete", "n_tested", "n_vision"}
        a = {k: z(cap, np.int64 if k in ints else np.float64) for k in self._SCALARS}
        a.update({k: z((cap, 4)) for k in self._FOURS})
        a.update(it_level=z((cap, N_ITEMS, 4)), it_n=z((cap, N_ITEMS), np.int64), it_score=z((cap, N_ITEMS)),
                 it_units=z((cap, N_ITEMS)), ic_level=z((cap, N_ITEMS, 4), np.int64),
                 ic_score=z((cap, N_ITEMS), np.int64), ic_units=z((cap, N_ITEMS), np.int64))
        if old is not None:
            for k, v in old.items():
                a[k][: self.size] = v[: self.size]
        self.arrays, self.capacity = a, cap

    def grow_to(self, size: int) -> None:
        if size > self.capacity:
            self._alloc(max(size, 2 * self.capacity))
        self.size = max(self.size, size)

    def add(self, rows: np.ndarray, gid: np.ndarray, gmap: np.ndarray, w: np.ndarray | None, exempt: np.ndarray,
            stacked: np.ndarray, has_value: np.ndarray, vision_left: np.ndarray, vision_right: np.ndarray) -> None:
        """Score a batch (``stacked``: height, weight and the items as Int32 units, one row each) and add
        each record into the sums of group ``gmap[gid]``."""
        t, a = tables(), self.arrays
        accumulate(rows, gid, gmap, w if w is not None else np.zeros(1), w is not None, exempt, stacked, has_value,
                   t.lo1, t.hi, t.width, t.start, t.score, t.packed, t.bmi_packed, t.bmi_cat, t.bmi_width,
                   vision_left, vision_right, a["n_records"], a["n_exempt"], a["n_incomplete"], a["n_tested"],
                   a["W_rating"], a["W_total"], a["W_bmi_class"], a["W_bmi"], a["n_vision"], a["W_vision"],
                   a["it_level"], a["it_n"], a["it_score"], a["it_units"], a["ic_level"], a["ic_score"], a["ic_units"])

    def partials(self) -> dict[str, np.ndarray]:
        a, n = self.arrays, self.size
        out = {k: a[k][:n] for k in (*self._SCALARS, *self._FOURS)}
        level = a["it_level"][:n] + a["ic_level"][:n]  # weighted (floats) + unweighted (exact integers)
        count = a["it_n"][:n] + a["ic_level"][:n].sum(axis=2)
        score = a["it_score"][:n] + a["ic_score"][:n]
        units = a["it_units"][:n] + a["ic_units"][:n]
        for j, item in enumerate(ITEMS):
            f = item.score_field
            out[f"W_{f}_level"] = level[:, j, :]
            out[f"{f}_n"] = count[:, j]
            out[f"W_{f}_score"] = score[:, j]
            out[f"W_{f}_units"] = units[:, j]
        return out


__all__ = ["AVAILABLE", "Sums", "accumulate", "dense_ids", "float_units", "int_units", "min_max", "tables"]
