"""The job kind of this app: ``omr``, read one uploaded scan file (``services.read_upload``)."""

from __future__ import annotations

from junheng_web.jobs.runner import kind
from junheng_web.omr.models import Upload
from junheng_web.omr.services import read_upload


@kind("omr", idempotent=True)  # a run replaces what the previous run stored for the upload
def omr_job(job, progress) -> dict:
    progress(0.02, "读卡 / reading the sheets")
    upload = Upload.objects.select_related("session__site__cycle").get(pk=job.params["upload"])
    return read_upload(upload, progress=progress)
