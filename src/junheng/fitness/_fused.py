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
  tests hold the two equal), over only the items its grade and sex are tested on, and added
  straight into the group sums of :func:`junheng.fitness.aggregate.partial_sums`, kept across
  batches by :class:`Sums` (one row of sums per group, contiguous, per task; grown when new
  groups appear — no per-batch allocation or merge).

Used by :mod:`junheng.fitness.stream`; everything else uses the NumPy kernel.
"""

from __future__ import annotations

import numpy as np

from junheng.fitness.items import ITEMS
from junheng.fitness.kernel import SCORE_NA, _compiled
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
    # selects, not branches (NaN is not predictable): NaN is read as 0, converted, and replaced by MISSING
    for i in range(x.shape[0]):
        v = np.float64(x[i])
        nan = v != v  # NaN: no value
        v = (0.0 if nan else v) * scale
        m = min(np.floor(abs(v) + half), 2147483647.0)  # saturate as float_to_units does
        q = np.int32(-m if v < 0 else m)
        out[i] = _MISSING if nan else q


def _float_units_valid(x, bitmap, offset, scale, half, out):
    # a float column with nulls, straight from its Arrow buffers: a null's data slot holds anything (converted
    # like the rest, with NaN read as 0), then replaced by MISSING — no NaN-filled copy of the column first
    for i in range(x.shape[0]):
        k = offset + i
        v = np.float64(x[i])
        nan = v != v
        v = (0.0 if nan else v) * scale
        m = min(np.floor(abs(v) + half), 2147483647.0)
        q = np.int32(-m if v < 0 else m)
        out[i] = _MISSING if nan or not (bitmap[k >> 3] >> (k & 7)) & 1 else q


def _grade_sex_rows(grade, sex, rows):
    # the score tables' row of each record, (grade − 1) × 2 + (sex − 1), into a reused buffer
    for i in range(grade.shape[0]):
        rows[i] = (np.int64(grade[i]) - 1) * 2 + (np.int64(sex[i]) - 1)


def _int_units(x, bitmap, offset, has_bitmap, scale, out):
    if has_bitmap:  # a null's data slot holds anything: converted like the rest, then replaced by MISSING
        for i in range(x.shape[0]):
            k = offset + i
            q = _int_unit(x[i], scale)
            out[i] = q if (bitmap[k >> 3] >> (k & 7)) & 1 else _MISSING
    else:
        for i in range(x.shape[0]):
            out[i] = _int_unit(x[i], scale)


def _int_unit(xi, scale):
    # saturate as the NumPy path does, never wrap (2**32 + 5 is not 5)
    v = np.int64(2147483647) if xi > 2147483647 else (np.int64(-2147483647) if xi < -2147483647 else np.int64(xi))
    v = v * scale
    return np.int32(max(min(v, 2147483647), -2147483647))


def _min_max(x):
    # in the column's own type (returned as Python ints): through Int64, UInt64 values ≥ 2⁶³ wrapped round
    lo = x[0]
    hi = x[0]
    for i in range(1, x.shape[0]):
        v = x[i]
        if v < lo:
            lo = v
        elif v > hi:
            hi = v
    return lo, hi


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


# Where each group sum lives in a group's row of :class:`Sums`' two (groups × _WIDTH) arrays: counts in
# the Int64 array; the W_ sums in the Int64 array too when unweighted (whole numbers, exact in any
# order), in the Float64 array when weighted. One group's sums are one contiguous row, so a record
# touches a few adjacent cache lines instead of one line in each of seventeen arrays.
_N_RECORDS, _N_EXEMPT, _N_INCOMPLETE, _N_TESTED, _N_VISION = 0, 1, 2, 3, 4
_RATING, _TOTAL, _BMI_CLASS, _BMI, _VIS = 5, 9, 10, 14, 15
_ITEM0, _ITEM_W = 19, 7  # per item: levels 0–3, count (weighted only; else Σ levels), Σ score, Σ units
_WIDTH = _ITEM0 + _ITEM_W * N_ITEMS


def _accumulate(rows, gid, gmap, w, weighted, exempt, values, has_value, lo1, hi, width, start, lut,
                bmi_packed, bmi_cat, bmi_width, vis_l, vis_r, vis_class, row_items, row_n, acc_i, acc_f):
    n = rows.shape[0]
    for i in range(n):
        r = rows[i]
        g = gmap[gid[i]]
        wi = w[i] if weighted else 1.0
        acc_i[g, _N_RECORDS] += 1
        if exempt[i]:  # an exempt record adds to nothing but its count and vision
            acc_i[g, _N_EXEMPT] += 1
        else:
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
            if cls >= 0:
                if weighted:
                    acc_f[g, _BMI_CLASS + cls] += wi
                    acc_f[g, _BMI] += wi * braw  # tenths (finish divides)
                else:
                    acc_i[g, _BMI_CLASS + cls] += 1
                    acc_i[g, _BMI] += braw
            # only the items this grade and sex are tested on: the others' tables are "not tested" (score
            # −1, nothing packed) at every value, so they add nothing (_Tables lists a row's items by that test)
            for k in range(row_n[r]):
                j = row_items[r, k]
                q = values[2 + j, i] if has_value[j] else _MISSING
                c = q
                if c < lo1[j]:
                    c = lo1[j]
                elif c > hi[j]:
                    c = hi[j]
                idx = start[j] + r * width[j] + (c - lo1[j])
                e = lut[idx]  # one look-up: the score in the top byte, the packed sums below (see _Tables)
                s = (e >> _SCORE_SHIFT) - 2
                acc += e & _SUMS_MASK
                if s >= 0:
                    lv = (s + 40) // 100 + (s + 20) // 100 + (s + 10) // 100  # 60, 80, 90: no branches
                    base = _ITEM0 + _ITEM_W * j
                    if weighted:
                        acc_f[g, base + lv] += wi
                        acc_i[g, base + 4] += 1
                        acc_f[g, base + 5] += wi * s
                        acc_f[g, base + 6] += wi * q
                    else:  # integer sums: one-cycle adds; the count is Σ levels
                        acc_i[g, base + lv] += 1
                        acc_i[g, base + 5] += s
                        acc_i[g, base + 6] += q
            if (acc >> _MISS_SHIFT) != 0:
                acc_i[g, _N_INCOMPLETE] += 1
            else:
                acc_i[g, _N_TESTED] += 1
                ws = acc & _WS_MASK
                bonus = (acc >> _BONUS_SHIFT) & _BONUS_MASK
                if bonus > 20:
                    bonus = 20
                total = (ws + 5) // 10 + bonus * 10
                rating = 3 - np.int64(total >= 600) - np.int64(total >= 800) - np.int64(total >= 900)
                if weighted:
                    acc_f[g, _RATING + rating] += wi
                    acc_f[g, _TOTAL] += wi * total  # tenths
                else:
                    acc_i[g, _RATING + rating] += 1
                    acc_i[g, _TOTAL] += total
        # vision: the worse measured eye
        v = max(vis_class[min(max(vis_l[i], 0), 63)], vis_class[min(max(vis_r[i], 0), 63)])
        if v >= 0:
            acc_i[g, _N_VISION] += 1
            if weighted:
                acc_f[g, _VIS + v] += wi
            else:
                acc_i[g, _VIS + v] += 1


if AVAILABLE:
    _jit = njit(nogil=True, cache=True)
    _int_unit = _jit(_int_unit)  # called by int_units (resolved when that compiles)
    float_units, float_units_valid, grade_sex_rows, int_units, min_max, dense_ids, accumulate = (
        _jit(f) for f in (_float_units, _float_units_valid, _grade_sex_rows, _int_units, _min_max, _dense_ids,
                          _accumulate))
else:  # pragma: no cover
    float_units = float_units_valid = grade_sex_rows = int_units = min_max = dense_ids = accumulate = None


_WS_MASK, _BONUS_SHIFT, _BONUS_MASK, _MISS_SHIFT, _SCORE_SHIFT = (1 << 14) - 1, 14, (1 << 6) - 1, 20, 24
_SUMS_MASK = (1 << _SCORE_SHIFT) - 1


def _repack(packed: np.ndarray, score: np.ndarray) -> np.ndarray:
    """The kernel's packed table (weighted score bits 0–15, bonus 16–23, missing count from 24) and
    the score table as one Int32 table in the compiled pass's layout (see :class:`_Tables`)."""
    p = packed.astype(np.int64)
    ws, bonus, miss = p & 0xFFFF, (p >> 16) & 0xFF, p >> 24
    assert miss.max() <= 1 and score.min() >= -2 and score.max() <= 100
    return (ws | (bonus << _BONUS_SHIFT) | (miss << _MISS_SHIFT) | ((score.astype(np.int64) + 2) << _SCORE_SHIFT)
            ).astype(np.int32)


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
        # the score and the packed sums in one Int32 a value (one look-up, one cache line): bits 0–13 the
        # weighted score in hundredths, 14–19 the bonus points, 20–23 the "tested but missing" count (each
        # summed over a record's items without overflowing into the next field; checked here), 24–30
        # the score + 2 (−2 … 100)
        self.lut = _repack(self.packed, self.score)
        # a record adds BMI and its items' fields: per grade and sex the sum of their largest values stays
        # inside each field (the weighted score ≤ 10,000 hundredths, the bonus ≤ 63, the missing count ≤ 11)
        n_rows = bmi_c.packed.shape[0] // bmi_c.width
        for r in range(n_rows):
            cells = [bmi_c.packed.reshape(n_rows, -1)[r]] + [comp[i.field].packed.reshape(n_rows, -1)[r] for i in ITEMS]
            assert sum(int((c & 0xFFFF).max()) for c in cells) <= _WS_MASK
            assert sum(int(((c >> 16) & 0xFF).max()) for c in cells) <= _BONUS_MASK and len(cells) < 16
        self.bmi_packed = _repack(bmi_c.packed, np.zeros(bmi_c.packed.shape, np.int8)).astype(np.int64) & _SUMS_MASK
        self.bmi_cat = bmi_cat
        self.bmi_width = bmi_c.width
        # vision class of one eye by its acuity in tenths (MISSING and ≤ 0 clipped to 0, > 63 to 63): −1 no
        # value, 0 ≥ 5.0, 1 = 4.9, 2 = 4.6–4.8, 3 below (junheng.fitness.vision)
        a = np.arange(64)
        self.vis_class = np.select([a <= 0, a >= 50, a == 49, a >= 46], [-1, 0, 1, 2], 3).astype(np.int64)
        # per row (grade × sex) the items whose tables score anything or pack anything: the rest are
        # skipped by accumulate, exactly (their every column is "not tested" and packs 0)
        n_rows = comp[ITEMS[0].field].score.shape[0] // comp[ITEMS[0].field].width
        self.row_items = np.zeros((n_rows, N_ITEMS), np.int64)
        self.row_n = np.zeros(n_rows, np.int64)
        for r in range(n_rows):
            for j, item in enumerate(ITEMS):
                c = comp[item.field]
                cells = slice(r * c.width, (r + 1) * c.width)
                if (c.score[cells] != SCORE_NA).any() or (c.packed[cells] != 0).any():
                    self.row_items[r, self.row_n[r]] = j
                    self.row_n[r] += 1


_TABLES: list[_Tables] = []


def tables() -> _Tables:
    if not _TABLES:
        _TABLES.append(_Tables())
    return _TABLES[0]


class Sums:
    """The group sums of one task (a run of batches), grown as new groups appear; :meth:`partials`
    gives them keyed as :func:`~junheng.fitness.aggregate.partial_sums` keys them."""

    def __init__(self, capacity: int = 64) -> None:
        self.size = 0
        self.key_cache: dict = {}  # the task's packed group code → id tables (junheng.fitness.stream)
        self.capacity = 0
        self.acc_i = np.zeros((0, _WIDTH), np.int64)
        self.acc_f = np.zeros((0, _WIDTH))
        self.weighted = False  # acc_f added to (else it stays zero and is never read, nor paged in)
        self._scratch: dict[str, np.ndarray] = {}
        self._alloc(capacity)

    def scratch(self, name: str, shape: tuple[int, ...], dtype) -> np.ndarray:
        """A working array of ``shape`` reused from batch to batch (uninitialised): a batch's units, codes
        and ids are not a fresh multi-MB allocation each (the units array is 9.4 MB a batch of 2^17: a fresh
        mapping of huge pages that the kernel zeroes, docs/guide/census.md)."""
        buf = self._scratch.get(name)
        size = int(np.prod(shape))
        if buf is None or buf.size < size or buf.dtype != np.dtype(dtype):
            buf = self._scratch[name] = np.empty(size, dtype)
        return buf[:size].reshape(shape)

    def _alloc(self, cap: int) -> None:
        acc_i, acc_f = np.zeros((cap, _WIDTH), np.int64), np.zeros((cap, _WIDTH))
        acc_i[: self.size] = self.acc_i[: self.size]
        if self.weighted:
            acc_f[: self.size] = self.acc_f[: self.size]
        self.acc_i, self.acc_f, self.capacity = acc_i, acc_f, cap

    def grow_to(self, size: int) -> None:
        if size > self.capacity:
            self._alloc(max(size, 2 * self.capacity))
        self.size = max(self.size, size)

    def add(self, rows: np.ndarray, gid: np.ndarray, gmap: np.ndarray, w: np.ndarray | None, exempt: np.ndarray,
            stacked: np.ndarray, has_value: np.ndarray, vision_left: np.ndarray, vision_right: np.ndarray) -> None:
        """Score a batch (``stacked``: height, weight and the items as Int32 units, one row each) and add
        each record into the sums of group ``gmap[gid]``."""
        t = tables()
        self.weighted |= w is not None
        accumulate(rows, gid, gmap, w if w is not None else np.zeros(1), w is not None, exempt, stacked, has_value,
                   t.lo1, t.hi, t.width, t.start, t.lut, t.bmi_packed, t.bmi_cat, t.bmi_width,
                   vision_left, vision_right, t.vis_class, t.row_items, t.row_n, self.acc_i, self.acc_f)

    def merge(self, other: Sums, ids: np.ndarray) -> None:
        """Add ``other``'s group sums into rows ``ids`` (one distinct id per group of ``other``)."""
        n = ids.shape[0]
        self.acc_i[ids] += other.acc_i[:n]
        if other.weighted:
            self.weighted = True
            self.acc_f[ids] += other.acc_f[:n]

    def partials(self) -> dict[str, np.ndarray]:
        n = self.size
        counts = self.acc_i[:n]
        sums = self.acc_f[:n] + counts if self.weighted else counts.astype(np.float64)  # weighted sums (floats) + unweighted ones (exact integers)
        out = {"n_records": counts[:, _N_RECORDS], "n_exempt": counts[:, _N_EXEMPT],
               "n_incomplete": counts[:, _N_INCOMPLETE], "n_tested": counts[:, _N_TESTED],
               "W_rating": sums[:, _RATING:_RATING + 4], "W_total": sums[:, _TOTAL],
               "W_bmi_class": sums[:, _BMI_CLASS:_BMI_CLASS + 4], "W_bmi": sums[:, _BMI],
               "n_vision": counts[:, _N_VISION], "W_vision": sums[:, _VIS:_VIS + 4]}
        for j, item in enumerate(ITEMS):
            f, base = item.score_field, _ITEM0 + _ITEM_W * j
            out[f"W_{f}_level"] = sums[:, base:base + 4]
            out[f"{f}_n"] = counts[:, base + 4] + counts[:, base:base + 4].sum(axis=1)
            out[f"W_{f}_score"] = sums[:, base + 5]
            out[f"W_{f}_units"] = sums[:, base + 6]
        return out


__all__ = ["AVAILABLE", "Sums", "accumulate", "dense_ids", "float_units", "float_units_valid", "grade_sex_rows", "int_units",
           "min_max", "tables"]
