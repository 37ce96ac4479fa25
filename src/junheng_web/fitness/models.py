"""One fitness record per pupil and monitoring cycle: raw measurements and their scores.

Re-uploading a file upserts by (cycle, pupil); the scores are always recomputed by the core
(junheng.fitness.score_fitness) — never typed in.
"""

from __future__ import annotations

from django.db import models

RATINGS = [("优秀", "优秀"), ("良好", "良好"), ("及格", "及格"), ("不及格", "不及格")]


class FitnessRecord(models.Model):
    cycle = models.ForeignKey("registry.Cycle", on_delete=models.CASCADE, related_name="fitness_records")
    pupil = models.ForeignKey("registry.Pupil", on_delete=models.CASCADE, related_name="fitness_records")
    grade = models.PositiveSmallIntegerField("年级")
    sex = models.PositiveSmallIntegerField("性别")
    exempt = models.BooleanField("免测", default=False)
    # measurements (base units: cm, kg, ml, s, count; vision on the 5-point record)
    height_cm = models.FloatField("身高", null=True, blank=True)
    weight_kg = models.FloatField("体重", null=True, blank=True)
    vital_capacity = models.IntegerField("肺活量", null=True, blank=True)
    run_50m = models.FloatField("50米跑", null=True, blank=True)
    sit_and_reach = models.FloatField("坐位体前屈", null=True, blank=True)
    rope_skipping = models.IntegerField("一分钟跳绳", null=True, blank=True)
    sit_ups = models.IntegerField("一分钟仰卧起坐", null=True, blank=True)
    shuttle_50x8 = models.IntegerField("50米×8往返跑", null=True, blank=True)
    standing_long_jump = models.IntegerField("立定跳远", null=True, blank=True)
    pull_ups = models.IntegerField("引体向上", null=True, blank=True)
    run_800m = models.IntegerField("800米跑", null=True, blank=True)
    run_1000m = models.IntegerField("1000米跑", null=True, blank=True)
    vision_left = models.FloatField("左眼裸眼视力", null=True, blank=True)
    vision_right = models.FloatField("右眼裸眼视力", null=True, blank=True)
    # scores
    bmi = models.FloatField("体重指数", null=True, blank=True)
    bmi_score = models.SmallIntegerField("体重指数得分", null=True, blank=True)
    bmi_class = models.CharField("体重指数等级", max_length=4, blank=True)
    item_scores = models.JSONField("单项得分", default=dict, blank=True)  # {"run_50m_score": 78, "rope_skipping_bonus": 2, …}
    standard_score = models.FloatField("标准分", null=True, blank=True)
    bonus_score = models.SmallIntegerField("附加分", null=True, blank=True)
    total_score = models.FloatField("总分", null=True, blank=True)
    rating = models.CharField("等级", max_length=4, choices=RATINGS, blank=True)
    complete = models.BooleanField("完整", default=False)
    vision_class = models.CharField("视力等级", max_length=2, blank=True)
    vision_left_class = models.CharField("左眼视力等级", max_length=2, blank=True)
    vision_right_class = models.CharField("右眼视力等级", max_length=2, blank=True)
    source_file = models.CharField(max_length=255, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cycle", "pupil"], name="fitness_cycle_pupil_unique")]
        indexes = [models.Index(fields=["cycle", "grade", "sex"])]

    def __str__(self) -> str:
        return f"{self.pupil_id} @ {self.cycle_id}: {self.total_score}"
