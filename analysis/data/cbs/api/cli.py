"""``python -m analysis fetch``: CBS tables into the raw cache, with progress and a summary.

Catalogued tables are fetched with their panel filters (municipalities, yearly periods,
the measures and codes the panel needs). Any other table id is cached raw when ``--api``
says which service to ask; it is not mapped into the panel.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analysis.data import paths
from analysis.data.cbs.api.fetch import FetchResult, Query, fetch_table
from analysis.data.cbs.api.http import (
    API_VERSIONS,
    DEFAULT_DEADLINE,
    DEFAULT_MAX_BYTES,
    OFFLINE_HINT,
    CBSHTTPError,
    CBSUnreachable,
    RetryPolicy,
)
from analysis.data.cbs.api.v4files import CBSFormatError
from analysis.data.cbs.catalogue import CATALOGUE, default_tables, spec_for
from analysis.data.ownership import check_writable

DEFAULT_FROM_YEAR = 2010  # five years before the 2015 reform


def add_fetch_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``fetch`` sub-command to the toolkit's command line.

    Examples
    --------
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="analysis")
    >>> _ = add_fetch_parser(parser.add_subparsers(dest="command"))
    >>> parser.parse_args(["fetch", "--tables", "03759ned"]).tables
    ['03759ned']
    """
    listed = ", ".join(
        f"{t}{'' if s.confirmed else f' ({s.status})'}" for t, s in CATALOGUE.items()
    )
    fetch = subparsers.add_parser(
        "fetch",
        help="download CBS StatLine tables into data/raw/cbs (needs internet)",
        description=f"Fetch CBS tables into the raw cache. Catalogue: {listed}.",
    )
    fetch.add_argument(
        "--tables",
        nargs="+",
        metavar="ID",
        default=None,
        help=f"CBS table ids (default: {' '.join(default_tables())})",
    )
    fetch.add_argument("--from-year", type=int, default=DEFAULT_FROM_YEAR, help="first year")
    fetch.add_argument("--to-year", type=int, default=None, help="last year (default: all)")
    fetch.add_argument(
        "--api",
        choices=API_VERSIONS,
        default=None,
        help="OData API for tables outside the catalogue (cached raw, not mapped to the panel)",
    )
    fetch.add_argument(
        "--base-url",
        default=None,
        help="API base URL, e.g. a mirror (default: CBS_V3_BASE_URL / CBS_V4_BASE_URL or CBS)",
    )
    fetch.add_argument("--refresh", action="store_true", help="refetch even if cached")
    fetch.add_argument("--retries", type=int, default=5, help="attempts per request (default 5)")
    fetch.add_argument("--timeout", type=float, default=60.0, help="seconds per read")
    fetch.add_argument(
        "--deadline",
        type=float,
        default=DEFAULT_DEADLINE,
        help=f"seconds for one table's whole fetch, retries too (default {DEFAULT_DEADLINE:g})",
    )
    fetch.add_argument(
        "--max-response-mb",
        type=float,
        default=DEFAULT_MAX_BYTES / 2**20,
        help=f"cap on one response, decompressed (default {DEFAULT_MAX_BYTES // 2**20} MB)",
    )
    fetch.add_argument("--raw-dir", type=Path, default=None, help="raw CBS cache folder")
    fetch.set_defaults(handler=cmd_fetch)
    return fetch


def plan_queries(args: argparse.Namespace) -> list[Query]:
    """The query of each requested table; raises ValueError for a table it cannot fetch."""
    queries = []
    for table in args.tables or default_tables():
        spec = spec_for(table)
        if spec is not None and args.api in (None, spec.api):
            queries.append(spec.query(args.from_year, args.to_year))
        elif args.api is not None:
            # outside the catalogue (or on the other API): every measure, all period kinds
            queries.append(Query(table, args.api, args.from_year, args.to_year, period_suffix=None))
        else:
            raise ValueError(
                f"table {table!r} is not in the catalogue ({', '.join(CATALOGUE)}); "
                "pass --api v3 or --api v4 to cache it raw"
            )
    return queries


def cmd_fetch(args: argparse.Namespace) -> int:
    """Fetch every requested table; one summary line each; exit 2 if any failed."""
    if args.from_year is not None and args.to_year is not None and args.from_year > args.to_year:
        return _fail(f"--from-year {args.from_year} is after --to-year {args.to_year}")
    try:
        queries = plan_queries(args)
        _policy(args)  # a bad --timeout, --deadline or --max-response-mb: stop before fetching
    except ValueError as exc:
        return _fail(str(exc))
    raw_dir = check_writable(args.raw_dir or paths.CBS_RAW)  # a user's folder: stop here
    results, failures = [], []
    for query in queries:
        try:
            results.append(_fetch_one(query, raw_dir, args))
        except CBSUnreachable as exc:
            _summary(results, raw_dir)
            return _fail(_first_line(exc))  # every later table would fail the same way
        except (CBSHTTPError, CBSFormatError, OSError) as exc:
            line = _first_line(exc)  # most messages name the table already
            failures.append(line if line.startswith(query.table) else f"{query.table}: {line}")
    _summary(results, raw_dir)
    for line in failures:
        print(f"error: {line}", file=sys.stderr)
    if failures:
        print(f"{len(failures)} table(s) failed; the others are cached.", file=sys.stderr)
        return 2
    print("next: `python -m analysis build --source cbs` builds the panel from this cache")
    return 0


def _fetch_one(query: Query, raw_dir: Path, args: argparse.Namespace) -> FetchResult:
    print(f"fetching {query.table} ({query.api}) ...", file=sys.stderr, flush=True)
    return fetch_table(
        query,
        raw_dir,
        base=args.base_url,
        refresh=args.refresh,
        policy=_policy(args),
        progress=True,
        report=lambda line: print(f"warning: {line}", file=sys.stderr),
    )


def _policy(args: argparse.Namespace) -> RetryPolicy:
    return RetryPolicy(
        attempts=max(args.retries, 1),
        timeout=args.timeout,
        deadline=args.deadline,
        max_bytes=int(args.max_response_mb * 2**20),
    )


def _summary(results: list[FetchResult], raw_dir: Path) -> None:
    for result in results:
        spec = spec_for(result.table)
        mapped = spec is not None and spec.api == result.manifest.api
        how = "reused cache" if result.from_cache else "fetched"
        note = "" if not mapped else _NOTES[spec.status]
        role = "panel" if mapped else "raw only"
        print(
            f"{result.table} ({result.manifest.api}, {role}): {how} "
            f"{result.manifest.data_rows} rows -> {result.directory}{note}"
        )
    if results:
        print(f"{len(results)} table(s) in {raw_dir}")


_NOTES = {
    "confirmed": "",
    "keys confirmed": " [keys confirmed; category codes resolved by label]",
    "unconfirmed": " [mapping unconfirmed]",
}


def _first_line(exc: BaseException) -> str:
    text = str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


__all__ = ["add_fetch_parser", "cmd_fetch", "plan_queries", "OFFLINE_HINT"]
