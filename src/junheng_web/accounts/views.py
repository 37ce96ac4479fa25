"""Sign-in (throttled) and the audit log page (province admins)."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from junheng_web.accounts.backends import LOCKED
from junheng_web.accounts.models import AuditLog
from junheng_web.accounts.scoping import require, restrict
from junheng_web.accounts.tables import AuditFilter, AuditTable
from junheng_web.tables import list_page


class LoginView(auth_views.LoginView):
    """Django's sign-in; the throttle (5 failures of a name in 15 minutes) is in the backend
    (``accounts.backends``), so the admin's sign-in is throttled the same way.  A locked name gets
    429 and a message instead of "wrong password"."""

    template_name = "registration/login.html"

    def form_invalid(self, form):
        if getattr(self.request, LOCKED, False):
            return render(self.request, self.template_name, {
                "form": self.get_form_class()(self.request), "locked": True,
                "message": _("登录失败次数过多，请 15 分钟后再试。"),
            }, status=429)
        return super().form_invalid(form)


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    """The audit log as a table: filterable by user, action, region, date range and object; exportable."""
    require(request.user, "audit.view")
    qs = restrict(AuditLog.objects.all(), request.user)
    return list_page(request, AuditTable, qs, filterset=AuditFilter, title=_("审计日志"), export="audit-log",
                     table_kwargs={"order_by": request.GET.get("sort") or "-at"})
