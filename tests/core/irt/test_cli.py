"""``junheng irt calibrate`` and ``junheng irt score`` end to end on LSAT7 (CliRunner)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from junheng_cli.main import cli

LSAT7 = Path(__file__).resolve().parents[2] / "reference" / "irt" / "lsat7.csv"


def test_it_calibrates_and_scores(tmp_path):
    runner = CliRunner()
    items = tmp_path / "items.csv"
    r = runner.invoke(cli, ["irt", "calibrate", str(LSAT7), "--model", "2pl", "-o", str(items)])
    assert r.exit_code == 0, r.output
    assert "-2658.805" in r.output and "EM" in r.output and "converged" in r.output
    frame = pl.read_csv(items)
    assert frame.columns[:6] == ["item_id", "model", "ncat", "a", "b", "c"] and "se_a" in frame.columns
    for method in ("eap", "wle", "map"):
        out = tmp_path / f"{method}.csv"
        r = runner.invoke(cli, ["irt", "score", str(LSAT7), "--items", str(items), "--method", method, "-o", str(out)])
        assert r.exit_code == 0, r.output
        assert pl.read_csv(out).height == 1000
    out = tmp_path / "pv.csv"
    r = runner.invoke(cli, ["irt", "score", str(LSAT7), "--items", str(items), "--method", "pv", "--seed", "3",
                            "-o", str(out)])
    assert r.exit_code == 0 and pl.read_csv(out).columns == ["person_id", "pv1", "pv2", "pv3", "pv4", "pv5"]
    # conditioned on a reporting variable, the school mean and questionnaire components
    import numpy as np

    rng = np.random.default_rng(0)
    data = pl.read_csv(LSAT7).with_columns(pl.Series("county", rng.choice(["a", "b"], 1000)),
                                           pl.Series("school", rng.integers(0, 40, 1000).astype(str)),
                                           pl.Series("q1", rng.integers(0, 4, 1000)),
                                           pl.Series("q2", rng.integers(0, 4, 1000)))
    data.write_csv(tmp_path / "with_background.csv")
    r = runner.invoke(cli, ["irt", "score", str(tmp_path / "with_background.csv"), "--items", str(items), "--method",
                            "pv", "--seed", "3", "--conditioning", "county", "--school", "school",
                            "--questionnaire", "q1", "--questionnaire", "q2", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert pl.read_csv(out).height == 1000


@pytest.mark.parametrize(("content", "needle"), [
    ("person_id,i1,i2\n1,1,x\n2,0,1\n", "Row 2, column i2"),
    ("person_id,i1\n1,1\n2,1\n", "same score"),
])
def test_bad_input_exits_2_with_every_issue(tmp_path, content, needle):
    f = tmp_path / "r.csv"
    f.write_text(content, encoding="utf-8")
    r = CliRunner().invoke(cli, ["irt", "calibrate", str(f), "-o", str(tmp_path / "x.csv")])
    assert r.exit_code == 2 and needle in r.output
    assert not (tmp_path / "x.csv").exists()


def test_a_background_column_is_refused_unless_the_items_are_named(tmp_path, cli_refused):
    data = pl.read_csv(LSAT7)
    f = tmp_path / "with_sex.csv"
    data.with_columns(pl.Series("sex", [1 + i % 2 for i in range(data.height)])).write_csv(f)
    runner = CliRunner()
    r = runner.invoke(cli, ["irt", "calibrate", str(f), "--se", "none", "-o", str(tmp_path / "a.csv")])
    cli_refused(r, 2, "sex", "items=")
    items = ",".join(c for c in data.columns if c != "person_id")
    r = runner.invoke(cli, ["irt", "calibrate", str(f), "--columns", items, "--se", "none", "-o", str(tmp_path / "b.csv")])
    assert r.exit_code == 0, r.output
    assert "-2658.805" in r.output and pl.read_csv(tmp_path / "b.csv")["item_id"].to_list() == items.split(",")
