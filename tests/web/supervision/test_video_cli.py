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


def test_reanalyse_fans_out_one_job_per_recording_and_sums_them(world, video, tmp_path, eager_jobs, client):
    """Two recordings of a session analysed again with a stricter threshold: one child job each, the
    parent's result sums them (the flags of each clip are known: a black stretch of 8 s in each)."""
    from junheng_web.jobs.models import Job

    clips = [video.make_clip(tmp_path / "a.avi", 12, [("black", 1, 9)]),
             video.make_clip(tmp_path / "b.avi", 12, [("black", 2, 10)])]
    for clip in clips:
        assert _run("--year", 2022, "--site", "TA01", "--session", "语文", clip).exit_code == 0
    r = CliRunner().invoke(cli, ["video", "reanalyse", "--year", "2022", "--site", "TA01", "--session", "语文"])
    assert r.exit_code == 0, r.output
    parent = Job.objects.get(kind="video.session")
    assert parent.status == "done" and parent.children.count() == 2
    assert {c.params["name"] for c in parent.children.all()} == {"a.avi", "b.avi"}
    assert parent.result["parts"] == parent.result["recordings"] == 2
    assert parent.result["picture_flags"] == Flag.objects.filter(recording__isnull=False).count() == 2
    assert parent.result["duration_s"] == pytest.approx(24, abs=1)
    assert "recordings 2" in r.output
    client.force_login(world.users["bob"])  # the parent's page lists its parts, each linked
    page = client.get(f"/jobs/{parent.pk}/").content.decode()
    assert all(f"/jobs/{c.pk}/" in page and c.params["name"] in page for c in parent.children.all())
    status = client.get(f"/jobs/{parent.pk}/status.json").json()
    assert (status["status"], status["progress"], status["finished"]) == ("done", 100, True)


def test_the_session_page_button_fans_out_too(world, video, tmp_path, eager_jobs, client):
    clip = video.make_clip(tmp_path / "a.avi", 12, [("black", 1, 9)])
    assert _run("--year", 2022, "--site", "TA01", "--session", "语文", clip).exit_code == 0
    client.force_login(world.users["bob"])  # the county (who uploads the recordings)
    resp = client.post(f"/video/sessions/{world.sessions['A'].pk}/analyse/")
    from junheng_web.jobs.models import Job

    parent = Job.objects.get(kind="video.session")
    assert resp["Location"] == f"/jobs/{parent.pk}/" and parent.status == "done" and parent.result["recordings"] == 1


def test_reanalyse_without_recordings_says_so(world):
    r = CliRunner().invoke(cli, ["video", "reanalyse", "--year", "2022", "--site", "TA01", "--session", "语文"])
    assert r.exit_code != 0 and "no recording" in r.output
