"""The questionnaires of a cycle (相关因素调查问卷: student, principal, teacher) and their responses.

A definition is the core's JSON (``junheng.questionnaire.load_questionnaire``), stored as it was
given; answers and scale scores are computed and checked by the core through ``services.py`` and
written in bulk SQL — never one ORM save per response.  A response belongs to a school (the
pupil's school for a student questionnaire), which is what ``restrict`` scopes it by.
"""

from __future__ import annotations

from django.db import models


class Questionnaire(models.Model):
    class Respondent(models.TextChoices):
        STUDENT = "student", "学生"
        PRINCIPAL = "principal", "校长"
        TEACHER = "teacher", "教师"

    cycle = models.ForeignKey("registry.Cycle", on_delete=models.CASCADE, related_name="questionnaires")
    code = models.CharField("问卷编号", max_length=32)
    title = models.CharField("问卷名称", max_length=200)
    respondent = models.CharField("作答对象", max_length=16, choices=Respondent.choices)
    definition = models.JSONField("问卷定义", default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cycle", "code"], name="questionnaire_cycle_code_unique")]
        ordering = ["cycle", "code"]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class QuestionnaireResponse(models.Model):
    """One respondent's answers to one questionnaire (``respondent_id``: 学籍号, 学校标识码 or the
    teacher's key), with the scale scores and indicators the core computed from them."""

    cycle = models.ForeignKey("registry.Cycle", on_delete=models.CASCADE, related_name="questionnaire_responses")
    questionnaire = models.ForeignKey(Questionnaire, on_delete=models.CASCADE, related_name="responses")
    respondent_id = models.CharField("作答者编号", max_length=64)
    pupil = models.ForeignKey("registry.Pupil", null=True, blank=True, on_delete=models.CASCADE,
                              related_name="questionnaire_responses")
    school = models.ForeignKey("registry.School", on_delete=models.PROTECT, related_name="questionnaire_responses")
    answers = models.JSONField("作答", default=dict)  # {"Q01": 2, "Q02": null, "Q03": 9.5, …}
    scores = models.JSONField("量表得分", default=dict)  # {"S_SLEEP": 3.25, "I_SLEEP10": true, …}
    source_file = models.CharField(max_length=255, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["questionnaire", "respondent_id"],
                                               name="questionnaire_response_unique")]
        indexes = [models.Index(fields=["cycle", "school"])]

    def __str__(self) -> str:
        from junheng_web.registry.models import mask_student_id

        who = mask_student_id(self.respondent_id) if self.pupil_id else self.respondent_id
        return f"{self.questionnaire_id}: {who}"
