"""The synthetic default written in CBS's OData v4 format, with a manifest.

:func:`write_synthetic_raw` disaggregates the panel of
:func:`analysis.data.synthetic.generator.simulate_panel` onto each year's own synthetic
boundaries and writes observations, measure codes and ``codes-RegioS`` (the merger
history in CBS's Dutch wording) as CBS serves them, so the default is read by the same
loader and harmonised by the same code as real data.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.data import schema
from analysis.data.io import replace_directory
from analysis.data.ownership import MARKER, check_writable, marker_bytes
from analysis.data.synthetic.generator import (
    BOUNDARY_YEAR,
    DEFAULT_SEED,
    GENERATOR_VERSION,
    LABEL,
    TABLE_ID,
    YEARS,
    SyntheticParams,
    seeded_geography,
    simulate_panel,
)
from analysis.data.synthetic.geography import (
    Geography,
    piece_shares,
)

# Synthetic measure codes (real CBS measures look like M000352): measure -> panel column.
MEASURES: dict[str, tuple[str, str, str]] = {
    "SYN0001": (schema.POPULATION, "Bevolking op 1 januari (synthetisch)", "aantal"),
    "SYN0002": (schema.POPULATION_0_17, "Bevolking 0 tot 18 jaar (synthetisch)", "aantal"),
    "SYN0003": (schema.POPULATION_18_64, "Bevolking 18 tot 65 jaar (synthetisch)", "aantal"),
    "SYN0004": ("bijstand_recipients", "Personen met bijstand (synthetisch)", "aantal"),
    "SYN0005": ("youth_care_users", "Jongeren met jeugdzorg (synthetisch)", "aantal"),
    "SYN0006": ("wmo_clients", "Cliënten met Wmo-voorziening (synthetisch)", "aantal"),
    "SYN0007": ("social_spending_keur", "Lasten sociaal domein (synthetisch)", "x 1 000 euro"),
    "SYN0008": (schema.BUDGET_CHANGE, "Budgetwijziging sociaal domein 2015 (synthetisch)", "euro"),
}
PAGE_ROWS = 20_000
SOURCE_URL = f"synthetic://analysis.synthetic/{TABLE_ID}"


def write_synthetic_raw(
    out_dir: str | Path, seed: int = DEFAULT_SEED, params: SyntheticParams | None = None
) -> dict:
    """Write the synthetic default as CBS OData v4 files with a manifest; return the manifest.

    Each year's figures are on that year's own synthetic boundaries: the 2023-unit panel of
    :func:`simulate_panel` is divided over the codes that existed then, by the inhabitants
    CBS-style change descriptions say moved (whole numbers, so national totals are exact).
    The directory is written to a temporary sibling and renamed into place, so a reader
    never sees half a dataset. Output is byte-for-byte identical for the same seed and params.

    Examples
    --------
    >>> import tempfile
    >>> manifest = write_synthetic_raw(f"{tempfile.mkdtemp()}/synthetic", seed=1)
    >>> manifest["synthetic"]
    True
    """
    params = params or SyntheticParams()
    sim = simulate_panel(seed, params)
    geo = seeded_geography(params.geography_seed)
    files = {
        "properties.json": _properties(),
        "dimensions.json": _dimensions(),
        "measure-codes.json": _measure_codes(),
        "codes-RegioS.json": _regions(geo),
        "codes-Perioden.json": _periods(),
    }
    pages = _observation_pages(_code_level_values(sim.panel, geo))
    files.update(pages)
    files["truth.json"] = _json_bytes(sim.truth)
    files["index.json"] = _json_bytes(
        {
            "tableId": TABLE_ID,
            "source": SOURCE_URL,
            "synthetic": True,
            "label": LABEL,
            "observationPages": sorted(pages),
            "files": {name.removesuffix(".json"): name for name in sorted(files)},
        }
    )
    manifest = {
        "synthetic": True,
        "label": LABEL,
        "source": SOURCE_URL,
        "api_version": "v4",
        # the name recorded in data/raw/synthetic before the module moved: a data label
        "generator": "analysis.synthetic",
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "params": _params_json(params),
        "boundary_year_of_truth": BOUNDARY_YEAR,
        "measures": {code: column for code, (column, _, _) in MEASURES.items()},
        "truth_file": "truth.json",
        "files": {
            name: {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
            for name, data in sorted(files.items())
        },
    }
    files["manifest.json"] = _json_bytes(manifest)
    _write_directory_atomically(Path(out_dir), files)
    return manifest


def _json_bytes(payload: object) -> bytes:
    return (json.dumps(payload, ensure_ascii=False, indent=1, sort_keys=False) + "\n").encode()


def _params_json(params: SyntheticParams) -> dict:
    out = asdict(params)
    out["outcomes"] = {name: asdict(dgp) for name, dgp in params.outcomes.items()}
    return json.loads(json.dumps(out))


def _write_directory_atomically(target: Path, files: dict[str, bytes]) -> None:
    # the whole folder is swapped: refuse one holding files the manifest does not list
    check_writable(target, replaced=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        for name, data in files.items():
            (staging / name).write_bytes(data)
        # the marker lists every file, so the next synthesize may replace exactly these
        (staging / MARKER).write_bytes(marker_bytes(files))
        replace_directory(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _code_level_values(panel: pd.DataFrame, geo: Geography) -> pd.DataFrame:
    """Divide each 2023 unit's whole-number figures over the codes of each year."""
    columns = [column for column, _, _ in MEASURES.values()]
    unit_order = [geo.entities[k].code for k in geo.units]
    frames = []
    for year in YEARS:
        keys, shares = piece_shares(geo, year)
        values = panel[panel[schema.YEAR] == year].set_index(schema.MUNICIPALITY)
        values = values.loc[unit_order, columns].to_numpy()
        allocated = {
            column: _largest_remainder(shares, values[:, j]) for j, column in enumerate(columns)
        }
        frame = pd.DataFrame(allocated)
        frame.insert(0, schema.YEAR, year)
        frame.insert(0, "code", [geo.entities[k].code for k in keys])
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _largest_remainder(shares: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """Split each unit's whole-number total over codes by share; rows sum exactly."""
    raw = shares * totals[None, :]
    floor = np.floor(raw)
    short = (totals - floor.sum(axis=0)).round().astype(int)
    order = np.argsort(-(raw - floor), axis=0, kind="stable")
    extra = np.zeros_like(floor)
    for unit in np.flatnonzero(short > 0):
        extra[order[: short[unit], unit], unit] = 1
    return (floor + extra).sum(axis=1)


def _observation_pages(values: pd.DataFrame) -> dict[str, bytes]:
    """Long v4 rows for every code x year x measure; code-years that did not exist are
    ``Impossible`` with a null value, as in real CBS responses."""
    codes = sorted(values["code"].unique())
    grid = pd.MultiIndex.from_product([codes, YEARS], names=["code", schema.YEAR])
    wide = values.set_index(["code", schema.YEAR]).reindex(grid)
    columns = [column for column, _, _ in MEASURES.values()]
    numbers = wide[columns].to_numpy()  # (codes x years) x measures, NaN where absent
    region = np.repeat(grid.get_level_values(0).to_numpy(), len(MEASURES))
    period = np.repeat([f"{t}JJ00" for t in grid.get_level_values(1)], len(MEASURES))
    measure = np.tile(list(MEASURES), len(grid))
    flat = numbers.reshape(-1)
    rows = [
        {
            "Id": i,
            "Measure": m,
            "ValueAttribute": "Impossible" if np.isnan(v) else "None",
            "Value": None if np.isnan(v) else int(v),
            "StringValue": None,
            "RegioS": r,
            "Perioden": p,
        }
        for i, (m, v, r, p) in enumerate(zip(measure, flat, region, period, strict=True))
    ]
    n_pages = -(-len(rows) // PAGE_ROWS)
    pages = {}
    for page in range(n_pages):
        body: dict = {
            "@odata.context": f"{SOURCE_URL}/$metadata#Observations",
            "value": rows[page * PAGE_ROWS : (page + 1) * PAGE_ROWS],
        }
        if page + 1 < n_pages:
            body["@odata.nextLink"] = f"{SOURCE_URL}/Observations?$skip={(page + 1) * PAGE_ROWS}"
        pages[f"observations-page-{page + 1}.json"] = (json.dumps(body) + "\n").encode()
    return pages


def _codes_response(kind: str, rows: list[dict]) -> bytes:
    return _json_bytes({"@odata.context": f"{SOURCE_URL}/$metadata#{kind}", "value": rows})


def _properties() -> bytes:
    return _json_bytes(
        {
            "Identifier": TABLE_ID,
            "Title": f"Sociaal domein; gemeenten — {LABEL}",
            "Description": (
                "SYNTHETIC. Written by the project's generator in the CBS OData v4 format. "
                "No figure in this table is a CBS figure."
            ),
            "Language": "nl",
            "TemporalCoverage": f"{YEARS[0]} - {YEARS[-1]}",
            "Catalog": "SYNTHETIC",
        }
    )


def _dimensions() -> bytes:
    rows = [
        {"Identifier": "RegioS", "Title": "Regio's", "Kind": "GeoDimension", "ContainsCodes": True},
        {
            "Identifier": "Perioden",
            "Title": "Perioden",
            "Kind": "TimeDimension",
            "ContainsCodes": True,
        },
    ]
    return _codes_response("Dimensions", rows)


def _measure_codes() -> bytes:
    rows = [
        {"Identifier": code, "Index": i + 1, "Title": title, "Description": LABEL, "Unit": unit}
        for i, (code, (_, title, unit)) in enumerate(MEASURES.items())
    ]
    return _codes_response("MeasureCodes", rows)


def _periods() -> bytes:
    rows = [
        {"Identifier": f"{t}JJ00", "Index": i + 1, "Title": str(t), "Status": "Definitief"}
        for i, t in enumerate(YEARS)
    ]
    return _codes_response("PeriodenCodes", rows)


def _regions(geo: Geography) -> bytes:
    from analysis.data.synthetic.descriptions import describe_entities

    descriptions = describe_entities(geo)
    rows = [
        {
            "Identifier": "NL01",
            "Index": 1,
            "Title": "Nederland (synthetisch)",
            "Description": "",
            "DimensionGroupId": "NL",
        }
    ]
    for ent in sorted(geo.entities.values(), key=lambda e: e.code):
        rows.append(
            {
                "Identifier": ent.code,
                "Index": len(rows) + 1,
                "Title": ent.name,
                "Description": descriptions[ent.key],
                "DimensionGroupId": f"GMPV{80 + ent.province}",
            }
        )
    return _codes_response("RegioSCodes", rows)
