"""The one-screen summary a real report section leads with (issue 18).

Computed once per report build by :func:`summary_html` from
:func:`analysis.studies.robustness.headline_table` on the source's panels, stored in the
report's staging folder (``<source>/summary.json``) and rendered, escaped, at the top of
the section; the notebooks never recompute it.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path

import pandas as pd

SUMMARY_FILE = "summary.json"


def headline_summary(source: str, boundary_year: int) -> pd.DataFrame:
    """:func:`~analysis.studies.robustness.headline_table` of a source's own outcomes.

    On its built panels (:func:`~analysis.designs.specification_curve.source_panels`).
    """
    from analysis.designs.specification_curve import source_panels
    from analysis.reporting.report import default_outcomes
    from analysis.reporting.summary import outcomes_with_data
    from analysis.studies.robustness import headline_table

    builder = source_panels(source, boundary_year)
    return headline_table(builder, outcomes_with_data(builder(), default_outcomes(source)))


def computed_summary(source: str, boundary_year: int) -> pd.DataFrame | Exception:
    """:func:`headline_summary`, or the error that stopped it (for :func:`summary_html`).

    Writes nothing, so the report computes it while its notebooks run.
    """
    try:
        return headline_summary(source, boundary_year)
    except (OSError, ValueError, KeyError) as error:
        return error


def summary_html(source: str, boundary_year: int, staging: Path,
                 computed: pd.DataFrame | Exception | None = None) -> str:
    """The summary table as escaped HTML, its figures written to ``staging/SUMMARY_FILE``.

    ``computed``: the :func:`computed_summary` of ``source``, if already computed. A
    failure to compute it becomes a paragraph saying why (the notebooks still render).

    Examples
    --------
    >>> summary_html("statline", 2023, Path("/tmp/report"))  # doctest: +SKIP
    """
    table = computed_summary(source, boundary_year) if computed is None else computed
    if isinstance(table, Exception):
        return (f"<p class=meta>Robustness summary not computed: "
                f"{html.escape(f'{type(table).__name__}: {table}')}</p>")
    from analysis.studies.robustness import grid_text

    staging.mkdir(parents=True, exist_ok=True)
    record = {"attrs": table.attrs, "rows": json.loads(table.to_json(orient="records"))}
    (staging / SUMMARY_FILE).write_text(json.dumps(record, indent=1, default=str),
                                        encoding="utf-8")
    return render_summary(table, grid_text(table))


def _fmt(row: pd.Series, key: str) -> str:
    log = bool(row.get("log", False))
    value = row.get(f"percent_{key}" if log else key)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:+.1f}%" if log else f"{value:+.3g}"


def render_summary(table: pd.DataFrame, grid: str) -> str:
    """One row per outcome: headline, widest interval, agreeing share, specifications, flags."""
    head = ("<tr><th>outcome</th><th>headline (large minus small, growth)</th>"
            "<th>widest 95% interval (cluster)</th><th>share agreeing in sign and excluding 0"
            "</th><th>specifications</th><th>screening flags</th></tr>")
    rows = []
    for _, row in table.iterrows():
        share = row.get("share_agreeing_excluding_zero")
        share_text = "n/a" if share is None or math.isnan(share) else f"{share:.0%}"
        cells = [str(row["outcome"]), _fmt(row, "headline_estimate"),
                 f"{_fmt(row, 'headline_ci_low')} to {_fmt(row, 'headline_ci_high')} "
                 f"({row.get('headline_cluster')})", share_text,
                 f"{row['estimated']} of {row['specifications']}", str(row["screening_flags"])]
        rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    return (f'<div class="headline-summary"><h3>Headline summary: every outcome read from '
            f"its specification curve</h3><table>{head}{''.join(rows)}</table>"
            f"<p class=meta>{html.escape(grid)}. The share is over the specifications, "
            "which share their data: it is not a p-value.</p></div>")


__all__ = ["SUMMARY_FILE", "computed_summary", "headline_summary", "render_summary", "summary_html"]
