"""Django settings, read from the environment by typed helpers that fail loudly.

Environment variables (all optional for the embedded SQLite default):

- ``JUNHENG_HOME``          folder for the SQLite file, uploads and job outputs (default ``./var``)
- ``JUNHENG_REPORTS_DIR``   folder of the written reports served to users (default ``$JUNHENG_HOME/reports``)
- ``JUNHENG_DATABASE_URL``  ``sqlite:///path.sqlite3`` or ``postgresql://user:pass@host:port/db``
- ``JUNHENG_SECRET_KEY``    the signing key; unset: the installation's own key in ``$JUNHENG_HOME/secret_key``,
                            generated (random, mode 0600) on first use — never a key from the repository
- ``JUNHENG_DEBUG``         ``1``/``0`` (default ``0``; ``junheng serve --dev`` sets ``1``)
- ``JUNHENG_ALLOWED_HOSTS`` comma-separated host names (default: this machine only)
- ``JUNHENG_SECURE``        ``1`` behind HTTPS: secure cookies, HSTS, SSL redirect (default: on unless DEBUG;
                            ``junheng serve`` sets ``0``, its server speaks plain HTTP on this machine)
- ``JUNHENG_HSTS_PRELOAD``  ``1`` to ask for the browsers' HSTS preload list (off by default)
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import unquote, urlparse

from django.core.exceptions import ImproperlyConfigured

import junheng

BASE_DIR = Path(__file__).resolve().parent


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise ImproperlyConfigured(f"environment variable {name} is required")
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off", ""}:
        return False
    raise ImproperlyConfigured(f"{name} must be 1/0, true/false, yes/no; got {raw!r}")


def env_seconds(name: str, default: float) -> float:
    """A positive number of seconds from the environment (a typo fails at start-up, not on a request)."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not (0 < value < float("inf")):
        raise ImproperlyConfigured(f"{name} must be a positive number of seconds; got {raw!r}")
    return value


def env_list(name: str, default: str = "") -> list[str]:
    return [x.strip() for x in os.environ.get(name, default).split(",") if x.strip()]


def database_from_url(url: str) -> dict:
    """``sqlite:///rel/or/abs.sqlite3`` or ``postgresql://user:pw@host:5432/name``."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = unquote(parsed.path)
        if path.startswith("/") and not url.startswith("sqlite:////"):
            path = path[1:]  # sqlite:///relative.sqlite3
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": path or str(JUNHENG_HOME / "junheng.sqlite3"),
            # WAL with FULL: every commit (a pupil's answer, an import) is synced before it is acknowledged;
            # NORMAL could lose the last commits on power loss (issue 12.10; cost: benchmarks/durability.py)
            "OPTIONS": {"timeout": 30, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"},
        }
    if parsed.scheme in {"postgres", "postgresql"}:
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parsed.path.lstrip("/")),
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""),
            "CONN_MAX_AGE": 60,
            # acknowledged means on disk, whatever the server's default (issue 12.10)
            "OPTIONS": {"options": "-c synchronous_commit=on"},
        }
    raise ImproperlyConfigured(f"JUNHENG_DATABASE_URL: unsupported scheme {parsed.scheme!r} in {url!r}")


def installation_secret(home: Path) -> str:
    """The key in ``home/secret_key``, created on first use: 64 random URL-safe bytes, readable by
    the owner only (0600).  Written to a private temporary file and hard-linked into place, so two
    processes starting at once agree on one key and nobody reads a half-written file."""
    path = home / "secret_key"
    if not path.exists():
        try:
            home.mkdir(parents=True, exist_ok=True)
            tmp = home / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                with os.fdopen(fd, "w") as f:
                    f.write(secrets.token_urlsafe(64) + "\n")
                    f.flush()
                    os.fsync(f.fileno())
                try:
                    os.link(tmp, path)
                except FileExistsError:
                    pass  # another process was first: its key is the installation's
            finally:
                tmp.unlink(missing_ok=True)
        except OSError as e:
            raise ImproperlyConfigured(
                f"JUNHENG_SECRET_KEY is not set and {path} cannot be created ({e}); set JUNHENG_SECRET_KEY "
                "or make JUNHENG_HOME writable") from None
    key = path.read_text(encoding="utf-8").strip()
    if len(key) < 50:
        raise ImproperlyConfigured(f"{path} holds no usable key (fewer than 50 characters); delete it to generate one")
    return key


JUNHENG_HOME = Path(env_str("JUNHENG_HOME", str(Path.cwd() / "var"))).resolve()
DEBUG = env_bool("JUNHENG_DEBUG", False)
SECRET_KEY = os.environ.get("JUNHENG_SECRET_KEY") or installation_secret(JUNHENG_HOME)
ALLOWED_HOSTS = env_list("JUNHENG_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
# the idle test page's status poll (delivery.services.poll_seconds; docs/deploy.md)
JUNHENG_PUPIL_POLL_SECONDS = env_seconds("JUNHENG_PUPIL_POLL_SECONDS", 10.0)
# the single flight's wait and lease (registry.freshness.single_flight_wait, registry.leases.lease_seconds)
# are read where they are used, on each call (tests set them per test); checked here as well, so that a
# typo such as "170s" stops the start instead of making every page that waits a 500
env_seconds("JUNHENG_SINGLE_FLIGHT_WAIT", 170.0)
env_seconds("JUNHENG_SINGLE_FLIGHT_LEASE", 30.0)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tables2",  # the lists (junheng_web.tables)
    "django_filters",
    "django_tasks",
    "django_tasks_db",
    "junheng_web.registry",
    "junheng_web.accounts",
    "junheng_web.jobs",
    "junheng_web.fitness",
    "junheng_web.assessment",
    "junheng_web.sampling",
    "junheng_web.reports",
    "junheng_web.questionnaires",
    "junheng_web.supervision",
    "junheng_web.testsites",
    "junheng_web.cycles",
    "junheng_web.delivery",
    "junheng_web.omr",
]

# every list table (junheng_web.tables), also a table class without its own Meta: the platform's
# template (sortable headers, Chinese paging) and look
DJANGO_TABLES2_TEMPLATE = "tables/table.html"
DJANGO_TABLES2_TABLE_ATTRS = {"class": "list"}

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # the pupils' idle status poll (GET /test/status/, the busiest request of a test day) answered
    # here, past the middleware below it has no use for: delivery/poll.py
    "junheng_web.delivery.poll.StatusPollMiddleware",
    # expired dashboard stamps and progress counts are renewed after the response is sent
    "junheng_web.registry.freshness.RenewAfterResponse",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "junheng_web.locale.ChineseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "junheng_web.guard.RejectNulMiddleware",  # %00 in the address or query: 400, not a database error
    # a page another request is still computing after JUNHENG_SINGLE_FLIGHT_WAIT: 503 + Retry-After
    "junheng_web.registry.freshness.StillComputingPage",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "junheng_web.urls"
WSGI_APPLICATION = "junheng_web.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
# every sign-in path (the pages and the admin) goes through the throttle: accounts/backends.py
AUTHENTICATION_BACKENDS = ["junheng_web.accounts.backends.ThrottledModelBackend"]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]

DATABASES = {
    "default": database_from_url(
        os.environ.get("JUNHENG_DATABASE_URL") or f"sqlite:///{JUNHENG_HOME / 'junheng.sqlite3'}"
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The cache of computed pages (the dashboards' figures, cycles.dashboards): "db" — one table of the
# database above, shared by every gunicorn process and machine (the default on PostgreSQL; needs
# `manage.py createcachetable`, which bootstrap.setup runs), "file" — a folder under JUNHENG_HOME
# (processes of one machine), "locmem" — each process its own (the default on SQLite: one process).
_CACHE = os.environ.get("JUNHENG_CACHE") or ("locmem" if DATABASES["default"]["ENGINE"].endswith("sqlite3") else "db")
if _CACHE not in {"db", "file", "locmem"}:
    raise ImproperlyConfigured(f"JUNHENG_CACHE must be db, file or locmem; got {_CACHE!r}")
CACHES = {"default": {
    "db": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "junheng_cache",
           "OPTIONS": {"MAX_ENTRIES": 20000}},
    "file": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(JUNHENG_HOME / "cache"),
             "OPTIONS": {"MAX_ENTRIES": 20000}},
    "locmem": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "OPTIONS": {"MAX_ENTRIES": 2000}},
}[_CACHE]}

# Background jobs (jobs.runner): Django's Tasks API (django-tasks) on the database backend of
# django-tasks-db — the queue is a table of the database above, workers are `manage.py runjobs`;
# "immediate" runs a job inside the request that queued it (JUNHENG_JOBS_EAGER=1, the tests).
TASKS = {
    "default": {"BACKEND": "django_tasks_db.DatabaseBackend"},
    "immediate": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"},
}

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = junheng.TIME_ZONE  # one source with the core, which reads input files' local times in it
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = JUNHENG_HOME / "staticfiles"
MEDIA_ROOT = JUNHENG_HOME / "media"
# Where `junheng report` wrote the reports the platform serves (annual.{html,pdf}, county/<code>.*).
REPORTS_DIR = Path(env_str("JUNHENG_REPORTS_DIR", str(JUNHENG_HOME / "reports"))).resolve()
WHITENOISE_USE_FINDERS = True
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

SESSION_COOKIE_AGE = 8 * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if env_bool("JUNHENG_SECURE", not DEBUG):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("JUNHENG_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    # Joining the browsers' public HSTS preload list is the domain owner's decision (and rarely
    # right for an intranet host): off unless JUNHENG_HSTS_PRELOAD=1.
    SECURE_HSTS_PRELOAD = env_bool("JUNHENG_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("JUNHENG_LOG_LEVEL", "WARNING")},
}
