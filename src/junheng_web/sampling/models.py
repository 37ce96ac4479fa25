"""The sample of a monitoring cycle: the run that drew it, its schools (with replacements and
their status) and its pupils (with subject and weights).

The selection itself is computed by the core (``junheng.survey``) through ``services.py``;
replicate weights (80 columns per pupil) live in a Parquet file named by a :class:`WeightSet`,
not in rows — analysis reads frames, never the ORM row by row.
"""

from __future__ import annotations

from django.db import models


class SampleRun(models.Model):
    """One selection for a cycle: its parameters, seed and summary (counts, exclusion rates)."""

    cycle = models.ForeignKey("registry.Cycle", on_delete=models.CASCADE, related_name="sample_runs")
    params = models.JSONField(default=dict)
    seed = models.BigIntegerField()
    summary = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"sample of {self.cycle} (seed {self.seed})"


class SampledSchool(models.Model):
    """A school drawn for the cycle, or one of its two replacements."""

    class Role(models.TextChoices):
        SAMPLED = "sampled", "抽中学校"
        REPLACEMENT_1 = "replacement_1", "第一替补"
        REPLACEMENT_2 = "replacement_2", "第二替补"

    class Status(models.TextChoices):
        PENDING = "pending", "待确认"
        PARTICIPATING = "participating", "参加"
        REFUSED = "refused", "拒绝"
        REPLACED = "replaced", "已替补"
        CLOSED = "closed", "已撤并"

    run = models.ForeignKey(SampleRun, on_delete=models.CASCADE, related_name="schools")
    cycle = models.ForeignKey("registry.Cycle", on_delete=models.CASCADE, related_name="sampled_schools")
    school = models.ForeignKey("registry.School", on_delete=models.PROTECT, related_name="samplings")
    role = models.CharField(max_length=16, choices=Role.choices)
    replaces = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="replacements")
    stratum = models.CharField(max_length=32)
    sort_order = models.PositiveIntegerField()
    mos = models.PositiveIntegerField("规模 (年级人数)")
    certainty = models.BooleanField(default=False)
    pi = models.FloatField("入样概率", null=True, blank=True)
    school_weight = models.FloatField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cycle", "school"], name="sampled_school_cycle_unique")]
        ordering = ["stratum", "sort_order"]
        indexes = [models.Index(fields=["cycle", "role"])]

    def __str__(self) -> str:
        return f"{self.school_id} ({self.role})"


class SampledPupil(models.Model):
    """A pupil drawn from a sampled school's roster, with the subject assigned and the weights."""

    run = models.ForeignKey(SampleRun, on_delete=models.CASCADE, related_name="pupils")
    cycle = models.ForeignKey("registry.Cycle", on_delete=models.CASCADE, related_name="sampled_pupils")
    pupil = models.ForeignKey("registry.Pupil", on_delete=models.PROTECT, related_name="samplings")
    sampled_school = models.ForeignKey(SampledSchool, on_delete=models.CASCADE, related_name="pupils")
    subject = models.CharField("测试科目", max_length=8)
    pupil_order = models.PositiveIntegerField()
    school_weight = models.FloatField()
    pupil_weight = models.FloatField()
    base_weight = models.FloatField()
    weight = models.FloatField("最终权重", null=True, blank=True)
    responded = models.BooleanField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cycle", "pupil"], name="sampled_pupil_cycle_unique")]
        indexes = [models.Index(fields=["cycle", "sampled_school"])]

    def __str__(self) -> str:
        return f"{self.pupil_id} ({self.subject})"


class WeightSet(models.Model):
    """Final and replicate weights of a cycle's sample, stored as Parquet under JUNHENG_HOME."""

    class Method(models.TextChoices):
        JK2 = "jk2", "JK2"
        FAY = "fay", "Fay BRR"
        BRR = "brr", "BRR"

    run = models.ForeignKey(SampleRun, on_delete=models.CASCADE, related_name="weight_sets")
    method = models.CharField(max_length=4, choices=Method.choices, default=Method.JK2)
    replicates = models.PositiveSmallIntegerField(default=80)
    fay_k = models.FloatField(default=0.5)
    path = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
