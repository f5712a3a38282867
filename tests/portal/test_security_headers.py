"""Security headers on every kind of answer: pages, the API, errors, the lockout page.
(HSTS and Secure cookies need production settings: tests/portal/test_deploy_settings.py.)"""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.factories import ServiceFactory


def _directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {
        name: values
        for name, *values in (part.split() for part in policy.split(";") if part.strip())
    }


@pytest.fixture
def answers(client_for, api_client_for, org):
    ServiceFactory(team=org.checkout, slug="cart-api")
    browser = client_for("lee")
    return {
        "page": browser.get("/"),
        "chart page": browser.get("/metrics/"),
        "htmx fragment": browser.get("/services/", HTTP_HX_REQUEST="true"),
        "not found": browser.get("/services/no-such-service/"),
        "sign-in": Client().get("/accounts/login/"),
        "api": api_client_for(org.users["lee"]).get("/api/v1/services/"),
        "anonymous api": Client().get("/api/v1/services/"),
        "api docs": browser.get("/api/docs/"),
    }


def test_every_answer_carries_frame_sniffing_and_referrer_headers(answers):
    for name, response in answers.items():
        assert response["X-Frame-Options"] == "DENY", name
        assert response["X-Content-Type-Options"] == "nosniff", name
        assert response["Referrer-Policy"] == "same-origin", name
        assert response["Cross-Origin-Opener-Policy"] == "same-origin", name
    print(f"\n{len(answers)} kinds of answer: frame, sniffing and referrer headers on all")


def test_the_content_security_policy_allows_scripts_from_our_origin_only(answers):
    for name, response in answers.items():
        directives = _directives(response)
        assert directives["default-src"] == ["'self'"], name
        scripts = directives["script-src"]
        assert scripts[0] == "'self'", name
        assert all(re.fullmatch(r"'nonce-[\w+/=-]+'", extra) for extra in scripts[1:]), name
        assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts, name
        assert directives["object-src"] == ["'none'"], name
        assert directives["frame-ancestors"] == ["'none'"], name
        assert directives["base-uri"] == ["'self'"], name
        assert directives["form-action"] == ["'self'"], name


def test_pages_carry_no_inline_script_or_event_handler(answers):
    """What the policy would block in a browser (tests/e2e/test_csp.py proves it there)."""
    for name in ("page", "chart page", "sign-in", "api docs"):
        html = answers[name].content.decode()
        scripts = re.findall(r"<script\b([^>]*)>", html)
        inline = [attrs for attrs in scripts if "src=" not in attrs and "json" not in attrs]
        assert inline == [], name
        assert not re.search(r"\son[a-z]+\s*=", html), name
        assert "javascript:" not in html, name


def test_no_hsts_and_no_secure_only_cookies_on_plain_http_for_make_run(answers):
    assert "Strict-Transport-Security" not in answers["page"]
