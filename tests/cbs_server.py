"""A local HTTP server on 127.0.0.1 that answers like the CBS OData services.

Tests start it in a thread on an ephemeral port and script each path's replies: JSON
pages with nextLinks, a 503 before success, a reply slower than the client's timeout,
a 404, malformed JSON, a body shorter than its Content-Length. It counts the hits per
path so tests can assert how often the client retried.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass
class Reply:
    status: int = 200
    payload: object = None  # JSON-encoded unless ``body`` is given
    body: bytes | None = None
    delay: float = 0.0  # seconds before answering (a timeout when > client timeout)
    extra_length: int = 0  # announce this many bytes more than are sent: a truncated body
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        if self.body is not None:
            return self.body
        return json.dumps(self.payload).encode("utf-8")


class CBSServer:
    """Scripted replies per route; a route is a path, plus ``?$skip=N`` for later pages."""

    def __init__(self) -> None:
        self.routes: dict[str, list[Reply]] = {}
        self.hits: Counter[str] = Counter()
        self.requests: list[str] = []  # every raw request path, decoded
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def add(self, route: str, *replies: Reply) -> None:
        """Replies are served in order; the last one repeats."""
        self.routes[route] = list(replies)

    def __enter__(self) -> CBSServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _next_reply(self, route: str) -> Reply | None:
        with self._lock:
            self.hits[route] += 1
            replies = self.routes.get(route)
            if not replies:
                return None
            return replies.pop(0) if len(replies) > 1 else replies[0]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                parts = urlsplit(self.path)
                server.requests.append(unquote(self.path))
                skip = parse_qs(parts.query).get("$skip")
                route = parts.path + (f"?$skip={skip[0]}" if skip else "")
                reply = server._next_reply(route) or Reply(404, {"error": f"no route {route}"})
                time.sleep(reply.delay)
                body = reply.encoded()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body) + reply.extra_length))
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(body)
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test): nothing to do
                if reply.extra_length:
                    self.close_connection = True

        return Handler


def paged(server: CBSServer, path: str, rows: list[dict], page_size: int, api: str) -> None:
    """Serve ``rows`` at ``path`` in pages linked by (``@``)``odata.nextLink``, plus a
    ``$count`` route giving the total, as CBS does."""
    link_key = "@odata.nextLink" if api == "v4" else "odata.nextLink"
    pages = [rows[i : i + page_size] for i in range(0, len(rows), page_size)] or [[]]
    for k, page in enumerate(pages):
        payload: dict[str, object] = {"value": page}
        if k + 1 < len(pages):
            payload[link_key] = f"{server.url}{path}?$skip={(k + 1) * page_size}"
        server.add(path if k == 0 else f"{path}?$skip={k * page_size}", Reply(payload=payload))
    server.add(f"{path}/$count", Reply(body=str(len(rows)).encode()))


def v4_table(
    server: CBSServer,
    table: str,
    observations: list[dict],
    codes: dict[str, list[dict]],
    measures: list[dict],
    page_size: int = 1000,
) -> None:
    """Serve a whole v4 table: Properties, Dimensions, MeasureCodes, codes, Observations."""
    root = f"/{table}"
    server.add(f"{root}/Properties", Reply(payload={"Identifier": table, "Title": table}))
    dims = [{"Identifier": d, "Kind": "Dimension"} for d in codes]
    server.add(f"{root}/Dimensions", Reply(payload={"value": dims}))
    server.add(f"{root}/MeasureCodes", Reply(payload={"value": measures}))
    for dim, values in codes.items():
        server.add(f"{root}/{dim}Codes", Reply(payload={"value": values}))
    paged(server, f"{root}/Observations", observations, page_size, "v4")


def v3_table(
    server: CBSServer,
    table: str,
    rows: list[dict],
    properties: list[dict],
    codes: dict[str, list[dict]],
    page_size: int = 10_000,
) -> None:
    """Serve a whole v3 table: TableInfos, DataProperties, dimension lists, UntypedDataSet."""
    root = f"/{table}"
    server.add(f"{root}/TableInfos", Reply(payload={"value": [{"Identifier": table}]}))
    server.add(f"{root}/DataProperties", Reply(payload={"value": properties}))
    for dim, values in codes.items():
        server.add(f"{root}/{dim}", Reply(payload={"value": values}))
    paged(server, f"{root}/UntypedDataSet", rows, page_size, "v3")


def stored_v4_table(server: CBSServer, table: str, directory, page_size: int = 5000) -> int:
    """Serve a stored real v4 fetch (``properties.json``, ``codes-<Dim>.json``, ...) as CBS
    would: metadata byte for byte, observations re-paged with nextLinks. The server does
    not apply ``$filter``; the panel mapping selects the rows it needs. Returns the rows."""
    from pathlib import Path

    directory = Path(directory)
    root = f"/{table}"

    def body(name: str) -> Reply:
        return Reply(body=(directory / name).read_bytes())

    server.add(f"{root}/Properties", body("properties.json"))
    server.add(f"{root}/Dimensions", body("dimensions.json"))
    server.add(f"{root}/MeasureCodes", body("measure-codes.json"))
    for dim in json.loads((directory / "dimensions.json").read_bytes())["value"]:
        name = dim["Identifier"]
        server.add(f"{root}/{name}Codes", body(f"codes-{name}.json"))
    index = json.loads((directory / "index.json").read_bytes())
    rows = [
        row
        for page in index["observationPages"]
        for row in json.loads((directory / page).read_bytes())["value"]
    ]
    paged(server, f"{root}/Observations", rows, page_size, "v4")
    return len(rows)
