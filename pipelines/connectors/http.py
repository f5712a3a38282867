"""HTTP to one CI source: its base URL only, timeouts, bounded retries, ETags, rate limits.

The contract every connector relies on:

- Only URLs on the source's origin (scheme, host, port) are requested; a redirect or a
  pagination link to another origin is refused (``ConnectorError``, permanent).
- Every connection passes the SSRF guard (``portal.outbound``): an address that is not public
  is refused, unless the settings allow it, with a permanent ``ConnectorError`` and no request
  sent.
- Connection errors, timeouts and 5xx are retried ``retries`` times with exponential backoff and
  jitter, then raised as a transient ``ConnectorError``.
- 401, 403 and 404 are permanent errors (``status`` set): the caller marks that repository.
- Rate limits (429, or 403 with ``X-RateLimit-Remaining: 0`` / ``Retry-After``; GitHub's
  ``X-RateLimit-*`` and GitLab's ``RateLimit-*``): a wait up to ``max_wait`` seconds is slept
  through; a longer one raises ``RateLimited(resume_at)`` so the sync stops and resumes later.
  A response that says the quota is spent blocks the next request the same way.
- ``conditional=True`` sends the ETag last seen for that exact URL; a 304 comes back as
  ``HttpResponse.not_modified`` and updated ETags are kept in ``etags`` (persisted by the caller).
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.exceptions import ChunkedEncodingError
from requests.structures import CaseInsensitiveDict

from portal import outbound

DEFAULT_TIMEOUT = (5.0, 30.0)  # connect, read
MAX_REDIRECTS = 5
LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


class ConnectorError(Exception):
    """A failed request. ``permanent`` errors are not retried (bad token, missing repository)."""

    def __init__(self, message: str, *, permanent: bool = False, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.status = status


class RateLimited(ConnectorError):
    """The source's quota is spent until ``resume_at``: stop now, resume then."""

    def __init__(self, message: str, *, resume_at: datetime):
        super().__init__(message, permanent=False, status=429)
        self.resume_at = resume_at


@dataclass
class HttpResponse:
    status: int
    headers: CaseInsensitiveDict
    content: bytes
    url: str

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    def json(self) -> Any:
        try:
            return json.loads(self.content)
        except ValueError:
            raise ConnectorError(
                f"{self.url} answered {self.status} with a body that is not JSON",
                permanent=True,
                status=self.status,
            ) from None

    @property
    def next_url(self) -> str | None:
        """The ``Link: <...>; rel="next"`` target (GitHub, GitLab), or None on the last page."""
        match = LINK_NEXT.search(self.headers.get("Link", ""))
        return match.group(1) if match else None


def _http_date(value: str | None) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError):
        return None
    return parsed.astimezone(UTC) if parsed and parsed.tzinfo else None


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


class SourceHttp:
    """Requests to one CI source. One instance per sync; not shared between threads."""

    def __init__(
        self,
        base_url: str,
        *,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        etags: dict[str, str] | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        retries: int = 3,
        backoff: float = 0.5,
        max_wait: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
    ) -> None:
        if urlsplit(base_url).scheme not in {"http", "https"}:
            raise ConnectorError(f"base URL must be http(s): {base_url!r}", permanent=True)
        self.base_url = base_url.rstrip("/") + "/"
        self.origin = _origin(self.base_url)
        self.etags = etags if etags is not None else {}
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_wait = max_wait
        self.sleep = sleep
        self.requests_made = 0
        self.blocked_until: datetime | None = None
        self.session = outbound.guard(session or requests.Session())
        self.session.headers.update(headers or {})
        if self.session.headers.get("User-Agent") == requests.utils.default_user_agent():
            self.session.headers["User-Agent"] = "Flightdeck/1.0"
        if auth is not None:
            self.session.auth = auth

    # --- public ---------------------------------------------------------------------------

    def url(self, path: str) -> str:
        """Absolute URL for ``path`` (relative to the base URL) after the origin check."""
        url = path if "://" in path else urljoin(self.base_url, path.lstrip("/"))
        if _origin(url) != self.origin:
            raise ConnectorError(
                f"refusing a request outside the source's base URL: {url}", permanent=True
            )
        return url

    def get(
        self, path: str, params: dict | None = None, *, conditional: bool = False
    ) -> HttpResponse:
        url = self.url(path)
        prepared = requests.Request("GET", url, params=params).prepare()
        cache_key = prepared.url
        headers = {}
        if conditional and cache_key in self.etags:
            headers["If-None-Match"] = self.etags[cache_key]
        response = self._send(url, params, headers)
        if conditional and response.status == 200 and response.headers.get("ETag"):
            self.etags[cache_key] = response.headers["ETag"]
        return response

    def get_json(self, path: str, params: dict | None = None) -> Any:
        return self.get(path, params).json()

    def pages(
        self, path: str, params: dict | None = None, *, conditional_first: bool = False
    ) -> Iterator[HttpResponse]:
        """Follow ``Link rel=next`` to the last page. A 304 on the first page ends at once."""
        response = self.get(path, params, conditional=conditional_first)
        yield response
        while not response.not_modified and (next_url := response.next_url):
            response = self.get(next_url)
            yield response

    # --- internals ------------------------------------------------------------------------

    def _send(self, url: str, params: dict | None, headers: dict) -> HttpResponse:
        attempt = 0
        rate_limit_waits = 0
        redirects = 0
        while True:
            self._wait_for_quota()
            try:
                self.requests_made += 1
                raw = self.session.get(
                    url, params=params, headers=headers, timeout=self.timeout, allow_redirects=False
                )
            except outbound.OutboundRefused as error:
                raise ConnectorError(str(error), permanent=True) from None
            # ChunkedEncodingError: the connection broke off in the middle of the body.
            except (requests.ConnectionError, requests.Timeout, ChunkedEncodingError) as error:
                if attempt >= self.retries:
                    raise ConnectorError(
                        f"{url}: {type(error).__name__} after {attempt + 1} attempts"
                    ) from error
                attempt += 1
                self._backoff(attempt)
                continue

            response = HttpResponse(raw.status_code, raw.headers, raw.content, raw.url)
            self._note_quota(response)
            status = response.status
            if status in (301, 302, 303, 307, 308):
                target = urljoin(url, raw.headers.get("Location", ""))
                if _origin(target) != self.origin:
                    raise ConnectorError(
                        f"{url} redirects to another host ({target}); refused",
                        permanent=True,
                        status=status,
                    )
                redirects += 1
                if redirects > MAX_REDIRECTS:
                    raise ConnectorError(
                        f"{url} redirected more than {MAX_REDIRECTS} times; refused",
                        permanent=True,
                        status=status,
                    )
                url, params = target, None
                continue
            if self._is_rate_limited(response):
                resume_at = self._resume_at(response)
                wait = (resume_at - datetime.now(UTC)).total_seconds()
                if wait <= self.max_wait and rate_limit_waits < 2:
                    rate_limit_waits += 1
                    self.sleep(max(wait, 0))
                    continue
                raise RateLimited(
                    f"rate limited until {resume_at:%Y-%m-%d %H:%M:%S} UTC", resume_at=resume_at
                )
            if status >= 500:
                if attempt >= self.retries:
                    raise ConnectorError(
                        f"{url} answered {status} after {attempt + 1} attempts", status=status
                    )
                attempt += 1
                self._backoff(attempt)
                continue
            if status in (401, 403):
                raise ConnectorError(
                    f"{url} answered {status}: the token is missing, wrong or lacks permission",
                    permanent=True,
                    status=status,
                )
            if status == 404:
                raise ConnectorError(
                    f"{url} answered 404: not found (or not visible to the token)",
                    permanent=True,
                    status=status,
                )
            if status >= 400:
                raise ConnectorError(f"{url} answered {status}", permanent=True, status=status)
            return response

    def _backoff(self, attempt: int) -> None:
        delay = self.backoff * (2 ** (attempt - 1))
        self.sleep(delay + random.uniform(0, delay))  # noqa: S311 (jitter, not crypto)

    @staticmethod
    def _header_int(response: HttpResponse, *names: str) -> int | None:
        for name in names:
            value = response.headers.get(name)
            if value is not None and value.strip().lstrip("-").isdigit():
                return int(value)
        return None

    def _is_rate_limited(self, response: HttpResponse) -> bool:
        if response.status == 429:
            return True
        if response.status != 403:
            return False
        remaining = self._header_int(response, "X-RateLimit-Remaining", "RateLimit-Remaining")
        return (
            remaining == 0
            or "Retry-After" in response.headers
            or (b"rate limit" in response.content.lower())
        )

    def _resume_at(self, response: HttpResponse) -> datetime:
        now = datetime.now(UTC)
        retry_after = self._header_int(response, "Retry-After")
        if retry_after is not None:
            return now + timedelta(seconds=retry_after)
        retry_date = _http_date(response.headers.get("Retry-After"))
        if retry_date is not None:  # RFC 9110 allows a date instead of seconds
            return max(retry_date, now)
        reset = self._header_int(response, "X-RateLimit-Reset", "RateLimit-Reset")
        if reset is not None:
            return max(datetime.fromtimestamp(reset, UTC), now)
        return now + timedelta(seconds=60)  # GitHub: "wait at least one minute"

    def _note_quota(self, response: HttpResponse) -> None:
        remaining = self._header_int(response, "X-RateLimit-Remaining", "RateLimit-Remaining")
        reset = self._header_int(response, "X-RateLimit-Reset", "RateLimit-Reset")
        # Any response saying the quota is spent (a 404 too) blocks the next request; rate-limit
        # answers themselves are handled where they are detected.
        if remaining == 0 and reset is not None and not self._is_rate_limited(response):
            self.blocked_until = datetime.fromtimestamp(reset, UTC)

    def _wait_for_quota(self) -> None:
        if self.blocked_until is None:
            return
        wait = (self.blocked_until - datetime.now(UTC)).total_seconds()
        if wait > self.max_wait:
            raise RateLimited(
                f"quota spent until {self.blocked_until:%Y-%m-%d %H:%M:%S} UTC",
                resume_at=self.blocked_until,
            )
        if wait > 0:
            self.sleep(wait)
        self.blocked_until = None
