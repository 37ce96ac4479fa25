"""Response forensics on simulated rooms (the generator of tests/core/supervision/test_forensics.py:
3PL items with distractor shares, 6 × 8 rooms, lognormal response times, honest re-answering).

Null: ``JUNHENG_BENCH_ROOMS`` honest rooms (default 100, 4,800 pupils): the share of tests below
alpha = 0.01 / 0.001 / 0.0001 for ω, identical incorrect, the lognormal person-fit, neighbours'
timing correlation and wrong-to-right changes; the rapid rule's share of honest pupils; the false
flags of ``forensic_flags`` per honest room (every statistic at its default level).  Power: ω at alpha = 0.001 for a pupil copying
25 / 50 / 75 / 100 % of 40 items from a neighbour.  Speed: ``copying_indices`` against a loop over
the pairs (one Poisson-binomial recursion per pair), in the same run.

    .venv/bin/python benchmarks/run.py forensics
"""

from __future__ import annotations

import os
import time

from _tests_module import load  # benchmarks/ is on the path

ROOMS = int(os.environ.get("JUNHENG_BENCH_ROOMS", "100"))


def main() -> None:
    import numpy as np
    import polars as pl

    from junheng.supervision import forensics as fx

    sim = load("core/supervision/test_forensics.py", "forensics_sim")
    rng = np.random.default_rng(2026)
    items, key, g = sim._bank(rng)
    persons, theta, raw, seating = sim._honest(rng, ROOMS, items, key, g)
    long, kf = sim._long(persons, raw), sim._keyframe(key)
    t0 = time.perf_counter()
    cp = fx.copying_indices(long, kf, items, seating)
    ours = time.perf_counter() - t0
    speed = rng.normal(0, 0.3, len(persons))
    ev, starts = sim._events(rng, persons, raw, speed)
    ta = fx.timing_anomalies(ev, starts=starts)
    tp = fx.timing_pairs(ev, seating, starts=starts)
    # honest changes: 10 % of answers re-drawn from the pupil's own model, conditioned on differing
    a, b, c = (items[x].to_numpy() for x in "abc")
    p = c + (1 - c) / (1 + np.exp(-a * (theta[:, None] - b)))
    rows, raw2 = [], raw.copy()
    for i, j in zip(*np.nonzero(rng.random(raw.shape) < 0.1), strict=True):
        old = "ABCD".index(raw2[i, j])
        others = [x for x in range(4) if x != key[j]]
        probs = np.array([p[i, j] if k == key[j] else (1 - p[i, j]) * g[j][others.index(k)] for k in range(4)])
        probs[old] = 0
        new = "ABCD"[rng.choice(4, p=probs / probs.sum())]
        rows.append((persons[i], f"i{j:02d}", raw2[i, j], new))
        raw2[i, j] = new
    ch = fx.change_anomalies(pl.DataFrame(rows, schema=["person_id", "item_id", "from_raw", "to_raw"], orient="row"),
                             sim._long(persons, raw2), kf, items)
    print(f"forensics null: {ROOMS} honest rooms of 48 pupils, 40 3PL items")
    print("| statistic | tests | < 0.01 | < 0.001 | < 0.0001 |")
    print("|---|---:|---:|---:|---:|")
    ii = cp.filter(pl.col("person_id") < pl.col("other_id"))
    for name, s in (("ω (ordered neighbour pairs)", cp["p_omega"]), ("identical incorrect (pairs)", ii["p_ii"]),
                    ("lognormal person-fit l_t (pupils)", ta["p_lt"]), ("timing correlation (pairs)", tp["p_r"]),
                    ("wrong-to-right changes (pupils with changes)", ch["p_wtr"])):
        v = s.to_numpy()
        print(f"| {name} | {len(v)} | " + " | ".join(f"{(v < a_).mean():.4f}" for a_ in (0.01, 0.001, 0.0001)) + " |")
    rapid = (ta["rapid_share"] >= 0.25).to_numpy()  # a threshold rule: no p-value, its share of honest pupils
    print(f"rapid rule (≥ 25 % of answers under a tenth of the item's typical time): {int(rapid.sum())} of "
          f"{len(rapid)} honest pupils flagged ({rapid.mean():.4f}); largest honest rapid share "
          f"{ta['rapid_share'].max():.3f}")
    # every statistic at once, at the default levels: the false flags a reviewer sees per honest room
    changes = pl.DataFrame(rows, schema=["person_id", "item_id", "from_raw", "to_raw"], orient="row")
    flags = fx.forensic_flags(responses=sim._long(persons, raw2), key=kf, items=items, seating=seating, events=ev,
                              starts=starts, changes=changes)
    per = flags.group_by("kind", "severity").len().sort("kind", "severity")
    print(f"false flags on {ROOMS} honest rooms (alpha 0.001): {flags.height} in all, {flags.height / ROOMS:.2f} per room; "
          + ", ".join(f"{k} {sev} {n}" for k, sev, n in per.iter_rows()))
    print("| copying share | ω power at 0.001 | identical-incorrect power at 0.001 |")
    print("|---:|---:|---:|")
    copiers = np.array([r * 48 + s for r in range(ROOMS) for s in (9, 27)])
    for share in (0.25, 0.5, 0.75, 1.0):
        copied = raw.copy()
        for cpr in copiers:
            take = rng.random(40) < share
            copied[cpr, take] = raw[cpr + 1, take]
        res = fx.copying_indices(sim._long(persons, copied), kf, items, seating)
        truth = pl.DataFrame({"person_id": persons[copiers], "other_id": persons[copiers + 1]})
        hit = res.join(truth, on=["person_id", "other_id"])
        print(f"| {share:.0%} | {(hit['p_omega'] < 0.001).mean():.3f} | {(hit['p_ii'] < 0.001).mean():.3f} |")

    # baseline: the same ω, one pair at a time
    code = fx._code(long, kf, items)
    pairs = fx.neighbour_pairs(seating)
    pidx = {q: i for i, q in enumerate(code.persons)}
    t0 = time.perf_counter()
    for cc, ss in zip(pairs["person_id"], pairs["other_id"], strict=True):
        rc, rs = code.code[pidx[cc]], code.code[pidx[ss]]
        ok = (rc >= 0) & (rs >= 0)
        pc = code.prob[pidx[cc]]
        pi = np.where(rs == 0, pc, (1 - pc) * code.shares[np.arange(len(rs)), np.maximum(rs, 0)])[ok]
        f = np.zeros(len(pi) + 1)
        f[0] = 1
        for q in pi:
            f[1:] = f[1:] * (1 - q) + f[:-1] * q
            f[0] *= 1 - q
        h = int((ok & (rc == rs)).sum())
        _ = f[h:].sum()
    base = time.perf_counter() - t0
    print(f"forensics speed: copying_indices {len(pairs)} ordered pairs in {ours:.2f} s (incl. EAP); "
          f"a loop over the pairs {base:.2f} s for ω alone — ratio {base / ours:.1f}×")


if __name__ == "__main__":
    main()
