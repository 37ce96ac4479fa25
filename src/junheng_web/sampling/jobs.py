"""The job kind of this app: draw a cycle's sample (the cycle page queues it)."""

from __future__ import annotations

from junheng_web.jobs.runner import kind
from junheng_web.sampling.services import run_sample


@kind("sample")
def sample_job(job, progress) -> dict:
    run = run_sample(job.cycle, job.params.get("sampling") or None, progress=progress,
                     decision=job.params.get("decision"))
    return {"run": run.pk, **{k: v for k, v in run.summary.items() if k in ("schools", "replacements", "pupils")}}
