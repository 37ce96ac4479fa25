"""The job kinds of this app: analyse one uploaded recording (progress shown on the job page), and
``video.session``, a session's recordings analysed again at once, one job per recording
(``services.queue_session_analysis``), whose parent sums its parts."""

from __future__ import annotations

from junheng.supervision import FlagParameters
from junheng_web.jobs.runner import group, kind
from junheng_web.supervision.models import Recording
from junheng_web.supervision.services import analyse_recording


@kind("video", idempotent=True)  # a run replaces the recording's open flags: running it again is safe
def video_job(job, progress) -> dict:
    progress(0.02, "分析视频 / analysing the video")
    rec = Recording.objects.select_related("session__site").get(pk=job.params["recording"])
    params = FlagParameters(**job.params["parameters"]) if job.params.get("parameters") else None
    return analyse_recording(rec, fps=float(job.params.get("fps", 1.0)), params=params, progress=progress)


@group("video.session")
def session_totals(results: list[dict]) -> dict:
    """The parent's result: recordings analysed, their hours and picture flags (the schedule flags are
    the session's, rewritten by each part: the largest count is the final one)."""
    return {"recordings": len(results),
            "duration_s": round(sum(r.get("duration_s", 0) for r in results), 1),
            "picture_flags": sum(r.get("picture_flags", 0) for r in results),
            "schedule_flags": max((r.get("schedule_flags", 0) for r in results), default=0)}
