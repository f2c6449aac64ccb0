"""Fetch one CBS table (OData v3 or v4) into the raw cache, filtered on the server.

A fetch first stores the table's metadata and code lists, then builds a ``$filter`` from
them (municipalities only, the year periods in range, the chosen measures and dimension
codes, with v3's padded keys taken verbatim from the code lists), asks the service how
many rows that filter matches (``.../$count``, where it answers), and follows
``odata.nextLink`` (v3) or ``@odata.nextLink`` (v4) until the last page. The row total is
checked against the service's count. Everything is written to a staging directory that
replaces the cached fetch only when complete.

Pagination always ends. A fetch stops with a one-line :class:`PaginationError` naming the
table and the page when a nextLink points to a page already fetched (a page linking to
itself, or a cycle), when a page has no rows but links on, when the rows exceed the
service's ``$count``, or, where the service gives no count, when they pass
:data:`MAX_ROWS_WITHOUT_COUNT` or the pages pass :data:`MAX_PAGES`. A fetch that fails,
is interrupted (Ctrl-C) or terminated (SIGTERM) removes its staging folder; one that was
killed outright leaves it, and the next fetch removes it (``analysis.data.cbs.api.staging``).
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urljoin

import requests
from tqdm import tqdm

from analysis.data.cbs.api.cache import (
    MANIFEST,
    CachedFile,
    Manifest,
    read_manifest,
    verify,
    write_manifest,
)
from analysis.data.cbs.api.http import CBSHTTPError, RetryPolicy, base_url, check_within, get
from analysis.data.cbs.api.staging import FetchStaging, sigterm_as_exit, sweep_orphans
from analysis.data.cbs.api.table_ids import check_table_id
from analysis.data.cbs.api.v4files import CBSFormatError, parse_period
from analysis.data.io import replace_directory, sha256_bytes, write_bytes_atomic
from analysis.data.ownership import MARKER as OWNED
from analysis.data.ownership import check_writable, claim, marker_bytes

DEFAULT_RAW_DIR = Path("data/raw/cbs")
USER_AGENT = "decentralisation-analysis (https://opendata.cbs.nl; research toolkit)"
# Caps for a collection whose size the service does not report ($count). The largest
# catalogue table, 03759ned by single year of age, has about 0.9M rows for 2010-2026 in
# pages of at most 10,000 rows; these are ten times and more what a real table needs.
MAX_ROWS_WITHOUT_COUNT = 10_000_000
MAX_PAGES = 100_000


class PaginationError(CBSFormatError):
    """The service's nextLinks do not end: a cycle, an empty page, too many rows."""


@dataclass(frozen=True)
class Query:
    """What to fetch of one table. Empty ``measures``/``dims`` mean: everything.

    ``dims`` maps a dimension to the (unpadded) codes to keep, e.g.
    ``{"Geslacht": ("T001038",)}``, or to ``TOTAL`` (the code titled "Totaal...");
    ``measures`` holds keys or ``title:<text>``. The region and period dimensions are
    filtered by ``municipalities_only`` and the year range instead.
    """

    table: str
    api: str
    from_year: int | None = None
    to_year: int | None = None
    measures: tuple[str, ...] = ()
    dims: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    municipalities_only: bool = True
    # Keep periods whose code ends so: "JJ00" years, "MM12" Decembers; None keeps all.
    period_suffix: str | None = "JJ00"
    # None: the table's one geographic / time dimension, found by its kind in the metadata
    region_dim: str | None = "RegioS"
    period_dim: str | None = "Perioden"
    other_dims_total: bool = False  # pin every dimension not in ``dims`` to its total
    # A table without a time dimension (one table per year): all its data are this year's.
    single_year: int | None = None

    def __post_init__(self) -> None:
        check_table_id(self.table)

    def describe(self) -> dict[str, object]:
        single = {"single_year": self.single_year} if self.single_year is not None else {}
        return {
            "from_year": self.from_year,
            "to_year": self.to_year,
            "measures": list(self.measures),
            "dims": {k: list(v) for k, v in sorted(self.dims.items())},
            "municipalities_only": self.municipalities_only,
            "period_suffix": self.period_suffix,
            "region_dim": self.region_dim,
            "period_dim": self.period_dim,
            "other_dims_total": self.other_dims_total,
            **single,  # only when set, so the cache keys of other queries stay as they were
        }

    def key(self, base: str) -> str:
        """Directory name of this query's cache: short hash of API, base URL, filters."""
        blob = json.dumps([self.api, base, self.describe()], sort_keys=True).encode()
        return f"{self.api}-{hashlib.sha256(blob).hexdigest()[:12]}"


@dataclass
class FetchResult:
    """What a fetch did: where the files are, and whether the cache was reused."""

    table: str
    directory: Path
    manifest: Manifest
    from_cache: bool
    problems: list[str] = field(default_factory=list)  # cache problems that forced a refetch


def fetch_table(
    query: Query,
    raw_dir: str | Path = DEFAULT_RAW_DIR,
    *,
    base: str | None = None,
    session: requests.Session | None = None,
    policy: RetryPolicy | None = None,
    refresh: bool = False,
    progress: bool = False,
    report: Callable[[str], None] | None = None,
) -> FetchResult:
    """Fetch ``query`` into ``raw_dir/<table>/<query-key>/`` unless a verified copy exists.

    Parameters
    ----------
    base
        Base URL of the API (a mirror or a test server); default from the environment
        (``CBS_V3_BASE_URL`` / ``CBS_V4_BASE_URL``) or the public CBS service.
    refresh
        Refetch even when the cache is complete and its hashes match.
    report
        Called with one line for every cache problem found (default: print to stderr).

    Examples
    --------
    >>> q = Query("03759ned", "v4", from_year=2019, measures=("M000352",),
    ...           dims={"Geslacht": ("T001038",), "Leeftijd": ("10000",),
    ...                 "BurgerlijkeStaat": ("T001019",)})
    >>> fetch_table(q, "data/raw/cbs", progress=True)  # doctest: +SKIP
    """
    report = report or (lambda line: print(line, file=sys.stderr))
    api_base = base_url(query.api, base)
    target = Path(raw_dir) / query.table / query.key(api_base)
    problems: list[str] = []
    sweep_orphans(Path(raw_dir), report)  # what fetches killed earlier left behind
    if not refresh:
        cached = read_manifest(target)
        if cached is not None:
            problems = verify(target, cached)
            if not problems:
                return FetchResult(query.table, target, cached, from_cache=True)
            for line in problems:
                report(f"cache problem, refetching {query.table}: {line}")
    _check_ours(raw_dir, target)
    session = session or _session()
    with sigterm_as_exit(), FetchStaging(target) as staging:
        run = _Run(query, api_base, staging.path, session, policy or RetryPolicy(), progress)
        manifest = run.fetch()
        write_manifest(staging.path, manifest)
        names = [f.name for f in manifest.files] + [MANIFEST]
        write_bytes_atomic(staging.path / OWNED, marker_bytes(names))  # ours to replace
        staging.commit(lambda path: replace_directory(path, target))
    return FetchResult(query.table, target, manifest, from_cache=False, problems=problems)


def _check_ours(raw_dir: str | Path, target: Path) -> None:
    """Write only into a folder the toolkit owns; replace only a fetch it made itself."""
    check_writable(raw_dir)
    cached = read_manifest(target)
    known = {f.name for f in cached.files} | {MANIFEST} if cached is not None else set()
    check_writable(target, replaced=True, allowed=known)
    claim(raw_dir)


def _session() -> requests.Session:
    session = requests.Session()
    session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
    return session


def odata_url(root: str, params: Mapping[str, str] | None = None) -> str:
    """``root?$filter=...`` with OData's ``$`` options kept literal and values quoted."""
    if not params:
        return root
    query = "&".join(f"{k}={quote(v, safe=chr(39) + '(),$')}" for k, v in params.items())
    return f"{root}?{query}"


class _Run:
    """One fetch in progress: stores each response in ``staging`` as it arrives."""

    def __init__(self, query, api_base, staging, session, policy, progress) -> None:
        self.q = query
        self.root = f"{api_base}/{query.table}"
        self.base = api_base  # every URL followed stays under it
        self.deadline = time.monotonic() + policy.deadline  # one for the whole table
        self.staging = staging
        self.session = session
        self.policy = policy
        self.progress = progress
        self.files: list[CachedFile] = []
        self.region, self.period = query.region_dim, query.period_dim  # resolved in fetch()

    def fetch(self) -> Manifest:
        started = datetime.now(UTC).isoformat(timespec="seconds")
        measures, codes, kinds = self._metadata_v4() if self.q.api == "v4" else self._metadata_v3()
        self.region = self.q.region_dim or _dimension_of_kind(self.q.table, kinds, "Geo")
        self.period = self._period_dimension(kinds)
        resolved = self._resolve(measures, codes)
        data_filter = self._data_filter(codes, resolved)
        entity = "Observations" if self.q.api == "v4" else "UntypedDataSet"
        params = {"$filter": data_filter} if data_filter else {}
        if self.q.api == "v3" and self.q.measures:
            chosen = [resolved["measures"][m] for m in self.q.measures]
            params["$select"] = ",".join([*codes, *chosen])
        count = self._service_count(f"{self.root}/{entity}/$count", data_filter)
        prefix = "observations" if self.q.api == "v4" else "UntypedDataSet"
        rows = self._collect(odata_url(f"{self.root}/{entity}", params), prefix, count)
        if count is not None and rows != count:
            raise CBSFormatError(
                f"{self.q.table}: received {rows} rows but CBS reported {count} for "
                f"this filter; the fetch is incomplete and was not cached"
            )
        return Manifest(
            table=self.q.table,
            api=self.q.api,
            base_url=self.root.rsplit("/", 1)[0],
            filters={
                **self.q.describe(),
                "resolved": resolved,
                "$filter": data_filter,
                **_select(params),
            },
            retrieved_at=started,
            files=self.files,
            data_rows=rows,
            service_count=count,
        )

    def _period_dimension(self, kinds: Mapping[str, str]) -> str | None:
        if self.q.single_year is None:
            return self.q.period_dim or _dimension_of_kind(self.q.table, kinds, "Time")
        found = [dim for dim, kind in kinds.items() if kind.startswith("Time")]
        if found:  # the catalogue says one year per table, the table says otherwise
            raise CBSFormatError(
                f"{self.q.table}: catalogued as one table for {self.q.single_year} without a "
                f"time dimension, but it has {found}; fix its catalogue entry"
            )
        return None

    # -- metadata: (key, title) of every measure and of every dimension's codes ---------

    def _metadata_v4(self) -> tuple[list, dict[str, list[tuple[str, str]]], dict[str, str]]:
        self._store(f"{self.root}/Properties", "properties.json", collection=False)
        dims = self._store(f"{self.root}/Dimensions", "dimensions.json")["value"]
        rows = self._collect(f"{self.root}/MeasureCodes", "measure-codes", None, rows=True)
        measures = [(str(m["Identifier"]), str(m.get("Title") or "")) for m in rows]
        codes, kinds = {}, {}
        for dim in dims:
            name = dim["Identifier"]
            kinds[name] = str(dim.get("Kind") or "Dimension")
            values = self._collect(f"{self.root}/{name}Codes", f"codes-{name}", None, rows=True)
            codes[name] = [(str(v["Identifier"]), str(v.get("Title") or "")) for v in values]
        return measures, codes, kinds

    def _metadata_v3(self) -> tuple[list, dict[str, list[tuple[str, str]]], dict[str, str]]:
        self._store(f"{self.root}/TableInfos", "TableInfos.json")
        props = self._store(f"{self.root}/DataProperties", "DataProperties.json")["value"]
        measures = [
            (str(p["Key"]), str(p.get("Title") or "")) for p in props if p.get("Type") == "Topic"
        ]
        codes, kinds = {}, {}
        for prop in props:
            if prop.get("Type") in {"Dimension", "TimeDimension", "GeoDimension", "GeoDetail"}:
                name = prop["Key"]
                kinds[name] = str(prop["Type"])
                values = self._collect(f"{self.root}/{name}", name, None, rows=True)
                codes[name] = [(str(v["Key"]), str(v.get("Title") or "")) for v in values]
        return measures, codes, kinds

    def _resolve(self, measures, codes) -> dict[str, dict]:
        """Map each requested measure and code to the table's own key (padding kept).

        ``title:<text>`` picks the measure titled ``<text>``, else the one whose title
        starts with it;
        ``TOTAL`` picks a dimension's total: titled "Totaal", else the one titled
        "Totaal..." or "Wel of geen...". With ``other_dims_total`` every dimension
        not named in ``dims`` is pinned to its total.
        """
        q = self.q
        for dim in (self.region, self.period, *q.dims):
            if dim is not None and dim not in codes:
                raise CBSFormatError(
                    f"{q.table}: no dimension {dim!r}; the table has {sorted(codes)}"
                )
        out: dict[str, dict] = {"measures": {}, "dims": {}}
        out["region_dim"], out["period_dim"] = self.region, self.period
        for wanted in q.measures:
            out["measures"][wanted] = _pick(q.table, "measure", wanted, measures)
        wanted_dims = dict(q.dims)
        if q.other_dims_total:
            for dim in codes:
                if dim not in (self.region, self.period, *q.dims):
                    wanted_dims[dim] = (TOTAL,)
        for dim, wanted_codes in sorted(wanted_dims.items()):
            out["dims"][dim] = {
                w: _pick(q.table, f"code of dimension {dim!r}", w, codes[dim]) for w in wanted_codes
            }
        return out

    # -- the server-side filter --------------------------------------------------------

    def _data_filter(self, codes, resolved) -> str:
        q = self.q
        parts = []
        if q.municipalities_only:
            parts.append(f"startswith({self.region},'GM')")
        if self.period is None:
            self._check_single_year()
        else:
            periods = self._periods([key for key, _ in codes[self.period]])
            if periods is not None:
                parts.append(_any_of(self.period, periods))
        for dim, mapping in resolved["dims"].items():
            parts.append(_any_of(dim, list(mapping.values())))
        if q.api == "v4" and q.measures:
            parts.append(_any_of("Measure", list(resolved["measures"].values())))
        return " and ".join(parts)

    def _check_single_year(self) -> None:
        q = self.q
        lo, hi = q.from_year or 0, q.to_year or 9999
        if not lo <= (q.single_year or 0) <= hi:
            raise CBSFormatError(
                f"{q.table}: its one year {q.single_year} is outside the requested years"
            )

    def _periods(self, available: list[str]) -> list[str] | None:
        q = self.q
        if q.from_year is None and q.to_year is None and q.period_suffix is None:
            return None
        lo, hi = q.from_year or 0, q.to_year or 9999
        keep = []
        for code in available:
            try:
                period = parse_period(code)
            except CBSFormatError:
                continue
            if lo <= period.year <= hi and (q.period_suffix in (None, period.code[4:])):
                keep.append(code)
        if not keep:
            kind = f" ending in {q.period_suffix!r}" if q.period_suffix else ""
            raise CBSFormatError(f"{q.table}: no periods{kind} between {lo} and {hi} in the table")
        return keep

    def _service_count(self, url: str, data_filter: str) -> int | None:
        params = {"$filter": data_filter} if data_filter else None
        try:
            text = self._get(odata_url(url, params), expect_json=False)
        except CBSHTTPError:
            return None  # the service does not report a count here: nothing to check against
        try:
            return int(str(text.payload))
        except ValueError:
            return None

    # -- storing responses -------------------------------------------------------------

    def _store(self, url: str, name: str, collection: bool = True) -> dict:
        resp = self._get(url)
        if not collection:  # a single entity such as v4 Properties
            if not isinstance(resp.payload, dict):
                raise CBSFormatError(f"{resp.url}: expected a JSON object")
            self._keep(name, resp.url, resp.body, None)
            return resp.payload
        payload = _collection(resp.payload, resp.url)
        self._keep(name, resp.url, resp.body, len(payload["value"]))
        return payload

    def _collect(self, url: str, prefix: str, total: int | None, rows: bool = False):
        """Follow nextLinks from ``url``; store page k as ``<prefix>-page-<k>.json``
        (a one-page code list as ``<prefix>.json``). Returns the row count, or the rows."""
        collected, count, page = [], 0, 0
        seen = {url: 1}  # every URL requested, with its page number
        bar = tqdm(
            total=total,
            unit="rows",
            desc=f"{self.q.table} {prefix}",
            leave=False,
            # a bar only on a terminal: in a log it would be hundreds of lines
            disable=not self.progress or rows or not sys.stderr.isatty(),
            file=sys.stderr,
        )
        with bar:
            next_url: str | None = url
            while next_url:
                page += 1
                resp = self._get(next_url)
                payload = _collection(resp.payload, resp.url)
                link = payload.get("@odata.nextLink") or payload.get("odata.nextLink")
                name = f"{prefix}-page-{page}.json"
                if rows and page == 1 and not link:
                    name = f"{prefix}.json"
                page_rows = len(payload["value"])
                self._keep(name, resp.url, resp.body, page_rows)
                count += page_rows
                bar.update(page_rows)
                if rows:
                    collected.extend(payload["value"])
                next_url = urljoin(resp.url, link) if link else None
                if next_url:
                    where = f"{self.q.table}: {prefix} page {page}'s nextLink"
                    check_within(next_url, self.base, where)
                    self._check_page(prefix, page, page_rows, count, total, seen, next_url)
                    seen[next_url] = page + 1
        return collected if rows else count

    def _check_page(self, prefix, page, page_rows, count, total, seen, next_url) -> None:
        """Stop a pagination that would not end (see the module docstring)."""
        where = f"{self.q.table}: {prefix} page {page}"
        if next_url in seen:
            raise PaginationError(
                f"{where} links back to page {seen[next_url]} ({next_url}); "
                "the service's pages form a loop, stopped"
            )
        if page_rows == 0:
            raise PaginationError(f"{where} has no rows but links on to {next_url}; stopped")
        if total is not None and count > total:
            raise PaginationError(
                f"{where} brings the rows to {count}, the service's count is {total}, "
                f"yet it links on to {next_url}; stopped"
            )
        if total is None and (count >= MAX_ROWS_WITHOUT_COUNT or page >= MAX_PAGES):
            raise PaginationError(
                f"{where}: {count} rows in {page} pages and still linking on, with no count "
                f"from the service; stopped at the cap of {MAX_ROWS_WITHOUT_COUNT} rows or "
                f"{MAX_PAGES} pages"
            )

    def _get(self, url: str, expect_json: bool = True):
        return get(self.session, url, self.policy, expect_json=expect_json, within=self.base,
                   deadline=self.deadline)  # fmt: skip

    def _keep(self, name: str, url: str, body: bytes, rows: int | None) -> None:
        write_bytes_atomic(self.staging / name, body)
        self.files.append(CachedFile(name, url, sha256_bytes(body), len(body), rows))


def _collection(payload: object, url: str) -> dict:
    if not isinstance(payload, dict) or not isinstance(payload.get("value"), list):
        raise CBSFormatError(f"{url}: an OData collection needs a top-level 'value' list")
    return payload


TOTAL = "TOTAL"  # in ``Query.dims``: the dimension's total code, found by its title
TITLE_PREFIX = "title:"  # in ``Query.measures``: the measure whose title starts so


def _dimension_of_kind(table: str, kinds: Mapping[str, str], prefix: str) -> str:
    # v4 Kind / v3 Type: GeoDimension or GeoDetail; TimeDimension
    found = [dim for dim, kind in kinds.items() if kind.startswith(prefix)]
    if len(found) != 1:
        raise CBSFormatError(
            f"{table}: expected one {prefix.lower()} dimension, found {found or 'none'} "
            f"among {dict(kinds)}; name it in the catalogue entry"
        )
    return found[0]


def _pick(table: str, what: str, wanted: str, available: list[tuple[str, str]]) -> str:
    if wanted == TOTAL:
        titles = [(k, t.strip().lower()) for k, t in available]
        # "Totaal" itself beats "Totaal exclusief ..."; CBS also titles totals "Wel of geen ..."
        hits = [k for k, t in titles if t == "totaal"]
        hits = hits or [k for k, t in titles if t.startswith(("totaal", "wel of geen"))]
    elif wanted.startswith(TITLE_PREFIX):
        text = wanted[len(TITLE_PREFIX) :].strip().lower()
        # an exact title wins over longer ones ("Wmo-cliënten" vs "... per 1 000 inwoners")
        hits = [k for k, t in available if t.strip().lower() == text]
        hits = hits or [k for k, t in available if t.strip().lower().startswith(text)]
    else:
        hits = [k for k, _ in available if k.strip() == wanted]
    if len(hits) == 1:
        return hits[0]
    shown = "; ".join(f"{k.strip()}: {t}" for k, t in available[:12])
    shown += " ..." if len(available) > 12 else ""
    problem = "matches several" if hits else "is not"
    raise CBSFormatError(f"{table}: {what} {wanted!r} {problem} in the table (it has: {shown})")


def _any_of(dim: str, codes: list[str]) -> str:
    if len(codes) == 1:
        return f"{dim} eq '{codes[0]}'"
    return "(" + " or ".join(f"{dim} eq '{c}'" for c in codes) + ")"


def _select(params: Mapping[str, str]) -> dict[str, str]:
    return {"$select": params["$select"]} if "$select" in params else {}
