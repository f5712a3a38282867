"""Range queries to a Prometheus server through its HTTP API, for SLOs measured by Prometheus.

The server is a ``CISource`` of kind ``prometheus`` (its ``base_url`` and encrypted token).

- **Request**: ``GET <base_url>/api/v1/query_range`` with ``query``, ``start``, ``end`` (unix
  seconds), ``step`` (seconds) and ``timeout`` (Prometheus stops evaluating after it).
- **Auth**: a token ``user:password`` is sent as HTTP Basic (Prometheus's own
  ``basic_auth_users`` web config, most reverse proxies); any other token as
  ``Authorization: Bearer <token>`` (Grafana Mimir / Cortex gateways, OAuth proxies); none
  without a token.
- **HTTP**: the connectors' ``SourceHttp`` session (User-Agent, auth) and its origin check:
  only the source's own origin is asked, redirects are refused, and the SSRF guard
  (``portal.outbound``) checks every address connected to. Bounded timeouts
  (``SLO_PROMETHEUS_TIMEOUT``, connect and read seconds) and no retries: the next evaluation,
  a minute later, is the retry. Prometheus's error answers (400 ``bad_data`` for a bad query,
  422 ``execution``, 503 ``timeout``) carry a JSON ``error`` that says what is wrong; they are
  read here (``SourceHttp.get`` raises before the body) and become ``PrometheusError`` with it.
- **Answer**: ``{"status": "success", "data": {"resultType": "matrix", "result": [{"metric":
  {...}, "values": [[<unix ts>, "<value>"], ...]}]}}``; the query must give one series (zero
  is "no data", more is an error asking for an aggregation such as ``sum``).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import requests
from django.conf import settings
from pydantic import BaseModel, ValidationError

from pipelines.connectors.http import ConnectorError, SourceHttp
from portal import outbound
from portal.security import masked, session_secrets
from reporting.slos import budget

DEFAULT_TIMEOUT = (3.05, 10.0)  # connect, read (seconds)
MAX_POINTS = 10_000  # Prometheus refuses more than 11,000 points per series
WINDOW_MIN_STEP = 300  # the SLO window in 5-minute steps (28 days: 8,064 points)
RECENT_STEP = 60  # the burn windows in 1-minute steps (3 days: 4,320 points)
ERROR_SHOWN = 500


class PrometheusError(Exception):
    """A query that gave no usable answer; ``message`` is shown on the SLO as is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PrometheusSeries(BaseModel):
    metric: dict[str, str] = {}
    values: list[tuple[float, str]] = []


class PrometheusMatrix(BaseModel):
    resultType: str  # Prometheus's names
    result: list[PrometheusSeries]


class PrometheusQueryRangePayload(BaseModel):
    """The JSON of ``/api/v1/query_range``, success or error."""

    status: str
    data: PrometheusMatrix | None = None
    errorType: str = ""
    error: str = ""


def _timeout() -> tuple[float, float]:
    return tuple(getattr(settings, "SLO_PROMETHEUS_TIMEOUT", DEFAULT_TIMEOUT))


def client_for(source) -> SourceHttp:
    """A ``SourceHttp`` for the source, authenticated as the module docstring says."""
    token = source.get_token() if source.has_token else ""
    headers: dict[str, str] = {}
    auth = None
    if ":" in token:
        user, _, password = token.partition(":")
        auth = (user, password)
    elif token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        return SourceHttp(
            source.base_url, headers=headers, auth=auth, timeout=_timeout(), retries=0
        )
    except ConnectorError as error:
        raise PrometheusError(error.message) from None


def _series_label(series: PrometheusSeries) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(series.metric.items())) + "}"


def _answer(response: requests.Response) -> PrometheusQueryRangePayload | None:
    """The parsed body when it is Prometheus JSON, else None."""
    try:
        return PrometheusQueryRangePayload.model_validate_json(response.content)
    except ValidationError:
        return None


def query_range(
    http: SourceHttp, query: str, *, start: float, end: float, step: int
) -> list[budget.Sample] | None:
    """The one series ``query`` gives from ``start`` to ``end``; None when it gives none."""
    url = http.url("api/v1/query_range")
    read = http.timeout[1]
    params = {
        "query": query,
        "start": f"{start:.3f}",
        "end": f"{end:.3f}",
        "step": str(step),
        "timeout": f"{max(read - 1, 1):g}s",
    }
    try:
        response = http.session.get(url, params=params, timeout=http.timeout, allow_redirects=False)
    except outbound.OutboundRefused as error:  # the SSRF guard: a readable refusal, not a reason
        raise PrometheusError(f"Not querying Prometheus at {http.base_url}: {error}") from None
    except requests.Timeout:
        raise PrometheusError(
            f"Prometheus at {http.base_url} did not answer within {read:g} s (timed out)."
        ) from None
    except requests.RequestException as error:
        reason = type(error).__name__
        raise PrometheusError(
            f"Could not reach Prometheus at {http.base_url} ({reason})."
        ) from None
    status = response.status_code
    answer = _answer(response)
    if answer is not None and answer.status == "error":
        kind = f" ({answer.errorType})" if answer.errorType else ""
        # The server's own words, less any credential it echoes back (shown on the SLO page).
        error = masked(answer.error, session_secrets(http.session))
        raise PrometheusError(f"Prometheus refused the query{kind}: {error}"[:ERROR_SHOWN])
    if 300 <= status < 400:
        raise PrometheusError(
            f"{url} redirects ({status}) to {response.headers.get('Location', '?')}: point the "
            "source at the Prometheus server itself."
        )
    if status in (401, 403):
        raise PrometheusError(f"{url} answered {status}: the token is missing or wrong.")
    if status == 404:
        raise PrometheusError(f"{url} answered 404: no Prometheus API at this base URL.")
    if status >= 400:
        raise PrometheusError(f"{url} answered {status}.")
    if answer is None or answer.status != "success" or answer.data is None:
        raise PrometheusError(f"{url} answered something that is not a Prometheus API response.")
    if answer.data.resultType != "matrix":
        raise PrometheusError(
            f"The query gave a {answer.data.resultType}, not a range of values (matrix)."
        )
    series = answer.data.result
    if not series:
        return None
    if len(series) > 1:
        raise PrometheusError(
            f"The query gave {len(series)} series ({_series_label(series[0])}, ...), not one: "
            "aggregate it, e.g. sum(rate(good[5m])) / sum(rate(total[5m]))."
        )
    samples = []
    for at, text in series[0].values:
        try:
            samples.append((at, float(text)))
        except ValueError:
            raise PrometheusError(f"The query gave {text!r}, which is not a number.") from None
    return samples


def prometheus_status(
    source,
    query: str,
    *,
    target: float,
    window: timedelta,
    latency_threshold: float | None,
    now: datetime,
) -> budget.Status:
    """The SLO's status from two range queries ending at the last whole minute: the SLO window
    in steps of at least 5 minutes, and the longest burn window (3 days) in 1-minute steps."""
    if source is None:
        raise PrometheusError("No Prometheus source: choose one for this SLO.")
    http = client_for(source)
    end = math.floor(now.timestamp() / RECENT_STEP) * RECENT_STEP
    seconds = window.total_seconds()
    step = max(WINDOW_MIN_STEP, math.ceil(seconds / MAX_POINTS / 60) * 60)
    longest = max(budget.BURN_WINDOWS.values()).total_seconds()
    try:
        coarse = query_range(http, query, start=end - seconds, end=end, step=step) or []
        fine = query_range(http, query, start=end - longest, end=end, step=RECENT_STEP) or []
        window_samples = budget.good_fractions(coarse, latency_threshold=latency_threshold)
        recent_samples = budget.good_fractions(fine, latency_threshold=latency_threshold)
    except ValueError as error:
        raise PrometheusError(f"{str(error)[:1].upper()}{str(error)[1:]}.") from None
    except ConnectorError as error:  # the origin check
        raise PrometheusError(error.message) from None
    return budget.sample_status(
        window_samples, recent_samples, target=target, window=window, end=float(end)
    )
