"""The URLs of a test-site node (``site_settings``): the platform's, except that the home page is the
proctor's list of sessions (the central dashboards have nothing to show on a laptop that holds one
site)."""

from django.urls import path
from django.views.generic import RedirectView

from junheng_web.urls import urlpatterns as central

urlpatterns = [path("", RedirectView.as_view(url="/test/sessions/", permanent=False), name="home"),
               *[p for p in central if getattr(p, "name", None) != "home"]]
