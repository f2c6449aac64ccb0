"""What each panel column is, so harmonisation across mergers treats it correctly.

A municipality that merges or splits has to be recombined column by column, and the
right rule depends on what the column measures:

========================  ===============================================================
role                      across merged (or split) municipalities
========================  ===============================================================
``count``                 summed (a split code divided by its crosswalk weights); >= 0
``denominator``           summed like a count; may weight boundary corrections and rates
``total``                 summed, may be negative (e.g. a budget change in euro)
``rate:NUM/DEN*PER``      recomputed as ``sum(NUM) / sum(DEN) * PER``, never averaged
``mean:WEIGHT``           weighted mean of the parts, weights ``WEIGHT`` (declared only)
``text``                  a label: the parts' distinct values joined by ``;``
``drop``                  left out on purpose (listed in the sidecar)
========================  ===============================================================

The panel vocabulary (:mod:`analysis.data.schema`) has its roles built in: every name in
``COUNTS`` is a count, in ``DENOMINATORS`` a denominator, in ``SIGNED_TOTALS`` a total,
every outcome a rate of its numerator and denominator, and the treatment intensity a
population-weighted mean. Any other column needs a declared role; without one
harmonisation stops with an error naming it instead of guessing.

A role declared for ``*`` applies to every column that has none (``*=drop`` keeps only
the named and built-in columns of a wide StatLine export).

Roles are written as strings (``"count"``, ``"rate:bijstand_recipients/inhabitants_15plus*1000"``),
in Python as a mapping ``{column: role}`` or on the command line as
``--role COLUMN=ROLE`` (repeatable) or ``--roles FILE`` with one ``COLUMN = ROLE`` per line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from analysis.data.schema import (
    COUNTS,
    DENOMINATORS,
    INTENSITY,
    OUTCOMES,
    POPULATION,
    SIGNED_TOTALS,
)

__all__ = [
    "COUNT",
    "DENOMINATOR",
    "DROP",
    "TEXT",
    "TOTAL",
    "Mean",
    "Rate",
    "Role",
    "RoleError",
    "default_roles",
    "parse_role",
    "read_roles_file",
    "resolve_roles",
]

COUNT = "count"
DENOMINATOR = "denominator"
TOTAL = "total"
TEXT = "text"
DROP = "drop"
SUMMED = (COUNT, DENOMINATOR, TOTAL)
OTHERS = "*"  # a role declared for "*" applies to every column without one (e.g. "*=drop")
CHOICES = "count, denominator, total, rate:NUM/DEN*PER, mean:WEIGHT, text or drop"


@dataclass(frozen=True)
class Rate:
    """``numerator / denominator * per``, recomputed from the harmonised sums."""

    numerator: str
    denominator: str
    per: float = 1.0

    def __str__(self) -> str:
        per = f"*{self.per:g}" if self.per != 1 else ""
        return f"rate:{self.numerator}/{self.denominator}{per}"


@dataclass(frozen=True)
class Mean:
    """A unit characteristic combined as the ``weight``-weighted mean of the parts."""

    weight: str

    def __str__(self) -> str:
        return f"mean:{self.weight}"


Role = str | Rate | Mean


class RoleError(ValueError):
    """A role is malformed, refers to an absent column, or a column has none."""


_RATE = re.compile(r"rate:\s*([^/*]+?)\s*/\s*([^/*]+?)\s*(?:\*\s*([0-9.eE+]+))?\s*")
_MEAN = re.compile(r"mean:\s*(.+?)\s*")


def parse_role(text: Role | tuple, column: str = "?") -> Role:
    """One role from its written form (or a ``("rate", num, den, per)`` tuple).

    Examples
    --------
    >>> parse_role("rate:bijstand_recipients/inhabitants_15plus*1000")
    Rate(numerator='bijstand_recipients', denominator='inhabitants_15plus', per=1000.0)
    >>> parse_role(("mean", "population"))
    Mean(weight='population')
    """
    if isinstance(text, Rate | Mean):
        return text
    if isinstance(text, tuple | list):
        kind, *args = text
        if kind == "rate" and len(args) in (2, 3):
            return Rate(str(args[0]), str(args[1]), float(args[2]) if len(args) == 3 else 1.0)
        if kind == "mean" and len(args) == 1:
            return Mean(str(args[0]))
        if not args:
            return parse_role(str(kind), column)
        raise RoleError(f"column {column!r}: role {text!r} is not one of {CHOICES}")
    role = str(text).strip()
    if role.lower() in (*SUMMED, TEXT, DROP):
        return role.lower()
    if match := _RATE.fullmatch(role):
        per = float(match.group(3)) if match.group(3) else 1.0
        return Rate(match.group(1), match.group(2), per)
    if match := _MEAN.fullmatch(role):
        return Mean(match.group(1))
    raise RoleError(f"column {column!r}: role {role!r} is not one of {CHOICES}")


def default_roles() -> dict[str, Role]:
    """The roles of the panel vocabulary (:mod:`analysis.data.schema`)."""
    roles: dict[str, Role] = {c: COUNT for c in COUNTS}
    roles.update({d: DENOMINATOR for d in DENOMINATORS})
    roles.update({t: TOTAL for t in SIGNED_TOTALS})
    roles.update({o.name: Rate(o.numerator, o.denominator, o.per) for o in OUTCOMES.values()})
    roles[INTENSITY] = Mean(POPULATION)
    return roles


def resolve_roles(
    columns: Iterable[str],
    declared: Mapping[str, Role | tuple] | None,
    structural: Iterable[str],
) -> dict[str, Role]:
    """The role of every column: declared, else built in; error for any column without.

    ``structural`` names columns the panel machinery handles itself (keys, names,
    status codes, derived outputs); they need no role.
    """
    columns = list(columns)
    declared = {c: parse_role(r, c) for c, r in (declared or {}).items()}
    others = declared.pop(OTHERS, None)
    absent = [c for c in declared if c not in columns]
    if absent:
        raise RoleError(f"a role is declared for column(s) not in the data: {absent}")
    builtin = default_roles()
    skip = set(structural)
    roles: dict[str, Role] = {}
    unknown = []
    for column in columns:
        if column in declared:
            roles[column] = declared[column]
        elif column in builtin:
            roles[column] = builtin[column]
        elif column not in skip and others is not None:
            roles[column] = others
        elif column not in skip:
            unknown.append(column)
    if unknown:
        raise RoleError(
            f"no role for column(s) {', '.join(map(repr, unknown))}: declare each as "
            f"{CHOICES} (roles={{...}} in Python, --role COLUMN=ROLE on the command line); "
            "the toolkit does not guess how to combine merged municipalities"
        )
    _check_references(roles, columns)
    return roles


def _check_references(roles: Mapping[str, Role], columns: list[str]) -> None:
    for column, role in roles.items():
        if isinstance(role, Rate):
            for part in (role.numerator, role.denominator):
                if roles.get(part) not in SUMMED:
                    raise RoleError(
                        f"rate column {column!r} needs {part!r} as a column with role count, "
                        f"denominator or total (it is {_describe(part, roles, columns)})"
                    )
        elif isinstance(role, Mean) and roles.get(role.weight) not in SUMMED:
            raise RoleError(
                f"mean column {column!r} is weighted by {role.weight!r}, which must be a "
                f"count or denominator column (it is {_describe(role.weight, roles, columns)})"
            )


def _describe(name: str, roles: Mapping[str, Role], columns: list[str]) -> str:
    if name not in columns:
        return "not in the data"
    return f"role {roles[name]}" if name in roles else "without a role"


MAX_ROLES_FILE = 1 << 20  # bytes: a roles file is a few lines


def read_roles_file(path: str | Path) -> dict[str, Role]:
    """Roles from a text file: one ``COLUMN = ROLE`` per line, ``#`` starts a comment.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "roles.txt"
    >>> _ = path.write_text("# my columns\\nrecipients = count\\n"
    ...                     "density = rate:recipients/inhabitants*1000\\n")
    >>> read_roles_file(path)["density"]
    Rate(numerator='recipients', denominator='inhabitants', per=1000.0)
    """
    path = Path(path)
    if not path.is_file():  # a folder, /dev/zero, a pipe: not a roles file
        raise RoleError(f"{path}: the roles file is not a regular file")
    if path.stat().st_size > MAX_ROLES_FILE:
        raise RoleError(f"{path}: {path.stat().st_size} bytes, too large for a roles file "
                        f"(at most {MAX_ROLES_FILE})")  # fmt: skip
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise RoleError(f"{path}: the roles file is not UTF-8 text ({exc.reason})") from None
    roles: dict[str, Role] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if "=" not in line:
            raise RoleError(f"{path}, line {number}: expected COLUMN = ROLE, got {line!r}")
        roles.update(parse_role_assignment(line, f"{path}, line {number}"))
    return roles


def parse_role_assignment(text: str, where: str = "--role") -> dict[str, Role]:
    """``"COLUMN=ROLE"`` as ``{column: role}`` (the ``--role`` option's form)."""
    column, sep, role = text.partition("=")
    if not sep or not column.strip() or not role.strip():
        raise RoleError(f"{where}: expected COLUMN=ROLE, got {text!r}")
    return {column.strip(): parse_role(role, column.strip())}
