"""Test assembly: blocks, booklet designs (balanced incomplete blocks), and spiralled assignment.

**Designs.** A design puts ``v`` blocks into ``b`` booklets of ``k`` blocks each. ``cyclic_bib``
develops a *difference set* ``D = {d_1 … d_k}`` modulo ``v`` (booklet ``i`` holds blocks
``d_j + i mod v`` in position ``j``). When every non-zero residue arises exactly ``λ`` times as a
difference ``d_j − d_l``, the result is a balanced incomplete block design: each block appears in
``r = k`` booklets, **once in each position**, and each pair of blocks appears together in
exactly ``λ = k(k−1)/(v−1)`` booklets (Fisher's condition ``b ≥ v`` holds with ``b = v``). The
classic 7 blocks in 7 booklets of 3 (``D = {0, 1, 3}``, λ = 1) is the design of NAEP/PISA-type
rotations; see Cochran & Cox (1957, ch. 11) and Frey, Hartig & Rupp (2009, *Educational
Measurement: Issues and Practice* 28(3)). When no difference set exists for (v, k) the function
falls back to the rotation ``D = {0, 1, …, k−1}``: blocks and positions stay balanced, pairs only
for neighbours (``pairs_balanced`` is then ``False``).

**Assignment.** ``assign_booklets`` gives every pupil one subject and one booklet of that subject.
Subjects are spiralled within school (a seeded random order of the pupils, then subjects in
turn from a seeded start), booklets likewise within school × subject, so every school sees all
subjects and every booklet in near-equal numbers, and the assignment is reproducible from the seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from math import comb

import numpy as np
import polars as pl

from junheng.exceptions import ParameterError


def find_difference_set(v: int, k: int) -> tuple[int, ...] | None:
    """A (v, k, λ) cyclic difference set containing 0 (brute force; small v), or ``None``."""
    if not 2 <= k < v:
        return None
    if (k * (k - 1)) % (v - 1):
        return None
    lam = k * (k - 1) // (v - 1)
    if comb(v - 1, k - 1) > 2_000_000:
        return None
    for rest in combinations(range(1, v), k - 1):
        d = (0, *rest)
        counts = np.zeros(v, dtype=int)
        for a in d:
            for b in d:
                if a != b:
                    counts[(a - b) % v] += 1
        if (counts[1:] == lam).all():
            return d
    return None


@dataclass(frozen=True)
class BookletDesign:
    """Blocks in booklets: ``booklets[i]`` lists block ids in position order (position 1 first)."""

    blocks: tuple[str, ...]
    booklets: tuple[tuple[str, ...], ...]
    anchor_blocks: tuple[str, ...] = ()
    booklet_ids: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.booklet_ids:
            object.__setattr__(self, "booklet_ids", tuple(f"B{i + 1:02d}" for i in range(len(self.booklets))))
        unknown = {b for bk in self.booklets for b in bk} - set(self.blocks)
        if unknown:
            raise ParameterError(f"题本用到未定义的题组 / booklets use unknown blocks: {sorted(unknown)}")
        if set(self.anchor_blocks) - set(self.blocks):
            raise ParameterError(f"锚题组不在设计中 / anchor blocks not in the design: {sorted(set(self.anchor_blocks) - set(self.blocks))}")

    @property
    def v(self) -> int:
        return len(self.blocks)

    def block_counts(self) -> dict[str, int]:
        """How many booklets hold each block (``r``)."""
        return {b: sum(b in bk for bk in self.booklets) for b in self.blocks}

    def position_counts(self) -> np.ndarray:
        """``v × k`` matrix: how often block *i* sits in position *j*."""
        k = max(len(bk) for bk in self.booklets)
        idx = {b: i for i, b in enumerate(self.blocks)}
        m = np.zeros((self.v, k), dtype=int)
        for bk in self.booklets:
            for j, b in enumerate(bk):
                m[idx[b], j] += 1
        return m

    def pair_counts(self) -> np.ndarray:
        """``v × v`` matrix: how many booklets hold both block *i* and block *j* (concurrence)."""
        idx = {b: i for i, b in enumerate(self.blocks)}
        m = np.zeros((self.v, self.v), dtype=int)
        for bk in self.booklets:
            for a, b in combinations(bk, 2):
                m[idx[a], idx[b]] += 1
                m[idx[b], idx[a]] += 1
        return m

    @property
    def blocks_balanced(self) -> bool:
        return len(set(self.block_counts().values())) == 1

    @property
    def positions_balanced(self) -> bool:
        return len(set(self.position_counts().ravel().tolist())) == 1

    @property
    def pairs_balanced(self) -> bool:
        m = self.pair_counts()
        off = m[~np.eye(self.v, dtype=bool)]
        return off.size > 0 and len(set(off.tolist())) == 1 and off[0] > 0

    def booklet_blocks(self) -> pl.DataFrame:
        """``booklet, position, block`` (position 1-based)."""
        rows = [(bid, j + 1, b) for bid, bk in zip(self.booklet_ids, self.booklets) for j, b in enumerate(bk)]
        return pl.DataFrame(rows, schema={"booklet": pl.String, "position": pl.Int32, "block": pl.String},
                            orient="row")

    def to_json(self) -> dict:
        return {"blocks": list(self.blocks), "anchor_blocks": list(self.anchor_blocks),
                "booklets": {bid: list(bk) for bid, bk in zip(self.booklet_ids, self.booklets)}}

    @classmethod
    def from_json(cls, d: dict) -> BookletDesign:
        try:
            return cls(blocks=tuple(d["blocks"]), booklets=tuple(tuple(v) for v in d["booklets"].values()),
                       anchor_blocks=tuple(d.get("anchor_blocks", ())), booklet_ids=tuple(d["booklets"]))
        except (KeyError, TypeError, AttributeError) as exc:
            raise ParameterError(f"不是题本设计文件 / not a booklet design: {exc}") from None


def cyclic_bib(v: int, k: int, *, prefix: str = "K", anchor_blocks: int = 0) -> BookletDesign:
    """The cyclic design of ``v`` blocks in ``v`` booklets of ``k`` (BIB when a difference set exists).

    Blocks are named ``{prefix}1 … {prefix}v``; the first ``anchor_blocks`` blocks are flagged as
    anchors (items shared with earlier cycles).
    """
    if not (isinstance(v, int) and isinstance(k, int)) or not 1 <= k <= v or v > 60:
        raise ParameterError(f"题组数须满足 1 ≤ k ≤ v ≤ 60 / need 1 ≤ k ≤ v ≤ 60 blocks; got v={v}, k={k}")
    if not 0 <= anchor_blocks <= v:
        raise ParameterError(f"锚题组数须在 0..{v} / anchor_blocks must be 0..{v}; got {anchor_blocks}")
    d = find_difference_set(v, k) if k < v else None
    base = d if d is not None else tuple(range(k))
    names = tuple(f"{prefix}{i + 1}" for i in range(v))
    booklets = tuple(tuple(names[(x + i) % v] for x in base) for i in range(v))
    return BookletDesign(blocks=names, booklets=booklets, anchor_blocks=names[:anchor_blocks])


def assemble_blocks(items: pl.DataFrame, n_blocks: int, *, anchors: list[str] | None = None,
                    n_anchor_blocks: int = 0, difficulty: str | None = None, random_state: int = 0,
                    prefix: str = "K") -> pl.DataFrame:
    """Deal items into blocks so that content domains and difficulty are spread evenly.

    ``items`` needs ``item_id`` and optionally ``content_domain`` and a difficulty column (e.g.
    last year's p-value). Anchor items fill the first ``n_anchor_blocks`` blocks; the others fill
    the rest. Within each group items are ordered by domain then difficulty and dealt in a
    serpentine (1, 2, …, n, n, …, 1), which equalises block sums. Returns ``item_id, block, order``.
    """
    if n_blocks < 1 or not 0 <= n_anchor_blocks <= n_blocks:
        raise ParameterError(f"题组数须 ≥ 1，锚题组数须在 0 与题组数之间 / need n_blocks ≥ 1 and 0 ≤ n_anchor_blocks ≤ n_blocks; "
                             f"got {n_blocks}, {n_anchor_blocks}")
    anchors = set(anchors or [])
    if anchors and n_anchor_blocks == 0:
        raise ParameterError("给了锚题但锚题组数为 0 / anchor items given but n_anchor_blocks is 0")
    rng = np.random.default_rng(random_state)
    df = items.with_columns(pl.Series("_u", rng.random(items.height)))
    if "content_domain" not in df.columns:
        df = df.with_columns(pl.lit("").alias("content_domain"))
    sort_cols = ["content_domain", difficulty or "_u"]
    names = [f"{prefix}{i + 1}" for i in range(n_blocks)]
    out = []
    for group, blocks in ((df.filter(pl.col("item_id").is_in(list(anchors))), names[:n_anchor_blocks]),
                          (df.filter(~pl.col("item_id").is_in(list(anchors))), names[n_anchor_blocks:])):
        if group.height == 0:
            continue
        if not blocks:
            raise ParameterError("非锚题没有可用的题组 / no blocks left for the non-anchor items")
        g = group.sort(sort_cols)
        n = len(blocks)
        i = np.arange(g.height)
        cycle, pos = i // n, i % n
        slot = np.where(cycle % 2 == 0, pos, n - 1 - pos)
        out.append(g.select("item_id").with_columns(pl.Series("block", np.array(blocks)[slot])))
    res = pl.concat(out)
    return res.with_columns(pl.int_range(1, pl.len() + 1).over("block").cast(pl.Int32).alias("order"))


def booklet_items(design: BookletDesign, blocks: pl.DataFrame) -> pl.DataFrame:
    """Expand a design to ``booklet, item_id, block, position`` (item position within the booklet)."""
    bb = design.booklet_blocks().rename({"position": "block_position"})
    df = bb.join(blocks.select("item_id", "block", "order"), on="block", how="inner")
    return (df.sort("booklet", "block_position", "order")
              .with_columns(pl.int_range(1, pl.len() + 1).over("booklet").cast(pl.Int32).alias("position"))
              .select("booklet", "item_id", "block", "block_position", "position"))


def assign_booklets(pupils: pl.DataFrame, designs: dict[str, BookletDesign], *, random_state: int,
                    school: str = "school_code") -> pl.DataFrame:
    """Spiral subjects and booklets within school; returns ``student_id, school, subject, booklet``.

    If ``pupils`` already has a ``subject`` column (the survey sample assigns it), it is kept and
    only booklets are spiralled within school × subject. Seeded: the same seed gives the same
    assignment.
    """
    if not designs:
        raise ParameterError("至少需要一个学科的题本设计 / at least one subject design is needed")
    for col in ("student_id", school):
        if col not in pupils.columns:
            raise ParameterError(f"学生表缺少列 {col!r} / pupils need a {col!r} column")
    rng = np.random.default_rng(random_state)
    subjects = list(designs)
    df = pupils.select("student_id", school, *(["subject"] if "subject" in pupils.columns else []))
    df = df.with_columns(pl.Series("_u", rng.random(df.height)))
    if "subject" not in df.columns:
        schools = df[school].unique().sort()
        start = pl.DataFrame({school: schools, "_s0": rng.integers(0, len(subjects), schools.len())})
        df = (df.join(start, on=school, how="left")
                .with_columns(((pl.col("_u").rank("ordinal").over(school) - 1 + pl.col("_s0")) % len(subjects))
                              .alias("_si"))
                .with_columns(pl.col("_si").replace_strict(list(range(len(subjects))), subjects).alias("subject"))
                .drop("_s0", "_si"))
    else:
        bad = set(df["subject"].unique().to_list()) - set(subjects)
        if bad:
            raise ParameterError(f"这些学科没有题本设计 / no booklet design for subject(s) {sorted(map(str, bad))}")
    parts = []
    for subj, design in designs.items():
        g = df.filter(pl.col("subject") == subj)
        if g.height == 0:
            continue
        nb = len(design.booklet_ids)
        keys = g.select(school, "subject").unique().sort(school)
        keys = keys.with_columns(pl.Series("_b0", rng.integers(0, nb, keys.height)))
        g = (g.join(keys, on=[school, "subject"], how="left")
              .with_columns(((pl.col("_u").rank("ordinal").over(school) - 1 + pl.col("_b0")) % nb).alias("_bi"))
              .with_columns(pl.col("_bi").replace_strict(list(range(nb)), list(design.booklet_ids)).alias("booklet")))
        parts.append(g.select("student_id", school, "subject", "booklet"))
    out = pl.concat(parts)
    return pupils.select("student_id").join(out, on="student_id", how="left")
