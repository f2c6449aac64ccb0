"""HTTP for the CBS OData services: retries with exponential backoff, clear errors.

Built on ``requests`` (a pinned dependency). ``cbsodata`` was considered for v3 and not
used: it has no configurable retries or timeouts, no v4 support, and returns parsed
rows, whereas the cache must keep every response byte for byte with its hash.

What is retried: timeouts, connection errors, a body shorter than its Content-Length,
HTTP 429 and 5xx. What is not: any other 4xx (a wrong table id or filter does not get
better by asking again) and a 200 whose body is not JSON.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

from analysis.data.cbs.v4files import CBSFormatError

API_VERSIONS = ("v3", "v4")
DEFAULT_BASE_URLS = {
    "v3": "https://opendata.cbs.nl/ODataFeed/odata",
    "v4": "https://datasets.cbs.nl/odata/v1/CBS",
}
BASE_URL_ENV = {"v3": "CBS_V3_BASE_URL", "v4": "CBS_V4_BASE_URL"}

OFFLINE_HINT = (
    "Offline still works: `python -m analysis build --source cbs` uses tables already "
    "cached under data/raw/cbs, and `python -m analysis run` uses the synthetic default."
)


class CBSUnreachable(RuntimeError):
    """CBS (or the configured mirror) could not be reached after all retries."""


class CBSHTTPError(RuntimeError):
    """CBS answered with an error that retrying will not fix (e.g. 404: unknown table)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to ask.

    The wait before retry ``k`` (1-based) is ``backoff * factor**(k-1)`` seconds, capped
    at ``max_backoff``; a ``Retry-After`` header on 429/503 is honoured up to that cap.
    Tests use ``backoff=0.001`` so that retries cost nothing.
    """

    attempts: int = 5
    backoff: float = 1.0
    factor: float = 2.0
    max_backoff: float = 60.0
    timeout: float = 60.0  # seconds, for connecting and for each read

    def wait(self, retry: int) -> float:
        return min(self.backoff * self.factor ** (retry - 1), self.max_backoff)


def base_url(api: str, override: str | None = None) -> str:
    """The base URL of one CBS API: the argument, else ``CBS_V3_BASE_URL`` /
    ``CBS_V4_BASE_URL``, else the public CBS service.

    Examples
    --------
    >>> base_url("v4", "http://127.0.0.1:8000/")
    'http://127.0.0.1:8000'
    """
    if api not in API_VERSIONS:
        raise ValueError(f"unknown CBS API version {api!r}: use one of {', '.join(API_VERSIONS)}")
    url = override or os.environ.get(BASE_URL_ENV[api]) or DEFAULT_BASE_URLS[api]
    return url.rstrip("/")


@dataclass(frozen=True)
class Response:
    """One successful response: the exact bytes received and their parsed JSON."""

    url: str
    body: bytes
    payload: object
    attempts: int


_RETRY_STATUS = {429, 500, 502, 503, 504}
_TRANSIENT = (
    requests.Timeout,
    requests.ConnectionError,
    requests.exceptions.ChunkedEncodingError,  # body shorter than Content-Length
    requests.exceptions.ContentDecodingError,
)


def get(
    session: requests.Session,
    url: str,
    policy: RetryPolicy,
    *,
    params: dict[str, str] | None = None,
    expect_json: bool = True,
    sleep: Callable[[float], None] = time.sleep,
) -> Response:
    """GET ``url`` with retries; return the body as received and its parsed JSON.

    Raises
    ------
    CBSUnreachable
        after ``policy.attempts`` transient failures (message ends with what works offline).
    CBSHTTPError
        on a 4xx other than 429.
    CBSFormatError
        when a 200 response is not JSON.
    """
    last_problem = "no attempt made"
    shown = url
    for attempt in range(1, policy.attempts + 1):
        wait = policy.wait(attempt)
        try:
            resp = session.get(url, params=params, timeout=policy.timeout)
            shown = resp.url or url
            body = resp.content  # raises ChunkedEncodingError on a truncated body
        except _TRANSIENT as exc:
            last_problem = _describe(exc)
        else:
            if resp.status_code == 200:
                return Response(shown, body, _parse(body, shown, expect_json), attempt)
            if resp.status_code not in _RETRY_STATUS:
                raise CBSHTTPError(
                    f"CBS answered HTTP {resp.status_code} for {shown}: "
                    f"{_snippet(body)} (not retried: check the table id and filters)",
                    resp.status_code,
                )
            last_problem = f"HTTP {resp.status_code}"
            wait = max(wait, min(_retry_after(resp), policy.max_backoff))
        if attempt < policy.attempts:
            sleep(wait)
    raise CBSUnreachable(
        f"CBS could not be reached at {shown} after {policy.attempts} attempts "
        f"(last: {last_problem}). {OFFLINE_HINT}"
    )


def _parse(body: bytes, url: str, expect_json: bool) -> object:
    if not expect_json:
        return body.decode("utf-8", errors="replace").strip()
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CBSFormatError(
            f"{url}: the response is not valid JSON ({exc}); first bytes: {_snippet(body)}"
        ) from exc


def _retry_after(resp: requests.Response) -> float:
    try:
        return float(resp.headers.get("Retry-After", 0))
    except ValueError:  # an HTTP date: fall back to our own backoff
        return 0.0


def _describe(exc: Exception) -> str:
    if isinstance(exc, requests.Timeout):
        return "timed out"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "connection broken mid-body (truncated response)"
    if isinstance(exc, requests.ConnectionError):
        return "connection failed"
    return type(exc).__name__


def _snippet(body: bytes, n: int = 120) -> str:
    text = body[:n].decode("utf-8", errors="replace").replace("\n", " ").strip()
    return repr(text + ("..." if len(body) > n else ""))
