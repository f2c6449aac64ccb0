"""The README's "What the real data say": the growth design on the real CBS panel, in words.

:func:`readme_section` computes the section from the real StatLine panel (growth since
each outcome's base year, large versus small municipalities, wild cluster bootstrap by
province with every sign vector enumerated, so the numbers do not depend on a seed);
:func:`update_readme` writes it between the markers of ``README.md``
(``make readme-findings``). ``tests/reporting/test_findings.py`` checks that the README
holds what :func:`readme_section` gives now, so a change of data or code that moves a
number fails until the section is regenerated.

Examples
--------
>>> text = readme_section()  # doctest: +SKIP
"""

from __future__ import annotations

import warnings
from pathlib import Path

from analysis.data import paths

__all__ = ["BEGIN", "END", "readme_section", "update_readme"]

BEGIN = "<!-- findings:begin (make readme-findings writes this section) -->"
END = "<!-- findings:end -->"


def readme_section(boundary_year: int = 2023) -> str:
    """The section's Markdown, from the real panel (built from data/raw/statline if needed)."""
    from analysis.data.build import read_panel
    from analysis.reporting.report import SOURCE_OUTCOMES
    from analysis.studies.since2015 import complete_sizes, plain_growth, size_gap_table

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        panel = complete_sizes(read_panel("statline", boundary_year))
        table = size_gap_table(panel, SOURCE_OUTCOMES["statline"], log=True)
    note = panel.attrs.get("size_note", "")
    return "\n".join([
        "REAL CBS DATA (Bron: CBS; the vendored StatLine bundle, "
        f"`data/raw/statline/`), on {boundary_year} boundaries. No outcome keeps one "
        "definition across 2015, so nothing here is an effect of the reform: each line "
        "compares the growth of large (50,000 inhabitants or more) and small municipalities "
        "after the outcome's base year, on the log scale, with the 95% interval of the wild "
        "cluster bootstrap by the 12 provinces. p-values are per "
        "outcome, not adjusted for the five comparisons (the notebook adds Holm, BH and "
        "Romano-Wolf).",
        "",
        plain_growth(table),
        "",
        robustness_lines(boundary_year),
        "",
        f"Sizes: {note}." if note else "",
        "Regenerate with `make readme-findings` (notebook `07_small_municipalities` "
        "has the full analysis).",
    ]).replace("\n\n\n", "\n\n")


def robustness_lines(boundary_year: int = 2023) -> str:
    """The same comparisons over a specification curve: the widest interval, and how many agree.

    From :func:`analysis.reporting.headline_summary.headline_summary` (the table the real
    report leads with): per outcome the headline's widest 95% interval over the cluster
    choices (province, youth-care region, municipality) and the share of specifications
    whose interval agrees in sign and excludes 0.
    """
    from analysis.reporting.headline_summary import headline_summary
    from analysis.studies.robustness import grid_text

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = headline_summary("statline", boundary_year)
    lines = [
        "Robustness (the one-screen summary the real report leads with): the same comparison "
        f"over a specification curve ({grid_text(table)}). The widest interval over the "
        "cluster choices is the headline:"
    ]
    for row in table.to_dict("records"):
        est, low, high = (row.get(f"percent_headline_{k}", 100 * row[f"headline_{k}"])
                          for k in ("estimate", "ci_low", "ci_high"))
        if est != est:  # NaN: nothing estimable
            lines.append(f"- {row['outcome']}: no estimable headline.")
            continue
        lines.append(
            f"- {row['outcome']}: {_pct(est)} (95% interval {_pct(low)} to {_pct(high)}, "
            f"widest with clusters = {row['headline_cluster']}); "
            f"{100 * row['share_agreeing_excluding_zero']:.0f}% of {row['estimated']} "
            f"specifications agree in sign and exclude 0; {row['screening_flags']} screening "
            "flags touch it."
        )
    return "\n".join(lines)


def _pct(value: float) -> str:
    # one decimal, but never a bound that rounds to a signed zero (-0.05 is not 0)
    return f"{value:+.1f}%" if abs(value) >= 0.05 else f"{value:+.2f}%"


def update_readme(readme: Path | None = None) -> bool:
    """Write :func:`readme_section` between the markers; say whether the file changed."""
    readme = Path(readme or paths.ROOT / "README.md")
    text = readme.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        raise ValueError(f"{readme}: markers {BEGIN!r} and {END!r} not found")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{BEGIN}\n{readme_section()}\n{END}{tail}"
    if new != text:
        readme.write_text(new, encoding="utf-8")
    return new != text


def current_section(readme: Path | None = None) -> str:
    """What the README holds between the markers now."""
    text = Path(readme or paths.ROOT / "README.md").read_text(encoding="utf-8")
    return text.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n")
