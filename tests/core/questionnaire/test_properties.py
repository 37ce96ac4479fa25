"""Property test (hypothesis): the vectorised check and scoring equal a plain per-cell reference.

The reference below is written independently, one row and one cell at a time, from the rules in
docs/methods/questionnaire.md; any table of cells drawn from valid codes, missing codes, labels,
full-width digits, decimals, out-of-range numbers, text and blanks must give the same bad cells,
the same answers and the same scale scores and indicators."""

from __future__ import annotations

import math
import unicodedata

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from junheng.questionnaire import scale_scores, validate_responses

CELLS = ["1", "2", "3", "4", "5", "0", "9", "99", "1.0", "2.5", "３", " 4 ", "", None, "x", "-1", "完全同意", "寄宿",
         "10", "10.5", "14", "15", "60", "61", "300", "301", "4", "3.9", "1e1", "abc"]
ITEMS = ["Q01", "Q02", "Q03", "Q04", "Q05", "Q06"]


def _reference(q, table: list[dict]) -> tuple[set, list[dict], list[dict]]:
    bad: set[tuple[int, str]] = set()
    answers, scores = [], []
    for r, row in enumerate(table, start=2):
        got: dict[str, float | None] = {}
        for item in q.items:
            raw = row.get(item.id)
            text = None if raw is None else unicodedata.normalize("NFKC", raw).strip()
            if not text:
                got[item.id] = None
                continue
            if item.type == "choice":
                labels = {v: k for k, v in item.options.items()}
                if text in labels:
                    got[item.id] = float(labels[text])
                    continue
                try:
                    v = float(text)
                except ValueError:
                    v = math.nan
                if v.is_integer() and "e" not in text and int(v) in item.options:
                    got[item.id] = v
                elif v.is_integer() and "e" not in text and int(v) in q.missing_codes:
                    got[item.id] = None
                else:
                    bad.add((r, item.id))
                    got[item.id] = None
            else:
                try:
                    v = float(text)
                except ValueError:
                    bad.add((r, item.id))
                    got[item.id] = None
                    continue
                if v < item.min or v > item.max:
                    if v not in q.missing_codes:
                        bad.add((r, item.id))
                    got[item.id] = None
                elif item.integer and not v.is_integer():
                    bad.add((r, item.id))
                    got[item.id] = None
                else:
                    got[item.id] = v
        answers.append(got)
        s = q.scales[0]
        vals = [(5 - got[i] if i in s.reverse else got[i]) for i in s.items if got[i] is not None]
        sc = {s.id: sum(vals) / len(vals) if len(vals) >= s.min_items else None}
        for ind in q.indicators:
            v = got[ind.item]
            if v is None:
                sc[ind.id] = None
            elif ind.op == ">=":
                sc[ind.id] = v >= ind.value
            elif ind.op == "<=":
                sc[ind.id] = v <= ind.value
            else:
                sc[ind.id] = v in ind.value
        scores.append(sc)
    return bad, answers, scores


# small_q is an immutable definition: sharing it across examples is safe
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.fixed_dictionaries({i: st.sampled_from(CELLS) for i in ITEMS}), min_size=1, max_size=25))
def test_vectorised_equals_per_cell_reference(small_q, rows):
    table = [{"学籍号": f"L410102201101{k:06d}", **row} for k, row in enumerate(rows)]
    frame = pl.DataFrame(table, schema={"学籍号": pl.String, **{i: pl.String for i in ITEMS}})
    out, issues = validate_responses(frame, small_q)
    bad, answers, scores = _reference(small_q, table)
    assert {(i.row, i.column) for i in issues if i.severity == "error"} == bad
    assert out.select(ITEMS).cast(pl.Float64).to_dicts() == answers
    ours = scale_scores(out, small_q).drop("respondent_id").to_dicts()
    for a, b in zip(ours, scores):
        assert a.keys() == b.keys()
        for k in a:
            assert (a[k] is None and b[k] is None) or math.isclose(a[k], b[k]), (k, a, b)
