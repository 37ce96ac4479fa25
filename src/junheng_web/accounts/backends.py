"""The sign-in backend: Django's model backend behind the throttle, for every sign-in path.

Throttling here (not in one view) covers /accounts/login/, /admin/login/ and any later path that
calls ``django.contrib.auth.authenticate``: a locked name or address is refused before its
password is even checked.  Failures are recorded and every outcome audited by the signal
handlers in ``accounts.signals``.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from junheng_web.accounts import throttle
from junheng_web.accounts.audit import client_ip

LOCKED = "_junheng_login_locked"  # set on the request when the throttle refused it


class ThrottledModelBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        name = username if username is not None else kwargs.get(get_user_model().USERNAME_FIELD)
        if throttle.is_locked(name or "", client_ip(request) if request is not None else None):
            if request is not None:
                setattr(request, LOCKED, True)
            raise PermissionDenied  # ends authenticate(); user_login_failed is still sent
        return super().authenticate(request, username=username, password=password, **kwargs)

    def get_user(self, user_id):
        """The signed-in user of a request, with the region and school every page shows (one query
        instead of three)."""
        model = get_user_model()
        try:
            user = model._default_manager.select_related("region", "school__county").get(pk=user_id)
        except model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
