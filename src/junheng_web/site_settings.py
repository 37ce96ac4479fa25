"""Settings of a test-site node (测试点服务器, ``junheng site serve``): the platform's settings on the
laptop's own SQLite (``$JUNHENG_HOME/junheng.sqlite3``), never in debug mode, HTTPS by gunicorn
with the site's certificate (``junheng.site.tls``) or plain HTTP with ``--http`` — so no HSTS or
HTTPS redirect here — and any address of a private network accepted as the host name (``lan.LanHostMiddleware``;
Django's ``ALLOWED_HOSTS`` has no address ranges)."""

import os

os.environ.setdefault("JUNHENG_SECURE", "0")  # no HSTS / redirect: `site serve --http` must stay reachable
os.environ["JUNHENG_DEBUG"] = "0"

from junheng_web.settings import *  # noqa: E402,F403
from junheng_web.settings import DATABASES, MIDDLEWARE, env_list  # noqa: E402

DEBUG = False
JUNHENG_SITE_NODE = True
ALLOWED_HOSTS = ["*"]  # the host is checked first by LanHostMiddleware
LAN_HOST_NAMES = env_list("JUNHENG_ALLOWED_HOSTS", "localhost")
MIDDLEWARE = ["junheng_web.lan.LanHostMiddleware", *MIDDLEWARE]
LOGIN_REDIRECT_URL = "/test/sessions/"
ROOT_URLCONF = "junheng_web.site_urls"
# persistent connections: each of gunicorn's threads keeps its SQLite connection for up to a minute
# instead of opening one per request (Django's CONN_MAX_AGE; connections are per thread, so the
# node's 2 × 8 threads hold at most 16, which SQLite's WAL takes as readers beside one writer).  A
# new connection registered Django's SQL functions and ran the WAL and synchronous pragmas on every
# status poll: 3.5–4.2 → 1.4 ms of server CPU a poll (benchmarks/testday.py, docs/deploy.md)
DATABASES["default"]["CONN_MAX_AGE"] = 60
