"""Production settings pass Django's deployment checklist; bad values stop start-up clearly."""

from __future__ import annotations

import json

from tests.processes import manage

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "q8v!2mZ$kP0x#rT7wL4n@bY9cF1hJ6dS3gA5eU8iO2pK7lM0zX4vB",
    "ALLOWED_HOSTS": "flightdeck.example.com",
    "FLIGHTDECK_HTTPS": "true",
}


def test_check_deploy_is_clean_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_a_bad_setting_stops_start_up_with_its_name():
    result = manage("check", DEBUG="maybe")

    assert result.returncode != 0
    assert "DEBUG must be true or false" in result.stderr


# Prints, as JSON, the security settings and the headers and cookies of the sign-in page as a
# production process serves it over HTTPS.
PRODUCTION_PROBE = """
import json
from django.conf import settings
from django.test import Client, override_settings
# collectstatic's manifest is not built here; the page needs its static URLs only.
plain = {**settings.STORAGES, "staticfiles": {
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
with override_settings(STORAGES=plain):
    response = Client(HTTP_HOST="flightdeck.example.com").get("/accounts/login/", secure=True)
csrf = response.cookies["csrftoken"]
print(json.dumps({
    "settings": {name: getattr(settings, name) for name in (
        "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY",
        "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "DEBUG")},
    "status": response.status_code,
    "headers": dict(response.headers),
    "csrf_cookie": {"secure": bool(csrf["secure"]), "samesite": csrf["samesite"]},
}))
"""


def test_production_serves_hsts_secure_cookies_and_the_security_headers():
    result = manage("shell", "-c", PRODUCTION_PROBE, **PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    probe = json.loads(result.stdout.strip().splitlines()[-1])

    assert probe["settings"] == {
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31_536_000,
        "DEBUG": False,
    }
    assert probe["status"] == 200
    headers = probe["headers"]
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert probe["csrf_cookie"] == {"secure": True, "samesite": "Lax"}
    print(f"\nproduction headers: {sorted(headers)}")


def test_plain_http_is_redirected_to_https_in_production():
    probe = (
        "from django.test import Client; r = Client(HTTP_HOST='flightdeck.example.com')"
        ".get('/accounts/login/'); print(r.status_code, r['Location'])"
    )
    result = manage("shell", "-c", probe, **PRODUCTION_ENV)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.split()[-2:] == ["301", "https://flightdeck.example.com/accounts/login/"]
