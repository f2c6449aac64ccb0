"""The vendored CBS StatLine CSV exports (``data/raw/statline``): reader, names, panel.

Go here for the exports bundled with the repository, in the ``cbsodata`` CSV form
(``build --source statline``); the live API client is :mod:`analysis.data.cbs.api`.

* :func:`read_statline_csv`: one table (labels, ``;``, empty = missing with a status);
* :func:`municipality_codes` / :func:`match_municipalities`: names to GM codes through the
  boundary history, year by year (aggregates recognised, never guessed);
* :func:`build_statline_panel`: the vendored bundle in ``data/raw/statline`` as a panel
  (``python -m analysis build --source statline``).
"""

from analysis.data.cbs.exports.names import (
    UnmatchedMunicipalityError,
    is_regional_aggregate,
    match_municipalities,
    municipality_codes,
)
from analysis.data.cbs.exports.panel import build_statline_panel
from analysis.data.cbs.exports.reader import (
    StatLineFormatError,
    parse_period_label,
    read_statline_csv,
)

__all__ = [
    "StatLineFormatError",
    "UnmatchedMunicipalityError",
    "build_statline_panel",
    "is_regional_aggregate",
    "match_municipalities",
    "municipality_codes",
    "parse_period_label",
    "read_statline_csv",
]
