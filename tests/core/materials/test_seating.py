"""Seating plans: every pupil seated once, seeded, and as few same-school/same-booklet neighbours as
possible — checked against an exhaustive search over every arrangement of small rooms (the oracle)."""

from __future__ import annotations

import functools
import itertools

import numpy as np
import polars as pl
import pytest

from junheng.exceptions import ParameterError
from junheng.materials.seating import Room, adjacency, conflict_matrix, plan_conflicts, seating_plan


def _pupils(groups: list[tuple[str, str, int]]) -> pl.DataFrame:
    rows = []
    for school, booklet, k in groups:
        rows += [(f"{school}{booklet}{i:03d}", school, booklet) for i in range(k)]
    return pl.DataFrame(rows, schema=["student_id", "school_code", "booklet"], orient="row")


@functools.cache
def _brute_min_of(groups: tuple, rows: int, cols: int) -> int:
    return _brute_min(_pupils(list(groups)), Room("A", rows, cols))


def _brute_min(pupils: pl.DataFrame, room: Room) -> int:
    """Every arrangement of the pupils (and the empty seats) in the room, evaluated at once."""
    sch, bkl = pupils["school_code"].to_numpy(), pupils["booklet"].to_numpy()
    k = room.rows * room.cols
    w = np.zeros((k, k), dtype=np.int64)
    w[:len(sch), :len(sch)] = conflict_matrix(sch, bkl)
    perms = np.array(list(itertools.permutations(range(k))), dtype=np.int8)
    pairs = np.argwhere(np.triu(adjacency(room.rows, room.cols, k)))
    cost = sum(w[perms[:, a], perms[:, b]] for a, b in pairs)
    assert plan_conflicts(perms[int(np.argmin(cost))].astype(int), w, adjacency(room.rows, room.cols, k)) == cost.min()
    return int(cost.min())


def _total(plan: pl.DataFrame) -> int:
    return int(plan["conflicts"].sum()) // 2


def test_hand_worked_adjacency_of_a_2x3_room():
    # seats 1 2 3 / 4 5 6: seat 1 touches 2 and 4; seat 5 touches 2, 4 and 6
    adj = adjacency(2, 3, 6)
    assert set(np.flatnonzero(adj[0])) == {1, 3}
    assert set(np.flatnonzero(adj[4])) == {1, 3, 5}
    assert adj.sum() == 2 * 7  # 7 shared sides in a 2×3 grid


def test_checkerboard_exists_and_is_found():
    # two schools each with its own booklet, 8 + 8 in a 4×4 room: a checkerboard has no conflict
    pupils = _pupils([("S1", "B1", 8), ("S2", "B2", 8)])
    plan = seating_plan(pupils, [Room("101", 4, 4)], random_state=3)
    assert _total(plan) == 0
    assert sorted(plan["student_id"]) == sorted(pupils["student_id"])
    assert plan.select("row", "col").is_duplicated().sum() == 0


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
@pytest.mark.parametrize("groups,shape", [
    ([("S1", "B1", 3), ("S1", "B2", 1), ("S2", "B1", 2)], (2, 3)),
    ([("S1", "B1", 4), ("S2", "B2", 2), ("S3", "B1", 1)], (2, 4)),
    ([("S1", "B1", 2), ("S1", "B2", 2), ("S2", "B1", 2), ("S2", "B2", 1)], (3, 3)),
])
def test_reaches_the_exhaustive_minimum(groups, shape, seed):
    pupils = _pupils(groups)
    room = Room("A", *shape)
    plan = seating_plan(pupils, [room], random_state=seed)
    assert _total(plan) == _brute_min_of(tuple(groups), *shape)


def test_seeded_and_split_over_rooms():
    pupils = _pupils([("S1", "B1", 10), ("S2", "B2", 9), ("S3", "B1", 6)])
    rooms = [Room("101", 3, 5), Room("102", 3, 4)]
    a = seating_plan(pupils, rooms, random_state=7)
    assert a.equals(seating_plan(pupils, rooms, random_state=7))
    assert not a.equals(seating_plan(pupils, rooms, random_state=8))
    assert a.group_by("room").len().sort("room")["len"].to_list() == [15, 10]
    assert a["seat"].max() <= 15


def test_too_many_pupils_is_refused():
    with pytest.raises(ParameterError, match="not enough seats"):
        seating_plan(_pupils([("S1", "B1", 5)]), [Room("1", 2, 2)], random_state=1)
    with pytest.raises(ParameterError, match="ROWSxCOLS"):
        Room.parse("101-6x8")
    assert Room.parse("101:6x8:40") == Room("101", 6, 8, 40)
