"""`make run`: migrate, load the demo once, then run web, worker and beat until SIGINT/SIGTERM.

manage.py has already started (or attached to) the embedded servers and exported their URLs, so
every child process inherits DATABASE_URL and REDIS_URL. On a signal the children are stopped
first, then manage.py's exit handler stops the embedded servers this run started.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
import urllib.request
from urllib.error import URLError

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from portal.demo import DEMO_PASSWORD, demo_logins
from portal.env import env_bool, env_int
from portal.models import Team

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Runs in each child before exec: if `serve` is killed outright, its children follow."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Command(BaseCommand):
    help = "Serve the portal with a Celery worker and beat (what `make run` runs)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=env_int("PORT", 8000, minimum=1))
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))

    def handle(self, *args, port: int, host: str, **options):
        self.stopping = False
        signal.signal(signal.SIGINT, self._request_stop)
        signal.signal(signal.SIGTERM, self._request_stop)

        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Database migrated.")
        call_command("collectstatic", interactive=False, verbosity=0)
        demo = env_bool("FLIGHTDECK_DEMO", True)
        if demo and not Team.objects.exists():
            call_command("load_demo")

        children = self._start_children(host, port)
        try:
            url = f"http://{host}:{port}/"
            if self._wait_until_up(url + "healthz", children):
                self._print_banner(url, demo)
            while not self.stopping:
                for name, process in children.items():
                    if process.poll() is not None:
                        self.stderr.write(f"{name} exited with {process.returncode}; stopping.")
                        self.stopping = True
                time.sleep(0.25)
        finally:
            self._stop_children(children)
        self.stdout.write("Flightdeck stopped.")

    def _request_stop(self, signum, frame) -> None:
        self.stopping = True

    def _start_children(self, host: str, port: int) -> dict[str, subprocess.Popen]:
        python = sys.executable
        bin_dir = os.path.dirname(python)
        home = settings.FLIGHTDECK_HOME
        commands = {
            "web": [
                os.path.join(bin_dir, "gunicorn"),
                "portal.wsgi:application",
                "--bind",
                f"{host}:{port}",
                "--workers",
                str(env_int("WEB_CONCURRENCY", 2, minimum=1)),
                "--threads",
                "4",
                "--worker-class",
                "gthread",
                "--access-logfile",
                "-",
                "--graceful-timeout",
                "10",
            ],
            "worker": [
                python,
                "-m",
                "celery",
                "-A",
                "portal",
                "worker",
                "--queues",
                "default,poll",
                "--concurrency",
                str(env_int("CELERY_CONCURRENCY", 2, minimum=1)),
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
            ],
            "beat": [
                python,
                "-m",
                "celery",
                "-A",
                "portal",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(home / "celerybeat-schedule"),
            ],
        }
        return {
            name: subprocess.Popen(command, preexec_fn=_die_with_parent)
            for name, command in commands.items()
        }

    def _wait_until_up(self, health_url: str, children, timeout: float = 60) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.stopping:
            if any(process.poll() is not None for process in children.values()):
                return False
            try:
                with urllib.request.urlopen(health_url, timeout=2):  # noqa: S310 (our loopback URL)
                    return True
            except URLError as error:
                # 503 means the web answers but the worker has not beaten yet: keep waiting.
                if getattr(error, "code", None) not in (None, 503):
                    return True
            except OSError:
                pass
            time.sleep(0.5)
        return False

    def _print_banner(self, url: str, demo: bool) -> None:
        lines = ["", f"  Flightdeck is running at {url}", ""]
        if demo:
            lines.append(f"  Demo logins (password for all: {DEMO_PASSWORD}):")
            lines += [f"    {user:<4} {what}" for user, _password, what in demo_logins()]
            lines.append("")
        lines.append("  Press Ctrl+C to stop.")
        self.stdout.write(self.style.SUCCESS("\n".join(lines)))

    def _stop_children(self, children: dict[str, subprocess.Popen]) -> None:
        for process in children.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for name, process in children.items():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stderr.write(f"{name} did not stop in time; killing it.")
                process.kill()
                process.wait()
