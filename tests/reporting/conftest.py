"""A real SMTP server for the tests that send email (alerts, status digests)."""

from __future__ import annotations

import pytest
from aiosmtpd.controller import Controller

from tests.pipelines.connectors.conftest import closed_port


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on loopback, and Django's SMTP backend pointed at it."""
    received = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # aiosmtpd's hook name
            received.append(envelope)
            return "250 OK"

    port = closed_port()  # aiosmtpd checks its own port after starting, so it cannot be 0
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = False
    yield received
    controller.stop()
