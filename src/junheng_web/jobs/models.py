"""Background jobs: imports, sampling, reports run outside the request, with visible progress."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from junheng_web.locale import in_language

# the words shown for a job's kind and for the keys of its result (the stored values stay short codes;
# a kind or key not listed is shown as it is)
KIND_LABELS = {"roster": _("名册导入"), "fitness": _("体质健康数据导入"), "questionnaire": _("问卷数据导入"),
               "sample": _("抽样"), "video": _("视频分析"),
               "video.session": _("场次录像分析"), "forensics": _("作答数据甄别"), "omr": _("答题卡读卡"),
               "dashboards": _("预先计算统计页面")}
RESULT_LABELS = {"rows": _("行数"), "created": _("新增"), "updated": _("更新"), "unchanged": _("未变"),
                 "run": _("抽样批次"), "schools": _("学校数"), "replacements": _("备选学校数"), "pupils": _("学生数"),
                 "recording": _("录像编号"), "duration_s": _("时长（秒）"), "picture_flags": _("画面标记"),
                 "schedule_flags": _("时间标记"), "parts": _("子任务数"), "done": _("已完成"),
                 "failed": _("失败"), "recordings": _("录像数"), "pages": _("页面数"),
                 "session": _("场次编号"), "irt": _("按 IRT 校准"), "forensic_flags": _("甄别标记"),
                 "read": _("已读答题卡"), "duplicates": _("重复扫描"), "reviews": _("待人工核对")}


RUN_JOB = "junheng_web.jobs.runner.run_job"  # the queue's one task (its path in django-tasks-db's table)


class Job(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("运行中")
        DONE = "done", _("完成")
        FAILED = "failed", _("失败")

    kind = models.CharField(max_length=32)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED, db_index=True)
    progress = models.PositiveSmallIntegerField(default=0)  # 0–100
    message = models.CharField(max_length=300, blank=True)
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    issues = models.JSONField(default=list, blank=True)  # Issue.as_dict() of a rejected input
    annotated = models.CharField(max_length=500, blank=True)  # path of the annotated workbook
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    cycle = models.ForeignKey("registry.Cycle", null=True, blank=True, on_delete=models.CASCADE, related_name="jobs")
    county = models.ForeignKey("registry.Region", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey("registry.School", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # the lease: a running job's worker writes heartbeat_at every few seconds; a job whose heartbeat
    # is older than the lease is dead (jobs.runner.reap): failed, or queued again if idempotent
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    idempotent = models.BooleanField(default=False)  # its kind may safely run again (jobs.runner.kind)
    task_id = models.CharField(max_length=64, blank=True)  # the queued task (django-tasks-db) of its latest run
    # a part of a fanned-out job (jobs.runner.enqueue_group): the parent aggregates its children
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS.get(self.kind, self.kind))

    @classmethod
    def under_way(cls, kind: str, *, cycle=None, **params) -> Job | None:
        """The oldest job of ``kind`` queued or running with these ``params`` values, of ``cycle`` when
        given (``None``: none) — the one a button pressed twice should name instead of queueing another.
        A job whose worker died is not under way: the matching jobs and their parts whose lease has
        expired are settled first by the queue's own cleanup (``jobs.runner.reap``, as the job's page
        does) — failed, or queued again if their kind may run again (then that run is the one under
        way) — instead of refusing the button until a worker's cleanup comes round."""
        from junheng_web.jobs.runner import reap  # the runner imports this module

        scope = {"cycle": cycle} if cycle is not None else {}
        found = cls.objects.filter(kind=kind, status__in=(cls.Status.QUEUED, cls.Status.RUNNING), **scope,
                                   **{f"params__{k}": v for k, v in params.items()})
        pks = list(found.values_list("pk", flat=True))
        if pks:
            reap(cls.objects.filter(models.Q(pk__in=pks) | models.Q(parent_id__in=pks)))
        return found.order_by("pk").first()

    def localized_message(self) -> str:
        """The progress message in the page's language: messages are written "中文 / English"."""
        return in_language(self.message)

    def result_items(self) -> list[tuple[str, object]]:
        """The result as (label, value) pairs for the page, without the warnings (listed apart)."""
        return [(str(RESULT_LABELS.get(k, k)), v) for k, v in self.result.items() if k != "warnings"]

    @property
    def attempts(self) -> int:
        """How many times the job has been run: its tasks the queue has started (``run_job``'s rows of
        django-tasks-db, one per run; none in eager mode)."""
        from django_tasks_db.models import DBTaskResult

        return DBTaskResult.objects.filter(task_path=RUN_JOB, args_kwargs__args__0=self.pk,
                                           started_at__isnull=False).count()

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)
