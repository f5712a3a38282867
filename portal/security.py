"""Error reports that carry no secrets, and the login lockout page.

Django's SafeExceptionReporterFilter hides settings and request data whose names look secret,
but shows every local variable of every frame unless the function is marked
``@sensitive_variables``. A connector's frames hold CI tokens in variables such as ``token``,
``headers`` or ``auth``; one forgotten decorator would mail them to the admins. This filter
cleanses frame locals and form fields by name as well, and masks the values of secret locals
wherever they appear inside the other locals of the same frame (a URL built from a token).
"""

from __future__ import annotations

import base64
import re

import requests
from axes.helpers import get_client_username
from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django.views.debug import SafeExceptionReporterFilter

# Django's own list (API, TOKEN, KEY, SECRET, PASS, SIGNATURE, HTTP_COOKIE) widened to the
# names connectors and webhooks give credentials: auth headers, cookies, credentials.
SECRET_NAMES = re.compile(
    "API|TOKEN|KEY|SECRET|PASS|SIGNATURE|COOKIE|AUTH|HEADER|CREDENTIAL", flags=re.I
)
# Shorter values are too likely to occur by chance (masking "1" would mask every digit).
MIN_MASKED_LENGTH = 6


def session_secrets(session: requests.Session) -> set[str]:
    """The credentials an outgoing ``requests`` session sends, as they appear on the wire:
    secret-named header values (``Bearer ...``) and their long parts, basic auth in plain and
    base64. A server that echoes a request back in its error body echoes these."""
    found = set()
    for name, value in session.headers.items():
        if SECRET_NAMES.search(name) and isinstance(value, str):
            found.add(value)
            found.update(part for part in re.split(r"[\s=]+", value) if len(part) >= 12)
    if isinstance(session.auth, tuple) and len(session.auth) == 2:
        pair = f"{session.auth[0]}:{session.auth[1]}"
        found.update({str(session.auth[1]), pair, base64.b64encode(pair.encode()).decode()})
    return {secret for secret in found if len(secret) >= MIN_MASKED_LENGTH}


def masked(text: str, secrets: set[str], substitute: str = "********************") -> str:
    """``text`` with every secret replaced, longest first (a secret may contain another)."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, substitute)
    return text


class SecretCleansingExceptionReporterFilter(SafeExceptionReporterFilter):
    hidden_settings = SECRET_NAMES

    def get_traceback_frame_variables(self, request, tb_frame):
        variables = super().get_traceback_frame_variables(request, tb_frame)
        if not self.is_active(request):
            return variables
        secrets = self._secrets_in_scope(tb_frame)
        cleansed = []
        for name, value in variables:
            if self.hidden_settings.search(name):
                value = self.cleansed_substitute
            elif secrets:
                value = self._masked(value, secrets)
            cleansed.append((name, value))
        return cleansed

    def _secrets_in_scope(self, tb_frame) -> set[str]:
        """Secret-named string locals and outgoing sessions' credentials of this frame and its
        callers: a response body two frames down may echo the token a caller holds."""
        found: set[str] = set()
        frame = tb_frame
        while frame is not None:
            for name, value in frame.f_locals.items():
                if isinstance(value, str) and self.hidden_settings.search(name):
                    found.add(value)
                # A session, or an object holding one (SourceHttp.session); instance
                # attributes only, so no property or lazy object is evaluated here.
                held = getattr(value, "__dict__", {})
                for candidate in (value, held.get("session") if isinstance(held, dict) else None):
                    if isinstance(candidate, requests.Session):
                        found |= session_secrets(candidate)
            frame = frame.f_back
        return {secret for secret in found if len(secret) >= MIN_MASKED_LENGTH}

    def get_post_parameters(self, request):
        """Also hide form fields named like secrets (a CI source form posts ``token`` and
        ``webhook_secret``) when the view is not marked @sensitive_post_parameters."""
        parameters = super().get_post_parameters(request)
        if not parameters or not self.is_active(request):
            return parameters
        secret_names = [name for name in parameters if self.hidden_settings.search(name)]
        if not secret_names:
            return parameters
        cleansed = parameters.copy()
        for name in secret_names:
            cleansed[name] = self.cleansed_substitute
        return cleansed

    def _masked(self, value, secrets: set[str]):
        """``value``, or its repr with every secret replaced when the repr shows one."""
        try:
            shown = value if isinstance(value, str) else repr(value)
        except Exception:  # a broken __repr__ must not break the error report
            return value
        if not any(secret in shown for secret in secrets):
            return value
        return masked(shown, secrets, self.cleansed_substitute)


def lockout_response(request, original_response=None, credentials=None) -> HttpResponse:
    """django-axes' lockout as a readable page: 429 with Retry-After (AXES_LOCKOUT_CALLABLE)."""
    cooloff_seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    response = render(
        request,
        "registration/locked_out.html",
        {
            "username": get_client_username(request, credentials) or "",
            "failure_limit": settings.AXES_FAILURE_LIMIT,
            "cooloff_minutes": cooloff_seconds // 60,
        },
        status=429,
    )
    response["Retry-After"] = str(cooloff_seconds)
    return response
