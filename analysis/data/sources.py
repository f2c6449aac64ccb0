"""From stored v4 responses to a panel on each year's own municipal boundaries.

This is the first step of the one-way flow sources -> panel -> design -> results. It is
shared by the synthetic default and by real CBS tables: both are OData v4 observations
plus a ``codes-RegioS`` code list; a ``measures`` mapping says which measure code feeds
which panel column (:mod:`analysis.data.schema`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from analysis.data import schema
from analysis.data.cbs.api.v4files import (
    CBSFormatError,
    parse_period,
    read_codes,
    read_json,
    read_observations,
)


def read_v4_panel(
    observations: pd.DataFrame, regions: pd.DataFrame, measures: Mapping[str, str]
) -> pd.DataFrame:
    """Turn long v4 observations into one row per municipality and year.

    Only ``GM`` codes and yearly periods (``JJ``) are kept. A code-year whose every measure
    is ``Impossible`` (the code did not exist then) is dropped; any other missing value
    stays missing with its CBS code in ``<column>_status``.
    """
    unknown = sorted(set(observations["Measure"]) - set(measures))
    if unknown:
        raise CBSFormatError(f"measure codes without a panel column: {', '.join(unknown)}")
    obs = observations[observations["RegioS"].str.startswith("GM")].copy()
    periods = {code: parse_period(code) for code in obs["Perioden"].unique()}
    obs = obs[obs["Perioden"].map(lambda code: periods[code].kind == "year")]
    obs[schema.YEAR] = obs["Perioden"].map(lambda code: periods[code].year).astype("int64")
    obs["column"] = obs["Measure"].map(measures)
    keys = ["RegioS", schema.YEAR]
    duplicated = obs.duplicated(keys + ["column"], keep=False)
    if duplicated.any():
        first = obs[duplicated].iloc[0]
        raise CBSFormatError(
            f"two values for column {first['column']!r}: {first['RegioS']} in {first[schema.YEAR]}"
        )
    values = obs.pivot(index=keys, columns="column", values="value")
    status = obs.pivot(index=keys, columns="column", values="status")
    impossible = (status == "Impossible").all(axis=1)
    values, status = values[~impossible], status[~impossible]
    status.columns = [f"{c}{schema.STATUS_SUFFIX}" for c in status.columns]
    panel = pd.concat([values, status], axis=1).reset_index()
    panel = panel.rename(columns={"RegioS": schema.MUNICIPALITY})
    panel.columns.name = None
    names = regions.set_index("Identifier")
    panel.insert(1, schema.NAME, panel[schema.MUNICIPALITY].map(names["Title"]))
    group = panel[schema.MUNICIPALITY].map(names.get("DimensionGroupId", pd.Series(dtype=str)))
    panel.insert(3, schema.PROVINCE, group.str.extract(r"(PV\d+)", expand=False))
    return panel.sort_values([schema.YEAR, schema.MUNICIPALITY], ignore_index=True)


def read_v4_directory(raw_dir: str | Path, measures: Mapping[str, str]) -> pd.DataFrame:
    """Read a directory laid out like a stored v4 fetch (``index.json`` lists the pages)."""
    raw_dir = Path(raw_dir)
    index = read_json_object(raw_dir / "index.json")
    pages = [raw_dir / name for name in index["observationPages"]]
    return read_v4_panel(
        read_observations(pages), read_codes(raw_dir / "codes-RegioS.json"), measures
    )


def read_json_object(path: Path) -> dict:
    """A JSON object file (``index.json``, ``manifest.json``) with a clear error if absent."""
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: the raw directory is incomplete")
    import json

    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise CBSFormatError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc


__all__ = ["read_v4_panel", "read_v4_directory", "read_json", "read_json_object"]
