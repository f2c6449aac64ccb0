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
        "cluster bootstrap by the 12 provinces (the widest honest one). p-values are per "
        "outcome, not adjusted for the five comparisons (the notebook adds Holm, BH and "
        "Romano-Wolf).",
        "",
        plain_growth(table),
        "",
        f"Sizes: {note}." if note else "",
        "Regenerate with `make readme-findings` (notebook `07_small_municipalities` "
        "has the full analysis).",
    ]).replace("\n\n\n", "\n\n")


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
