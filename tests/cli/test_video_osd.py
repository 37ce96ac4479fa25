"""``junheng video analyse`` and the camera's burned-in clock: the region found (or given with
``--osd-region``) is reported, a replay's flag names the earlier time it shows; a bad region is a
bilingual message and exit code 2."""

from __future__ import annotations

import polars as pl
from click.testing import CliRunner

from junheng_cli.main import cli


def _run(*args):
    return CliRunner().invoke(cli, ["video", *map(str, args)])


def test_a_replay_names_the_clock_it_shows(video, tmp_path):
    clip = video.make_clip(tmp_path / "r.avi", 40, [("loop", 22, 32, 12.0)], seed=4, motion="none", osd=True)
    out = tmp_path / "flags.csv"
    r = _run("analyse", clip, "--fps", 2, "--set", "loop_min_s=3", "--set", "loop_min_lag_s=2", "-o", out)
    assert r.exit_code == 0, r.output
    assert "on-screen clock: x=" in r.output and "12.0 s earlier" in r.output
    flags = pl.read_csv(out)
    assert flags["kind"].to_list() == ["loop"] and "12.0 s earlier" in flags["detail"][0]
    # the clock given by hand (shares of the frame: the fixture's band at the top left) finds it too
    r = _run("analyse", clip, "--fps", 2, "--set", "loop_min_s=3", "--osd-region", "0.45,0,0.4,0.12")
    assert r.exit_code == 0 and "x=43 y=0 w=38 h=9" in r.output and "12.0 s earlier" in r.output, r.output
    plain = video.make_clip(tmp_path / "p.avi", 30, [], seed=4, motion="none")
    r = _run("analyse", plain, "--fps", 2)
    assert r.exit_code == 0 and "none found" in r.output, r.output


def test_a_bad_region_exits_2(video, tmp_path):
    clip = video.make_clip(tmp_path / "c.avi", 4, [])
    for bad in ("0.1,0.2,0.3", "a,b,c,d", "0,0,1.5,0.1", "0,0,0,0.1"):
        r = _run("analyse", clip, "--osd-region", bad)
        assert r.exit_code == 2 and "X,Y,W,H" in r.output, (bad, r.output)
