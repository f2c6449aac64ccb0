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
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass
class Reply:
    status: int = 200
    payload: object = None  # JSON-encoded unless ``body`` is given
    body: bytes | None = None
    delay: float = 0.0  # seconds before answering (a timeout when > client timeout)
    extra_length: int = 0  # announce this many bytes more than are sent: a truncated body
    headers: dict[str, str] = field(default_factory=dict)
    drip: float = 0.0  # seconds between single bytes of the body (a slow-drip server)

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
                    for piece in _pieces(body, reply.drip):
                        self.wfile.write(piece)
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test): nothing to do
                if reply.extra_length:
                    self.close_connection = True

        return Handler


def _pieces(body: bytes, drip: float):
    if not drip:
        yield body
        return
    for k in range(len(body)):
        time.sleep(drip)
        yield body[k : k + 1]


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
    kinds: dict[str, str] | None = None,
) -> None:
    """Serve a whole v4 table: Properties, Dimensions, MeasureCodes, codes, Observations.

    ``kinds`` overrides a dimension's Kind (default: RegioS geographic, Perioden time)."""
    root = f"/{table}"
    server.add(f"{root}/Properties", Reply(payload={"Identifier": table, "Title": table}))
    kinds = {"RegioS": "GeoDimension", "Perioden": "TimeDimension", **(kinds or {})}
    dims = [{"Identifier": d, "Kind": kinds.get(d, "Dimension")} for d in codes]
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


# --------------------------------------------------------------------------------------
# CBS-shaped tables for end-to-end tests (hand-made, not CBS figures): six municipalities
# with a merger (GM9104 + GM9105 -> GM9106 on 1 January 2018), 2011-2019, served as
# 03759ned (v4 population by single year of age), 80794ned (v3 bijstand, monthly, padded
# keys, special values) and two one-year Wmo editions (v3, stitched).

WORLD_YEARS = tuple(range(2011, 2020))
WORLD_POPULATION = {
    "GM9101": 120_000,
    "GM9102": 60_000,
    "GM9103": 15_000,
    "GM9104": 8_000,
    "GM9105": 7_000,
    "GM9107": 30_000,
}
WORLD_LARGE = {"GM9101", "GM9102"}  # >= 50,000 inhabitants in 2014
WORLD_EFFECT = 6.0  # planted: bijstand per 1,000 aged 18-64 rises by 6 in large ones from 2015
WORLD_REGIOS = Path(__file__).resolve().parent / "fixtures" / "cbs_regios_merger.json"


def world_codes(year: int) -> dict[str, int]:
    """Population on 1 January of each code existing in ``year`` (GM9106 from 2018)."""
    pops = dict(WORLD_POPULATION)
    if year >= 2018:
        pops["GM9106"] = pops.pop("GM9104") + pops.pop("GM9105")
    return {code: pop + 100 * (year - 2011) for code, pop in pops.items()}


def world_ages(pop: int) -> tuple[int, int]:
    """Inhabitants per single year of age 0-17 and 18-64 (whole numbers)."""
    return round(0.2 * pop / 18), round(0.6 * pop / 47)


def world_bijstand_rate(code: str, year: int) -> float:
    treated = code in WORLD_LARGE and year >= 2015
    return 30.0 + 1.0 * (year - 2011) + WORLD_EFFECT * treated


def _age_code(age: int) -> str:
    return "10010" if age == 0 else str(10000 + 100 * age)


def serve_world(server: CBSServer) -> None:
    """Serve the CBS-shaped tables of the merger world."""
    _serve_world_population(server)
    serve_world_bijstand(server)
    for table, year, base in (("84751NED", 2017, 50.0), ("84752NED", 2018, 52.0)):
        _serve_world_wmo(server, table, year, base)


def _all_codes() -> list[str]:
    return sorted({c for y in WORLD_YEARS for c in world_codes(y)})


def _serve_world_population(server: CBSServer) -> None:
    rows: list[dict] = []

    def add(code: str, period: str, age: str, value: float | None, attribute: str) -> None:
        rows.append(
            {"Id": len(rows), "Measure": "M000352", "ValueAttribute": attribute,
             "Value": value, "StringValue": None, "BurgerlijkeStaat": "T001019",
             "Geslacht": "T001038", "Leeftijd": age, "RegioS": code, "Perioden": period}
        )  # fmt: skip

    for year in WORLD_YEARS:
        period, alive = f"{year}JJ00", world_codes(year)
        for code in _all_codes():
            if code not in alive:
                add(code, period, "10000", None, "Impossible")
                continue
            young, adult = world_ages(alive[code])
            add(code, period, "10000", alive[code], "None")
            for age in range(65):
                add(code, period, _age_code(age), young if age < 18 else adult, "None")
        add("NL01", period, "10000", sum(alive.values()), "None")
    # one confidential cell: GM9107's 5-year-olds in 2012 -> population_0_17 missing, not 0
    hit = next(r for r in rows if r["RegioS"] == "GM9107" and r["Perioden"] == "2012JJ00"
               and r["Leeftijd"] == _age_code(5))  # fmt: skip
    hit.update(Value=None, ValueAttribute="Confidential")
    regions = json.loads(WORLD_REGIOS.read_text(encoding="utf-8"))["value"]
    codes = {
        "Geslacht": [{"Identifier": "T001038", "Title": "Totaal mannen en vrouwen"}],
        "BurgerlijkeStaat": [{"Identifier": "T001019", "Title": "Totaal burgerlijke staat"}],
        "Leeftijd": [{"Identifier": "10000", "Title": "Totaal"}]
        + [{"Identifier": _age_code(a), "Title": f"{a} jaar"} for a in range(100)],
        "RegioS": regions,
        "Perioden": [{"Identifier": f"{y}JJ00", "Title": str(y)} for y in range(2005, 2020)],
    }
    measures = [{"Identifier": "M000352", "Title": "Bevolking op 1 januari"}]
    v4_table(server, "03759ned", rows, codes, measures, page_size=1500)


def _pad(text: str, width: int = 10) -> str:
    return text.ljust(width)  # v3 keys come padded with spaces


def serve_world_bijstand(server: CBSServer, table: str = "80794ned") -> None:
    rows: list[dict] = []
    for year in range(2009, 2020):
        alive = world_codes(year) if year in WORLD_YEARS else {}
        for month in (11, 12):
            for code in _all_codes():
                value = "       ."  # a code that did not exist: CBS prints "."
                if code in alive:
                    _, adult = world_ages(alive[code])
                    rate = world_bijstand_rate(code, year) + (0 if month == 12 else 99)
                    value = repr(rate * 47 * adult / 1000)
                if code == "GM9103" and year == 2013 and month == 12:
                    value = "x"  # confidential
                rows.append(
                    {"ID": len(rows), "RegioS": _pad(code), "Perioden": f"{year}MM{month:02d}",
                     "BijstandTotDeAOWLeeftijd_7": value, "WWUitkeringen_9": "12"}
                )  # fmt: skip
    properties = [
        {"Key": "RegioS", "Type": "GeoDimension", "Title": "Regio's"},
        {"Key": "Perioden", "Type": "TimeDimension", "Title": "Perioden"},
        {"Key": "BijstandTotDeAOWLeeftijd_7", "Type": "Topic", "Title": "Tot de AOW-leeftijd"},
        {"Key": "WWUitkeringen_9", "Type": "Topic", "Title": "WW-uitkeringen"},
    ]
    codes = {
        "RegioS": [{"Key": _pad(c), "Title": c} for c in _all_codes()],
        "Perioden": [
            {"Key": f"{y}MM{m:02d}", "Title": f"{y} {m}"}
            for y in range(2009, 2020)
            for m in (11, 12)
        ],
    }
    v3_table(server, table, rows, properties, codes, page_size=100)


def _serve_world_wmo(server: CBSServer, table: str, year: int, base: float) -> None:
    alive = world_codes(year)
    rows: list[dict] = []
    for code, pop in alive.items():
        for kind, share in (("T001 ", 1.0), ("A025 ", 0.4)):
            for region in (code, "WK" + code[2:] + "00"):
                rows.append(
                    {"ID": len(rows), "Wijken": _pad(region),
                     "TypeMaatwerkvoorziening": kind, "Perioden": f"{year}JJ00",
                     "WmoClienten_5": str(round(base * pop / 1000 * share)),
                     "WmoClientenPer1000Inwoners_6": str(base * share)}
                )  # fmt: skip
    properties = [
        {"Key": "TypeMaatwerkvoorziening", "Type": "Dimension", "Title": "Type"},
        {"Key": "Wijken", "Type": "GeoDetail", "Title": "Wijken en buurten"},
        {"Key": "Perioden", "Type": "TimeDimension", "Title": "Perioden"},
        {"Key": "WmoClienten_5", "Type": "Topic", "Title": "Wmo-cliënten"},
        {"Key": "WmoClientenPer1000Inwoners_6", "Type": "Topic",
         "Title": "Wmo-cliënten per 1 000 inwoners"},
    ]  # fmt: skip
    codes = {
        "TypeMaatwerkvoorziening": [
            {"Key": "T001 ", "Title": "Totaal"},
            {"Key": "A025 ", "Title": "Hulp bij het huishouden"},
        ],
        "Wijken": [{"Key": _pad(r["Wijken"].strip()), "Title": ""} for r in rows],
        "Perioden": [{"Key": f"{year}JJ00", "Title": str(year)}],
    }
    v3_table(server, table, rows, properties, codes)


def serve_world_youth_care(server: CBSServer, table: str = "85101NED") -> dict[tuple, float]:
    """A v4 youth-care table shaped like 85101NED: four yes/no dimensions whose totals are
    titled "Wel of geen ...", two measures sharing a title prefix, half-years besides
    years. Returns the expected total per (municipality, year)."""
    flags = ("JeugdhulpInNatura", "JeugdPGB", "Jeugdbescherming", "Jeugdreclassering")
    codes: dict[str, list[dict]] = {
        flag: [{"Identifier": "T001", "Title": f"Wel of geen {flag}"},
               {"Identifier": "A001", "Title": f"Wel {flag}"}]
        for flag in flags
    }  # fmt: skip
    years = range(2015, 2020)
    codes["RegioS"] = [{"Identifier": c, "Title": c} for c in _all_codes()]
    codes["Perioden"] = [{"Identifier": f"{y}JJ00", "Title": str(y)} for y in years]
    codes["Perioden"] += [{"Identifier": f"{y}HJ01", "Title": f"{y} 1e halfjaar"} for y in years]
    rows: list[dict] = []
    expected = {}
    for year in years:
        for code, pop in world_codes(year).items():
            for period, share in ((f"{year}JJ00", 0.1), (f"{year}HJ01", 0.07)):
                for combo in ("T001", "A001"):
                    value = round(pop * share) + (0 if combo == "T001" else -7)
                    row = {flag: combo for flag in flags}
                    for measure, v in (("M1", value), ("M2", 10.0)):
                        rows.append({"Id": len(rows), "Measure": measure, "ValueAttribute":
                                     "None", "Value": v, "StringValue": None, "RegioS": code,
                                     "Perioden": period, **row})  # fmt: skip
            expected[(code, year)] = float(round(pop * 0.1))
    measures = [
        {"Identifier": "M1", "Title": "Totaal jongeren met jeugdzorg"},
        {"Identifier": "M2", "Title": "Totaal jongeren met jeugdzorg (relatief)"},
    ]
    v4_table(server, table, rows, codes, measures)
    return expected
