"""Write your own municipal figures as a stored panel: ``build --source csv``.

Reads the file, harmonises it (:func:`analysis.data.owndata.panel.panel_from_frame`'s rules) and
writes ``panel_csv_<year>.parquet`` with its sidecar, as every other source's build does.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from analysis.data import paths
from analysis.data.owndata.panel import DEFAULT_HISTORY, _harmonise
from analysis.data.owndata.read import OwnDataError, read_own_csv
from analysis.data.roles import Role


def build_own_panel(
    input_path: str | Path,
    boundary_year: int,
    *,
    roles: Mapping[str, Role | tuple] | None = None,
    rename: Mapping[str, str] | None = None,
    weight: str | None = "auto",
    history: str | Path | None = None,
    baseline_year: int | None = None,
    year: int | None = None,
    where: Mapping[str, str] | None = None,
    out_dir: str | Path | None = None,
    decimal: str = "auto",
    screening=None,
):
    """Read ``input_path``, harmonise it and write ``panel_csv_<year>.parquet`` and its sidecar.

    The sidecar records the input's and the history's sha256, every column's role, the
    crosswalk weight column, and the columns and rows left out (with why). ``where``
    keeps the rows whose ``column == value`` (e.g. ``{"Leeftijd": "15 jaar of ouder"}``).
    Returns a :class:`analysis.data.build.BuildResult`.

    Examples
    --------
    >>> result = build_own_panel("data/examples/own_data.csv", 2023,
    ...                          out_dir="/tmp/own-panel")  # doctest: +SKIP
    """
    from analysis.data.build import BuildResult, _metadata, write_panel
    from analysis.data.io import sha256_file
    from analysis.data.ownership import check_writable

    out_dir = check_writable(Path(out_dir or paths.PROCESSED))
    input_path = Path(input_path)
    history_path = Path(history or DEFAULT_HISTORY)
    frame = read_own_csv(input_path, year=year)
    for column, value in (where or {}).items():
        if column not in frame:
            raise OwnDataError(f"--where {column}=...: no column {column!r} in {input_path}")
        frame = frame[frame[column].astype(str).str.strip() == value]
    panel, raw = _harmonise(
        frame, boundary_year, roles, rename, weight, history_path, baseline_year, decimal,
        screening=screening,
    )
    files = {
        f"input/{input_path.name}": {"sha256": sha256_file(input_path)},
        f"history/{history_path.name}": {"sha256": sha256_file(history_path)},
    }
    label = f"own data: {input_path.name} (not checked by this toolkit against CBS)"
    manifest = {"synthetic": False, "label": label, "source": str(input_path), "files": files}
    baseline = panel.attrs["baseline_year"]
    panel.attrs.update(source="csv", synthetic=False, label=label, baseline_year=baseline)
    metadata = _metadata(raw, panel, manifest, "csv", boundary_year, baseline)
    metadata.update(
        input=str(input_path.resolve()),
        history=str(history_path),
        roles=panel.attrs["roles"],
        crosswalk_weight=panel.attrs["crosswalk_weight"],
        corrections_ignored=panel.attrs.get("corrections_ignored", {}),
        columns_left_out=panel.attrs["columns_left_out"],
        rows_left_out=panel.attrs["rows_left_out"],
        units_not_supplied=panel.attrs["units_not_supplied"],
        where=dict(where or {}),
        rename=dict(rename or {}),
        decimal=decimal,
        screening=panel.attrs["screening"],
    )
    path = write_panel(panel, metadata, out_dir)
    return BuildResult(panel, raw, path, metadata)
