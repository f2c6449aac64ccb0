"""Command-line options of ``build --source csv``: a researcher's own CSV -> harmonised panel.

``python -m analysis build --source csv --input FILE --boundary-year Y [--out-dir D]
[--role COLUMN=ROLE ...] [--roles FILE] [--rename OLD=NEW ...] [--weight COLUMN|none]
[--history codes-RegioS.json] [--decimal auto|point|comma] [--year Y]
[--where COLUMN=VALUE ...]``
"""

from __future__ import annotations

import argparse
from pathlib import Path

from analysis.data.owndata.numbers import DECIMALS
from analysis.data.roles import CHOICES, parse_role_assignment, read_roles_file

__all__ = ["add_own_data_options", "build_from_args"]


def add_own_data_options(parser: argparse.ArgumentParser) -> None:
    """The options ``--source csv`` reads (ignored by the other sources).

    Examples
    --------
    >>> parser = argparse.ArgumentParser()
    >>> add_own_data_options(parser)
    >>> parser.parse_args(["--input", "x.csv", "--role", "a=count"]).role
    ['a=count']
    """
    group = parser.add_argument_group("own data (--source csv)")
    group.add_argument(
        "--input", type=Path, default=None, help="your CSV: municipality, year, numeric columns"
    )
    group.add_argument(
        "--role",
        action="append",
        default=[],
        metavar="COLUMN=ROLE",
        help=f"how a column is combined across mergers: {CHOICES} (repeatable)",
    )
    group.add_argument(
        "--roles", type=Path, default=None, help="file with one COLUMN = ROLE per line"
    )
    group.add_argument(
        "--rename", action="append", default=[], metavar="OLD=NEW", help="rename a column first"
    )
    group.add_argument(
        "--weight",
        default="auto",
        help="column weighting boundary corrections (default: population, else the first "
        "denominator; 'none' ignores corrections)",
    )
    group.add_argument(
        "--history",
        type=Path,
        default=None,
        help="CBS boundary history codes-RegioS.json (default: the vendored 03759ned list)",
    )
    group.add_argument(
        "--decimal",
        choices=DECIMALS,
        default="auto",
        help="decimal separator of the numbers (default auto: from the file; a column "
        "with only values such as 1.500 is refused as ambiguous)",
    )
    group.add_argument(
        "--year", type=int, default=None, help="year of a StatLine export without Perioden"
    )
    group.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="COLUMN=VALUE",
        help="keep only rows with this value (e.g. Leeftijd='15 jaar of ouder')",
    )


def _pairs(items: list[str], option: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{option} expects NAME=VALUE, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def build_from_args(args: argparse.Namespace):
    """Run :func:`analysis.data.owndata.build.build_own_panel` with the command line's options."""
    from analysis.data.owndata.build import build_own_panel

    if args.input is None:
        raise ValueError("--source csv needs --input FILE (a CSV with municipality and year)")
    roles = read_roles_file(args.roles) if args.roles is not None else {}
    for item in args.role:
        roles.update(parse_role_assignment(item))
    from analysis.cli import screening_settings

    weight = None if str(args.weight).lower() == "none" else args.weight
    return build_own_panel(
        args.input,
        args.boundary_year,
        roles=roles,
        rename=_pairs(args.rename, "--rename"),
        weight=weight,
        history=args.history,
        baseline_year=args.baseline_year,
        year=args.year,
        where=_pairs(args.where, "--where"),
        out_dir=args.out_dir,
        decimal=args.decimal,
        screening=screening_settings(args),
    )
