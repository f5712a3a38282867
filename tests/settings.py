"""Test settings: the suite's own throwaway PostgreSQL and Redis, never the run data.

Started when pytest imports this module and stopped at exit; with DATABASE_URL and REDIS_URL
both set, those servers are used instead. Each pytest-xdist worker starts its own pair rather
than inherit the ones its controller exported: tests stop Redis and restart PostgreSQL, and
Celery workers started by a test take every task on their broker.
"""

import atexit
import os

from portal import embedded

_SERVERS_STARTED_BY = "FLIGHTDECK_TEST_SERVERS_PID"  # this variable names the pytest that did
_inherited = os.environ.get(_SERVERS_STARTED_BY, str(os.getpid())) != str(os.getpid())
if _inherited or not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
    _servers = embedded.start(ephemeral=True)
    _servers.export()
    os.environ[_SERVERS_STARTED_BY] = str(os.getpid())
    os.environ["FLIGHTDECK_HOME"] = str(_servers.home)
    atexit.register(_servers.stop)
    embedded.exit_cleanly_on_sigterm()

os.environ.setdefault("SECRET_KEY", "tests-only-" + "x" * 50)
# Fake CI servers listen on loopback everywhere (on outside servers too); the SSRF guard's own
# tests turn this off with the settings fixture.
os.environ.setdefault("FLIGHTDECK_ALLOW_PRIVATE_CI_HOSTS", "true")

from portal.settings import *  # noqa: E402, F403 (after the environment above is set)

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405 (whitenoise warns when it is missing)
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}  # noqa: F405
