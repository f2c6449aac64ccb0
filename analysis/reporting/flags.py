"""The report's list of screening flags: every raw cell the build set missing, and why.

The build records the screening (:mod:`analysis.data.screening`) in the panel's sidecar
(``data/processed/panel_<source>_<year>.json``, key ``screening``); the report shows, per
source, the settings, the counts by column and reason, and one row per flagged cell.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import pandas as pd

from analysis.data import paths

__all__ = ["screening_html", "screening_table"]

SHOWN = ["municipality", "name", "year", "column", "raw_value", "reason", "comparison",
         "ratio"]  # fmt: skip


def screening_table(metadata: dict) -> pd.DataFrame:
    """Every flag of a sidecar's ``screening`` record as a table (empty when none).

    Examples
    --------
    >>> screening_table({"screening": {"flags": [{"municipality": "GM0114", "name": "Emmen",
    ...     "year": 2016, "column": "youth_care_cost", "raw_value": 6.0,
    ...     "reason": "screen:jump", "comparison": 24427.4, "ratio": 0.00025}]}}).shape
    (1, 8)
    """
    flags = metadata.get("screening", {}).get("flags", [])
    return pd.DataFrame(flags, columns=[*SHOWN, "basis"])[SHOWN]


def screening_html(source: str, boundary_year: int, out_dir: Path | None = None) -> str:
    """The HTML block listing a source's screening flags, read from its panel's sidecar."""
    sidecar = Path(out_dir or paths.PROCESSED) / f"panel_{source}_{boundary_year}.json"
    if not sidecar.is_file():
        return f"<p class=meta>Screening: no panel sidecar at {html.escape(str(sidecar))}.</p>"
    metadata = json.loads(sidecar.read_text(encoding="utf-8"))
    record = metadata.get("screening", {})
    if not record.get("enabled", False):
        return ("<p class=meta>Screening: off (every raw value kept; "
                "<code>--screening off</code>).</p>")
    table = screening_table(metadata)
    settings = {k: v for k, v in record.get("settings", {}).items()
                if k not in ("columns", "cost_columns", "pairs", "enabled")}  # fmt: skip
    counts = "; ".join(
        f"{column}: " + ", ".join(f"{reason.removeprefix('screen:')} {n}"
                                   for reason, n in reasons.items())
        for column, reasons in record.get("counts", {}).items()
    ) or "none"  # fmt: skip
    head = (
        f"<h3>Screening flags ({len(table)})</h3><p>Raw cells set missing before "
        f"harmonisation, with the raw value, the figure it was compared with and their "
        f"ratio. {html.escape(record.get('regions', ''))}. By column and reason: "
        f"{html.escape(counts)}.</p><p class=meta>Settings: "
        f"{html.escape(json.dumps(settings))}</p>"
    )
    if table.empty:
        return head
    body = table.to_html(index=False, float_format=lambda v: f"{v:,.4g}", border=0,
                         classes="flags")  # fmt: skip
    return head + f"<details open><summary>every flag</summary>{body}</details>"
