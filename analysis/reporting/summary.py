"""The first summary of a built panel: coverage, size classes, outcomes before and after 2015."""

from __future__ import annotations

import pandas as pd

from analysis.data import schema


def municipalities_per_year(raw: pd.DataFrame, panel: pd.DataFrame) -> pd.DataFrame:
    """Codes per year on their own boundaries versus units after harmonisation."""
    return pd.DataFrame(
        {
            "own boundaries": raw.groupby(schema.YEAR)[schema.MUNICIPALITY].nunique(),
            "harmonised": panel.groupby(schema.YEAR)[schema.MUNICIPALITY].nunique(),
        }
    ).rename_axis("year")


def size_class_counts(panel: pd.DataFrame) -> pd.DataFrame:
    """Units per size class, fixed at the baseline year, and the 50k split."""
    units = panel.drop_duplicates(schema.MUNICIPALITY)
    counts = units[schema.SIZE_CLASS].value_counts(sort=False).rename("municipalities")
    table = counts.rename_axis("size class").to_frame()
    table["of which large (>= 50k)"] = units.groupby(schema.SIZE_CLASS, observed=False)[
        schema.LARGE
    ].sum()
    return table


def outcomes_before_after(
    panel: pd.DataFrame, reform_year: int = schema.REFORM_YEAR
) -> pd.DataFrame:
    """Each outcome per size class before and after the reform, as a ratio of sums.

    A class's rate is the sum of its numerators over the sum of its denominators (the
    rate of the class as a whole, as SCP reports it), not a mean of municipal rates.
    """
    period = pd.Series(
        pd.Categorical.from_codes(
            (panel[schema.YEAR] >= reform_year).astype(int),
            categories=[f"before {reform_year}", f"{reform_year} and after"],
        ),
        index=panel.index,
    )
    rows = []
    for outcome in schema.OUTCOMES.values():
        if outcome.numerator not in panel or outcome.denominator not in panel:
            continue
        frame = panel[[outcome.numerator, outcome.denominator]].dropna()
        grouped = frame.groupby([panel[schema.SIZE_CLASS], period], observed=False).sum()
        rate = grouped[outcome.numerator] / grouped[outcome.denominator] * outcome.per
        table = rate.unstack().round(1)
        table.insert(0, "outcome", f"{outcome.label} ({outcome.unit})")
        rows.append(table.reset_index())
    out = pd.concat(rows, ignore_index=True).rename(columns={schema.SIZE_CLASS: "size class"})
    out["change"] = (out.iloc[:, -1] - out.iloc[:, -2]).round(1)
    return out.set_index(["outcome", "size class"])


def render_summary(raw: pd.DataFrame, panel: pd.DataFrame) -> str:
    """The summary as Markdown, headed by the data's label (synthetic or CBS)."""
    label = panel.attrs.get("label", "")
    boundary_year = panel.attrs.get("boundary_year", "")
    baseline_year = panel.attrs.get("baseline_year", schema.BASELINE_YEAR)
    parts = [
        "# First summary of the municipal panel",
        "",
        f"Data: {label}",
        f"Boundaries: municipalities of 1 January {boundary_year}; "
        f"size classes fixed at {baseline_year} population.",
        "",
        "## Municipalities per year",
        municipalities_per_year(raw, panel).to_markdown(),
        "",
        f"## Size classes ({baseline_year})",
        size_class_counts(panel).to_markdown(),
        "",
        "## Outcomes before and after 2015 by size class (ratio of sums)",
        outcomes_before_after(panel).reset_index().to_markdown(index=False),
        "",
    ]
    return "\n".join(parts)


def coverage(panel: pd.DataFrame, outcomes: list[str] | None = None) -> pd.DataFrame:
    """Share of municipalities (%) with a known value, per outcome (rows) and year (columns).

    A rate is known when both its count and its population are; CBS special values and
    cells of units with a missing component count as unknown.
    """
    names = outcomes or [o for o in schema.OUTCOMES if o in panel]
    known = panel[names].notna().groupby(panel[schema.YEAR]).mean() * 100
    return known.T.round(1).rename_axis("outcome").rename_axis(columns="year")


def combined_units(panel: pd.DataFrame) -> pd.DataFrame:
    """Units that combine several codes: which codes, largest combinations first."""
    combined = panel.loc[panel["n_combined"] > 1].sort_values(
        ["n_combined", schema.YEAR], ascending=[False, True]
    )
    first = combined.drop_duplicates(schema.MUNICIPALITY)
    return (
        first[[schema.MUNICIPALITY, schema.NAME, schema.YEAR, "n_combined", "combined_from"]]
        .rename(columns={schema.YEAR: "in year"})
        .reset_index(drop=True)
    )


def provenance(raw_dir) -> pd.DataFrame:
    """The raw files behind a panel: name, size and sha256 prefix from the manifest."""
    import json
    from pathlib import Path

    manifests = sorted(Path(raw_dir).rglob("manifest.json"))
    if not manifests:
        raise FileNotFoundError(f"no manifest.json under {raw_dir}")
    rows = []
    for path in manifests:
        manifest = json.loads(path.read_text())
        for name, entry in sorted(manifest.get("files", {}).items()):
            rows.append(
                {
                    "folder": str(path.parent.relative_to(raw_dir)) or ".",
                    "file": name,
                    "bytes": entry.get("bytes"),
                    "sha256": str(entry.get("sha256", ""))[:12] + "...",
                }
            )
    return pd.DataFrame(rows)


def outcomes_with_data(panel: pd.DataFrame, outcomes: list[str]) -> list[str]:
    """The requested outcomes that have at least one value; says which were left out.

    On real CBS data an outcome whose table was not fetched (e.g. spending) is
    entirely missing; designs on it would fail, so notebooks leave it out and say so.
    """
    unknown = [o for o in outcomes if o not in schema.OUTCOMES]
    if unknown:
        raise ValueError(f"unknown outcome(s) {unknown}; choose from {list(schema.OUTCOMES)}")
    kept = [o for o in outcomes if o in panel and panel[o].notna().any()]
    left_out = [o for o in outcomes if o not in kept]
    if left_out:
        print(f"left out, no data in this panel: {', '.join(left_out)}")
    if not kept:
        raise ValueError(f"none of the outcomes {outcomes} has data in this panel")
    return kept


def sidecar_tables(metadata: dict) -> dict[str, pd.DataFrame]:
    """The provenance a real panel's sidecar records, as tables for a notebook.

    ``tables`` (id, title, panel columns), ``seams`` (where a series switches table
    edition), ``population`` (how the 2015-2018 population was derived, rows per year
    and route), ``not placed`` (regional aggregates per table and figures for a
    municipality outside its lifetime, left out rather than guessed), ``screening``
    (every raw cell the screening set missing: :func:`analysis.reporting.flags.screening_table`).
    Empty tables for sources that record none of these.
    """
    from analysis.reporting.flags import screening_table

    tables = pd.DataFrame(
        [{"table": t, "title": e.get("title", ""), "columns": ", ".join(e.get("columns", []))}
         for t, e in sorted(metadata.get("tables", {}).items())]
    )
    seams = pd.DataFrame(
        [{"column": s.get("column"), "from": s.get("from_table"), "to": s.get("to_table"),
          "last year before": s.get("last_year_before"),
          "first year after": s.get("first_year_after"),
          "compared years": len(s.get("comparison", []))}
         for s in metadata.get("seams", [])]
    )
    real = metadata.get("statline", {})
    routes = real.get("population_routes", {}).get("rows_per_year_and_route", {})
    population = pd.DataFrame(routes).T.fillna(0).astype(int).sort_index()
    aggregates = real.get("regional_aggregates_left_out", {})
    outside = real.get("figures_outside_lifetime_left_out", [])
    absent = real.get("municipalities_absent_from_table", {})
    not_placed = pd.DataFrame(
        [{"table": t, "what": "regional aggregates (not municipalities)", "n": len(v),
          "e.g.": ", ".join(v[:3])} for t, v in sorted(aggregates.items()) if v]
        + [{"table": o.get("table"), "what": o.get("why"), "n": 1,
            "e.g.": f"{o.get('name')} {o.get('year')}"} for o in outside]
        + [{"table": t, "what": f"municipalities absent from the table{when}", "n": len(v),
            "e.g.": ", ".join(map(str, v[:3]))} for t, when, v in _per_year(absent) if v]
    )
    return {"tables": tables, "seams": seams, "population": population,
            "not placed": not_placed, "screening": screening_table(metadata)}


def _per_year(absent: dict) -> list[tuple[str, str, list]]:
    """``{table: [codes]}`` or ``{table: {year: [codes]}}`` as (table, " in <year>", codes)."""
    rows = []
    for table, value in sorted(absent.items()):
        if isinstance(value, dict):
            rows += [(table, f" in {year}", codes) for year, codes in sorted(value.items())]
        else:
            rows.append((table, "", value))
    return rows
