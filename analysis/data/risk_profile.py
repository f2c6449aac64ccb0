"""A 2015 risk profile per municipality (CBS district map 2015), on any later year's boundaries.

The SCP explains a municipality's use of youth care, Wmo and bijstand by who lives there:
age, household composition, migration background, income, benefits, urbanity. CBS's
district-and-neighbourhood map of 2015 (:mod:`analysis.data.district_map`, vendored) has
these for all 393 municipalities of 1 January 2015. :func:`load_risk_profile_2015` reads
the attributes of :data:`ATTRIBUTES` and maps them onto a later year's boundaries with
the panel's own harmonisation (:func:`analysis.data.harmonise.harmonise_to_boundaries`,
crosswalks of :class:`analysis.data.boundaries.BoundaryHistory`, boundary corrections
weighted by the 2015 population), so a merged unit has the profile of its parts:

* counts (inhabitants, households, dwellings, benefits, area) are summed;
* shares and averages are means of the parts weighted by their own denominator:
  population for age, marital status and migration background, households for household
  composition and household income, income recipients for personal income, dwellings
  for housing and the address density;
* density is recomputed as inhabitants per km2 of land, and urbanity (``STED``) from the
  harmonised address density with CBS's class bounds (:data:`URBANITY_BOUNDS`).

Where CBS's denominator is not in the file the nearest one is used and said so in
:data:`ATTRIBUTES`: household income shares refer to private households with an income
(weighted here by all households), the address density is an average over addresses
(weighted here by dwellings). CBS rounds percentages to whole numbers, so a merged unit's
share carries that rounding (at most 0.5 percentage point).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.data import schema

COUNT, POP, HH, INK, DW = "count", "mean:population", "mean:households", "mean:income_recipients", \
    "mean:dwellings"  # fmt: skip
# panel name -> (CBS column, role across merged municipalities, what it is)
ATTRIBUTES: dict[str, tuple[str, str, str]] = {
    schema.POPULATION: ("AANT_INW", "denominator", "inhabitants on 1 January 2015"),
    "men": ("AANT_MAN", COUNT, "men"),
    "women": ("AANT_VROUW", COUNT, "women"),
    "share_0_14": ("P_00_14_JR", POP, "% of inhabitants aged 0-14"),
    "share_15_24": ("P_15_24_JR", POP, "% aged 15-24"),
    "share_25_44": ("P_25_44_JR", POP, "% aged 25-44"),
    "share_45_64": ("P_45_64_JR", POP, "% aged 45-64"),
    "share_65_plus": ("P_65_EO_JR", POP, "% aged 65 or older"),
    "share_unmarried": ("P_ONGEHUWD", POP, "% unmarried"),
    "share_married": ("P_GEHUWD", POP, "% married"),
    "share_divorced": ("P_GESCHEID", POP, "% divorced"),
    "share_widowed": ("P_VERWEDUW", POP, "% widowed"),
    "births": ("GEBOO_TOT", COUNT, "live births in 2014"),
    "deaths": ("STERFT_TOT", COUNT, "deaths in 2014"),
    "households": ("AANTAL_HH", COUNT, "private households"),
    "share_one_person_households": ("P_EENP_HH", HH, "% one-person households"),
    "share_households_without_children": ("P_HH_Z_K", HH, "% households without children"),
    "share_households_with_children": ("P_HH_M_K", HH, "% households with children"),
    "average_household_size": ("GEM_HH_GR", HH, "persons per household"),
    "share_western": ("P_WEST_AL", POP, "% western migration background"),
    "share_non_western": ("P_N_W_AL", POP, "% non-western migration background"),
    "share_moroccan": ("P_MAROKKO", POP, "% Moroccan background"),
    "share_antillean_aruban": ("P_ANT_ARU", POP, "% Antillean or Aruban background"),
    "share_surinamese": ("P_SURINAM", POP, "% Surinamese background"),
    "share_turkish": ("P_TURKIJE", POP, "% Turkish background"),
    "share_other_non_western": ("P_OVER_NW", POP, "% other non-western background"),
    "dwellings": ("WONINGEN", COUNT, "dwellings"),
    "woz_value_keur": ("WOZ", DW, "average WOZ value of dwellings, x 1,000 euro"),
    "share_owner_occupied": ("P_KOOPWON", DW, "% owner-occupied dwellings"),
    "share_rented": ("P_HUURWON", DW, "% rented dwellings"),
    "share_social_housing": ("P_HUURCORP", DW, "% dwellings of housing corporations"),
    "income_recipients": ("AANT_INK", COUNT, "persons with an income"),
    "income_per_recipient_keur": ("INK_ONTV", INK, "average income per recipient, x 1,000 euro"),
    "income_per_inhabitant_keur": ("INK_INW", POP, "average income per inhabitant, x 1,000 euro"),
    "share_low_income_persons": ("P_LAAGINKP", INK, "% persons with a low income (of recipients)"),
    "share_high_income_persons": ("P_HOOGINKP", INK, "% persons with a high income"),
    "share_low_income_households": ("P_LAAGINKH", HH,
                                    "% low-income households (CBS: of private households with "
                                    "an income; weighted here by all households)"),
    "share_high_income_households": ("P_HOOGINKH", HH, "% high-income households (idem)"),
    "share_low_purchasing_power": ("P_LKOOPKRH", HH, "% households with low purchasing power"),
    "share_social_minimum_households": ("P_SOCMINH", HH,
                                        "% households at or near the social minimum (idem)"),
    "disability_benefits": ("AO_UIT_TOT", COUNT, "disability benefits (AO)"),
    "unemployment_benefits": ("WW_UIT_TOT", COUNT, "unemployment benefits (WW)"),
    "bijstand_benefits": ("WWB_UITTOT", COUNT, "bijstand benefits (households, not persons)"),
    "address_density": ("OAD", DW, "addresses per km2 around an address (CBS: mean over "
                        "addresses; weighted here by dwellings)"),
    "land_area_ha": ("OPP_LAND", COUNT, "land area, hectares"),
    "water_area_ha": ("OPP_WATER", COUNT, "water area, hectares"),
    "population_density": ("BEV_DICHTH", "rate:population/land_area_ha*100",
                           "inhabitants per km2 of land, recomputed"),
}
URBANITY = "urbanity"  # CBS stedelijkheid 1 (very strongly urban) - 5 (not urban), from OAD
# CBS's bounds of the address density (addresses per km2) for urbanity classes 1-4.
URBANITY_BOUNDS = (2500, 1500, 1000, 500)


def urbanity(address_density: pd.Series) -> pd.Series:
    """CBS urbanity class: 1 (>= 2,500 addresses per km2) ... 5 (< 500); missing stays missing."""
    density = address_density.astype(float)
    classes = 5 - np.searchsorted(np.array(URBANITY_BOUNDS[::-1], dtype=float), density,
                                  side="right")
    return pd.Series(classes, index=address_density.index, dtype="Int64").mask(density.isna())


def load_risk_profile_2015(
    boundary_year: int = 2023, *, history=None, raw_dir: str | Path | None = None
) -> pd.DataFrame:
    """The 2015 risk profile of every municipality of ``boundary_year`` (2015 or later).

    Parameters
    ----------
    boundary_year : int
        Municipalities of 1 January of this year; the attributes stay those of 2015.
    history : BoundaryHistory, optional
        Default: the vendored CBS history ``data/raw/statline/03759ned/codes-RegioS.json``.
    raw_dir : str or Path, optional
        Folder of the vendored ``gem_2015.dbf`` (default ``data/raw/district_map``).

    Returns
    -------
    pandas.DataFrame
        One row per municipality: ``municipality``, ``name``, ``province``, the columns of
        :data:`ATTRIBUTES`, ``urbanity`` (1-5), ``combined_from`` and ``n_combined`` (the
        2015 codes of the unit). A value is missing when a part's value is (CBS sentinel).
        ``attrs``: ``attributes`` (column -> CBS column, role, meaning), ``source``,
        ``boundary_year``, ``reference_date`` ("2015-01-01").

    Examples
    --------
    >>> profile = load_risk_profile_2015(2023)
    >>> len(profile), int(profile["population"].sum())
    (342, 16900726)
    >>> row = profile.set_index("municipality").loc["GM0363"]  # Amsterdam with Weesp
    >>> int(row["population"]), int(row["n_combined"])
    (840100, 2)
    """
    from analysis.data import paths
    from analysis.data.boundaries import load_boundary_history
    from analysis.data.district_map import YEAR, read_district_map
    from analysis.data.harmonise import harmonise_to_boundaries

    if boundary_year < YEAR:
        raise ValueError(f"load_risk_profile_2015: boundary year {boundary_year} is before 2015, "
                         "the district map's boundaries")
    if history is None:
        history = load_boundary_history(paths.STATLINE_RAW / "03759ned" / "codes-RegioS.json")
    raw = read_district_map(raw_dir)
    panel = pd.DataFrame({schema.MUNICIPALITY: raw[schema.MUNICIPALITY], schema.YEAR: YEAR})
    for column, (cbs, _, _) in ATTRIBUTES.items():
        panel[column] = raw[cbs]
    roles = {c: role for c, (_, role, _) in ATTRIBUTES.items() if c != schema.POPULATION}
    out = harmonise_to_boundaries(panel, boundary_year, history, baseline_year=YEAR, roles=roles)
    out[URBANITY] = urbanity(out["address_density"])
    keep = [schema.MUNICIPALITY, schema.NAME, schema.PROVINCE, *ATTRIBUTES, URBANITY,
            "combined_from", "n_combined"]
    out = out[keep].reset_index(drop=True)
    out.attrs = {
        "attributes": {c: {"cbs": cbs, "role": role, "what": what}
                       for c, (cbs, role, what) in ATTRIBUTES.items()},
        "source": raw.attrs["source"]["source"] + " (CBS Wijk- en buurtkaart 2015, Bron: CBS)",
        "boundary_year": boundary_year,
        "reference_date": f"{YEAR}-01-01",
    }
    return out


__all__ = ["ATTRIBUTES", "URBANITY_BOUNDS", "load_risk_profile_2015", "urbanity"]
