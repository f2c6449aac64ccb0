"""CBS table identifiers: the only table names that reach a cache path or a URL."""

from __future__ import annotations

import re

__all__ = ["TABLE_ID", "check_table_id"]

# CBS table identifiers: five digits and two to four letters (03759ned, 82354NED, 80030ENG),
# older ones four digits (7461bev) or a year suffix (7052_95). Nothing else reaches a path
# or a URL: no slash, no dot, not empty.
TABLE_ID = re.compile(r"\d{4,5}[A-Za-z]{2,4}|\d{4}_\d{2}")


def check_table_id(table: str) -> str:
    """``table`` when it is a CBS table identifier (:data:`TABLE_ID`); else ValueError.

    Examples
    --------
    >>> check_table_id("03759ned")
    '03759ned'
    >>> try:
    ...     check_table_id("../../x")
    ... except ValueError as err:
    ...     print(str(err).split(" (")[0])
    table id '../../x' is not a CBS table identifier
    """
    if not isinstance(table, str) or not TABLE_ID.fullmatch(table):
        raise ValueError(
            f"table id {table!r} is not a CBS table identifier (five digits and letters, "
            "e.g. 03759ned or 82354NED)"
        )
    return table
