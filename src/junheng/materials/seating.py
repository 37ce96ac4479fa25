"""Seating plans (座位表): the pupils of one session placed in the room grids.

Seats are numbered row by row from the front (row 1, column 1 = seat 1).  Two seats are
*adjacent* when they share a side (left/right neighbours in a row, front/back in a column).
The plan minimises the number of adjacent pairs of the same school plus the number of adjacent
pairs with the same booklet (spiralling: neighbours should not be able to copy), so a pair of the
same school *and* booklet counts twice.  Method: a seeded greedy fill (each seat takes the
remaining pupil with the fewest conflicts with its already seated front and left neighbours,
preferring the largest remaining school/booklet group so that no group is left over for the last
seats), then pairwise swaps while any swap lowers the count.  A room has at most a few dozen
seats, so this works on one small NumPy conflict matrix per room.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from junheng.exceptions import ParameterError


@dataclass(frozen=True, slots=True)
class Room:
    """A test room: ``rows`` × ``cols`` seats, of which at most ``capacity`` (default all) are used."""

    name: str
    rows: int
    cols: int
    capacity: int | None = None

    @property
    def seats(self) -> int:
        return self.rows * self.cols if self.capacity is None else min(self.capacity, self.rows * self.cols)

    @classmethod
    def parse(cls, text: str) -> Room:
        """``"101:6x8"`` or ``"101:6x8:40"`` (name : rows x columns [: capacity])."""
        try:
            parts = text.split(":")
            r, c = parts[1].lower().split("x")
            cap = int(parts[2]) if len(parts) > 2 and parts[2] else None
            room = cls(parts[0], int(r), int(c), cap)
        except (IndexError, ValueError):
            raise ParameterError(f"考场格式应为 名称:行x列[:容量] / room must be NAME:ROWSxCOLS[:CAPACITY]; got {text!r}") from None
        if room.rows < 1 or room.cols < 1 or (cap is not None and cap < 1):
            raise ParameterError(f"考场行列数须为正 / rows, columns and capacity must be positive; got {text!r}")
        return room


def adjacency(rows: int, cols: int, n: int) -> np.ndarray:
    """Boolean ``n × n`` matrix: seats ``i`` and ``j`` (the first ``n`` seats, row by row) share a side."""
    idx = np.arange(n)
    r, c = idx // cols, idx % cols
    dr = np.abs(r[:, None] - r[None, :])
    dc = np.abs(c[:, None] - c[None, :])
    return (dr + dc) == 1


def conflict_matrix(school: np.ndarray, booklet: np.ndarray) -> np.ndarray:
    """``w[i, j]`` = (same school) + (same booklet) for pupils ``i ≠ j``."""
    w = (school[:, None] == school[None, :]).astype(np.int64) + (booklet[:, None] == booklet[None, :])
    np.fill_diagonal(w, 0)
    return w


def plan_conflicts(perm: np.ndarray, w: np.ndarray, adj: np.ndarray) -> int:
    """The number of conflicts of seating pupil ``perm[s]`` in seat ``s`` (each adjacent pair once)."""
    return int((w[np.ix_(perm, perm)] * adj).sum() // 2)


def _seat_room(w: np.ndarray, room: Room, rng: np.random.Generator, restarts: int = 12) -> np.ndarray:
    """Seat of each pupil (indices into the room's usable seats) for one room; ``w`` holds its pupils'
    conflict weights.  Empty seats are placeholder pupils without conflicts, so they fall where they
    separate groups best.  The best of ``restarts`` seeded greedy-and-swap runs is kept."""
    n, k = w.shape[0], room.seats
    wk = np.zeros((k, k), dtype=np.int64)
    wk[:n, :n] = w
    adj = adjacency(room.rows, room.cols, k).astype(np.int64)
    best, best_cost = None, None
    for _ in range(restarts):
        seat = _greedy_swap(wk, adj, room.cols, rng)
        cost = plan_conflicts(seat, wk, adj)
        if best_cost is None or cost < best_cost:
            best, best_cost = seat, cost
        if cost == 0:
            break
    pos = np.empty(k, dtype=np.int64)
    pos[best] = np.arange(k)
    return pos[:n]


def _greedy_swap(w: np.ndarray, adj: np.ndarray, cols: int, rng: np.random.Generator) -> np.ndarray:
    n = w.shape[0]
    order = rng.permutation(n)  # random tie-breaking
    wp = w[np.ix_(order, order)]
    free = np.ones(n, dtype=bool)
    seat = np.empty(n, dtype=np.int64)
    big = np.iinfo(np.int64).max
    for s in range(n):
        cost = np.zeros(n, dtype=np.int64)
        if s % cols:
            cost += wp[:, seat[s - 1]]
        if s >= cols:
            cost += wp[:, seat[s - cols]]
        alike = wp[:, free].sum(axis=1)  # at equal cost, seat the pupil most like the ones left
        key = np.where(free, cost * (2 * n + 1) * 2 - alike, big)
        seat[s] = int(np.argmin(key))
        free[seat[s]] = False
    improved = True
    while improved:  # pairwise swaps while one lowers the count (delta for every partner at once)
        improved = False
        for a in range(n):
            ws = wp[np.ix_(seat, seat)]  # conflict weights between the pupils in seats s and t
            d1 = ws @ adj[a] - ws[a] @ adj[a]
            d2 = adj @ ws[a] - (adj * ws).sum(axis=1)
            delta = d1 + d2 + 2 * adj[a] * ws[a]
            delta[a] = 0
            b = int(np.argmin(delta))
            if delta[b] < 0:
                seat[[a, b]] = seat[[b, a]]
                improved = True
    return order[seat]


def seating_plan(pupils: pl.DataFrame, rooms: list[Room], *, random_state: int, school: str = "school_code",
                 booklet: str = "booklet") -> pl.DataFrame:
    """Seat ``pupils`` (one row each; ``student_id`` plus ``school`` and ``booklet`` columns when
    known) in ``rooms``, filled in order.  Returns the pupils' columns plus ``room, seat, row, col``
    and ``conflicts`` (how many of the pupil's neighbours share the school or booklet), sorted by room
    and seat.  The same pupils, rooms and seed give the same plan."""
    if pupils.height == 0:
        raise ParameterError("没有可安排座位的学生 / no pupils to seat")
    if "student_id" not in pupils.columns:
        raise ParameterError("学生名单缺少 student_id 列 / the pupils need a student_id column")
    if pupils["student_id"].is_duplicated().any():
        dup = pupils.filter(pupils["student_id"].is_duplicated())["student_id"].unique().sort().to_list()
        raise ParameterError(f"学籍号重复 / duplicate student_id: {', '.join(map(str, dup[:10]))}")
    total = sum(r.seats for r in rooms)
    if pupils.height > total:
        raise ParameterError(f"考场座位不足：{pupils.height} 名学生，{total} 个座位 / "
                             f"not enough seats: {pupils.height} pupils, {total} seats")
    rng = np.random.default_rng(random_state)
    df = pupils.sort("student_id")
    sch = (df[school].cast(pl.String).fill_null("").to_numpy() if school in df.columns
           else np.arange(df.height).astype(str))
    bkl = (df[booklet].cast(pl.String).fill_null("").to_numpy() if booklet in df.columns
           else np.array([f"_{i}" for i in range(df.height)]))
    w_all = conflict_matrix(sch, bkl)
    # split over rooms in order; pupils are dealt to rooms in a seeded order
    shuffled = rng.permutation(df.height)
    parts, start = [], 0
    for room in rooms:
        take = shuffled[start:start + room.seats]
        start += len(take)
        if len(take) == 0:
            break
        pos = _seat_room(w_all[np.ix_(take, take)], room, rng)
        adj = adjacency(room.rows, room.cols, room.seats)[np.ix_(pos, pos)]
        conf = (w_all[np.ix_(take, take)] * adj).sum(axis=1)
        s = pos
        parts.append(df[take].with_columns(
            pl.lit(room.name).alias("room"), pl.Series("seat", s + 1, dtype=pl.Int32),
            pl.Series("row", s // room.cols + 1, dtype=pl.Int32), pl.Series("col", s % room.cols + 1, dtype=pl.Int32),
            pl.Series("conflicts", conf, dtype=pl.Int32)))
    return pl.concat([p.sort("seat") for p in parts])


def room_grid(plan: pl.DataFrame, room: Room) -> list[list[dict | None]]:
    """The plan of one room as ``rows`` lists of ``cols`` cells (a row dict, or None for an empty seat)."""
    grid: list[list[dict | None]] = [[None] * room.cols for _ in range(room.rows)]
    for r in plan.filter(pl.col("room") == room.name).to_dicts():
        grid[r["row"] - 1][r["col"] - 1] = r
    return grid


__all__ = ["Room", "adjacency", "conflict_matrix", "plan_conflicts", "room_grid", "seating_plan"]
