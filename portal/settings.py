"""Flightdeck settings: one module, every value from the environment (documented in README.md).

With no DATABASE_URL / REDIS_URL the embedded servers in FLIGHTDECK_HOME are used; the entry
points (manage.py, `make run`) start them. Bad values stop start-up with a message naming the
variable.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

from portal import embedded
from portal.env import (
    database_from_url,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_networks,
    env_rates,
    env_str,
    redis_url_checked,
    secret_key_from_file,
)
from portal.schedule import beat_schedule

BASE_DIR = Path(__file__).resolve().parent.parent
FLIGHTDECK_HOME = embedded.default_home()

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY") or secret_key_from_file(FLIGHTDECK_HOME / "secret_key")
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "axes",
]
# Our own apps, in dependency order: demo data and docs walk this list.
PROJECT_APPS = ["portal", "pipelines", "reporting", "maturity", "training", "poc", "roadmap"]
INSTALLED_APPS += PROJECT_APPS

MIDDLEWARE = [
    # First: the request id covers every other middleware's log lines, and the request metrics
    # count the answers they give themselves (docs/observability.md).
    "portal.observability.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a lockout raised during authenticate() into its page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

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
                "portal.context_processors.navigation",
            ],
        },
    },
]

# --- data stores ------------------------------------------------------------------------------

DATABASE_URL = env_str("DATABASE_URL") or embedded.postgres_url(FLIGHTDECK_HOME)
DATABASES = {"default": database_from_url(DATABASE_URL)}
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = redis_url_checked(env_str("REDIS_URL") or embedded.redis_url(FLIGHTDECK_HOME))
CACHES = {
    "default": {
        # Shared by every gunicorn worker, so throttles and login counters add up across them.
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "flightdeck",
        "OPTIONS": {"socket_timeout": 2, "socket_connect_timeout": 2},
    }
}

# On the embedded servers (`make run`, manage.py with nothing configured, the test suite) rather
# than ones named by DATABASE_URL / REDIS_URL: the embedded Redis URL is made from FLIGHTDECK_HOME.
RUNS_ON_EMBEDDED_SERVERS = embedded.redis_url(FLIGHTDECK_HOME) == REDIS_URL

# --- security ---------------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# FLIGHTDECK_HTTPS says the portal is reached over TLS: cookies become Secure, plain HTTP is
# redirected and HSTS is sent. Off for `make run` on 127.0.0.1, on in production.
HTTPS = env_bool("FLIGHTDECK_HTTPS", False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
if env_bool("FLIGHTDECK_BEHIND_PROXY", False):
    # https://docs.djangoproject.com/en/5.2/ref/settings/#secure-proxy-ssl-header
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Login throttling (django-axes, database handler): after LOGIN_FAILURE_LIMIT wrong passwords
# for one username from one IP address, that pair is refused for LOGIN_COOLOFF_MINUTES; the
# page says so with status 429. Keyed on the pair so one attacker cannot lock a colleague out
# from another address. Behind a proxy every client shares its address: the lockout is then
# effectively per username.
AUTHENTICATION_BACKENDS = [
    # First: it refuses locked-out credentials before a password is checked. It needs the
    # request, which LoginView and the admin pass; force_login and DRF tokens do not call it.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "portal.security.lockout_response"  # a page with 429 and Retry-After

# Content-Security-Policy (django-csp): scripts only from our own origin. Charts are JSON data
# blocks drawn by static/js/flightdeck.js, so no page needs an inline script; a template that
# must have one adds nonce="{{ request.csp_nonce }}". Styles allow 'unsafe-inline' because
# templates use style attributes, and plotly.js and htmx set inline styles as they draw.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],  # the favicon and Swagger UI's icons are data: URLs
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Error reports (mail to admins, the debug page) hide settings, request data and frame locals
# whose names look secret, not only those marked @sensitive_variables.
DEFAULT_EXCEPTION_REPORTER_FILTER = "portal.security.SecretCleansingExceptionReporterFilter"

# SSRF guard (portal/outbound.py, docs/security.md): URLs users set (CI and monitoring servers,
# chat webhooks) must resolve to public addresses, checked at save and again at each
# connection, unless private ones are allowed (on by default on the embedded servers, so local
# CI servers work under `make run`) or inside one of the allowed networks.
OUTBOUND_ALLOW_PRIVATE_HOSTS = env_bool(
    "FLIGHTDECK_ALLOW_PRIVATE_CI_HOSTS", RUNS_ON_EMBEDDED_SERVERS
)
OUTBOUND_ALLOWED_NETWORKS = env_networks("FLIGHTDECK_OUTBOUND_ALLOWED_NETWORKS")

# --- email ------------------------------------------------------------------------------------

EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = 10
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Flightdeck <flightdeck@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Where people reach the portal: absolute links in status digests and their PDFs.
SITE_URL = env_str("SITE_URL", "http://localhost:8000").rstrip("/")

# --- i18n, static -----------------------------------------------------------------------------

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "reporting.finders.PlotlyFinder",
]
STATIC_ROOT = Path(env_str("STATIC_ROOT") or FLIGHTDECK_HOME / "static")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or FLIGHTDECK_HOME / "media")

# --- API --------------------------------------------------------------------------------------

REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header makes anonymous API calls a 401, not a 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.drf.ScopedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "portal.drf.ReadOnlyTokenPermission",
    ],
    # A JSON API: form and multipart bodies carry every value as text, so types could not be
    # checked strictly. Other content types get 415.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": [
        "portal.drf.StrictFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "portal.drf.Pagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "portal.drf.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"user": env_str("API_THROTTLE_RATE", "1200/min")},
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Flightdeck API",
    "DESCRIPTION": "Delivery governance: teams, services, environments, delivery records, "
    "metrics, maturity assessments, training, POC reviews and the technology radar.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several resources have a "status"; name each choice set so the schema stays stable.
    "ENUM_NAME_OVERRIDES": {
        "RunStatusEnum": "pipelines.models.STATUS_CHOICES",
        "PushedDeploymentStatusEnum": ["success", "failure"],
        "ConnectorKindEnum": "pipelines.api.CONNECTOR_KINDS",
        "AssessmentStatusEnum": "maturity.models.Assessment.Status",
        "TrainingItemStatusEnum": "training.models.TrainingItem.Status",
        "RingEnum": "poc.models.Ring",
        "OutcomeEnum": "poc.models.Outcome",
        "PocStatusEnum": "poc.models.Poc.Status",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "portal.schema.add_error_responses",
    ],
}

# --- Celery (https://docs.celeryq.dev/en/stable/userguide/configuration.html) -----------------

CELERY_BROKER_URL = REDIS_URL
# Run records live in Postgres; nobody reads Celery results.
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# Tasks are idempotent: acknowledge after the run so a killed worker's task is delivered again.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {"pipelines.tasks.source_sync_task": {"queue": "poll"}}
# https://docs.celeryq.dev/en/stable/getting-started/backends-and-brokers/redis.html#visibility-timeout
# Longer than the slowest sync; the restore sweep (interval x throttle) runs about once a minute.
# Measured (ECOSYSTEM.md B5): kombu sweeps about every interval x throttle seconds and restores
# messages older than the visibility timeout. Tests set small values through the environment.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=1),
    "unacked_restore_interval": env_int("CELERY_RESTORE_INTERVAL", 6, minimum=1),
    "unacked_restore_throttle": env_int("CELERY_RESTORE_THROTTLE", 10, minimum=1),
}
# Polling: how long a CI server may stay silent in a request (connect or between bytes) before
# it counts as failed; each request is tried 4 times, then Celery retries the sync.
CI_READ_TIMEOUT = env_int("CI_READ_TIMEOUT", 30, minimum=1)
# A webhook must be accepted even while Redis is down (it is stored first): fail fast.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
# How often beat queues the sources whose poll is due (each source still polls at its own
# interval); tests of beat itself shorten it.
SOURCE_DISPATCH_SECONDS = env_int("CELERY_DISPATCH_INTERVAL", 30, minimum=1)
CELERY_BEAT_SCHEDULE = beat_schedule(dispatch_seconds=SOURCE_DISPATCH_SECONDS)
WORKER_HEARTBEAT_SECONDS = 10
# Pipeline health: what a CI minute costs, by runner (label or kind; shell-style patterns,
# first match wins), and for runners no pattern matches.
CI_COST_PER_MINUTE = env_float("CI_COST_PER_MINUTE", 0.008, minimum=0)
CI_COST_PER_MINUTE_BY_RUNNER = env_rates(
    "CI_COST_PER_MINUTE_BY_RUNNER", "macos-*=0.08,windows-*=0.016,self-hosted*=0"
)
WEBHOOK_MAX_BYTES = env_int("WEBHOOK_MAX_BYTES", 5 * 1024 * 1024, minimum=1024)
# Evidence files (assessments, POCs) live in Postgres; this bounds each one.
EVIDENCE_MAX_BYTES = env_int("EVIDENCE_MAX_BYTES", 10_000_000, minimum=1024)

# --- logging ----------------------------------------------------------------------------------

LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
# json: one object per line for log shippers (production); plain: for a person at `make run`.
LOG_FORMAT = env_str("LOG_FORMAT", "plain" if RUNS_ON_EMBEDDED_SERVERS else "json").lower()
if LOG_FORMAT not in ("json", "plain"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or plain, got {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "portal.observability.logs.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"},
        "json": {"()": "portal.observability.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "pgserver": {"level": "WARNING"},
        "filelock": {"level": "WARNING"},
        "weasyprint.progress": {"level": "WARNING"},  # eight INFO lines per status report PDF
    },
}

# /metrics (Prometheus): scrapers send `Authorization: Bearer <METRICS_TOKEN>`; signed-in leads
# and admins may look too. Under `make run` requests from this machine need neither.
METRICS_TOKEN = env_str("METRICS_TOKEN")
METRICS_OPEN_ON_LOOPBACK = env_bool("METRICS_OPEN_ON_LOOPBACK", RUNS_ON_EMBEDDED_SERVERS)
