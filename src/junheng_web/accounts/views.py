"""Sign-in (throttled) and the audit log page (province admins)."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from junheng_web.accounts.backends import LOCKED
from junheng_web.accounts.models import AuditLog, action_label
from junheng_web.accounts.scoping import require, restrict


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
    """The audit log, filterable by user, action, region, date range and path."""
    require(request.user, "audit.view")
    qs = restrict(AuditLog.objects.all(), request.user)
    f = {k: request.GET.get(k, "").strip() for k in ("user", "action", "region", "since", "until", "q")}
    if f["user"]:
        qs = qs.filter(username=f["user"])
    if f["action"]:
        qs = qs.filter(action=f["action"])
    if f["region"]:
        qs = qs.filter(region_code__startswith=f["region"])
    if f["since"] and parse_date(f["since"]):
        qs = qs.filter(at__date__gte=parse_date(f["since"]))
    if f["until"] and parse_date(f["until"]):
        qs = qs.filter(at__date__lte=parse_date(f["until"]))
    if f["q"]:
        qs = qs.filter(what__icontains=f["q"])
    page = Paginator(qs, 100).get_page(request.GET.get("page"))
    actions = AuditLog.objects.values_list("action", flat=True).distinct().order_by("action")
    return render(request, "accounts/audit.html", {"page": page, "f": f,
                                                   "actions": [(a, action_label(a)) for a in actions]})
