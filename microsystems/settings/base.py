"""Settings shared by every environment, read from the environment (twelve-factor).

With nothing set the app runs on embedded defaults: SQLite, Celery on kombu's
filesystem transport, e-mail printed to the console. ``DATABASE_URL`` and
``REDIS_URL`` switch to PostgreSQL and Redis.
"""

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

SECRET_KEY = env("SECRET_KEY", default="insecure-local-development-key-change-me-0123456789")
DEBUG = env.bool("DEBUG", default=False)
# True only in production settings: guards commands such as seed_demo.
IS_PRODUCTION = False
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_filters",
    "django_tables2",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "csp",
    "django_celery_beat",
    "simple_history",
    "rules.apps.AutodiscoverRulesConfig",
    "microsystems",
    "practices",
    "coaching",
    "projects",
    "evaluation",
    "notifications",
]

MIDDLEWARE = [
    "microsystems.logs.RequestIdMiddleware",  # first, so every response and log line has the request's id
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "projects.chart_links.ChartFileMiddleware",  # signed chart links, before the session is read
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "practices.permissions.RolesInSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "microsystems.middleware.SessionLifetimeMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "microsystems.middleware.TwoFactorRequiredMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "microsystems.urls"
WSGI_APPLICATION = "microsystems.wsgi.application"
ASGI_APPLICATION = "microsystems.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "microsystems.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"})
elif "postgresql" in DATABASES["default"]["ENGINE"]:
    # A database that hangs while connecting fails fast (``/readyz`` answers 503) instead of hanging workers.
    connect_timeout = env.int("DB_CONNECT_TIMEOUT", default=5)
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", connect_timeout)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            # A hung Redis must not hang every page: give up quickly (the broker's timeouts are as short).
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 0.5,
                "SOCKET_TIMEOUT": 0.5,
            },
        }
    }
    # Redis down or hung: a cache miss, not an error; sessions (cached_db) fall back to the database.
    DJANGO_REDIS_IGNORE_EXCEPTIONS = True
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "microsystems_cache",
        }
    }
# The programme dashboard's and reports' figures, kept under the data version the database bumps on
# every write (evaluation.data_version); the timeout bounds what a reader racing a writer could keep.
CACHES["programme"] = {**CACHES["default"], "KEY_PREFIX": "programme", "TIMEOUT": 300}

AUTH_USER_MODEL = "microsystems.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "rules.permissions.ObjectPermissionBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# An invitation or password-reset link works once and for three days.
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24 * 3

# Sessions live in the database (or Redis-backed cache) so any web process can serve them.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db" if REDIS_URL else "django.contrib.sessions.backends.db"
SESSION_IDLE_TIMEOUT = env.int("SESSION_IDLE_TIMEOUT_MINUTES", default=30) * 60
SESSION_ABSOLUTE_LIFETIME = env.int("SESSION_ABSOLUTE_LIFETIME_HOURS", default=12) * 3600
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_LIFETIME
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True

# Two-factor login is required for programme leads, finance and staff admins.
# Outside production it can be switched off so demo logins work with a password alone.
REQUIRE_TWO_FACTOR = env.bool("REQUIRE_TWO_FACTOR", default=True)
OTP_TOTP_ISSUER = "Microsystems"

# Login throttling: by account and address together, so one person mistyping cannot
# lock out a whole practice behind a shared NHS address.
AXES_FAILURE_LIMIT = 8
AXES_COOLOFF_TIME = timedelta(minutes=20)
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "microsystems.security.lockout_username"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True
# Dates as "3 March 2025" and times as "10:42" (the NHS content style).
FORMAT_MODULE_PATH = ["microsystems.formats"]
USE_THOUSAND_SEPARATOR = False

STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=str(VAR_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))
# Uploaded (signed agreements, ODS files) and generated files (charts) go through Django's storage API:
# the local file system under MEDIA_ROOT by default; S3-compatible object storage (django-storages) when
# STORAGE_BACKEND=s3 or AWS_STORAGE_BUCKET_NAME is set, so every web process and worker sees the same files.
AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME", default="")
STORAGE_BACKEND = env("STORAGE_BACKEND", default="s3" if AWS_STORAGE_BUCKET_NAME else "filesystem")
# Origins the browser may load stored files from besides our own (a chart link redirects to a presigned URL).
STORAGE_IMG_ORIGINS: list[str] = []
if STORAGE_BACKEND == "s3":
    if not AWS_STORAGE_BUCKET_NAME:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("STORAGE_BACKEND=s3 needs AWS_STORAGE_BUCKET_NAME.")
    _s3 = {
        "bucket_name": AWS_STORAGE_BUCKET_NAME,
        "endpoint_url": env("AWS_S3_ENDPOINT_URL", default="") or None,  # MinIO, Ceph, another provider
        "region_name": env("AWS_S3_REGION_NAME", default="") or None,
        # Unset: boto3's own chain (instance role, AWS_* variables, ~/.aws).
        "access_key": env("AWS_ACCESS_KEY_ID", default="") or None,
        "secret_key": env("AWS_SECRET_ACCESS_KEY", default="") or None,
        "custom_domain": env("AWS_S3_CUSTOM_DOMAIN", default="") or None,
        "addressing_style": env("AWS_S3_ADDRESSING_STYLE", default="") or None,  # "path" for most MinIO
        "location": env("AWS_LOCATION", default=""),  # a prefix inside the bucket
        "default_acl": "private",  # nothing in the bucket is public
        "querystring_auth": True,  # links to files are presigned and expire
        "signature_version": "s3v4",
        "querystring_expire": 3600,
        "file_overwrite": False,  # like the file system: a name taken gets a suffix
    }
    STORAGES_DEFAULT: dict[str, object] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {k: v for k, v in _s3.items() if v is not None},
    }
    if _s3["custom_domain"]:
        STORAGE_IMG_ORIGINS = [f"https://{_s3['custom_domain']}"]
    elif _s3["endpoint_url"]:
        _scheme, _, _host = str(_s3["endpoint_url"]).rstrip("/").partition("://")
        STORAGE_IMG_ORIGINS = [f"{_scheme}://{_host}", f"{_scheme}://{AWS_STORAGE_BUCKET_NAME}.{_host}"]
    else:
        STORAGE_IMG_ORIGINS = [f"https://{AWS_STORAGE_BUCKET_NAME}.s3.amazonaws.com"]
        if _s3["region_name"]:
            STORAGE_IMG_ORIGINS.append(f"https://{AWS_STORAGE_BUCKET_NAME}.s3.{_s3['region_name']}.amazonaws.com")
elif STORAGE_BACKEND == "filesystem":
    STORAGES_DEFAULT = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
else:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"STORAGE_BACKEND must be filesystem or s3, not {STORAGE_BACKEND!r}.")
STORAGES = {
    "default": STORAGES_DEFAULT,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"
DJANGO_TABLES2_TEMPLATE = "django_tables2/bootstrap5-responsive.html"

EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Microsystems <microsystems@localhost>")
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")

X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", *STORAGE_IMG_ORIGINS],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

# Celery: Redis when REDIS_URL is set, otherwise kombu's filesystem transport, which needs no server.
CELERY_BROKER_URL = REDIS_URL or "filesystem://"
# A hung or unreachable broker must never hang a request: tasks are published on commit, and
# publishing gives up after about 1.5 s at worst (measured against a server that accepts connections
# and never answers: a 0.5 s read, then one retry that reconnects and times out its PING and read).
# The database says what is due, so a message that could not be published is picked up by a sweep.
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = (
    {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
    if REDIS_URL
    else {
        "data_folder_in": str(VAR_DIR / "broker"),
        "data_folder_out": str(VAR_DIR / "broker"),
        "processed_folder": str(VAR_DIR / "broker-processed"),
        "control_folder": str(VAR_DIR / "broker-control"),
        "store_processed": False,
    }
)
CELERY_BROKER_CONNECTION_TIMEOUT = 1.0
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 15 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 14 * 60
CELERY_TIMEZONE = TIME_ZONE
# Three queues, so slow rendering never holds up reminders: chart and report rendering (any task named
# ``<app>.tasks.render_*``) on "rendering", reminders and the sweep on "notifications", the rest on "default".
# A worker started without -Q consumes all three (they are declared here); to separate them, run one worker
# per queue: ``celery -A microsystems worker -Q rendering`` and so on.
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = {name: {"routing_key": name} for name in ("default", "rendering", "notifications")}
CELERY_TASK_ROUTES = {
    "*.tasks.render_*": {"queue": "rendering"},
    "notifications.tasks.*": {"queue": "notifications"},
}
# django-celery-beat's database scheduler, with a lock in Redis so only one beat ever schedules (microsystems/beat.py).
CELERY_BEAT_SCHEDULER = "microsystems.beat:SingleBeatScheduler"
# Written into the database schedule (django-celery-beat's PeriodicTask rows) each time beat starts,
# by DatabaseScheduler.setup_schedule; a schedule changed in the admin is reset to this at the next start.
CELERY_BEAT_SCHEDULE = {
    "requeue-lost-charts": {"task": "projects.tasks.requeue_lost_charts", "schedule": 120.0},
    "sweep-notifications": {"task": "notifications.tasks.sweep_notifications", "schedule": 300.0},
}
# A notification claimed for sending longer ago than this belongs to a worker that died: the sweep
# gives it back to pending. Longer than the send task's hard time limit (90 s).
NOTIFICATION_CLAIM_LEASE_SECONDS = env.int("NOTIFICATION_CLAIM_LEASE_SECONDS", default=600)
CELERY_TASK_ALWAYS_EAGER = False

# Operations: each concern keeps its settings in its own module.
from .observability import *  # noqa: E402, F403
from .retention import *  # noqa: E402, F403
