"""Every design refuses what it cannot estimate, in words, or handles it as documented.

One test per bad input listed in issue 11 (item 3), run through every public design:
did_2x2, twfe, event_study, intensity_did, triple_diff, placebo_in_time,
placebo_outcomes, run_many, and the wild cluster bootstrap. At the end a property
test (hypothesis, derandomized so CI is deterministic) feeds random small panels
with missing values, infinities, duplicate rows and degenerate columns to every
design and asserts a refusal in words from this package or a finite result whose
dropped rows are reported.
"""

from __future__ import annotations

import os
import re
import traceback
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import (
    did_2x2,
    event_study,
    intensity_did,
    placebo_in_time,
    placebo_outcomes,
    run_many,
    triple_diff,
    twfe,
    wild_cluster_bootstrap,
)
from analysis.inference.linear import COLLINEAR_TOL, collinear_columns

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # few-clusters warnings


def make_panel(n_units: int = 40, years=range(2011, 2019), seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    years = list(years)
    df = pd.DataFrame(
        {"unit": np.repeat(np.arange(n_units), len(years)), "year": np.tile(years, n_units)}
    )
    df["large"] = (df["unit"] % 2).astype(float)
    df["dose"] = np.repeat(rng.normal(size=n_units), len(years))
    df["x"] = rng.normal(size=len(df))
    df["z"] = rng.normal(size=len(df))
    post = (df["year"] >= 2015).astype(float)
    df["y"] = (0.5 * df["x"] + 1.0 * df["large"] * post + 0.3 * df["dose"] * post
               + rng.normal(size=n_units)[df["unit"]] + rng.normal(size=len(df)))
    df["y2"] = df["y"] * 0.5 + rng.normal(size=len(df))
    return df


def _long(df: pd.DataFrame) -> pd.DataFrame:
    """unit x age x year. The adult copy has its own outcome noise, and covariates that
    differ from the young's (else the unit x year effects absorb them), by a linear map
    that keeps near-collinearity, inf and NaN as they are."""
    noise = np.sin(7.3 * df.index.to_numpy())  # tied to the row, so dropping rows keeps it
    adult = df.assign(age="adult", y=df["y"] * 0.3 + noise)
    for c in df.columns.difference(["unit", "year", "large", "dose", "y", "y2"]):
        if pd.api.types.is_float_dtype(df[c]):
            adult[c] = -0.5 * df[c] + 1.0
    return pd.concat([df.assign(age="young"), adult], ignore_index=True)


# design name -> f(df, covariates) with the panel's column names
DESIGNS: dict[str, Callable] = {
    "did_2x2": lambda df, cov: did_2x2(df, "y", group="large", entity="unit", time="year",
                                       covariates=cov),
    "twfe": lambda df, cov: twfe(df, "y", ["z", *cov], entity="unit", time="year"),
    "event_study": lambda df, cov: event_study(df, "y", treatment="large", entity="unit",
                                               time="year", covariates=cov),
    "intensity_did": lambda df, cov: intensity_did(df, "y", dose="dose", entity="unit",
                                                   time="year", covariates=cov, bins=0),
    "triple_diff": lambda df, cov: triple_diff(_long(df), "y", subgroup="age",
                                               exposed="young", entity="unit", time="year",
                                               covariates=cov),
    "placebo_in_time": lambda df, cov: placebo_in_time(df, "y", design="did_2x2",
                                                       group="large", entity="unit",
                                                       covariates=cov),
    "placebo_outcomes": lambda df, cov: placebo_outcomes(df, ["y"], design="did_2x2",
                                                         group="large", entity="unit",
                                                         covariates=cov),
    "run_many": lambda df, cov: run_many(df, ["y", "y2"], design="twfe",
                                         regressors=["z", *cov], entity="unit", time="year"),
}
every_design = pytest.mark.parametrize("design", list(DESIGNS))


def notes_of(result) -> list[str]:
    return list(result.notes) if hasattr(result, "notes") else list(result.attrs["notes"])


def estimates_of(result) -> np.ndarray:
    return result.table["estimate"].to_numpy() if hasattr(result, "notes") else (
        result["estimate"].to_numpy()
    )


# -- inf ------------------------------------------------------------------------------------------


@every_design
def test_inf_in_the_outcome_is_refused_naming_column_and_row(design):
    df = make_panel()
    df.loc[df.index[(df["unit"] == 3) & (df["year"] == 2012)], "y"] = np.inf
    # (triple_diff has the row once per age group; placebo_in_time names the period only)
    with pytest.raises(ValueError, match=r"column 'y' is infinite in [12] row\(s\) \((unit=3, "
                                         r")?(age='young', )?year=2012.*set them to NaN"):
        DESIGNS[design](df, ["x"])


@every_design
def test_inf_in_a_regressor_is_refused_naming_it(design):
    df = make_panel()
    df.loc[[5, 17], "x"] = [np.inf, -np.inf]  # 2016 and 2012; the placebo keeps only 2012
    with pytest.raises(ValueError, match=r"column 'x' is infinite in [124] row\(s\)"):
        DESIGNS[design](df, ["x"])


def test_inf_set_to_nan_is_dropped_with_a_note():
    df = make_panel()
    df.loc[5, "y"] = np.nan
    res = twfe(df, "y", ["x"], entity="unit", time="year")
    assert res.n_obs == len(df) - 1
    assert any("dropped 1 of 320 rows with missing values (y: 1)" in n for n in res.notes)


# -- near-collinear regressors --------------------------------------------------------------------


@every_design
def test_near_collinear_regressors_are_refused_naming_the_later_one(design):
    df = make_panel()
    df["x_copy"] = df["x"] + 1e-7 * np.random.default_rng(1).normal(size=len(df))
    with pytest.raises(ValueError, match=r"\['x_copy'\] are linear combinations of the others "
                                         r"\(x_copy on \['x'\]: 1 - R\^2 = [0-9.]+e-1\d, "
                                         r"tolerance 1e-09"):
        DESIGNS[design](df, ["x", "x_copy"])


def test_collinearity_tolerance_is_scale_free_and_stated():
    """1 - R^2 = 1e-8 passes, 1e-10 is refused, whatever the units of the column."""
    assert COLLINEAR_TOL == 1e-9
    rng = np.random.default_rng(2)
    x = rng.normal(size=500)
    e = rng.normal(size=500)
    e -= x * (x @ e) / (x @ x)  # orthogonal to x: 1 - R^2 of x2 on x is known exactly
    for share, flagged in [(1e-8, []), (1e-10, [1])]:
        x2 = x + np.sqrt(share) * e * np.linalg.norm(x) / np.linalg.norm(e)
        for unit in (1e-6, 1.0, 1e6):
            X = np.column_stack([x, x2 * unit])
            assert collinear_columns(X.T @ X) == flagged, (share, unit)


def test_pyfixest_drops_what_is_refused_here_and_agrees_where_both_estimate():
    pf = pytest.importorskip("pyfixest")
    df = make_panel()
    rng = np.random.default_rng(3)
    df["x_near"] = df["x"] + 1e-7 * rng.normal(size=len(df))
    df["x_far"] = df["x"] + 1e-2 * rng.normal(size=len(df))  # 1 - R^2 about 1e-4: kept
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ref = pf.feols("y ~ x + x_near | unit + year", df, vcov={"CRV1": "unit"})
    assert "x_near" not in ref.coef().index
    assert any("multicollinearity" in str(w.message) for w in caught)
    with pytest.raises(ValueError, match=r"\['x_near'\]"):
        twfe(df, "y", ["x", "x_near"], entity="unit", time="year")
    ref = pf.feols("y ~ x + x_far | unit + year", df, vcov={"CRV1": "unit"})
    res = twfe(df, "y", ["x", "x_far"], entity="unit", time="year")
    assert res.estimate("x_far") == pytest.approx(ref.coef()["x_far"], rel=1e-6)
    assert res.std_error("x_far") == pytest.approx(ref.se()["x_far"], rel=1e-6)


def test_regressor_nearly_constant_within_units_is_absorbed():
    df = make_panel()
    df["unit_level"] = df["unit"] * 1.0 + 1e-8 * np.random.default_rng(4).normal(size=len(df))
    with pytest.raises(ValueError, match=r"\['unit_level'\] are absorbed by the fixed effects "
                                         r"\(unit, year\).*below 1e-09"):
        twfe(df, "y", ["x", "unit_level"], entity="unit", time="year")


def test_all_zero_regressor_without_effects_is_named():
    df = make_panel().assign(zero=0.0)
    with pytest.raises(ValueError, match=r"\['zero'\] are linear combinations.*zero is zero "
                                         r"in every row"):
        twfe(df, "y", ["x", "zero"], entity="unit", time="year", effects=())


def test_outcome_without_variation_or_fitted_exactly_is_refused():
    df = make_panel()
    with pytest.raises(ValueError, match="the outcome has no variation after absorbing"):
        twfe(df.assign(y=5.0), "y", ["x"], entity="unit", time="year")
    with pytest.raises(ValueError, match="the outcome has no variation after absorbing"):
        twfe(df.assign(y=df["unit"] * 2.0 + df["year"]), "y", ["x"], entity="unit",
             time="year")
    with pytest.raises(ValueError, match="fitted exactly by the regressors"):
        twfe(df.assign(y=2 * df["x"] - df["z"]), "y", ["x", "z"], entity="unit", time="year")


# -- wild bootstrap: unbounded intervals, draws, level ---------------------------------------------


def clustered(n_clusters: int, seed: int = 0):
    df = make_panel(n_units=6 * n_clusters, seed=seed)
    df["g"] = df["unit"] % n_clusters
    return twfe(df, "y", ["x"], entity="unit", time="year", cluster="g")


@pytest.mark.parametrize("n_clusters, level", [(2, 0.95), (3, 0.95), (5, 0.95), (6, 0.95),
                                               (5, 0.90), (7, 0.99), (8, 0.99)])
def test_interval_is_unbounded_exactly_when_two_of_2g_sign_vectors_reach_1_minus_level(
    n_clusters, level
):
    """Enumerated Rademacher: the 2 constant sign vectors reproduce the observed t at
    every null value, so far from the estimate p -> 2/2^G; unbounded iff 2/2^G >= 1-level."""
    boot = wild_cluster_bootstrap(clustered(n_clusters), term="x", level=level)
    assert boot.enumerated
    if 2 / 2**n_clusters >= 1 - level:
        assert (boot.ci_low, boot.ci_high) == (-np.inf, np.inf)
        assert any("interval is unbounded (-inf, inf)" in n for n in boot.notes)
    else:
        assert np.isfinite([boot.ci_low, boot.ci_high]).all()
        assert boot.ci_low < boot.estimate < boot.ci_high
        assert not any("unbounded" in n for n in boot.notes)


def test_two_clusters_report_unbounded_not_rounding_noise():
    res = clustered(2)
    boot = wild_cluster_bootstrap(res, term="x")
    assert boot.p_value == 0.5  # 2 of the 4 sign vectors always tie
    assert "CI [-inf, inf]" in boot.summary()
    # far out, the p-value is the share of constant sign vectors, not a rounding accident
    far = wild_cluster_bootstrap(res, term="x", null=boot.estimate + 1e12, ci=False)
    assert far.p_value == 0.5
    six = clustered(6)
    far6 = wild_cluster_bootstrap(six, term="x", null=1e12, ci=False)
    assert far6.p_value == 2 / 64


def test_webb_weights_with_two_clusters_are_unbounded_too():
    boot = wild_cluster_bootstrap(clustered(2), term="x", weights="webb", draws=999)
    assert (boot.ci_low, boot.ci_high) == (-np.inf, np.inf)


@pytest.mark.parametrize("draws", [0, -5, 2.5, True, "999"])
def test_bad_draws_are_refused(draws):
    with pytest.raises(ValueError, match=r"draws must be a whole number of bootstrap draws of "
                                         r"at least 1"):
        wild_cluster_bootstrap(clustered(6), term="x", draws=draws)


def test_bad_romano_wolf_draws_are_refused_before_fitting():
    with pytest.raises(ValueError, match="romano_wolf_draws must be a whole number"):
        run_many(make_panel(), ["y", "no_such_outcome"], design="did_2x2", group="large",
                 entity="unit", romano_wolf_draws=0)


@pytest.mark.parametrize("level", [1.5, 95, 0, 1, -0.1, float("nan"), "0.95"])
def test_level_outside_0_1_is_refused(level):
    res = clustered(6)
    with pytest.raises(ValueError, match="level must be a number strictly between 0 and 1"):
        wild_cluster_bootstrap(res, term="x", level=level)
    with pytest.raises(ValueError, match="level must be a number strictly between 0 and 1"):
        res.fit.conf_int(level)


def test_bad_null_or_contrast_is_refused():
    res = clustered(6)
    with pytest.raises(ValueError, match="null must be a finite number"):
        wild_cluster_bootstrap(res, term="x", null=np.inf)
    with pytest.raises(ValueError, match="contrast .* not all zero"):
        wild_cluster_bootstrap(res, contrast={"x": 0.0})


# -- missing ids ----------------------------------------------------------------------------------


@every_design
@pytest.mark.parametrize("column", ["unit", "year"])
def test_missing_entity_or_time_rows_are_dropped_and_reported(design, column):
    df = make_panel()
    df[column] = df[column].astype(float)
    rows = df.index[(df["year"] == 2012) & df["unit"].isin([4, 7])]
    df.loc[rows, column] = np.nan
    res = DESIGNS[design](df, ["x"])
    notes = notes_of(res)
    n_rows = 4 if design == "triple_diff" else 2  # one row per age group there
    assert any(f"rows with a missing id ({column}: {n_rows})" in n for n in notes), notes
    # the documented handling is the same as leaving those rows out
    ref = DESIGNS[design](make_panel().drop(index=rows), ["x"])
    np.testing.assert_allclose(estimates_of(res), estimates_of(ref), rtol=1e-10)


def test_missing_subgroup_rows_are_dropped_and_reported():
    long = _long(make_panel())
    long.loc[[0, 1], "age"] = None
    res = triple_diff(long, "y", subgroup="age", exposed="young", entity="unit", time="year")
    assert any("dropped 2 of 640 rows with a missing id (age: 2)" in n for n in res.notes)


def test_every_id_missing_is_refused():
    df = make_panel().assign(unit=np.nan)
    with pytest.raises(ValueError, match=r"every row has a missing id \(unit: 320\)"):
        twfe(df, "y", ["x"], entity="unit", time="year")


# -- text, categorical, repeated regressors --------------------------------------------------------


@every_design
def test_text_regressor_is_refused_naming_it(design):
    df = make_panel()
    df["region"] = np.where(df["unit"] % 3 == 0, "north", "south")
    with pytest.raises(TypeError, match=r"column 'region' holds text \('north', 'south'\).*"
                                        r"pd.get_dummies"):
        DESIGNS[design](df, ["x", "region"])


@every_design
def test_categorical_regressor_is_refused_naming_it(design):
    df = make_panel()
    df["region"] = pd.Categorical(np.where(df["unit"] % 3 == 0, "north", "south"))
    with pytest.raises(TypeError, match=r"column 'region' holds categories .*one 0/1 column "
                                        r"per category"):
        DESIGNS[design](df, ["x", "region"])


def test_text_outcome_or_treatment_is_refused():
    df = make_panel()
    with pytest.raises(TypeError, match=r"column 'y' holds text.*the outcome 'y' must be"):
        twfe(df.assign(y=df["y"].astype(str)), "y", ["x"], entity="unit", time="year")
    with pytest.raises(TypeError, match=r"column 'large' holds text"):
        did_2x2(df.assign(large=np.where(df["large"] > 0, "yes", "no")), "y", group="large",
                entity="unit")


@every_design
def test_regressor_listed_twice_is_refused(design):
    with pytest.raises(ValueError, match=r"regressor\(s\) \['x'\] listed more than once"):
        DESIGNS[design](make_panel(), ["x", "x"])


def test_covariate_named_like_a_built_term_is_refused():
    df = make_panel()
    df["post"] = df["x"]
    with pytest.raises(ValueError, match=r"covariate\(s\) \['post'\] have the name of a term"):
        did_2x2(df, "y", group="large", entity="unit", covariates=["post"])


# -- N <= K ---------------------------------------------------------------------------------------


def test_fewer_observations_than_coefficients_is_refused():
    df = make_panel(n_units=1, years=[2014, 2015])
    with pytest.raises(ValueError, match=r"2 observations for 2 coefficients \(Intercept, x\): "
                                         r"N must exceed K"):
        twfe(df, "y", ["x"], entity="unit", time="year", effects=(), vcov="iid")


@pytest.mark.parametrize("vcov", ["iid", "hetero", "cluster"])
def test_no_residual_degrees_of_freedom_is_refused(vcov):
    # 2 units x 3 years, unit + year effects and 2 slopes: K = 2 + (2 + 3 - 1) = 6 = N
    df = make_panel(n_units=2, years=[2013, 2014, 2015])
    with pytest.raises(ValueError, match=r"6 observations but K=\d parameters .*no residual "
                                         r"degrees of freedom \(N <= K\)"):
        twfe(df, "y", ["x", "z"], entity="unit", time="year", vcov=vcov,
             cluster="unit" if vcov == "cluster" else None)


def test_did_2x2_on_four_cells_is_refused():
    df = make_panel(n_units=2, years=[2014, 2015])
    with pytest.raises(ValueError, match="4 observations for 4 coefficients"):
        did_2x2(df, "y", group="large", entity="unit", vcov="iid")


# -- time column ----------------------------------------------------------------------------------


@pytest.mark.parametrize("design", ["did_2x2", "event_study", "intensity_did", "triple_diff",
                                    "placebo_in_time", "placebo_outcomes"])
def test_text_time_column_is_refused_where_periods_meet_the_reform_year(design):
    df = make_panel()
    df["year"] = df["year"].astype(str)
    with pytest.raises(TypeError, match=r"column 'year' holds text \('2011', '2012', '2013'\)"
                                        r".*compares periods with the reform year; convert "
                                        r"the periods to numbers"):
        DESIGNS[design](df, ["x"])


def test_text_time_column_is_only_a_label_in_twfe():
    df = make_panel()
    res = twfe(df.assign(year=df["year"].astype(str)), "y", ["x"], entity="unit", time="year")
    ref = twfe(df, "y", ["x"], entity="unit", time="year")
    assert res.estimate("x") == pytest.approx(ref.estimate("x"), rel=1e-12)
    assert res.std_error("x") == pytest.approx(ref.std_error("x"), rel=1e-12)


def test_date_or_fractional_time_in_event_study_is_refused():
    df = make_panel()
    dates = df.assign(year=pd.to_datetime(df["year"].astype(str) + "-01-01"))
    with pytest.raises(TypeError, match=r"holds dates .*\.dt\.year"):
        event_study(dates, "y", treatment="large", entity="unit", time="year")
    with pytest.raises(ValueError, match=r"year must hold whole periods"):
        event_study(df.assign(year=df["year"] + 0.5), "y", treatment="large", entity="unit",
                    time="year")


# -- weights, singletons --------------------------------------------------------------------------


def test_non_positive_weights_are_refused_naming_the_column():
    df = make_panel().assign(pop=1.0)
    df.loc[3, "pop"] = 0.0
    with pytest.raises(ValueError, match=r"weights column 'pop' is zero or negative in 1 "
                                         r"row\(s\) \(unit=0, year=2014\)"):
        twfe(df, "y", ["x"], entity="unit", time="year", weights="pop")


def test_singletons_are_kept_and_said_so_matching_pyfixest_without_singleton_removal():
    pf = pytest.importorskip("pyfixest")
    df = make_panel()
    df = df[~((df["unit"] < 5) & (df["year"] != 2013))]  # units 0-4 seen once
    res = twfe(df, "y", ["x"], entity="unit", time="year", cluster="unit")
    assert any("5 unit level(s) with a single observation (singletons) kept" in n
               for n in res.notes)
    assert res.n_obs == len(df)
    kept = pf.feols("y ~ x | unit + year", df, vcov={"CRV1": "unit"}, fixef_rm="none")
    dropped = pf.feols("y ~ x | unit + year", df, vcov={"CRV1": "unit"})
    assert dropped._N == len(df) - 5
    # the slope is the same either way; the clustered error is pyfixest's without removal
    assert res.estimate("x") == pytest.approx(dropped.coef()["x"], rel=1e-8)
    # (pyfixest's demeaning stops at its own tolerance: agreement to about 1e-8)
    assert res.std_error("x") == pytest.approx(kept.se()["x"], rel=1e-7)
    assert abs(res.std_error("x") / dropped.se()["x"] - 1) > 1e-3  # 0.0544 vs 0.0545


# -- property test: random small bad panels through every design -----------------------------------

OPS = ("nan_y", "nan_x", "nan_unit", "nan_year", "inf_y", "inf_x", "duplicate_row",
       "drop_row", "x_constant", "x_equals_z", "x_near_z", "x_zero", "y_constant",
       "group_flat", "dose_flat")


@st.composite
def bad_panels(draw) -> pd.DataFrame:
    """A small unit x year panel, then up to four corruptions at random rows."""
    n_units = draw(st.integers(2, 8))
    years = range(draw(st.integers(2011, 2014)), draw(st.integers(2015, 2017)) + 1)
    df = make_panel(n_units=n_units, years=years, seed=draw(st.integers(0, 2**16)))
    df[["unit", "year"]] = df[["unit", "year"]].astype(float)  # room for NaN
    for op in draw(st.lists(st.sampled_from(OPS), max_size=4)):
        row = df.index[draw(st.integers(0, len(df) - 1))]
        column = {"nan_y": "y", "nan_x": "x", "nan_unit": "unit", "nan_year": "year"}
        if op in column:
            df.loc[row, column[op]] = np.nan
        elif op in ("inf_y", "inf_x"):
            df.loc[row, op[-1]] = np.inf
        elif op == "duplicate_row":
            df = pd.concat([df, df.loc[[row]]], ignore_index=True)
        elif op == "drop_row":
            df = df.drop(index=row).reset_index(drop=True)
        elif op == "x_constant":
            df["x"] = 1.0
        elif op == "x_zero":
            df["x"] = 0.0
        elif op == "x_equals_z":
            df["z"] = df["x"]
        elif op == "x_near_z":
            df["z"] = df["x"] + 1e-8 * np.cos(np.arange(len(df)))
        elif op == "y_constant":
            df["y"] = 3.0
        elif op == "group_flat":
            df["large"] = 1.0
        else:
            df["dose"] = 0.5
    return df


def _raised_here_in_words(err: Exception) -> None:
    """A refusal comes from this package's own check, in a sentence, not from numpy/pandas."""
    frame = traceback.extract_tb(err.__traceback__)[-1]
    assert f"{os.sep}analysis{os.sep}" in frame.filename, (frame, repr(err))
    assert len(str(err)) > 30, repr(err)


def _assert_finite_result(res, n_rows: int) -> None:
    table = res.table if hasattr(res, "notes") else res
    values = table[["estimate", "std_error", "p_value"]].to_numpy(dtype=float)
    assert np.isfinite(values).all(), table
    assert (table["std_error"] > 0).all() and table["p_value"].between(0, 1).all(), table
    if hasattr(res, "notes") and res.n_obs < n_rows:  # every dropped row is reported
        assert any("dropped" in n for n in res.notes), res.notes


def _assert_bootstrap_documented(res) -> None:
    boot = wild_cluster_bootstrap(res, term="x", draws=99, seed=1)
    assert 0 <= boot.p_value <= 1
    if np.isfinite([boot.ci_low, boot.ci_high]).all():
        assert boot.ci_low <= boot.estimate <= boot.ci_high
    else:
        assert any("unbounded" in n for n in boot.notes), boot.notes


@settings(max_examples=50, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(df=bad_panels())
def test_every_design_gives_a_clear_error_or_a_finite_documented_result(df):
    rows = {name: 2 * len(df) if name == "triple_diff" else len(df) for name in DESIGNS}
    for name, design in DESIGNS.items():
        try:
            res = design(df, ["x"])
        except (ValueError, TypeError) as err:
            _raised_here_in_words(err)
            continue
        _assert_finite_result(res, rows[name])
    try:
        res = twfe(df, "y", ["x", "z"], entity="unit", time="year", cluster="unit")
        _assert_bootstrap_documented(res)
    except (ValueError, TypeError) as err:
        _raised_here_in_words(err)


# -- issue 20: staggered designs, exported tables ------------------------------------------------


def _staggered(seed: int = 0) -> pd.DataFrame:
    """40 units over 2011-2018, cohorts 2014 and 2016 and never treated."""
    df = make_panel(seed=seed)
    df["cohort"] = np.select([df["unit"] % 3 == 0, df["unit"] % 3 == 1], [2014, 2016], 0)
    df["y"] = df["y"] + 1.0 * ((df["cohort"] > 0) & (df["year"] >= df["cohort"]))
    return df


def test_imputation_did_refuses_an_infinite_outcome_naming_the_row():
    # before: every estimate NaN and no note
    from analysis import imputation_did

    df = _staggered()
    df.loc[5, "y"] = np.inf
    with pytest.raises(ValueError, match=r"imputation_did: column 'y' is infinite in 1 row\(s\)"):
        imputation_did(df, "y", entity="unit", time="year", cohort="cohort")


@pytest.mark.parametrize("bootstrap", [-1, 2.5, True, "999"])
def test_staggered_did_refuses_a_bootstrap_that_is_not_a_count(bootstrap):
    from analysis import staggered_did

    with pytest.raises(ValueError, match=r"staggered_did: bootstrap must be a whole number"):
        staggered_did(_staggered(), "y", entity="unit", time="year", cohort="cohort",
                      bootstrap=bootstrap)  # fmt: skip


def _result_named(term: str):
    res = twfe(make_panel(), "y", ["z"], entity="unit", time="year")
    res.table.loc[0, "term"] = term
    return res


def test_markdown_tables_survive_a_pipe_a_newline_and_html_in_a_name():
    text = _result_named("a|b\nc <img src=x onerror=alert(1)>").to_markdown()
    lines = text.splitlines()
    assert len(lines) == 3  # head, rule, one row: the newline did not split the row
    cells = [c for c in re.split(r"(?<!\\)\|", lines[2])[1:-1]]
    assert len(cells) == 6 and cells[0].strip() == r"a\|b c &lt;img src=x onerror=alert(1)&gt;"


def test_latex_escapes_every_special_character_once():
    tex = _result_named(r"a{b}~c_d&e%f#g$h^i\j").to_latex()
    row = next(line for line in tex.splitlines() if line.startswith("a"))
    assert row.split(" & ")[0] == (
        r"a\{b\}\textasciitilde{}c\_d\&e\%f\#g\$h\^{}i\textbackslash{}j"
    )


def test_a_finding_shows_html_as_text_in_markdown():
    from analysis.reporting.report import finding

    bundle = finding('Costs <b onmouseover="alert(1)">rose</b> & fell')._repr_mimebundle_()
    assert bundle["text/markdown"] == (
        '**Finding:** Costs &lt;b onmouseover="alert(1)"&gt;rose&lt;/b&gt; &amp; fell'
    )
    assert "<b" not in bundle["text/markdown"]
