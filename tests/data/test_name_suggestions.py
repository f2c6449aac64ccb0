"""Unknown municipality names get the closest valid names and common aliases."""

from __future__ import annotations

import pandas as pd
import pytest

import analysis
from analysis.data.boundaries import load_boundary_history
from analysis.data.cbs.exports.names import UnmatchedMunicipalityError, match_municipalities
from analysis.data.owndata.panel import DEFAULT_HISTORY, OwnDataError


def _build(name: str, year: int = 2019):
    own = pd.DataFrame({"municipality": [name], "year": [year], "clients": [1]})
    return analysis.panel_from_frame(own, 2019, roles={"clients": "count"})


@pytest.mark.parametrize(("name", "suggestion"), [
    ("Den Haag", "'s-Gravenhage (gemeente)"),  # an alias: not a CBS title
    ("Den Bosch", "'s-Hertogenbosch"),
    ("Amsterdm", "Amsterdam"),  # a typo: difflib
    ("Groningn", "Groningen (gemeente)"),  # close to the name without its qualifier
])
def test_an_unknown_name_gets_the_closest_valid_names(name, suggestion):
    with pytest.raises(OwnDataError, match=f"'{name}' in 2019 .*did you mean .*"
                                           f"{suggestion.replace('(', '.').replace(')', '.')}"):
        _build(name)


def test_an_ambiguous_name_says_which_codes_it_could_be():
    with pytest.raises(OwnDataError, match=r"'Bergen' in 2019 \(ambiguous: GM0373 Bergen \(NH\.\)"):
        _build("Bergen")


def test_a_name_like_nothing_gets_no_guess():
    with pytest.raises(OwnDataError, match=r"'Xyzzy' in 2019 \(no CBS municipality has this "
                                           r"name\)$"):
        _build("Xyzzy")


def test_the_statline_matcher_suggests_too():
    history = load_boundary_history(DEFAULT_HISTORY)
    with pytest.raises(UnmatchedMunicipalityError, match="did you mean \"'s-Gravenhage"):
        match_municipalities(pd.Series(["Den Haag"]), 2020, history)
