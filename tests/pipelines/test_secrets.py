"""Secrets at rest: AES-GCM with key ids, tamper-evident, rotatable without losing data."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from pipelines.models import CISource
from portal import crypto

OLD, NEW = crypto.new_key_entry("k1"), crypto.new_key_entry("k2")


@pytest.fixture
def keys(monkeypatch):
    def use(*entries: str) -> None:
        monkeypatch.setenv("FLIGHTDECK_ENCRYPTION_KEYS", ",".join(entries))
        crypto.reset_key_cache()

    yield use
    crypto.reset_key_cache()


def test_a_value_round_trips_and_is_bound_to_its_purpose(keys):
    keys(OLD)
    sealed = crypto.encrypt("ghp_secret", purpose="cisource.token.a")

    assert sealed.startswith("v1:k1:") and "ghp_secret" not in sealed
    assert crypto.decrypt(sealed, purpose="cisource.token.a") == "ghp_secret"
    with pytest.raises(crypto.SecretError):
        crypto.decrypt(sealed, purpose="cisource.token.b")  # copied into another column


def test_the_same_value_encrypts_differently_each_time(keys):
    keys(OLD)

    assert crypto.encrypt("x", purpose="p") != crypto.encrypt("x", purpose="p")


def test_a_tampered_value_is_refused(keys):
    keys(OLD)
    sealed = crypto.encrypt("ghp_secret", purpose="p")
    tampered = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")

    with pytest.raises(crypto.SecretError):
        crypto.decrypt(tampered, purpose="p")


def test_rotation_re_encrypts_everything_and_the_old_key_can_go(keys, make_source, capsys):
    keys(OLD)
    source = make_source("github", token="ghp_canary")
    keys(NEW, OLD)

    call_command("rotate_secrets")
    keys(NEW)

    source = CISource.objects.get(pk=source.pk)
    assert crypto.key_id_of(source.token_ciphertext) == "k2"
    assert source.get_token() == "ghp_canary"
    assert "1 source(s) re-encrypted" in capsys.readouterr().out


def test_without_its_key_a_secret_is_unreadable_not_silently_empty(keys, make_source):
    keys(OLD)
    source = make_source("github", token="ghp_canary")
    keys(NEW)

    with pytest.raises(crypto.SecretError, match="k1"):
        CISource.objects.get(pk=source.pk).get_token()


@pytest.mark.parametrize("raw", ["k1:short", "no-colon", "k-1:" + "A" * 44, " , "])
def test_a_malformed_key_setting_stops_start_up_clearly(keys, raw):
    keys(raw)

    with pytest.raises(ImproperlyConfigured, match="FLIGHTDECK_ENCRYPTION_KEYS"):
        crypto.encrypt("x", purpose="p")
