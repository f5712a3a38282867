"""Login brute force (ECOSYSTEM C7-12): django-axes refuses a username and address pair after
five wrong passwords, with a readable 429 page, and lets it in again after 15 minutes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.test import Client

from tests.factories import PASSWORD
from tests.processes import manage

LOGIN = "/accounts/login/"
START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def _sign_in(client: Client, username: str, password: str):
    return client.post(LOGIN, {"username": username, "password": password})


def _signed_in(response) -> bool:
    return response.status_code == 302 and response["Location"] == "/"


def test_the_limits_are_five_failures_and_a_fifteen_minute_cool_off():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert timedelta(minutes=15) == settings.AXES_COOLOFF_TIME
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"


def test_ten_wrong_passwords_lock_the_account_until_the_cool_off_ends(org):
    client = Client()
    with time_machine.travel(START, tick=False) as clock:
        answers = [_sign_in(client, "mo", "wrong password").status_code for _ in range(10)]
        right_while_locked = _sign_in(client, "mo", PASSWORD)

        clock.shift(timedelta(minutes=14))
        still_locked = _sign_in(client, "mo", PASSWORD)

        # The last refused attempt (minute 14) restarted the cool-off: wait it out in full.
        clock.shift(timedelta(minutes=15, seconds=1))
        after_cool_off = _sign_in(client, "mo", PASSWORD)

    blocked = [code for code in answers[5:] if code == 429]
    print(
        f"\n10 wrong passwords: attempts 1-5 {answers[:5]}, 6-10 {answers[5:]}; right password "
        f"while locked {right_while_locked.status_code}, after 15 min "
        f"{after_cool_off.status_code} -> {after_cool_off.get('Location')}"
    )
    # The fifth wrong password is counted and answered with the lockout page at once.
    assert answers[:4] == [200] * 4  # the form again, with its error
    assert answers[4] == 429
    assert len(blocked) == 5
    assert right_while_locked.status_code == 429
    assert still_locked.status_code == 429
    assert _signed_in(after_cool_off)


def test_the_lockout_page_is_readable_and_says_when_to_retry(org):
    client = Client()
    for _ in range(5):
        _sign_in(client, "mo", "wrong password")

    response = _sign_in(client, "mo", PASSWORD)

    assert response.status_code == 429
    assert response["Retry-After"] == str(15 * 60)
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "Too many sign-in attempts" in page
    assert "paused for 15 minutes after 5 wrong passwords" in page
    assert "Traceback" not in page


def test_the_lockout_is_per_username_and_address(org):
    attacker = Client(REMOTE_ADDR="203.0.113.7")
    for _ in range(6):
        _sign_in(attacker, "mo", "wrong password")

    assert _sign_in(attacker, "mo", PASSWORD).status_code == 429
    # The same person from their own desk, and another user from the attacker's address.
    assert _signed_in(_sign_in(Client(REMOTE_ADDR="198.51.100.20"), "mo", PASSWORD))
    assert _signed_in(_sign_in(Client(REMOTE_ADDR="203.0.113.7"), "kim", PASSWORD))


def test_a_successful_sign_in_resets_the_count(org):
    client = Client()
    for _ in range(4):
        _sign_in(client, "mo", "wrong password")
    assert _signed_in(_sign_in(client, "mo", PASSWORD))
    client.logout()

    for _ in range(4):
        _sign_in(client, "mo", "wrong password")

    assert _signed_in(_sign_in(client, "mo", PASSWORD))


@pytest.mark.parametrize("path", ["/", "/services/"])
def test_force_login_sessions_are_untouched_by_axes(client_for, path):
    assert client_for("mo").get(path).status_code == 200


def test_the_limits_come_from_the_environment():
    probe = (
        "from django.conf import settings as s; print(s.AXES_FAILURE_LIMIT, s.AXES_COOLOFF_TIME)"
    )
    result = manage("shell", "-c", probe, LOGIN_FAILURE_LIMIT="3", LOGIN_COOLOFF_MINUTES="30")
    refused = manage("check", LOGIN_FAILURE_LIMIT="0")

    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["3", "0:30:00"]
    assert refused.returncode != 0
    assert "LOGIN_FAILURE_LIMIT must be at least 1" in refused.stderr
