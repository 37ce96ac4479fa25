"""Questionnaire checking and scoring speed: 170,000 pupils × 32 items (+ key columns).

junheng: ``validate_responses`` (every cell checked, issues for the bad ones) then
``scale_scores`` on the table as read (strings), vectorised over columns. Baseline, measured in
the same run: the same rules written the plain way — a Python loop over rows and cells (parse,
check the option codes or the range, collect issues, then average each scale's answers per
row) — on the first 20,000 rows; rates are rows/s and the ratio is junheng's rate over the
baseline's. The two must agree on the issues and the scores of those rows.
``JUNHENG_BENCH_ROWS`` changes the size.

    .venv/bin/python benchmarks/run.py questionnaire
"""

from __future__ import annotations

import math
import os
import time

ROWS = int(os.environ.get("JUNHENG_BENCH_ROWS", "170000"))
BASELINE_ROWS = min(20_000, ROWS)


def _data(n: int):
    import numpy as np
    import polars as pl

    from junheng.synth.questionnaire import student_questionnaire, synth_responses

    q = student_questionnaire()
    pupils = pl.DataFrame({"student_id": [f"L410102201101{i:06d}" for i in range(n)],
                           "theta": np.random.default_rng(1).normal(size=n)})
    frame = synth_responses(pupils, q, random_state=1, missing_code=9).rename({"respondent_id": "学籍号"})
    frame = frame.with_columns(pl.all().cast(pl.String))
    rng = np.random.default_rng(2)  # about one bad cell in 1,000
    for col in frame.columns[1:]:
        bad = rng.random(frame.height) < 0.001
        frame = frame.with_columns(pl.when(pl.Series(bad)).then(pl.lit("x")).otherwise(pl.col(col)).alias(col))
    return q, frame


def _baseline(q, rows: list[dict]) -> tuple[int, list[dict]]:
    """The per-row Python way: one cell at a time."""
    missing = set(q.missing_codes)
    n_issues = 0
    scores = []
    for row in rows:
        values: dict[str, float | None] = {}
        for item in q.items:
            cell = row.get(item.id)
            if cell is None or cell.strip() == "":
                values[item.id] = None
                continue
            try:
                v = float(cell.strip())
            except ValueError:
                n_issues += 1
                values[item.id] = None
                continue
            if item.type == "choice":
                if v.is_integer() and int(v) in item.options:
                    values[item.id] = v
                elif v.is_integer() and int(v) in missing:
                    values[item.id] = None
                else:
                    n_issues += 1
                    values[item.id] = None
            else:
                outside = (item.min is not None and v < item.min) or (item.max is not None and v > item.max)
                if outside:
                    if v not in missing:
                        n_issues += 1
                    values[item.id] = None
                elif item.integer and not v.is_integer():
                    n_issues += 1
                    values[item.id] = None
                else:
                    values[item.id] = v
        out: dict[str, float | None] = {}
        for s in q.scales:
            got = []
            for i in s.items:
                v = values[i]
                if v is not None:
                    it = q.item(i)
                    got.append(it.low + it.high - v if i in s.reverse else v)
            out[s.id] = sum(got) / len(got) if len(got) >= s.min_items else None
        scores.append(out)
    return n_issues, scores


def main() -> None:
    from junheng.questionnaire import scale_scores, validate_responses

    q, frame = _data(ROWS)
    print(f"{frame.height:,} respondents × {len(q.items)} items ({frame.width} columns)")
    t = time.perf_counter()
    responses, issues = validate_responses(frame, q, file="bench.csv")
    scores = scale_scores(responses, q)
    ours = time.perf_counter() - t
    rate = frame.height / ours
    print(f"junheng  validate + score: {ours:.2f} s ({rate:,.0f} rows/s), {len(issues):,} issues")

    head = frame.head(BASELINE_ROWS)
    rows = head.to_dicts()
    t = time.perf_counter()
    n_issues, base_scores = _baseline(q, rows)
    base = time.perf_counter() - t
    base_rate = head.height / base
    print(f"baseline per-row Python on {head.height:,} rows: {base:.2f} s ({base_rate:,.0f} rows/s)")
    # the same answers: issues and scores of the baseline's rows
    ours_head = [i for i in issues if i.row is not None and i.row <= head.height + 1]
    assert n_issues == len(ours_head), (n_issues, len(ours_head))
    for s in q.scales:
        a = scores[s.id].head(head.height).to_list()
        b = [r[s.id] for r in base_scores]
        assert all((x is None and y is None) or (x is not None and y is not None and math.isclose(x, y))
                   for x, y in zip(a, b)), s.id
    print(f"ratio (junheng rows/s ÷ baseline rows/s): {rate / base_rate:.1f}×")


if __name__ == "__main__":
    main()
