"""Browser journeys: Playwright for Python driving Debian's Chromium against a live server.

Playwright cannot download its own browser here, so the launch points at /usr/bin/chromium
(installed by `make test`). Capabilities add their journeys beside test_login.py.
"""

from __future__ import annotations

import os

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Playwright's sync API runs an event loop in this thread; the tests' own ORM calls (set-up)
# are still synchronous, which Django otherwise refuses next to a running loop. Subprocesses
# started by other tests drop it (tests/processes.py): it must never reach a real server.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture
def portal_url(live_server, transactional_db) -> str:
    return live_server.url


@pytest.fixture
def sign_in(page, portal_url):
    """``sign_in(username, password)``: fills the real sign-in form and lands on the home page."""

    def do(username: str, password: str) -> None:
        page.goto(portal_url + "/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()

    return do
