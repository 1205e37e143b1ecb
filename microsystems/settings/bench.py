"""Benchmark settings: production-like request handling against a throwaway national-scale database.

``manage.py bench`` sets ``BENCH_DATABASE_URL`` for each dataset it builds and serves it
with gunicorn under these settings. They differ from production only where a benchmark
needs it: no HTTPS redirects or secure cookies (loopback HTTP), no two-factor step and no
login throttling for the scripted sign-in, a fast password hasher so tens of thousands of
staff accounts build in seconds, and a middleware that reports each request's SQL queries
in an ``X-Query-Count`` header.
"""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env

DEBUG = False
BENCH = True
REQUIRE_TWO_FACTOR = False
AXES_ENABLED = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

MIDDLEWARE = ["microsystems.bench.QueryCountMiddleware", *MIDDLEWARE]  # noqa: F405

_bench_database_url = env("BENCH_DATABASE_URL", default="")
if not _bench_database_url:
    raise ImproperlyConfigured(
        "BENCH_DATABASE_URL must be set: the benchmark never touches the main database. Run `manage.py bench`."
    )
DATABASES = {"default": env.db_url_config(_bench_database_url)}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"})
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)

if not REDIS_URL:  # noqa: F405
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CACHES["programme"] = {**CACHES["default"], "KEY_PREFIX": "programme", "TIMEOUT": 300}  # noqa: F405

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Nothing is collected for a benchmark: serve static files from their source folders, with
# bench/static for the file ``bench`` compares a chart with. Charts are drawn into bench/media.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
STATICFILES_DIRS = [*STATICFILES_DIRS, BASE_DIR / "bench" / "static"]  # noqa: F405
MEDIA_ROOT = BASE_DIR / "bench" / "media"  # noqa: F405

EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

LOGGING["root"]["level"] = "WARNING"  # noqa: F405
LOGGING["loggers"] = {name: {"level": "WARNING"} for name in LOGGING["loggers"]}  # noqa: F405
