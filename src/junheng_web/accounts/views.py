"""Sign-in (throttled) and the audit log page (province admins)."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from junheng_web.accounts import throttle
from junheng_web.accounts.audit import client_ip
from junheng_web.accounts.models import AuditLog
from junheng_web.accounts.scoping import require, restrict


class LoginView(auth_views.LoginView):
    """Django's sign-in with throttling: after 5 failures in 15 minutes the name is locked."""

    template_name = "registration/login.html"

    def post(self, request, *args, **kwargs):
        username = request.POST.get("username", "")
        if throttle.is_locked(username, client_ip(request)):
            form = self.get_form_class()(request)  # unbound: the password is not even checked
            return render(request, self.template_name, {
                "form": form, "locked": True,
                "message": _("登录失败次数过多，请 15 分钟后再试。"),
            }, status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        throttle.record_failure(self.request.POST.get("username", ""), client_ip(self.request))
        return super().form_invalid(form)

    def form_valid(self, form):
        throttle.clear(form.get_user().get_username())
        return super().form_valid(form)


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
    return render(request, "accounts/audit.html", {"page": page, "f": f, "actions": list(actions)})
