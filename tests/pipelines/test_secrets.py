"""Secrets at rest: AES-GCM with key ids, tamper-evident, rotatable without losing data."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError

from pipelines.management.commands.rotate_keys import ENCRYPTED_COLUMNS
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


# Every kind a user adds (the built-in push and portal sources hold no secret).
KINDS = [kind for kind in CISource.Kind.values if kind not in CISource.BUILT_IN_KINDS]


@pytest.fixture
def planted(keys, make_source) -> dict[int, tuple[str, str]]:
    """A source of every kind with a token and a webhook secret, all sealed with k1."""
    keys(OLD)
    originals = {}
    for kind in KINDS:
        token, secret = f"{kind}-token-canary", f"{kind}-hook-canary"
        source = make_source(
            kind, base_url=f"https://{kind}.example.com/", token=token, webhook_secret=secret
        )
        originals[source.pk] = (token, secret)
    return originals


def stored() -> dict[tuple[str, int], str]:
    """Every encrypted value in the database, by (column, row)."""
    values = {}
    for column in ENCRYPTED_COLUMNS:
        for pk, value in column.model_class().objects.values_list("pk", column.field):
            if value:
                values[(column.label, pk)] = value
    return values


def readable(originals: dict[int, tuple[str, str]]) -> tuple[int, int]:
    """(secrets that decrypt to what was planted, secrets that do not)."""
    good = bad = 0
    for source in CISource.objects.filter(pk__in=originals):
        for read, original in zip(
            (source.get_token, source.get_webhook_secret), originals[source.pk], strict=True
        ):
            try:
                good, bad = (good + 1, bad) if read() == original else (good, bad + 1)
            except crypto.SecretError:
                bad += 1
    return good, bad


def test_every_encrypted_column_is_rotated():
    found = {
        f"{model._meta.label}.{field.name}"
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if field.name.endswith(("_ciphertext", "_encrypted"))
    }

    assert found == {column.label for column in ENCRYPTED_COLUMNS}


def test_rotation_re_encrypts_every_secret_and_the_old_key_can_go(keys, planted, capsys):
    before = stored()
    keys(NEW, OLD)

    with pytest.raises(CommandError, match=rf"{len(before)} secret\(s\) still use an old key"):
        call_command("rotate_keys", "--check")
    call_command("rotate_keys", "--batch-size", "3")
    after = stored()
    keys(NEW)  # k1 dropped
    good, bad = readable(planted)
    call_command("rotate_keys", "--check")

    out = capsys.readouterr().out
    assert len(before) == 2 * len(KINDS)  # a token and a webhook secret for each kind
    assert {crypto.key_id_of(value) for value in before.values()} == {"k1"}
    assert after.keys() == before.keys()
    assert {crypto.key_id_of(value) for value in after.values()} == {"k2"}
    assert (good, bad) == (len(before), 0)
    assert f"pipelines.CISource.token_ciphertext: 3/{len(KINDS)} re-encrypted" in out
    assert f"pipelines.CISource.token_ciphertext: {len(KINDS)}/{len(KINDS)} re-encrypted" in out
    assert f"{len(before)} secret(s) in 2 column(s) re-encrypted with key 'k2'" in out
    assert "Every secret uses key 'k2'." in out
    assert "canary" not in out
    rotated = sum(before[key] != after[key] for key in before)
    columns = len({column for column, _ in before})
    print(
        f"\n{rotated} secrets in {columns} columns re-encrypted k1 -> k2; {bad} unreadable "
        "after dropping k1"
    )


def test_a_second_run_changes_nothing(keys, planted, capsys):
    keys(NEW, OLD)
    call_command("rotate_keys")
    first = stored()

    call_command("rotate_keys")

    assert stored() == first
    assert "0 secret(s) in 2 column(s) re-encrypted" in capsys.readouterr().out


def test_an_interrupted_rotation_is_finished_by_the_next_run(keys, planted, capsys):
    """The first half was re-encrypted (committed batches) before the run died."""
    keys(NEW, OLD)
    first_half = sorted(planted)[: len(planted) // 2]
    for source in CISource.objects.filter(pk__in=first_half):
        source.set_token(source.get_token())
        source.set_webhook_secret(source.get_webhook_secret())
        source.save(update_fields=["token_ciphertext", "webhook_secret_ciphertext"])
    before = stored()

    call_command("rotate_keys", "--batch-size", "1")

    after = stored()
    changed = {key for key in before if before[key] != after[key]}
    assert {pk for _, pk in changed} == set(planted) - set(first_half)
    assert len(changed) == 2 * (len(planted) - len(first_half))
    assert {crypto.key_id_of(value) for value in after.values()} == {"k2"}
    assert f"{len(changed)} secret(s) in 2 column(s)" in capsys.readouterr().out
    keys(NEW)
    assert readable(planted) == (len(after), 0)


def test_a_secret_no_key_opens_is_named_and_the_rest_still_rotate(keys, planted, capsys):
    keys(NEW, OLD)
    damaged = sorted(planted)[0]
    CISource.objects.filter(pk=damaged).update(token_ciphertext="v1:k1:AAAAdamagedAAAA")

    with pytest.raises(CommandError, match=f"token_ciphertext of row {damaged}"):
        call_command("rotate_keys")
    with pytest.raises(CommandError, match=r"1 secret\(s\) still use an old key"):
        call_command("rotate_keys", "--check")

    left = {key: value for key, value in stored().items() if crypto.key_id_of(value) != "k2"}
    assert left == {("pipelines.CISource.token_ciphertext", damaged): "v1:k1:AAAAdamagedAAAA"}
    assert "1 unreadable" in capsys.readouterr().out


def test_the_old_command_name_still_rotates(keys, planted, capsys):
    keys(NEW, OLD)

    call_command("rotate_secrets")

    assert {crypto.key_id_of(value) for value in stored().values()} == {"k2"}
    assert "rotate_secrets is deprecated; use rotate_keys." in capsys.readouterr().err


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
