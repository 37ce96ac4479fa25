from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from junheng_web.omr.services import SUFFIXES


class ScanForm(forms.Form):
    file = forms.FileField(label=_("答题卡扫描文件"), help_text=_("PDF 或图片（PNG、JPEG、TIFF）"))

    def clean_file(self):
        f = self.cleaned_data["file"]
        if not f.name.lower().endswith(SUFFIXES):
            raise forms.ValidationError(_("只接受 PDF 或图片文件（%(s)s）") % {"s": " ".join(SUFFIXES)})
        return f


class DecisionForm(forms.Form):
    answer = forms.CharField(label=_("核定作答"), required=False, max_length=8,
                             help_text=_("涂了的选项（如 B；多选题如 AC；空白则留空）"))
    note = forms.CharField(label=_("说明"), required=False, max_length=300,
                           widget=forms.Textarea(attrs={"rows": 2}))


class ChannelForm(forms.Form):
    """The reviewer's choice on a ``two_channels`` flag: whose answers count."""

    choice = forms.ChoiceField(choices=[("browser", _("以在线作答为准")), ("paper", _("以答题卡为准"))])
    note = forms.CharField(label=_("审核意见"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class PupilForm(forms.Form):
    """The reviewer's pupil for a sheet (a roster entry, never a typed id), confirmed in a second step."""

    pupil = forms.CharField(required=False, widget=forms.HiddenInput)
    note = forms.CharField(label=_("说明"), required=False, max_length=300, widget=forms.Textarea(attrs={"rows": 2}))
    confirm = forms.CharField(required=False, widget=forms.HiddenInput)
    action = forms.ChoiceField(choices=[("correct", "correct"), ("undo", "undo")], required=False)
    # the undo's form names the correction it undoes: the same form sent twice undoes once
    last = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)
