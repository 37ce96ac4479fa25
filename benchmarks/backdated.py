"""Backdated answers (junheng.supervision.arrivals) on simulated sessions (junheng.synth.delivery):
the share of honest pupils each rule flags — honest pages that lose their own network or the whole
room's, with the page's queue, retries, heartbeats and clock error modelled — and the share of
crafted answers each rule catches.  Two outage models: the default (own 1/h, room 0.5/h, median
60 s, log-sd 1.2) and a harsh one (own 3/h, room 1/h, median 120 s, log-sd 1.5).

    JUNHENG_BENCH_SESSIONS=500 .venv/bin/python benchmarks/run.py backdated
"""

from __future__ import annotations

import os

SESSIONS = int(os.environ.get("JUNHENG_BENCH_SESSIONS", "100"))
BOUNDS = (120, 300, 600, 1200, 1800)


def _share(late, rule: str, n: int, item: str | None = None) -> str:
    import polars as pl

    hit = late.filter(pl.col("rule") == rule)
    if item is not None:
        hit = hit.filter(pl.col("item_id") == item)
    return f"{hit['person_id'].n_unique() / n:.4f}"


def main() -> None:
    from junheng.supervision.arrivals import late_answers
    from junheng.synth import PageModel, backdate, honest_delivery

    models = {"default": PageModel(),
              "harsh": PageModel(outage_rate_h=3.0, room_outage_rate_h=1.0, outage_median_s=120.0, outage_log_sd=1.5)}
    for name, model in models.items():
        frames = honest_delivery(SESSIONS, 40, random_state=2026, model=model)
        n = frames["stops"]["person_id"].n_unique()
        print(f"\nhonest pupils ({name} outages): {SESSIONS} sessions × 40 = {n}; share flagged")
        print("| stop_bound_s | in contact (serious) | after a stop (warning) |")
        print("|---:|---:|---:|")
        for bound in BOUNDS:
            late = late_answers(**frames, stop_bound_s=bound)
            print(f"| {bound} | {_share(late, 'contact', n)} | {_share(late, 'stop', n)} |")
        print(f"\ncrafted answers ({name} outages), stop_bound_s = 600: share caught")
        print("| crafted | in contact | after a stop |")
        print("|---|---:|---:|")
        for label, kw in (("in the session, stamped 1 min back", {"back_s": 60}),
                          ("in the session, stamped 5 min back", {"back_s": 300}),
                          ("in the session, stamped 20 min back", {"back_s": 1200}),
                          ("5 min after time-up, stamped 10 s before it", {"back_s": 10, "after_end_s": 300}),
                          ("15 min after time-up, stamped 10 s before it", {"back_s": 10, "after_end_s": 900})):
            crafted, who = backdate(frames, **kw, random_state=7)
            late = late_answers(**crafted, stop_bound_s=600)
            print(f"| {label} | {_share(late, 'contact', len(who), 'X')} | {_share(late, 'stop', len(who), 'X')} |")
