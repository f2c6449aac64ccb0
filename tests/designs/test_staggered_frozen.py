"""Frozen bootstrap outputs of ``staggered_did``: the draws, bootstrap SEs and bands.

The literal numbers below were printed by the code before the bootstrap was rewritten
for speed (issue 22): the draws (Mammen and Rademacher, unit and coarser clusters), the
critical values, the bootstrap standard errors and the band limits of ATT(g,t) and of the
four aggregations must stay exactly what they were, so a faster path cannot silently
change a published band. Per entry: critical value, then ``row: (boot_se, band limit)``
(``cband_low`` for ATT(g,t), ``cband_high`` for the aggregations).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import staggered_did

CASES = {
    "mammen_s0": (0, {"seed": 0}),
    "mammen_s7": (1, {"seed": 7}),
    "rademacher": (2, {"seed": 3, "multiplier": "rademacher"}),
    "cluster": (3, {"seed": 11, "cluster": "region"}),
}
FROZEN = {
    "mammen_s0": {
        "att_gt": (2.9875572620580835, {
            0: (0.26485704610157473, -0.5934533939513271),
            12: (0.2214294949825619, 0.44593057991960805),
            23: (0.2503103212442237, 1.0290540817194551),
        }),
        "simple": (1.959963984540054, {
        }),
        "group": (2.4390969449297173, {
            1: (0.19049428573560406, 2.180468235020607),
            2: (0.17088490176162935, 2.0387100992188314),
            3: (0.20152892811253156, 2.006401742594176),
        }),
        "dynamic": (2.736491341879352, {
            1: (0.24253622457095672, 0.6845191619174347),
            7: (0.14328698915946023, 1.5514336563223732),
            12: (0.24937398700742366, 3.2628354281728877),
        }),
        "calendar": (2.679243752345833, {
            1: (0.2329845255570571, 1.8302041823242587),
            4: (0.21593553869899879, 2.1872467181564454),
            6: (0.15972083641328605, 2.6383069512456596),
        }),
    },
    "mammen_s7": {
        "att_gt": (3.0151876103909263, {
            0: (0.21923340060783233, -0.2902835177117301),
            12: (0.2514012001877447, 0.1771787840999064),
            23: (0.21852951288371894, 0.5882492988836969),
        }),
        "simple": (1.959963984540054, {
        }),
        "group": (2.394160516877894, {
            1: (0.19164457748917407, 2.324072589393208),
            2: (0.2145596962269509, 2.022489787389559),
            3: (0.2014488654991165, 1.6705622211289421),
        }),
        "dynamic": (2.8034843004576113, {
            1: (0.21577324326990413, 0.8409551195244546),
            7: (0.14027696559254288, 1.4980721298452981),
            12: (0.2385103772375392, 3.3953998989781535),
        }),
        "calendar": (2.6863553682515287, {
            1: (0.2233414901517445, 1.8387812858091053),
            4: (0.21535312593281264, 2.193996307869888),
            6: (0.1595847713076665, 2.4842020343777524),
        }),
    },
    "rademacher": {
        "att_gt": (3.030704035143004, {
            0: (0.2298454078372488, -0.6878499295086303),
            12: (0.23397826211349634, 0.2995905311742577),
            23: (0.24402947404603767, 0.39485905044267966),
        }),
        "simple": (1.959963984540054, {
        }),
        "group": (2.4373419643195695, {
            1: (0.16962618444816463, 2.042034180723756),
            2: (0.18352849076034108, 1.7289661150727893),
            3: (0.22453010335569232, 1.668151797528742),
        }),
        "dynamic": (2.8099351839887454, {
            1: (0.24375771962739848, 0.42640708547324696),
            7: (0.13765976742514704, 1.4160660219882515),
            12: (0.1917833670911431, 2.688613229126991),
        }),
        "calendar": (2.69282275408131, {
            1: (0.2224565831322449, 1.4926345914527113),
            4: (0.1994436831599663, 1.9119969164065131),
            6: (0.14183104649473738, 1.9665321112281924),
        }),
    },
    "cluster": {
        "att_gt": (2.996979082836863, {
            0: (0.21893446698940325, -0.6825147613248741),
            12: (0.21564063545620393, -0.05395939458424326),
            23: (0.2817122649002943, 0.12104243908509438),
        }),
        "simple": (1.959963984540054, {
        }),
        "group": (2.3346111813021206, {
            1: (0.18729064442638788, 2.1557741156305585),
            2: (0.20262367771983192, 1.6680540003677256),
            3: (0.24373044647945857, 1.4788218652623446),
        }),
        "dynamic": (2.677350241960825, {
            1: (0.2683627870818744, 1.0790167028485569),
            7: (0.12601609207373593, 1.0714128638510436),
            12: (0.2208976545055113, 3.103656346472196),
        }),
        "calendar": (2.4987737571759623, {
            1: (0.21938490139449404, 1.2480856458045846),
            4: (0.19881447482027395, 1.934689649332463),
            6: (0.1603867409003616, 2.1466968884956787),
        }),
    },
}  # fmt: skip


def _panel(seed: int, units: int = 301, years: int = 9) -> pd.DataFrame:
    """Four cohorts (one never treated), an odd unit count (odd rows per draw)."""
    rng = np.random.default_rng(seed)
    yrs = np.arange(2010, 2010 + years)
    unit, year = np.repeat(np.arange(units), years), np.tile(yrs, units)
    cohort = np.array([0, 2013, 2015, 2017])[rng.integers(0, 4, units)][unit]
    effect = np.where((cohort > 0) & (year >= cohort), 1.0 + 0.3 * (year - cohort), 0.0)
    y = rng.normal(size=units)[unit] + 0.1 * (year - 2010) + effect + rng.normal(size=len(unit))
    return pd.DataFrame({"unit": unit, "year": year, "cohort": cohort, "y": y, "region": unit % 37})


@pytest.mark.parametrize("case", sorted(CASES))
def test_bootstrap_outputs_are_frozen(case: str) -> None:
    panel_seed, kw = CASES[case]
    res = staggered_did(_panel(panel_seed), "y", entity="unit", time="year", cohort="cohort", **kw)
    for kind, (crit, rows) in FROZEN[case].items():
        fit = res if kind == "att_gt" else res.aggregate(kind)
        band = fit.table["cband_low" if kind == "att_gt" else "cband_high"].to_numpy()
        assert fit.extra["critical_value"] == crit, kind
        for i, (boot_se, limit) in rows.items():
            assert fit.table["boot_se"].iloc[i] == boot_se, (kind, i)
            assert band[i] == limit, (kind, i)
