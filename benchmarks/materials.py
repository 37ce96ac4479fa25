"""Test-day materials: seating quality and time, OMR reading speed.

Seating: rooms of 6 × 8 with 45 pupils from 3 schools (shares 50/30/20 %) and 7 booklets,
``seating_plan`` against the baseline of a random seating (the same rooms, seeded shuffles):
the number of neighbour pairs sharing a school or a booklet, mean over ``JUNHENG_BENCH_ROOMS``
rooms (default 50), and the time per room.

OMR: one rendered answer sheet (33 items, 19-column 学籍号) filled with random answers, rotated and
noised into ``JUNHENG_BENCH_SHEETS`` scans (default 40) at 150 dpi; ``read_sheets`` (vectorised
bubble sampling) against the baseline of the same reader with a Python loop over the bubbles and
their pixels in the sampling step, measured in the same run; both must read the same answers as drawn.

    .venv/bin/python benchmarks/run.py materials
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

ROOMS = int(os.environ.get("JUNHENG_BENCH_ROOMS", "50"))
SHEETS = int(os.environ.get("JUNHENG_BENCH_SHEETS", "40"))


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
    import cv2
    import numpy as np
    import polars as pl

    from junheng.materials import omr
    from junheng.materials.documents import sheets_html, write_pdf

    items = [omr.SheetItem(f"M{k:02d}", "single_choice", "ABCD") for k in range(30)]
    items += [omr.SheetItem(f"C{k}", "constructed", "0123") for k in range(3)]
    lay = omr.SheetLayout("B", "K1", "数学", tuple(items))
    dpi = 150
    mm = dpi / 25.4
    with tempfile.TemporaryDirectory() as tmp:
        write_pdf(sheets_html([lay]), Path(tmp) / "s.pdf")
        subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", "-png", "-singlefile", str(Path(tmp) / "s.pdf"),
                        str(Path(tmp) / "s")], check=True)
        blank = cv2.imread(str(Path(tmp) / "s.png"), cv2.IMREAD_GRAYSCALE)
    b = lay.bubbles()
    rng = np.random.default_rng(0)
    scans, keys = [], []
    for _ in range(SHEETS):
        img = blank.copy()
        key = {it.item_id: it.choices[rng.integers(len(it.choices))] for it in lay.items}
        sid = "G41010220100315001" + "9"
        marks = set((("id", str(c + 1), ch) for c, ch in enumerate(sid))) | {("item", i, v) for i, v in key.items()}
        for r in b.iter_rows(named=True):
            if (r["part"], r["key"], r["value"]) in marks:
                cv2.circle(img, (round(r["x"] * mm), round(r["y"] * mm)), round(1.65 * mm), 45, -1)
        m = cv2.getRotationMatrix2D((img.shape[1] / 2, img.shape[0] / 2), rng.uniform(-3, 3), rng.uniform(0.97, 1.0))
        img = cv2.warpAffine(img, m, img.shape[::-1], borderValue=248)
        img = np.clip(img + rng.normal(0, 8, img.shape), 0, 255).astype(np.uint8)
        scans.append(img)
        keys.append(key)

    def check(resp: pl.DataFrame) -> None:
        for k, (_, g) in enumerate(resp.group_by("sheet", maintain_order=True)):
            assert dict(zip(g["item_id"], g["raw"])) == keys[k]

    t0 = time.perf_counter()
    resp, _ = omr.read_sheets(scans, lay)
    ours = time.perf_counter() - t0
    check(resp)
    vectorised = omr.darkness

    def loop_darkness(warped, bubbles):  # the plain way: one bubble, one pixel at a time
        r = omr.SAMPLE_R * omr.PX_PER_MM
        fx, fy = omr._disc(omr.FID_SIZE * omr.PX_PER_MM * 0.3)
        black = np.median([warped[round(y * omr.PX_PER_MM) + fy, round(x * omr.PX_PER_MM) + fx]
                           for x, y in omr.FIDUCIALS])
        white = np.percentile(warped[::3, ::3], 90)
        out = []
        for row in bubbles.iter_rows(named=True):
            cx, cy = round(row["x"] * omr.PX_PER_MM), round(row["y"] * omr.PX_PER_MM)
            vals = [warped[cy + dy, cx + dx] for dy in range(-7, 8) for dx in range(-7, 8) if dx * dx + dy * dy <= r * r]
            out.append(min(1.0, max(0.0, (white - sum(vals) / len(vals)) / (white - black))))
        return np.array(out)

    omr.darkness = loop_darkness
    try:
        t0 = time.perf_counter()
        resp_b, _ = omr.read_sheets(scans, lay)
        base = time.perf_counter() - t0
    finally:
        omr.darkness = vectorised
    check(resp_b)
    print(f"omr {SHEETS} sheets at {dpi} dpi: junheng {SHEETS / ours:.1f} sheets/s, per-bubble loop "
          f"{SHEETS / base:.1f} sheets/s — ratio {base / ours:.2f}×; answers as drawn in both")


def main() -> None:
    _seating()
    _omr()


if __name__ == "__main__":
    main()
