import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "junheng_web.settings")
application = get_wsgi_application()

# Import every view now — and with them Polars, NumPy and the survey code, 1.7–1.8 CPU-seconds
# (2026-12-07, the command in docs/deploy.md § 4) —
# while the server process starts, before it accepts a connection, instead of in the first request
# each gunicorn worker serves: after a restart with a hundred operators online, those first
# requests queued behind five workers' imports for many seconds (issue 14, the dashboards' stress
# tail).  With gunicorn --preload the import is done once, in the master, and shared by the workers.
get_resolver().url_patterns  # noqa: B018 (the property imports the URL configuration)
