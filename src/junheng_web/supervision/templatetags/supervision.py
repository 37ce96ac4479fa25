"""``{{ session|video_validity }}``: a session's validity label for the pages of other apps (the site page)."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def video_validity(session) -> str:
    from junheng_web.supervision.models import Flag
    from junheng_web.supervision.services import INVALID, UNDER_REVIEW, VALID, session_validity

    if not Flag.objects.filter(session=session).exists() and not session.recordings.exists():
        return _("未上传录像")
    return {VALID: _("有效"), UNDER_REVIEW: _("审核中"), INVALID: _("无效")}[session_validity(session)]
