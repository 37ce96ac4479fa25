"""``junheng video upload``: the same services as the upload page (stored by checksum, analysed,
flags stored; the same file again changes nothing); an unknown site or session → exit 2."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from junheng_cli.main import cli
from junheng_web.supervision.models import Flag, Recording

pytestmark = pytest.mark.django_db


def _run(*args):
    return CliRunner().invoke(cli, ["video", "upload", *map(str, args)])


def test_it_uploads_once(world, video, tmp_path):
    clip = video.make_clip(tmp_path / "TA01.avi", 12, [("black", 1, 9)])
    r = _run("--year", 2022, "--site", "TA01", "--session", "语文", clip)
    assert r.exit_code == 0, r.output
    rec = Recording.objects.get()
    assert rec.session == world.sessions["A"] and rec.started_at == world.sessions["A"].starts_at
    kinds = sorted(Flag.objects.values_list("kind", "severity"))
    assert kinds == [("covered", "warning"), ("early_end", "serious")]
    r = _run("--year", 2022, "--site", "TA01", "--session", world.sessions["A"].pk, clip)
    assert r.exit_code == 0 and "unchanged" in r.output and Recording.objects.count() == 1


def test_unknown_sites_and_sessions_exit_2(world, video, tmp_path):
    clip = video.make_clip(tmp_path / "x.avi", 1)
    r = _run("--year", 2022, "--site", "NOPE", "--session", "语文", clip)
    assert r.exit_code == 2 and "no test site NOPE" in r.output
    r = _run("--year", 2022, "--site", "TA01", "--session", "数学", clip)
    assert r.exit_code == 2 and "has no session '数学'" in r.output and "语文" in r.output
    assert not Recording.objects.exists()
