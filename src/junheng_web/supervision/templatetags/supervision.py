"""``{{ session|video_validity }}``: a session's validity label for the pages of other apps (the site page),
with the number of its pupils who count as non-respondents when it is invalid."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext as _

from junheng_web.supervision.models import Flag
from junheng_web.supervision.services import INVALID, UNDER_REVIEW, session_pupils, session_validity

register = template.Library()


@register.filter
def video_validity(session) -> str:
    if not Flag.objects.filter(session=session).exists() and not session.recordings.exists():
        return _("未上传录像")
    validity = session_validity(session)
    if validity == INVALID:
        return _("无效：%(n)d 名学生按未作答处理") % {"n": session_pupils(session).count()}
    return _("审核中") if validity == UNDER_REVIEW else _("有效")


@register.filter
def masked_id(student_id: str) -> str:
    """A 学籍号 in a list: type and region and the last two characters (as the core's masking rule);
    the flag's own page, open to reviewers only, shows it whole."""
    s = str(student_id or "")
    return s if len(s) <= 9 else s[:7] + "*" * (len(s) - 9) + s[-2:]
