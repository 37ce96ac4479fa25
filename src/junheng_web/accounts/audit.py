"""Writing the audit log: one call in every view that shows, exports or changes pupil records."""

from __future__ import annotations

from junheng_web.accounts.models import AuditLog


def client_ip(request) -> str | None:
    """The client's address. Behind nginx the proxy's address is REMOTE_ADDR; nginx passes the
    client's as X-Real-IP (docs/deploy.md), trusted only when JUNHENG_TRUST_X_REAL_IP is set."""
    import os

    if os.environ.get("JUNHENG_TRUST_X_REAL_IP") == "1" and request.META.get("HTTP_X_REAL_IP"):
        return request.META["HTTP_X_REAL_IP"]
    return request.META.get("REMOTE_ADDR") or None


def audit(request, action: str, what: str, *, rows: int | None = None, region_code: str = "") -> AuditLog:
    """Record that ``request.user`` did ``action`` on ``what`` (``rows`` pupil records)."""
    user = request.user if request.user.is_authenticated else None
    return AuditLog.objects.create(
        user=user, username=user.get_username() if user else "", action=action, what=what[:200],
        path=request.get_full_path()[:300], ip=client_ip(request), rows=rows, region_code=region_code or "",
    )
