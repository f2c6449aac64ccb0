"""triple_diff, placebo_in_time, placebo_outcomes, run_many and the multiple-testing tools."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import analysis
from analysis import (
    did_2x2,
    intensity_did,
    placebo_in_time,
    placebo_outcomes,
    run_many,
    triple_diff,
    wild_cluster_bootstrap,
)
from analysis.data.synthetic.generator import SyntheticParams, simulate_panel
from analysis.inference.multiple import adjust_pvalues, romano_wolf

OUTCOMES = ["bijstand_per_1000", "youth_care_per_1000", "wmo_per_1000", "spending_per_inhabitant"]


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return simulate_panel(seed=1).panel


def test_every_public_name_imports_from_the_package_root():
    names = [
        "did_2x2", "twfe", "event_study", "intensity_did", "triple_diff", "placebo_in_time",
        "placebo_outcomes", "run_many", "wild_cluster_bootstrap", "EstimationResult",
    ]
    for name in names:
        assert getattr(analysis, name) is not None, name
    for name in analysis.__all__:  # nothing in _EXPORTS points at a missing module
        getattr(analysis, name)


# -- triple differences ---------------------------------------------------------------------------


def ddd_data(seed: int, n_units: int = 80, subgroups=("young", "adult"), effect: float = 2.0):
    """Long data: unit x age group x year. Large units get a post-2015 shock common to all
    their age groups (biases a DiD on the young alone) and the young an extra ``effect``."""
    rng = np.random.default_rng(seed)
    idx = pd.MultiIndex.from_product(
        [range(n_units), list(subgroups), range(2011, 2019)], names=["unit", "age", "year"]
    )
    df = idx.to_frame(index=False)
    df["large"] = (df["unit"] % 2).astype(float)
    post = (df["year"] >= 2015).astype(float)
    young = (df["age"] == "young").astype(float)
    unit_year = rng.normal(size=(n_units, 8))[df["unit"], df["year"] - 2011]
    df["y"] = (
        effect * df["large"] * young * post
        + 3.0 * df["large"] * post  # municipality-wide shock of large units
        + 1.5 * young * (df["year"] - 2011)  # age-specific national trend
        + rng.normal(size=n_units)[df["unit"]]
        + unit_year
        + rng.normal(size=len(df))
    )
    return df


def test_triple_diff_matches_pyfixest_with_saturated_effects():
    pf = pytest.importorskip("pyfixest")
    df = ddd_data(seed=4, subgroups=("young", "adult", "old")).drop(index=[5, 100, 101])
    df["ddd"] = df["large"] * (df["age"] == "young") * (df["year"] >= 2015)
    res = triple_diff(df, "y", subgroup="age", exposed="young", entity="unit", time="year")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pf.feols(
            "y ~ ddd | unit^age + age^year + unit^year", data=df, vcov={"CRV1": "unit"}
        ).tidy()
    assert res.estimate("large:age:post") == pytest.approx(ref.loc["ddd", "Estimate"], rel=1e-8)
    assert res.std_error("large:age:post") == pytest.approx(
        ref.loc["ddd", "Std. Error"], rel=1e-6
    )
    assert res.n_clusters == 80
    # three dropped cells: handled by alternating projections and reported
    assert res.extra["panel"]["balanced"] is False
    assert any("unbalanced panel: 3 of" in n for n in res.notes)


def test_triple_diff_removes_the_municipality_wide_shock_that_biases_a_did():
    df = ddd_data(seed=5, n_units=200)
    res = triple_diff(df, "y", subgroup="age", exposed="young", entity="unit", time="year")
    est, se = res.estimate("large:age:post"), res.std_error("large:age:post")
    assert abs(est - 2.0) < 4 * se
    sub = res.extra["subgroup_did"].set_index("age")
    # DiD on the young alone picks up the +3 municipality-wide shock as well
    assert sub.loc["young", "estimate"] == pytest.approx(5.0, abs=0.5)
    # balanced, two subgroups: DDD = DiD(exposed) - DiD(unexposed) exactly
    assert est == pytest.approx(sub.loc["young", "estimate"] - sub.loc["adult", "estimate"])


def test_triple_diff_with_continuous_intensity_and_wild_bootstrap():
    df = ddd_data(seed=6, n_units=60)
    dose = np.random.default_rng(0).normal(size=60)
    df["dose"] = dose[df["unit"]]
    hit = df["dose"] * (df["age"] == "young") * (df["year"] >= 2015)
    df["y2"] = df["y"] + 0.8 * hit
    res = triple_diff(df, "y2", subgroup="age", exposed=["young"], group="dose",
                      entity="unit", time="year")
    assert abs(res.estimate("dose:age:post") - 0.8) < 4 * res.std_error("dose:age:post")
    boot = wild_cluster_bootstrap(res, draws=999, seed=1)
    assert boot.cluster == "unit" and boot.n_clusters == 60
    assert boot.ci_low < res.estimate("dose:age:post") < boot.ci_high


def test_triple_diff_errors_name_the_problem():
    df = ddd_data(seed=7, n_units=40)
    with pytest.raises(ValueError, match=r"exposed value\(s\) \['child'\] not in age"):
        triple_diff(df, "y", subgroup="age", exposed="child", entity="unit", time="year")
    with pytest.raises(ValueError, match="every age value is exposed"):
        triple_diff(df, "y", subgroup="age", exposed=["young", "adult"], entity="unit",
                    time="year")
    bad = df.copy()
    bad.loc[(bad["unit"] == 3) & (bad["age"] == "young"), "large"] = 0.0
    with pytest.raises(ValueError, match="large differs between subgroups of unit=3"):
        triple_diff(bad, "y", subgroup="age", exposed="young", entity="unit", time="year")
    flat = df.assign(large=1.0)
    with pytest.raises(ValueError, match="no variation in large"):
        triple_diff(flat, "y", subgroup="age", exposed="young", entity="unit", time="year")
    # a control that varies only by unit and year is absorbed by the unit x year effects
    df["unit_year_control"] = df["unit"] * 100 + df["year"]
    with pytest.raises(ValueError, match=r"\['unit_year_control'\] are absorbed"):
        triple_diff(df, "y", subgroup="age", exposed="young", entity="unit", time="year",
                    covariates=["unit_year_control"])


def test_triple_diff_warns_with_few_clusters():
    df = ddd_data(seed=8, n_units=40)
    df["region"] = df["unit"] % 10
    with pytest.warns(UserWarning, match="only 10 clusters.*wild_cluster_bootstrap"):
        res = triple_diff(df, "y", subgroup="age", exposed="young", entity="unit",
                          time="year", cluster="region")
    assert res.n_clusters == 10


# -- placebo in time ------------------------------------------------------------------------------


def test_placebo_in_time_uses_only_the_pre_period(panel):
    table = placebo_in_time(panel, "wmo_per_1000", design="did_2x2")
    assert table["placebo_year"].tolist() == [2011, 2012, 2013, 2014]
    assert (table["n_pre_periods"] + table["n_post_periods"] == 5).all()
    assert (table["n_obs"] == 342 * 5).all()
    # a huge real effect from 2015 on changes nothing: the real post-period never enters
    shifted = panel.assign(
        wmo_per_1000=panel["wmo_per_1000"] + 50.0 * panel["large"] * (panel["year"] >= 2015)
    )
    again = placebo_in_time(shifted, "wmo_per_1000", design="did_2x2")
    pd.testing.assert_frame_equal(table, again)
    # and one row is the design itself on the pre-period with a fake reform year
    direct = did_2x2(panel[panel["year"] < 2015], "wmo_per_1000", reform_year=2013)
    assert table.loc[2, "estimate"] == pytest.approx(direct.estimate("large:post"))


def test_placebo_in_time_detects_a_pre_trend_and_not_its_absence():
    clean = simulate_panel(seed=2).panel
    trend = simulate_panel(seed=2, params=SyntheticParams(pretrend=0.5)).panel
    p_clean = placebo_in_time(clean, "bijstand_per_1000")["p_value"]
    p_trend = placebo_in_time(trend, "bijstand_per_1000")["p_value"]
    assert (p_trend < 0.001).all()
    assert p_clean.min() > 0.001


def test_placebo_in_time_with_intensity_and_chosen_years(panel):
    table = placebo_in_time(
        panel, "spending_per_inhabitant", design=intensity_did, placebo_years=[2012, 2013],
        bins=0,
    )
    assert table["term"].unique().tolist() == ["budget_change_per_inhabitant:post"]
    assert table["placebo_year"].tolist() == [2012, 2013]


def test_placebo_in_time_errors(panel):
    with pytest.raises(ValueError, match=r"placebo year\(s\) \[2010, 2016\]"):
        placebo_in_time(panel, "wmo_per_1000", placebo_years=[2010, 2012, 2016])
    with pytest.raises(ValueError, match="twfe has no single reform date"):
        placebo_in_time(panel, "wmo_per_1000", design="twfe")
    with pytest.raises(ValueError, match="at least two periods before 2011"):
        placebo_in_time(panel, "wmo_per_1000", reform_year=2011)
    with pytest.raises(ValueError, match="unknown design 'did3'"):
        placebo_in_time(panel, "wmo_per_1000", design="did3")


def test_placebo_outcome_finds_nothing_where_the_reform_finds_something(panel):
    data = panel.assign(share_0_17=panel["population_0_17"] / panel["population"] * 100)
    table = placebo_outcomes(data, ["share_0_17"], design="did_2x2")
    real = run_many(data, ["wmo_per_1000"], design="did_2x2")
    assert table["placebo"].tolist() == [True]
    assert table["p_value"].iloc[0] > 0.01 > real["p_value"].iloc[0]


# -- run_many and multiple testing ----------------------------------------------------------------


def test_run_many_rows_equal_single_runs_and_adjustments(panel):
    table = run_many(panel, OUTCOMES, design="did_2x2")
    assert table["outcome"].tolist() == OUTCOMES
    for row in table.itertuples():
        single = did_2x2(panel, row.outcome)
        assert row.estimate == single.estimate("large:post")
        assert row.std_error == single.std_error("large:post")
    # Holm and BH written out by hand
    p = table["p_value"].to_numpy()
    order = np.argsort(p)
    m = len(p)
    holm = np.maximum.accumulate(np.minimum(1, (m - np.arange(m)) * p[order]))
    bh = np.minimum.accumulate((m / np.arange(m, 0, -1)) * p[order][::-1])[::-1]
    expected_holm, expected_bh = np.empty(m), np.empty(m)
    expected_holm[order], expected_bh[order] = holm, np.minimum(bh, 1)
    assert table["p_holm"].to_numpy() == pytest.approx(expected_holm)
    assert table["p_bh"].to_numpy() == pytest.approx(expected_bh)


def test_run_many_several_terms_of_an_event_study(panel):
    terms = ["large:event+0", "large:event+1"]
    table = run_many(panel, OUTCOMES[:2], design="event_study", term=terms, adjust=("bonferroni",))
    assert list(zip(table["outcome"], table["term"], strict=True)) == [
        (o, t) for o in OUTCOMES[:2] for t in terms
    ]
    assert table["p_bonferroni"].to_numpy() == pytest.approx(
        np.minimum(1, 4 * table["p_value"].to_numpy())
    )


def test_romano_wolf_from_shared_bootstrap_draws(panel):
    data = panel.assign(wmo_copy=panel["wmo_per_1000"])
    kw = dict(design="intensity_did", bins=0, romano_wolf_draws=999, seed=3)
    single = run_many(data, ["wmo_per_1000"], **kw)
    # one hypothesis: nothing to adjust
    assert single["p_romano_wolf"].iloc[0] == single["p_boot"].iloc[0]
    # an exact duplicate is perfectly dependent: Romano-Wolf adds no penalty, Holm doubles
    dup = run_many(data, ["wmo_per_1000", "wmo_copy"], **kw)
    assert dup["p_romano_wolf"].tolist() == [single["p_boot"].iloc[0]] * 2
    assert dup["p_holm"].iloc[0] == pytest.approx(min(1, 2 * single["p_value"].iloc[0]))
    many = run_many(data, OUTCOMES, **kw)
    assert (many["p_romano_wolf"] >= many["p_boot"] - 1e-12).all()
    # the bootstrap p-value of each outcome is the stand-alone bootstrap with the same seed
    alone = wild_cluster_bootstrap(
        intensity_did(data, OUTCOMES[0], bins=0), draws=999, seed=3, ci=False
    )
    assert many["p_boot"].iloc[0] == alone.p_value


def test_romano_wolf_needs_common_clusters(panel):
    data = panel.copy()
    data.loc[data["municipality"] == data["municipality"].iloc[0], "wmo_per_1000"] = np.nan
    with pytest.raises(ValueError, match="wmo_per_1000 .* has 341 clusters"):
        run_many(data, ["bijstand_per_1000", "wmo_per_1000"], romano_wolf_draws=99)


def test_romano_wolf_step_down_by_hand():
    t_boot = np.array([[0.5, -2.5, 1.0, 3.0], [1.0, 0.2, -0.1, 0.3], [0.1, 0.1, 2.5, 0.1]])
    # order by |t|: h0 (3.0), h2 (2.0), h1 (0.5)
    # h0: max over all rows per draw = [1.0, 2.5, 2.5, 3.0] >= 3.0 -> 1/4
    # h2: max over h2, h1 = [1.0, 0.2, 2.5, 0.3] >= 2.0 -> 1/4, monotone -> 1/4
    # h1: max over h1 = [1.0, 0.2, 0.1, 0.3] >= 0.5 -> 1/4, monotone -> 1/4
    assert romano_wolf([3.0, 0.5, -2.0], t_boot).tolist() == [0.25, 0.25, 0.25]
    # a more significant h1 becomes the second step
    assert romano_wolf([3.0, 0.05, -2.0], t_boot).tolist() == [0.25, 1.0, 0.25]
    with pytest.raises(ValueError, match="hypotheses x draws"):
        romano_wolf([1.0, 2.0], t_boot)


def test_adjust_pvalues_keeps_missing_and_rejects_bad_input():
    out = adjust_pvalues([0.01, np.nan, 0.04], "holm")
    assert np.isnan(out[1]) and out[[0, 2]].tolist() == pytest.approx([0.02, 0.04])
    with pytest.raises(ValueError, match="method must be one of"):
        adjust_pvalues([0.1], "sidak")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        adjust_pvalues([1.5], "bh")


def test_run_many_errors_name_the_outcome(panel):
    with pytest.raises(KeyError, match="outcome 'no_such_rate'"):
        run_many(panel, ["wmo_per_1000", "no_such_rate"])
    with pytest.raises(ValueError, match=r"\['wmo_per_1000'\] listed more than once"):
        run_many(panel, ["wmo_per_1000", "wmo_per_1000"])
    with pytest.raises(KeyError, match="term"):
        run_many(panel, ["wmo_per_1000"], term="nope:post")
    with pytest.raises(ValueError, match="at least one outcome"):
        run_many(panel, [])


@pytest.mark.slow
def test_romano_wolf_controls_the_familywise_error_rate():
    """Global null, four correlated outcomes: FWER of RW near 5%, unadjusted far above."""
    rng = np.random.default_rng(0)
    n_units, years = 60, np.arange(2011, 2019)
    reps, reject_rw, reject_raw = 200, 0, 0
    for _ in range(reps):
        df = pd.DataFrame({"unit": np.repeat(np.arange(n_units), len(years)),
                           "year": np.tile(years, n_units)})
        df["large"] = (df["unit"] % 2).astype(float)
        common = rng.normal(size=len(df))
        for j in range(4):
            df[f"y{j}"] = 0.6 * common + rng.normal(size=len(df)) + rng.normal(size=n_units)[
                df["unit"]]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tab = run_many(df, [f"y{j}" for j in range(4)], design="did_2x2", entity="unit",
                           time="year", baseline_year=None, group="large",
                           romano_wolf_draws=399, seed=int(rng.integers(1 << 30)))
        reject_rw += bool((tab["p_romano_wolf"] < 0.05).any())
        reject_raw += bool((tab["p_boot"] < 0.05).any())
    assert reject_rw / reps < 0.10
    assert reject_raw / reps > reject_rw / reps
