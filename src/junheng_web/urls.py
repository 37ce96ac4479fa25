"""URL map. Each app adds its own ``urls.py`` here, under its own prefix.

Every pattern here is listed in the permission matrix (tests/web/test_permission_matrix.py):
a new page without a matrix entry fails that test.
"""

from django.contrib import admin
from django.urls import include, path

from junheng_web.accounts.admin_audit import install as audit_admin
from junheng_web.cycles import views as cycle_views
from junheng_web.registry.search import search

# The admin bypasses the scoping of the pages, so only superusers (the platform's operators) may use
# it, and what it shows of pupils is audited (accounts/admin_audit.py).
admin.site.has_permission = lambda request: request.user.is_active and request.user.is_superuser
audit_admin(admin.site)

urlpatterns = [
    path("", cycle_views.home, name="home"),
    path("admin/", admin.site.urls),
    path("accounts/", include("junheng_web.accounts.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("search/", search, name="search"),
    path("cycles/", include("junheng_web.cycles.urls")),
    path("jobs/", include("junheng_web.jobs.urls")),
    path("reports/", include("junheng_web.reports.urls")),
    path("questionnaires/", include("junheng_web.questionnaires.urls")),
    path("video/", include("junheng_web.supervision.urls")),
    path("omr/", include("junheng_web.omr.urls")),
    path("test/", include("junheng_web.delivery.urls")),  # pupils, no account: see delivery/views.py
]
