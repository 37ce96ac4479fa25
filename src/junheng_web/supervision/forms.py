from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from junheng_web.supervision.services import VIDEO_SUFFIXES


class RecordingForm(forms.Form):
    file = forms.FileField(label=_("录像文件"))
    started_at = forms.DateTimeField(label=_("录像开始时间"), required=False,
                                     widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                     help_text=_("留空则按场次的开始时间"))

    def clean_file(self):
        f = self.cleaned_data["file"]
        if not f.name.lower().endswith(VIDEO_SUFFIXES):
            raise forms.ValidationError(_("只接受视频文件（%(s)s）") % {"s": " ".join(VIDEO_SUFFIXES)})
        return f


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(choices=[("confirm", _("确认")), ("dismiss", _("排除"))])
    note = forms.CharField(label=_("审核意见"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
                           max_length=2000, help_text=_("排除标记时必填"))
    # the second confirmation of a serious flag (the page that states the consequence sends it)
    acknowledged = forms.BooleanField(required=False, widget=forms.HiddenInput)
