"""The forms of the test-site pages: a site, a session, the one-site-per-school set-up."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from junheng_web.testsites.models import TestSession, TestSite


class TestSiteForm(forms.ModelForm):
    class Meta:
        model = TestSite
        fields = ["code", "name", "address", "schools"]
        widgets = {"schools": forms.CheckboxSelectMultiple}

    def __init__(self, *args, schools=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["schools"].queryset = schools
        self.fields["schools"].label_from_instance = lambda s: f"{s.school.name} ({s.school.code})"


class TestSessionForm(forms.ModelForm):
    class Meta:
        model = TestSession
        fields = ["subject", "room", "starts_at", "ends_at"]
        widgets = {"starts_at": forms.DateTimeInput(attrs={"type": "datetime-local"}),
                   "ends_at": forms.DateTimeInput(attrs={"type": "datetime-local"})}

    def clean(self):
        data = super().clean()
        if data.get("starts_at") and data.get("ends_at") and data["ends_at"] <= data["starts_at"]:
            raise forms.ValidationError(_("结束时间须晚于开始时间"))
        return data


class SitesPerSchoolForm(forms.Form):
    starts_at = forms.DateTimeField(label=_("开始时间"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    minutes = forms.IntegerField(label=_("时长（分钟）"), min_value=10, max_value=240, initial=60)
