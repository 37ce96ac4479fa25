"""The item bank and the test design of each cycle, booklet assignments, human scores and the
pupils' scores (EAP, plausible values, levels) of a cycle.

Items are province-level (no region scope). Parameters and statistics are computed by the core
(``junheng.assessment``, ``junheng.irt``) from frames built here; nothing is scored row by row
in the ORM.
"""

from __future__ import annotations

import uuid

from django.db import models

SUBJECTS = [(s, s) for s in ("语文", "数学", "英语", "科学")]
FORMATS = [("single_choice", "单选题"), ("multiple_choice", "多选题"), ("constructed", "建构反应题")]
STATUSES = [("draft", "草稿"), ("trial", "试测"), ("operational", "正式"), ("anchor", "锚题"), ("retired", "退役")]


class Item(models.Model):
    item_id = models.CharField("题目编号", max_length=32, unique=True)
    subject = models.CharField("学科", max_length=4, choices=SUBJECTS)
    format = models.CharField("题型", max_length=16, choices=FORMATS)
    max_score = models.PositiveSmallIntegerField("满分", default=1)
    key = models.CharField("答案", max_length=8, blank=True)
    options = models.JSONField("选项", default=list, blank=True)
    rubric = models.JSONField("评分标准", default=list, blank=True)
    score_map = models.JSONField("计分表", default=dict, blank=True)
    stem = models.TextField("题干", blank=True)
    content_domain = models.CharField("内容领域", max_length=32, blank=True)
    cognitive_level = models.CharField("认知水平", max_length=8, blank=True)
    status = models.CharField("状态", max_length=12, choices=STATUSES, default="draft")
    media = models.JSONField("媒体", default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["item_id"]
        indexes = [models.Index(fields=["subject", "status"])]

    def __str__(self) -> str:
        return self.item_id


class ItemUsage(models.Model):
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="usages")
    year = models.PositiveSmallIntegerField("年度")
    block = models.CharField("题组", max_length=16, blank=True)
    booklet = models.CharField("题本", max_length=16, blank=True)
    p_value = models.FloatField("难度(通过率)", null=True, blank=True)
    n = models.PositiveIntegerField("作答人数", null=True, blank=True)

    class Meta:
        ordering = ["item", "year"]

    def __str__(self) -> str:
        return f"{self.item_id} {self.year} {self.block}"


class Block(models.Model):
    cycle = models.ForeignKey("registry.Cycle", on_delete=models.CASCADE, related_name="blocks")
    code = models.CharField("题组", max_length=16)
    subject = models.CharField("学科", max_length=4, choices=SUBJECTS)
    is_anchor = models.BooleanField("锚题组", default=False)
    items = models.ManyToManyField(Item, through="BlockItem", related_name="blocks")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cycle", "code"], name="assessment_block_unique")]
        ordering = ["cycle", "code"]

    def __str__(self) -> str:
        return self.code


class BlockItem(models.Model):
    block = models.ForeignKey(Block, on_delete=models.CASCADE)
    item = models.ForeignKey(Item, on_delete=models.PROTECT)
    order = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["block", "item"], name="assessment_blockitem_unique")]
        ordering = ["block", "order"]


class Booklet(models.Model):
    cycle = models.ForeignKey("registry.Cycle", on_delete=models.CASCADE, related_name="booklets")
    code = models.CharField("题本", max_length=16)
    subject = models.CharField("学科", max_length=4, choices=SUBJECTS)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cycle", "code"], name="assessment_booklet_unique")]
        ordering = ["cycle", "code"]

    def __str__(self) -> str:
        return self.code


class BookletBlock(models.Model):
    booklet = models.ForeignKey(Booklet, on_delete=models.CASCADE, related_name="slots")
    block = models.ForeignKey(Block, on_delete=models.PROTECT)
    position = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["booklet", "position"], name="assessment_bookletblock_unique")]
        ordering = ["booklet", "position"]


class BookletAssignment(models.Model):
    cycle = models.ForeignKey("registry.Cycle", on_delete=models.CASCADE, related_name="booklet_assignments")
    student_id = models.CharField("学籍号", max_length=32)
    school_code = models.CharField("学校标识码", max_length=16, blank=True)
    subject = models.CharField("学科", max_length=4, choices=SUBJECTS)
    booklet = models.ForeignKey(Booklet, on_delete=models.PROTECT)
    seed = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cycle", "student_id"], name="assessment_assignment_unique")]
        indexes = [models.Index(fields=["cycle", "school_code"])]

    def __str__(self) -> str:
        return f"{self.student_id}: {self.booklet_id}"


class HumanScore(models.Model):
    """One marking of one constructed response by one scorer (double marking = two rows)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    cycle = models.ForeignKey("registry.Cycle", on_delete=models.CASCADE, related_name="human_scores")
    student_id = models.CharField("学籍号", max_length=32)
    item = models.ForeignKey(Item, on_delete=models.PROTECT)
    rater = models.CharField("评分员", max_length=64)
    score = models.PositiveSmallIntegerField("得分")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cycle", "student_id", "item", "rater"],
                                               name="assessment_humanscore_unique")]
        indexes = [models.Index(fields=["cycle", "item"])]

    def __str__(self) -> str:
        return f"{self.student_id} {self.item_id} {self.rater}: {self.score}"


N_PV = 5
LEVELS = [(1, "水平Ⅰ"), (2, "水平Ⅱ"), (3, "水平Ⅲ"), (4, "水平Ⅳ")]


class PupilScore(models.Model):
    """One sampled pupil's result in the subject the pupil was tested in, in one cycle (the
    contract's *pupil scores*): EAP θ and its SE, five plausible values on the reporting scale and
    their levels (1–4 = 水平Ⅰ–Ⅳ), the EAP on the reporting scale and its level.

    Stored by ``scores.store_scores`` (validated, all or nothing, upsert by cycle + pupil);
    dashboards read them as a frame (``scores.scores_frame``) and estimate from the plausible
    values — never from these rows one by one."""

    cycle = models.ForeignKey("registry.Cycle", on_delete=models.CASCADE, related_name="pupil_scores")
    pupil = models.ForeignKey("registry.Pupil", on_delete=models.CASCADE, related_name="scores")
    subject = models.CharField("学科", max_length=4, choices=SUBJECTS)
    theta = models.FloatField("能力值 θ (EAP)")
    theta_se = models.FloatField("θ 标准误")
    scale_score = models.FloatField("量尺分数")
    level = models.PositiveSmallIntegerField("水平", choices=LEVELS)
    pv1 = models.FloatField()
    pv2 = models.FloatField()
    pv3 = models.FloatField()
    pv4 = models.FloatField()
    pv5 = models.FloatField()
    level_pv1 = models.PositiveSmallIntegerField(choices=LEVELS)
    level_pv2 = models.PositiveSmallIntegerField(choices=LEVELS)
    level_pv3 = models.PositiveSmallIntegerField(choices=LEVELS)
    level_pv4 = models.PositiveSmallIntegerField(choices=LEVELS)
    level_pv5 = models.PositiveSmallIntegerField(choices=LEVELS)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cycle", "pupil"], name="assessment_pupilscore_unique")]
        indexes = [models.Index(fields=["cycle", "subject"])]

    def __str__(self) -> str:
        return f"{self.pupil_id} {self.subject}: {self.scale_score:.0f}"


class CutScore(models.Model):
    """A subject's three cut scores (水平Ⅱ, Ⅲ, Ⅳ) on the reporting scale, set by a standard-setting
    panel, with their provenance: method (Bookmark or modified Angoff), panel, date, rounds, the
    number of panellists, the statistic (median or mean of the last round) and the standard errors
    of judgement; ``judgements`` keeps every panellist's cut of every round, ``by_round`` the
    rounds' summaries. Computed by ``junheng.irt.standard_setting`` (``services.set_cut_scores``);
    the latest set of a subject applies to scoring and reports. Without one, levels use the
    provisional cuts and are printed as 暂定."""

    METHODS = [("bookmark", "书签法 Bookmark"), ("angoff", "修正 Angoff 法")]

    subject = models.CharField("学科", max_length=4, choices=SUBJECTS)
    method = models.CharField("方法", max_length=12, choices=METHODS)
    panel = models.CharField("专家组", max_length=128)
    date = models.DateField("会议日期")
    rounds = models.PositiveSmallIntegerField("轮数")
    panellists = models.PositiveSmallIntegerField("专家人数")
    statistic = models.CharField("统计量", max_length=8, default="median")
    cut_2 = models.FloatField("水平Ⅱ下限")
    cut_3 = models.FloatField("水平Ⅲ下限")
    cut_4 = models.FloatField("水平Ⅳ下限")
    se_2 = models.FloatField("水平Ⅱ下限标准误", null=True)
    se_3 = models.FloatField("水平Ⅲ下限标准误", null=True)
    se_4 = models.FloatField("水平Ⅳ下限标准误", null=True)
    judgements = models.JSONField("各专家各轮分数线", default=list)
    by_round = models.JSONField("各轮汇总", default=list)
    source = models.CharField("判断文件", max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["subject", "-date", "-created_at"]
        constraints = [models.UniqueConstraint(fields=["subject", "method", "panel", "date"],
                                               name="cutscore_one_per_panel_meeting")]

    def __str__(self) -> str:
        return f"{self.subject} {self.method} {self.date}: {self.cut_2:.0f}/{self.cut_3:.0f}/{self.cut_4:.0f}"
