"""Settings from the environment: typed, and refused with a message naming the variable."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.env import (
    database_from_url,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_rates,
    redis_url_checked,
)


@pytest.mark.parametrize(
    ("raw", "expected"), [("true", True), ("0", False), ("ON", True), ("no", False), ("", False)]
)
def test_env_bool_reads_the_usual_words(monkeypatch, raw, expected):
    monkeypatch.setenv("DEBUG", raw)

    assert env_bool("DEBUG", not expected) is expected


def test_env_bool_refuses_anything_else(monkeypatch):
    monkeypatch.setenv("DEBUG", "maybe")

    with pytest.raises(ImproperlyConfigured, match=r"DEBUG must be true or false.*'maybe'"):
        env_bool("DEBUG", False)


def test_env_int_checks_type_and_minimum(monkeypatch):
    monkeypatch.setenv("PORT", "eighty")
    with pytest.raises(ImproperlyConfigured, match="PORT must be a whole number"):
        env_int("PORT", 8000)
    monkeypatch.setenv("PORT", "0")
    with pytest.raises(ImproperlyConfigured, match="PORT must be at least 1"):
        env_int("PORT", 8000, minimum=1)


def test_env_list_splits_on_commas(monkeypatch):
    monkeypatch.setenv("ALLOWED_HOSTS", " a.example, b.example ,,")

    assert env_list("ALLOWED_HOSTS") == ["a.example", "b.example"]


def test_database_url_with_host_port_and_escaped_password():
    config = database_from_url("postgres://fd:p%40ss@db.internal:6543/flightdeck?sslmode=require")

    assert (config["HOST"], config["PORT"], config["USER"], config["PASSWORD"], config["NAME"]) == (
        "db.internal",
        "6543",
        "fd",
        "p@ss",
        "flightdeck",
    )
    assert config["OPTIONS"] == {"sslmode": "require"}


def test_database_url_with_a_unix_socket_folder():
    config = database_from_url("postgresql://postgres@/flightdeck?host=/srv/pg")

    assert (config["HOST"], config["NAME"], config["OPTIONS"]) == ("/srv/pg", "flightdeck", {})


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://db/flightdeck", "postgres:// or postgresql://"),
        ("postgres://db/", "must name a database"),
        ("postgres://db:notaport/flightdeck", "invalid port"),
    ],
)
def test_database_url_mistakes_are_named(url, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        database_from_url(url)


def test_redis_url_must_be_redis():
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL"):
        redis_url_checked("http://localhost:6379")


def test_env_float_checks_type_and_minimum(monkeypatch):
    monkeypatch.setenv("CI_COST_PER_MINUTE", "0.016")
    assert env_float("CI_COST_PER_MINUTE", 0.008, minimum=0) == 0.016
    monkeypatch.setenv("CI_COST_PER_MINUTE", "cheap")
    with pytest.raises(ImproperlyConfigured, match="CI_COST_PER_MINUTE must be a number"):
        env_float("CI_COST_PER_MINUTE", 0.008)
    monkeypatch.setenv("CI_COST_PER_MINUTE", "-1")
    with pytest.raises(ImproperlyConfigured, match="must be at least 0"):
        env_float("CI_COST_PER_MINUTE", 0.008, minimum=0)


def test_env_rates_keeps_the_order_of_the_patterns(monkeypatch):
    monkeypatch.setenv("RATES", "macos-*=0.08, ubuntu-*=0.008,self-hosted=0")

    assert list(env_rates("RATES").items()) == [
        ("macos-*", 0.08),
        ("ubuntu-*", 0.008),
        ("self-hosted", 0.0),
    ]


@pytest.mark.parametrize("raw", ["macos", "=0.08", "macos=cheap", "macos=-1"])
def test_env_rates_refuses_what_is_not_pattern_equals_rate(monkeypatch, raw):
    monkeypatch.setenv("RATES", raw)

    with pytest.raises(ImproperlyConfigured, match="RATES must be pattern=rate pairs"):
        env_rates("RATES")
