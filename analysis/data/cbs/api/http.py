"""HTTP for the CBS OData services: retries with exponential backoff, clear errors.

Built on ``requests`` (a pinned dependency). ``cbsodata`` was considered for v3 and not
used: it has no configurable retries or timeouts, no v4 support, and returns parsed
rows, whereas the cache must keep every response byte for byte with its hash.

What is retried: timeouts, connection errors, a body shorter than its Content-Length,
HTTP 429 and 5xx. What is not: any other 4xx (a wrong table id or filter does not get
better by asking again) and a 200 whose body is not JSON.

What is never trusted: a redirect is followed only when it stays on the base URL's
scheme, host, port and path prefix (:func:`check_within`; the fetch checks every nextLink
the same way), so no other host's data are cached as CBS's. Every response is read in
bounded pieces (decompression included) and stops with :class:`CBSLimitError` past
:attr:`RetryPolicy.max_bytes` bytes, or when the table's fetch passes its overall
:attr:`RetryPolicy.deadline` (a server dripping one byte at a time never times out a
single read).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote, urljoin, urlsplit

import requests
import urllib3

from analysis.data.cbs.api.v4files import CBSFormatError

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


class CBSLimitError(CBSFormatError):
    """A response larger than the byte cap, or a fetch past its overall deadline."""


class ForeignURLError(CBSFormatError):
    """A redirect or nextLink that leaves the base URL (another host, port or path)."""


DEFAULT_DEADLINE = 3600.0  # seconds for one table's whole fetch
DEFAULT_MAX_BYTES = 256 * 2**20  # per response, after decompression (a CBS page: ~3 MB)
MAX_REDIRECTS = 10
_CHUNK = 1 << 16  # bytes read (and decompressed) at a time


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
    deadline: float = DEFAULT_DEADLINE  # seconds for all requests of one table, waits included
    max_bytes: int = DEFAULT_MAX_BYTES  # per response body, decompressed

    def __post_init__(self) -> None:
        for name in ("timeout", "deadline", "max_bytes"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")

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


def check_within(url: str, base: str, what: str = "URL") -> str:
    """``url`` when it stays on ``base``'s scheme, host, port and path prefix.

    Raises :class:`ForeignURLError` otherwise, also for a path with ``.``/``..`` segments
    (plain or percent-encoded), which could climb out of the prefix on the server.

    Examples
    --------
    >>> check_within("https://cbs.nl/odata/T1/Page2", "https://cbs.nl/odata")
    'https://cbs.nl/odata/T1/Page2'
    >>> try:
    ...     check_within("https://mirror.example/odata/T1", "https://cbs.nl/odata")
    ... except ForeignURLError as err:
    ...     print(str(err).split(" (")[1])
    host); not followed
    """
    got, want = urlsplit(url), urlsplit(base)
    path, root = unquote(got.path), unquote(want.path).rstrip("/")
    inside = path.rstrip("/") == root or path.startswith(root + "/")
    checks = (
        ("scheme", got.scheme.lower() == want.scheme.lower()),
        ("host", (got.hostname or "") == (want.hostname or "")),
        ("port", _port(got) == _port(want)),
        ("path", inside and not {".", ".."} & set(path.split("/"))),
    )
    failed = [name for name, ok in checks if not ok]
    if failed:
        raise ForeignURLError(
            f"{what} {url} leaves the base URL {base} ({', '.join(failed)}); not followed"
        )
    return url


def _port(parts) -> int | None:
    try:
        return parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
    except ValueError:  # a port that is not a number
        return -1


def get(
    session: requests.Session,
    url: str,
    policy: RetryPolicy,
    *,
    params: dict[str, str] | None = None,
    expect_json: bool = True,
    sleep: Callable[[float], None] = time.sleep,
    within: str | None = None,
    deadline: float | None = None,
) -> Response:
    """GET ``url`` with retries; return the body as received and its parsed JSON.

    ``within`` is the base URL every request and redirect must stay under (default: the
    scheme, host and port of ``url``); ``deadline`` a ``time.monotonic()`` time after
    which the request stops (default: ``policy.deadline`` from now).

    Raises
    ------
    CBSUnreachable
        after ``policy.attempts`` transient failures (message ends with what works offline).
    CBSHTTPError
        on a 4xx other than 429.
    CBSFormatError
        when a 200 response is not JSON.
    CBSLimitError
        when the body passes ``policy.max_bytes`` or the deadline passes.
    ForeignURLError
        when ``url`` or a redirect leaves ``within``.
    """
    within = within or "{0.scheme}://{0.netloc}".format(urlsplit(url))
    deadline = time.monotonic() + policy.deadline if deadline is None else deadline
    check_within(url, within)
    last_problem = "no attempt made"
    shown = url
    for attempt in range(1, policy.attempts + 1):
        wait = policy.wait(attempt)
        try:
            status, shown, body, headers = _request(
                session, url, params, policy, within, deadline
            )
        except _TRANSIENT as exc:
            last_problem = _describe(exc)
        else:
            if status == 200:
                return Response(shown, body, _parse(body, shown, expect_json), attempt)
            if status not in _RETRY_STATUS:
                raise CBSHTTPError(
                    f"CBS answered HTTP {status} for {shown}: "
                    f"{_snippet(body)} (not retried: check the table id and filters)",
                    status,
                )
            last_problem = f"HTTP {status}"
            wait = max(wait, min(_retry_after(headers), policy.max_backoff))
        if attempt < policy.attempts:
            _check_deadline(deadline, policy, shown, wait)
            sleep(wait)
    raise CBSUnreachable(
        f"CBS could not be reached at {shown} after {policy.attempts} attempts "
        f"(last: {last_problem}). {OFFLINE_HINT}"
    )


def _check_deadline(deadline: float, policy: RetryPolicy, url: str, wait: float = 0.0) -> None:
    if time.monotonic() + wait > deadline:
        raise CBSLimitError(
            f"{url}: the fetch passed its overall deadline of {policy.deadline:g} s "
            "(--deadline); stopped, nothing cached"
        )


def _request(session, url, params, policy, within, deadline):
    """One attempt, redirects followed by hand (each checked); (status, url, body, headers)."""
    for _ in range(MAX_REDIRECTS + 1):
        _check_deadline(deadline, policy, url)
        timeout = min(policy.timeout, max(deadline - time.monotonic(), 0.001))
        with session.get(
            url, params=params, timeout=timeout, stream=True, allow_redirects=False
        ) as resp:
            shown = resp.url or url
            location = resp.headers.get("Location")
            if resp.is_redirect and location:
                url = check_within(urljoin(shown, location), within, "redirect to")
                params = None  # the Location carries the query
                continue
            return resp.status_code, shown, _read_body(resp, policy, deadline, shown), resp.headers
    raise CBSFormatError(f"{url}: more than {MAX_REDIRECTS} redirects; stopped")


def _read_body(resp: requests.Response, policy: RetryPolicy, deadline: float, url: str) -> bytes:
    """The body, decompressed a piece at a time, within the byte cap and the deadline."""
    declared = resp.headers.get("Content-Length", "")
    too_large = (
        f"{url}: the response is larger than the cap of {policy.max_bytes} bytes "
        "(--max-response-mb); stopped, nothing cached"
    )
    if not resp.headers.get("Content-Encoding") and declared.isdigit():
        if int(declared) > policy.max_bytes:
            raise CBSLimitError(too_large)
    parts, size = [], 0
    while True:
        _check_deadline(deadline, policy, url)
        try:
            chunk = resp.raw.read1(_CHUNK, decode_content=True)
        except urllib3.exceptions.DecodeError as exc:
            raise requests.exceptions.ContentDecodingError(str(exc)) from exc
        except urllib3.exceptions.ReadTimeoutError as exc:
            raise requests.Timeout(str(exc)) from exc
        except (urllib3.exceptions.ProtocolError, OSError) as exc:
            raise requests.exceptions.ChunkedEncodingError(str(exc)) from exc
        if not chunk:
            return b"".join(parts)
        size += len(chunk)
        if size > policy.max_bytes:
            raise CBSLimitError(too_large)
        parts.append(chunk)


def _parse(body: bytes, url: str, expect_json: bool) -> object:
    if not expect_json:
        return body.decode("utf-8", errors="replace").strip()
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CBSFormatError(
            f"{url}: the response is not valid JSON ({exc}); first bytes: {_snippet(body)}"
        ) from exc


def _retry_after(headers) -> float:
    try:
        return float(headers.get("Retry-After", 0))
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
