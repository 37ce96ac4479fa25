"""The forms of the cycle pages: a new cycle, an upload."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

SUBJECTS = [("语文", "语文"), ("数学", "数学"), ("英语", "英语"), ("科学", "科学")]
UPLOAD_SUFFIXES = (".xlsx", ".xls", ".csv")


class CycleForm(forms.Form):
    year = forms.IntegerField(label=_("年份"), min_value=2015, max_value=2100)
    grade = forms.IntegerField(label=_("年级"), min_value=1, max_value=9, initial=6)
    subjects = forms.MultipleChoiceField(label=_("科目"), choices=SUBJECTS, initial=[s for s, _ in SUBJECTS],
                                         widget=forms.CheckboxSelectMultiple)
    name = forms.CharField(label=_("名称"), max_length=128, required=False)
    target_pupils = forms.IntegerField(label=_("目标样本量（学生）"), min_value=1, required=False)
    pupils_per_school = forms.IntegerField(label=_("每校抽取学生数"), min_value=1, required=False)
    seed = forms.IntegerField(label=_("随机种子"), required=False)


class UploadForm(forms.Form):
    file = forms.FileField(label=_("文件 (.xlsx / .xls / .csv)"))

    def __init__(self, *args, questionnaires=None, **kwargs):
        """``questionnaires`` (a queryset): the upload is for one of them — a choice comes first."""
        super().__init__(*args, **kwargs)
        if questionnaires is not None:
            self.fields["questionnaire"] = forms.ModelChoiceField(queryset=questionnaires, label=_("问卷"),
                                                                  empty_label=None)
            self.order_fields(["questionnaire", "file"])

    def clean_file(self):
        f = self.cleaned_data["file"]
        if not f.name.lower().endswith(UPLOAD_SUFFIXES):
            raise forms.ValidationError(_("只接受 .xlsx、.xls 或 .csv 文件"))
        return f
