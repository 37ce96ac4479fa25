"""Audit the admin's pages of pupil records (issue 12.9).

The admin is the operators' back door around the scoped pages, so what it shows of pupils goes to
the audit log like every other access: list, change, history and delete pages of every model that
holds pupil records (a ``student_id`` column or a link to a pupil).  One wrapper around
``AdminSite.admin_view`` covers every registered model, present and future.
"""

from __future__ import annotations

import functools

from django.contrib import admin

from junheng_web.accounts.audit import audit

_VIEWS = {"changelist": "list", "change": "", "history": "history", "delete": "delete"}


def holds_pupils(model) -> bool:
    for f in model._meta.get_fields():
        if getattr(f, "name", "") == "student_id" and getattr(f, "concrete", False):
            return True
        related = getattr(f, "related_model", None)
        if getattr(f, "many_to_one", False) and related is not None and related._meta.label == "registry.Pupil":
            return True
    return False


def _record(request, response) -> None:
    match = request.resolver_match
    if match is None or response.status_code >= 400 or not match.url_name:
        return
    app_model, _, view = match.url_name.rpartition("_")
    if view not in _VIEWS:
        return
    model = next((m for m in admin.site._registry if f"{m._meta.app_label}_{m._meta.model_name}" == app_model), None)
    if model is None or not holds_pupils(model):
        return
    label = f"admin {model._meta.label_lower}"
    if view == "changelist":
        cl = (getattr(response, "context_data", None) or {}).get("cl")
        audit(request, "admin.view", f"{label} list", rows=len(cl.result_list) if cl is not None else None)
    elif view == "delete" and request.method == "POST":
        audit(request, "admin.delete", f"{label} {match.kwargs.get('object_id')}", rows=1)
    else:
        suffix = f" {_VIEWS[view]}" if _VIEWS[view] else ""
        action = "admin.change" if request.method == "POST" else "admin.view"
        audit(request, action, f"{label} {match.kwargs.get('object_id')}{suffix}", rows=1)


def install(site) -> None:
    """Wrap the site's ``admin_view`` so that every model admin's views record themselves."""
    original = site.admin_view

    def admin_view(view, cacheable=False):
        wrapped = original(view, cacheable)

        @functools.wraps(wrapped)
        def audited(request, *args, **kwargs):
            response = wrapped(request, *args, **kwargs)
            if request.user.is_authenticated:
                _record(request, response)
            return response

        return audited

    site.admin_view = admin_view
