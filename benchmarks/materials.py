"""Test-day materials: seating quality and time, OMR reading speed.

Seating: rooms of 6 × 8 with 45 pupils from 3 schools (shares 50/30/20 %) and 7 booklets,
``seating_plan`` against the baseline of a random seating (the same rooms, seeded shuffles):
the number of neighbour pairs sharing a school or a booklet, mean over ``JUNHENG_BENCH_ROOMS``
rooms (default 50), and the time per room.

OMR: ``JUNHENG_BENCH_SHEETS`` (default 130) synthetic degraded scans of two booklets' sheets
(``junheng.materials.omr_corpus``: lighting, shadows, ADF borders, phone photos, folds, torn
corners, bitonal, JPEG, turns) read in one batch; bubble accuracy against the drawn key per
degradation (the table in docs/methods/omr.md), and speed of ``read_batch`` against the same
reader with a Python loop over the bubbles and their pixels in the sampling step.

    .venv/bin/python benchmarks/run.py materials
"""

from __future__ import annotations

import os
import time

ROOMS = int(os.environ.get("JUNHENG_BENCH_ROOMS", "50"))
SHEETS = int(os.environ.get("JUNHENG_BENCH_SHEETS", "130"))


def _seating() -> None:
    import numpy as np
    import polars as pl

    from junheng.materials.seating import Room, adjacency, conflict_matrix, plan_conflicts, seating_plan

    room = Room("1", 6, 8)
    ours, base, t = [], [], 0.0
    for s in range(ROOMS):
        rng = np.random.default_rng(s)
        n = 45
        df = pl.DataFrame({"student_id": [f"s{i:03d}" for i in range(n)],
                           "school_code": rng.choice(["A", "B", "C"], n, p=[0.5, 0.3, 0.2]).tolist(),
                           "booklet": rng.choice([f"K{k}" for k in range(1, 8)], n).tolist()})
        t0 = time.perf_counter()
        plan = seating_plan(df, [room], random_state=s)
        t += time.perf_counter() - t0
        ours.append(int(plan["conflicts"].sum()) // 2)
        w = conflict_matrix(df["school_code"].to_numpy(), df["booklet"].to_numpy())
        wk = np.zeros((48, 48), dtype=np.int64)
        wk[:n, :n] = w
        base.append(plan_conflicts(rng.permutation(48), wk, adjacency(6, 8, 48)))
    print(f"seating {ROOMS} rooms (45 pupils, 6×8): junheng {np.mean(ours):.2f} conflicting neighbour pairs "
          f"per room (max {max(ours)}), random seating {np.mean(base):.2f}; {t / ROOMS * 1000:.0f} ms per room")


def _omr() -> None:
    import numpy as np
    import polars as pl

    from junheng.materials import omr_corpus as oc
    from junheng.materials import omr_page, omr_read
    from junheng.materials.omr import PX_PER_MM, SheetItem, SheetLayout

    a = [SheetItem(f"M{k:02d}", "single_choice", "ABCD") for k in range(40)]
    a += [SheetItem("X1", "multiple_choice", "ABCDE"), SheetItem("C1", "constructed", "0123")]
    b = [SheetItem(f"N{k:02d}", "single_choice", "ABCDE") for k in range(30)] + [SheetItem("C2", "constructed", "012")]
    lays = [SheetLayout("S1", "K1", "数学", tuple(a)), SheetLayout("S2", "K2", "数学", tuple(b))]
    sheets = list(oc.corpus(lays, SHEETS, seed=2026, dpi=150))
    batch_in = [(f"s{k}", s.image) for k, s in enumerate(sheets)]
    t0 = time.perf_counter()
    batch = omr_read.read_batch(batch_in, lays)
    ours = time.perf_counter() - t0
    rows = []
    for k, s in enumerate(sheets):
        bub = batch.bubbles.filter(pl.col("sheet") == f"s{k}")
        status = batch.sheets["status"][k]
        if not s.expect_read:
            rows.append((s.degradation, 1, 0, 0, 0, int(status == "failed" and bub.height == 0)))
            continue
        if bub.height == 0:
            rows.append((s.degradation, 1, s.truth.height, s.truth.height, 0, 0))
            continue
        wrong = int(((bub["state"] == "mark").to_numpy() != s.truth["marked"].to_numpy()).sum())
        rows.append((s.degradation, 1, bub.height, wrong, int(bub["review"].sum()), 0))
    styles, booklet_right, read_sheets = [], 0, 0
    for k, s in enumerate(sheets):
        bub = batch.bubbles.filter(pl.col("sheet") == f"s{k}")
        if not s.expect_read or bub.height == 0:
            continue
        read_sheets += 1
        booklet_right += int(batch.sheets["booklet"][k] == s.layout.booklet)
        styles.append(s.truth.select(pl.when(pl.col("style") == "").then(pl.lit("blank")).otherwise(pl.col("style"))
                                     .alias("style"), "marked")
                      .with_columns(pl.Series("read_mark", (bub["state"] == "mark").to_numpy())))
    by_style = (pl.concat(styles).group_by("style").agg(pl.len().alias("bubbles"), pl.col("read_mark").sum().alias("as_mark"),
                                                         (pl.col("read_mark") != pl.col("marked")).sum().alias("wrong"))
                .sort("style"))
    print(f"omr layouts chosen by QR: {booklet_right}/{read_sheets} read sheets got their own booklet's layout")
    print("| bubble drawn | bubbles | read as a mark | wrong |")
    print("|---|---:|---:|---:|")
    for r in by_style.iter_rows(named=True):
        print(f"| {r['style']} | {r['bubbles']} | {r['as_mark']} | {r['wrong']} |")
    t = (pl.DataFrame(rows, schema=["degradation", "sheets", "bubbles", "wrong", "review", "torn_reported"], orient="row")
         .group_by("degradation", maintain_order=True).sum())
    tot = t.select(pl.exclude("degradation").sum())
    print(f"omr corpus: {SHEETS} sheets at 150 dpi (seed 2026), two booklets in one batch")
    print("| degradation | sheets | bubbles | wrong | accuracy | for review | torn reported |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in [*t.iter_rows(named=True), {"degradation": "all", **tot.row(0, named=True)}]:
        acc = "—" if not r["bubbles"] else f"{100 * (1 - r['wrong'] / r['bubbles']):.3f} %"
        rev = "—" if not r["bubbles"] else f"{100 * r['review'] / r['bubbles']:.2f} %"
        torn = f"{r['torn_reported']}/{r['sheets']}" if r["degradation"] == "torn" else ""
        print(f"| {r['degradation']} | {r['sheets']} | {r['bubbles']} | {r['wrong']} | {acc} | {rev} | {torn} |")

    vectorised = omr_page.measure

    def loop_measure(warped, x_mm, y_mm, ink):  # the plain way: one bubble at a time, percentile white
        rdx, rdy = omr_page._disc(omr_page.RING[0] * PX_PER_MM, omr_page.RING[1] * PX_PER_MM)
        dx, dy = omr_page._disc(0, omr_page.SAMPLE_R * PX_PER_MM)
        dark, cover = [], []
        for x, y in zip(x_mm, y_mm, strict=True):
            cx, cy = round(x * PX_PER_MM), round(y * PX_PER_MM)
            ring = np.array([warped[cy + j, cx + i] for i, j in zip(rdx, rdy, strict=True)], dtype=float)
            white = np.percentile(ring, 90)
            p = [min(1.0, max(0.0, (1 - warped[cy + j, cx + i] / white) / ink)) for i, j in zip(dx, dy, strict=True)]
            dark.append(sum(p) / len(p))
            cover.append(sum(v >= omr_page.INK for v in p) / len(p))
        return np.array(dark), np.array(cover)

    omr_page.measure = loop_measure
    try:
        t0 = time.perf_counter()
        omr_read.read_batch(batch_in, lays)
        base = time.perf_counter() - t0
    finally:
        omr_page.measure = vectorised
    print(f"omr speed: junheng {SHEETS / ours:.1f} sheets/s, per-bubble loop in the sampling step "
          f"{SHEETS / base:.1f} sheets/s — ratio {base / ours:.2f}×")


def main() -> None:
    _seating()
    _omr()


if __name__ == "__main__":
    main()
