"""``junheng video analyse``: the flags of a synthetic clip are the events drawn in it (the
oracle, tests/fixtures/video.py); bad input → a bilingual message and exit code 2."""

from __future__ import annotations

import polars as pl
from click.testing import CliRunner

from junheng_cli.main import cli


def _run(*args):
    return CliRunner().invoke(cli, ["video", *map(str, args)])


def test_it_writes_the_flags_and_the_statistics(video, tmp_path):
    clip = video.make_clip(tmp_path / "room.avi", 16, [("black", 2, 9), ("shift", 12)])
    out, stats = tmp_path / "flags.csv", tmp_path / "stats.csv"
    r = _run("analyse", clip, "--fps", 2, "--set", "moved_persist_s=1", "-o", out, "--stats", stats)
    assert r.exit_code == 0, r.output
    flags = pl.read_csv(out)
    assert flags["kind"].to_list() == ["covered", "camera_moved"]
    assert abs(flags["start_s"][0] - 2) <= 0.5 and abs(flags["end_s"][0] - 9) <= 0.5
    assert abs(flags["start_s"][1] - 12) <= 0.5 and abs(flags["end_s"][1] - 16) <= 0.5  # moved until the end
    assert flags["severity"].to_list() == ["warning", "warning"]  # 7 s covered < covered_serious_s = 30 s
    s = pl.read_csv(stats)
    assert s.columns == ["t_s", "brightness", "contrast", "diff", "changed", "align", "zoom", "thumb", "echo_lag",
                         "echo_ratio"]  # no fingerprint of the rules' own
    assert s.height == 32 and len(s["thumb"][0].split(" ")) == 64
    assert "covered" in r.output and "2 处标记 / flags" in r.output


def test_bad_input_exits_2(tmp_path, video):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"nope")
    r = _run("analyse", bad)
    assert r.exit_code == 2 and "cannot read the video" in r.output and "bad.mp4" in r.output
    clip = video.make_clip(tmp_path / "ok.avi", 2)
    r = _run("analyse", clip, "--set", "nonsense=1")
    assert r.exit_code == 2 and "no threshold 'nonsense'" in r.output
    r = _run("analyse", clip, "--set", "frozen_diff=x")
    assert r.exit_code == 2 and "must be a number" in r.output
    r = _run("analyse", clip, "--fps", 0)
    assert r.exit_code == 2 and "fps must be > 0" in r.output


def test_the_statistics_file_takes_the_columns_the_core_declares_public(video, tmp_path, monkeypatch):
    """An internal column the core adds or renames cannot leak into ``--stats``, and the CLI names no
    internal column itself: it writes what ``public_statistics`` gives."""
    import junheng.supervision.frames as frames

    real = frames.frame_statistics

    def renamed(*a, **kw):
        stats, info = real(*a, **kw)
        return stats.rename({"fine": "fine_v2"}).with_columns(pl.lit(1).alias("scratch")), info

    monkeypatch.setattr("junheng.supervision.frame_statistics", renamed)
    clip = video.make_clip(tmp_path / "room.avi", 4)
    out = tmp_path / "stats.csv"
    r = _run("analyse", clip, "--fps", 1, "--stats", out)
    assert r.exit_code == 0, r.output
    assert pl.read_csv(out).columns == list(frames.PUBLIC_COLUMNS)
