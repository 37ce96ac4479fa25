"""The job kind of this app: analyse an uploaded recording (progress shown on the job page)."""

from __future__ import annotations

from junheng.supervision import FlagParameters
from junheng_web.jobs.runner import kind
from junheng_web.supervision.models import Recording
from junheng_web.supervision.services import analyse_recording


@kind("video")
def video_job(job, progress) -> dict:
    progress(0.02, "分析视频 / analysing the video")
    rec = Recording.objects.select_related("session__site").get(pk=job.params["recording"])
    params = FlagParameters(**job.params["parameters"]) if job.params.get("parameters") else None
    return analyse_recording(rec, fps=float(job.params.get("fps", 1.0)), params=params, progress=progress)
