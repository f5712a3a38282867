"""Production settings pass Django's deployment checklist; bad values stop start-up clearly."""

from __future__ import annotations

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
