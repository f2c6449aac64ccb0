"""Harmonised units with a part that has no figure: missing (default) or scaled from the rest.

By default a unit on later boundaries is missing in a year when any of its parts has no
figure, so Amsterdam (with Weesp, 2 % of its inhabitants) drops out of the Wmo series in
every year Weesp did not report. With ``missing_parts="scale"``
(:class:`analysis.data.options.PanelOptions`) such a unit is estimated from the parts that
do report, when the parts without a figure hold less than ``max_missing_share`` of the
unit's inhabitants that year::

    value = sum(reporting parts' value * weight)
            * (unit population / reporting parts' population)

Populations are those of the parts in the same year (``population``, or the column that
weights boundary corrections), times their crosswalk weight. A scaled cell keeps its
value flagged: ``<column>_status`` starts with ``scaled:`` and gives the missing share and
the missing parts (followed by the parts' own status codes, e.g. a ``screen:`` code of
:mod:`analysis.data.screening`), and ``attrs["scaled_cells"]`` lists every cell with its
share for the sidecar. The ``incomplete`` flag stays True (a part had no figure).

Assumption: the missing parts use the service (or spend) per inhabitant as the
reporting parts do. It fails when the missing part differs, e.g. a small municipality
whose figures are booked by its larger neighbour; the 5 % ceiling bounds the error to
5 % of the unit's value even when the missing part's true rate is twice the others'.
"""

from __future__ import annotations

import pandas as pd

from analysis.data.schema import STATUS_SUFFIX, YEAR

SCALED = "scaled"  # status prefix of a value scaled from the reporting parts
_TO, _FROM, _WEIGHT = "to_code", "from_code", "weight"


def scale_partial_units(
    parts: pd.DataFrame,
    sums: pd.DataFrame,
    statuses: pd.DataFrame,
    values: list[str],
    population: str | None,
    max_missing_share: float,
) -> tuple[pd.DataFrame, pd.DataFrame, list[dict]]:
    """Fill a unit's missing sum from its reporting parts where the missing share is small.

    Parameters
    ----------
    parts : pandas.DataFrame
        The harmonisation's components (``to_code, year, from_code, weight`` and values).
    sums : pandas.DataFrame
        Weighted sums per (to_code, year), missing where any part is missing.
    statuses : pandas.DataFrame
        ``<column>_status`` per (to_code, year), same index as ``sums``.
    values : list of str
        Summed columns; ``population`` itself is never scaled.
    population : str or None
        Column weighting the parts; None raises.
    max_missing_share : float
        Scale only when the missing parts hold less than this share of the inhabitants.

    Returns
    -------
    sums, statuses : pandas.DataFrame
        With the scaled cells filled and flagged.
    records : list of dict
        ``municipality, year, column, missing_share, missing_parts`` per scaled cell.

    Examples
    --------
    >>> import pandas as pd
    >>> parts = pd.DataFrame({"to_code": "GM0003", "year": 2018, "weight": 1.0,
    ...                       "from_code": ["GM0001", "GM0002"],
    ...                       "wmo_clients": [98.0, None], "population": [9800.0, 200.0]})
    >>> index = pd.MultiIndex.from_tuples([("GM0003", 2018)])
    >>> sums = pd.DataFrame({"wmo_clients": [float("nan")], "population": [10000.0]}, index)
    >>> sums, statuses, records = scale_partial_units(
    ...     parts, sums, pd.DataFrame(index=index), ["wmo_clients", "population"],
    ...     "population", 0.05)
    >>> float(sums["wmo_clients"].iloc[0]), records[0]["missing_share"]
    (100.0, 0.02)
    """
    if population is None or population not in parts:
        raise ValueError("missing_parts='scale' needs a population column to weight the parts")
    keys = [parts[_TO], parts[YEAR]]
    inhabitants = parts[population].astype(float) * parts[_WEIGHT]
    known = inhabitants.notna().groupby(keys).all().reindex(sums.index, fill_value=False)
    unit = inhabitants.groupby(keys).sum().reindex(sums.index)
    sums, statuses = sums.copy(), statuses.copy()
    records: list[dict] = []
    for column in (c for c in values if c != population):
        absent = parts[column].isna()
        grouped = pd.DataFrame({
            "missing": inhabitants.where(absent, 0.0),
            "reporting": inhabitants.where(~absent, 0.0),
            "value": (parts[column] * parts[_WEIGHT]).where(~absent, 0.0),
            "n_missing": absent.astype(int),
            "n_reporting": (~absent).astype(int),
        }).groupby(keys).sum().reindex(sums.index)
        share = grouped["missing"] / unit
        eligible = (sums[column].isna() & known & (grouped["n_missing"] > 0)
                    & (grouped["n_reporting"] > 0) & (grouped["reporting"] > 0)
                    & (share < max_missing_share))
        if not eligible.any():
            continue
        sums.loc[eligible, column] = (grouped["value"] * unit / grouped["reporting"])[eligible]
        status = column + STATUS_SUFFIX
        if status not in statuses:
            statuses[status] = pd.Series(None, index=statuses.index, dtype=object)
        statuses[status] = statuses[status].astype(object)
        missing_parts = parts.loc[absent, [_TO, YEAR, _FROM]].groupby([_TO, YEAR])[_FROM].agg(
            ";".join)
        for key in eligible[eligible].index:
            codes, value = missing_parts[key], round(float(share[key]), 6)
            before = statuses.loc[key, status]  # e.g. a part's screen: code: kept after it
            statuses.loc[key, status] = (
                f"{SCALED}: {value:.1%} of inhabitants in parts without a figure ({codes}), "
                "value scaled from the reporting parts"
                + (f"; {before}" if isinstance(before, str) and before else ""))
            records.append({"municipality": key[0], "year": int(key[1]), "column": column,
                            "missing_share": value, "missing_parts": codes})
    return sums, statuses, records


def fill_missing_parts(parts, sums, statuses, values, weight, options):
    """:func:`scale_partial_units` when ``options.missing_parts == "scale"``, else unchanged.

    ``weight`` is the column weighting boundary corrections (else ``population``).
    """
    from analysis.data.options import SCALE

    if options.missing_parts != SCALE:
        return sums, statuses, []
    weight = weight or ("population" if "population" in values else None)
    return scale_partial_units(parts, sums, statuses, values, weight, options.max_missing_share)


__all__ = ["SCALED", "fill_missing_parts", "scale_partial_units"]
