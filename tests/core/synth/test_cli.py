"""``junheng synth`` and the demo stage (thin layers over junheng.synth)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from junheng_cli.demo import STAGES, DemoContext
from junheng_cli.demo.province import demo_stage
from junheng_cli.main import cli


def test_it_writes_a_province(tmp_path):
    result = CliRunner().invoke(cli, ["synth", "--out", str(tmp_path / "p"), "--scale", "0.01", "--seed", "3"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "p" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["seed"] == 3 and len(manifest["rosters"]) == 157
    assert (tmp_path / "p" / "schools.xlsx").stat().st_size > 0
    assert "157" in result.output


def test_it_rejects_a_bad_scale_with_exit_2_and_writes_nothing(tmp_path, cli_refused):
    result = CliRunner().invoke(cli, ["synth", "--out", str(tmp_path / "p"), "--scale", "50"])
    cli_refused(result, 2, "scale")
    assert not (tmp_path / "p").exists()


def test_demo_stage_is_first_and_sets_synth_dir(tmp_path):
    assert STAGES[0][1] == "junheng_cli.demo.province:demo_stage"
    ctx = DemoContext(out=tmp_path, scale=0.01, seed=2022)
    demo_stage(ctx)
    assert ctx.state["synth_dir"] == tmp_path / "synth"
    assert (tmp_path / "synth" / "schools.xlsx").exists() and (tmp_path / "synth" / "rosters").is_dir()
    assert ctx.outputs


def test_every_option_is_documented():
    from pathlib import Path

    from junheng_cli.synth import synth

    guide = (Path(__file__).resolve().parents[3] / "docs" / "guide" / "synth.md").read_text(encoding="utf-8")
    for param in synth.params:
        for opt in param.opts:
            assert f"`{opt}" in guide, opt
