"""Cut scores set by a panel: stored with their provenance through the service and `junheng levels`,
idempotent, all-or-nothing on bad judgements; provisional until a panel has met."""

from __future__ import annotations

import json
import math

import polars as pl
import pytest
from click.testing import CliRunner

from junheng_cli.main import cli
from junheng_web.assessment import models as m
from junheng_web.assessment import services

ITEMS = pl.DataFrame({"item_id": ["i1", "i2", "i3", "i4"], "model": ["2pl"] * 4, "a": [1.0, 2.0, 0.5, 1.0],
                      "b": [0.0, -1.0, 0.5, 0.4], "subject": ["数学"] * 4})
SCALE = {"数学": {"mean": 500.0, "sd": 100.0, "theta_mean": 0.0, "theta_sd": 1.0}}
L67 = math.log(0.67 / 0.33)
MARKS = pl.DataFrame({"panellist": ["甲", "乙", "丙"] * 3, "round": [1] * 9,
                      "cut": ["Ⅱ"] * 3 + ["Ⅲ"] * 3 + ["Ⅳ"] * 3, "page": [1, 1, 1, 2, 3, 3, 4, 4, 4]})


@pytest.mark.django_db
def test_provisional_until_a_panel_meets_then_the_stored_cuts_apply():
    assert services.cut_scores("数学").provisional
    c = services.set_cut_scores("数学", "bookmark", MARKS, ITEMS, SCALE["数学"], panel="省专家组", date="2022-07-01")
    # pages by RP67 (b + ln(.67/.33)/a): i2 −0.646 < i1 0.708 < i4 1.108 < i3 1.916
    assert c.cut_2 == pytest.approx(500 + 100 * (-1 + L67 / 2), abs=1e-3)
    assert c.cut_3 == pytest.approx(500 + 100 * (0.4 + L67), abs=1e-3)  # median of pages 2, 3, 3 → page 3 = i4
    assert c.cut_4 == pytest.approx(500 + 100 * (0.5 + L67 / 0.5), abs=1e-3)
    got = services.cut_scores("数学")
    assert not got.provisional and got.panel == "省专家组" and got.cuts[0] == pytest.approx(c.cut_2)
    assert len(c.judgements) == 9
    # the same meeting again replaces its record
    services.set_cut_scores("数学", "bookmark", MARKS, ITEMS, SCALE["数学"], panel="省专家组", date="2022-07-01")
    assert m.CutScore.objects.count() == 1
    assert services.cut_scores("英语").provisional


@pytest.mark.django_db(transaction=True)
def test_levels_cli_sets_and_shows(tmp_path):
    ITEMS.write_csv(tmp_path / "items.csv")
    (tmp_path / "scale.json").write_text(json.dumps(SCALE), encoding="utf-8")
    MARKS.write_csv(tmp_path / "marks.csv")
    run = lambda *a: CliRunner().invoke(cli, [str(x) for x in a])  # noqa: E731
    r = run("levels", "booklet", "--items", tmp_path / "items.csv", "--subject", "数学", "--scale",
            tmp_path / "scale.json", "-o", tmp_path / "oib.csv")
    assert r.exit_code == 0, r.output
    assert pl.read_csv(tmp_path / "oib.csv")["item_id"].to_list() == ["i2", "i1", "i4", "i3"]
    r = run("levels", "set", "--subject", "数学", "--method", "bookmark", "--judgements", tmp_path / "marks.csv",
            "--items", tmp_path / "items.csv", "--scale", tmp_path / "scale.json", "--panel", "省专家组",
            "--date", "2022-07-01")
    assert r.exit_code == 0, r.output
    assert "书签法" in r.output and "已保存" in r.output
    r = run("levels", "show")
    assert "数学" in r.output and "省专家组" in r.output and "暂定" in r.output  # the other subjects
    # a bad page: every bad row reported, exit 2, nothing stored
    MARKS.with_columns(pl.lit(9).alias("page")).write_csv(tmp_path / "bad.csv")
    before = m.CutScore.objects.count()
    r = run("levels", "set", "--subject", "数学", "--method", "bookmark", "--judgements", tmp_path / "bad.csv",
            "--items", tmp_path / "items.csv", "--scale", tmp_path / "scale.json", "--panel", "另一组",
            "--date", "2022-07-02")
    assert r.exit_code == 2 and "1–4" in r.output and m.CutScore.objects.count() == before
