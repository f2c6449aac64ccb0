"""Imputation estimator for staggered adoption (Borusyak, Jaravel and Spiess 2024)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import stats
from scipy.sparse.linalg import splu

from analysis.data.schema import MUNICIPALITY, YEAR
from analysis.inference.checks import _refuse_infinite
from analysis.results import TABLE_COLUMNS, EstimationResult

SE_TYPE = "Gardner (2022) two-stage GMM, clustered"
CORRECTION = "none (as R did2s and pyfixest.did2s)"


def _dummies(codes: np.ndarray, k: int, rows: np.ndarray | None = None) -> sp.csr_matrix:
    n = len(codes)
    keep = np.ones(n, bool) if rows is None else rows
    return sp.csr_matrix((np.ones(keep.sum()), (np.flatnonzero(keep), codes[keep])), shape=(n, k))


def _check(df: pd.DataFrame, outcome: str, entity: str, time: str, cohort: str,
           cluster: str | None) -> tuple[pd.DataFrame, list[str]]:  # fmt: skip
    """The columns used, rows with a missing id, period, outcome or cluster dropped (noted)."""
    columns = list(dict.fromkeys(c for c in (entity, time, cohort, outcome, cluster) if c))
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise KeyError(f"imputation_did: column(s) {missing} not in the data")
    for c in (outcome, time, cohort):
        if not pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]):
            raise TypeError(f"imputation_did: column {c!r} must be numeric, found {df[c].dtype}")
    for c in (outcome, time, cohort):  # inf would turn every estimate into NaN
        _refuse_infinite(df, c, "imputation_did", [entity, time])
    required = [c for c in (entity, time, outcome, cluster) if c]
    data = df[columns].dropna(subset=required)
    notes = []
    if len(data) < len(df):
        gaps = {c: int(df[c].isna().sum()) for c in required if df[c].isna().any()}
        notes.append(f"dropped {len(df) - len(data)} row(s) with a missing value in {gaps}")
    if data.duplicated([entity, time]).any():
        raise ValueError(f"imputation_did: more than one row per {entity} and {time}")
    varies = data.groupby(entity)[cohort].nunique(dropna=False) > 1
    if varies.any():
        raise ValueError(
            f"imputation_did: cohort column {cohort!r} changes over time within {entity} "
            f"{list(varies[varies].index[:5])}"
        )
    return data.assign(**{cohort: data[cohort].fillna(0.0).astype(float)}), notes


def imputation_did(
    df: pd.DataFrame,
    outcome: str,
    entity: str = MUNICIPALITY,
    time: str = YEAR,
    cohort: str = "cohort",
    anticipation: int = 0,
    cluster: str | None = None,
    alpha: float = 0.05,
    pretrends: int = 0,
) -> EstimationResult:
    """Imputation estimator of Borusyak, Jaravel and Spiess (2024) for staggered adoption.

    Unit and period effects are fitted on the untreated observations only (never
    treated units and not-yet-treated periods, before ``g - anticipation``); the
    untreated outcome of every treated observation is imputed from them, and its
    effect is the observed minus the imputed outcome. The table reports the average
    over all treated observations (``overall``) and per event time ``e = t - g >= 0``
    (``event:+e``). The point estimates equal Gardner's (2022) two-stage estimator
    (R ``did2s``, ``pyfixest.did2s``), whose GMM standard errors, clustered by
    ``cluster`` (default the unit), are reported, without small-sample correction:
    ``overall``'s from the pooled second stage (did2s ``second_stage="~d"``), each event
    time's from the event-time second stage (``"~i(rel)"``). Rows with a missing unit,
    period, outcome or cluster are dropped and counted in ``notes``.

    Identifying assumption: parallel trends in the untreated outcome for all units and
    periods (a two-way additive model ``Y_it(0) = a_i + l_t + e_it`` with mean-zero
    errors), no anticipation beyond ``anticipation``. Unlike a two-way fixed-effects
    regression, treated observations never act as controls, so effects that differ by
    cohort or over time do not bias the averages. The design fails when untreated
    outcomes of later cohorts trend differently (the fitted model then extrapolates
    that trend into the imputed outcomes), and it uses all pre-periods, so a violation
    far before treatment also moves the estimates.

    Parameters
    ----------
    df : long panel (unbalanced allowed).
    outcome, entity, time : columns.
    cohort : first treated period, 0 or NaN for never treated.
    anticipation : observations in the ``anticipation`` periods before ``g`` are left out.
    cluster : cluster column for the standard errors (default ``entity``).
    alpha : 1 - confidence level.
    pretrends : number of leads for Borusyak-Jaravel-Spiess's pre-trend test (their Test 1,
        Stata ``did_imputation, pretrends(k)``): a separate regression on the untreated
        observations only, with unit and period effects and dummies for the ``k`` periods
        before ``g - anticipation``, clustered as ``cluster`` with :func:`analysis.twfe`'s
        CR1 convention (fixest's small-sample correction, t(G-1)). Its coefficients are in
        ``extra["pretrends"]`` and their joint F test in ``extra["pretrend_test"]``; they
        are not table rows, since they come from another regression than the effects.
        0 (the default) skips the test.

    Returns
    -------
    EstimationResult with ``overall`` and ``event:+e`` rows (column ``event_time``).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from analysis import imputation_did
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"unit": np.repeat(np.arange(300), 8),
    ...                    "year": np.tile(np.arange(2010, 2018), 300)})
    >>> df["cohort"] = df["unit"].map(lambda u: [0, 2013, 2015][u % 3])
    >>> treated = (df["cohort"] > 0) & (df["year"] >= df["cohort"])
    >>> df["y"] = df["unit"] % 7 + 0.1 * df["year"] + 2.0 * treated + rng.normal(size=len(df))
    >>> res = imputation_did(df, "y", entity="unit", time="year", cohort="cohort")
    >>> bool(abs(res.estimate("overall") - 2.0) < 0.3)
    True
    """
    data, notes = _check(df, outcome, entity, time, cohort, cluster)
    if isinstance(pretrends, bool) or not isinstance(pretrends, int | np.integer) or pretrends < 0:
        raise ValueError(
            f"imputation_did: pretrends must be a whole number >= 0, not {pretrends!r}"
        )
    g, t = data[cohort].to_numpy(), data[time].to_numpy(float)
    treated = (g > 0) & (t >= g)
    window = (g > 0) & (t < g) & (t >= g - anticipation)
    if window.any():
        notes.append(f"left out {int(window.sum())} observation(s) in the anticipation window")
    data, g, t, treated = data[~window], g[~window], t[~window], treated[~window]
    untreated = ~treated
    # units and periods without an untreated observation cannot be imputed
    ok_unit = data.loc[untreated, entity].unique()
    ok_time = data.loc[untreated, time].unique()
    keep = data[entity].isin(ok_unit).to_numpy() & data[time].isin(ok_time).to_numpy()
    if (~keep & treated).any():
        notes.append(
            f"dropped {int((~keep & treated).sum())} treated observation(s) of units or periods "
            "without any untreated observation (nothing to impute from)"
        )
    data, g, t, treated = data[keep], g[keep], t[keep], treated[keep]
    if not treated.any():
        raise ValueError("imputation_did: no treated observation can be imputed")
    y = data[outcome].to_numpy(float)
    unit = pd.factorize(data[entity])[0]
    period = pd.factorize(data[time], sort=True)[0]
    n_u, n_t = unit.max() + 1, period.max() + 1
    # full-rank first-stage design: every unit dummy, period dummies but the first
    X1 = sp.hstack([_dummies(unit, n_u), _dummies(period, n_t)[:, 1:]]).tocsr()
    X10 = sp.diags((~treated).astype(float)) @ X1
    lu = splu((X10.T @ X10).tocsc())
    b = lu.solve(X10.T @ y)
    u1 = y - X1 @ b  # residual; for treated observations the imputed effect
    e = (t - g)[treated].astype(int)
    horizons = np.unique(e)
    ecode = np.full(len(y), -1)
    ecode[treated] = np.searchsorted(horizons, e)
    X2 = _dummies(np.maximum(ecode, 0), len(horizons), rows=treated)
    # second stages: the pooled one (did2s "~d": overall) and per event time ("~i(rel)");
    # each term's score uses its own second-stage residuals, as did2s fits them separately
    Z = sp.hstack([sp.csr_matrix(treated.astype(float)[:, None]), X2]).tocsr()
    counts_all = np.asarray(Z.sum(axis=0)).ravel()
    est = (Z.T @ u1) / counts_all
    counts = counts_all[1:]
    u2 = u1 - X2 @ est[1:]
    residuals = np.column_stack([np.where(treated, u1 - est[0], 0.0),
                                 X2.multiply(u2[:, None]).toarray()])  # fmt: skip
    M = lu.solve((X1.T @ Z).toarray())  # (X10'X10)^-1 X1'Z
    contrib = residuals - (X10 @ M) * u1[:, None]
    clusters = pd.factorize(data[cluster or entity])[0]
    S = np.zeros((clusters.max() + 1, Z.shape[1]))
    np.add.at(S, clusters, contrib)
    score = S / counts_all
    V_all = score.T @ score
    se = np.sqrt(np.diag(V_all))
    z = stats.norm.ppf(1 - alpha / 2)
    terms = ["overall"] + [f"event:{h:+d}" for h in horizons]
    table = pd.DataFrame({"term": terms, "estimate": est, "std_error": se})
    table["statistic"] = est / se
    table["p_value"] = 2 * stats.norm.sf(np.abs(table["statistic"]))
    table["ci_low"], table["ci_high"] = est - z * se, est + z * se
    table = table.assign(n_obs=len(y), n_clusters=int(S.shape[0]), se_type=SE_TYPE,
                         correction=CORRECTION)[TABLE_COLUMNS]  # fmt: skip
    table["event_time"] = np.concatenate([[np.nan], horizons])
    result = EstimationResult(
        design="imputation_did", outcome=outcome, table=table,
        vcov=pd.DataFrame(V_all, index=terms, columns=terms), n_obs=len(y),
        n_clusters=int(S.shape[0]), se_type=SE_TYPE, correction=CORRECTION, notes=notes,
        extra={"df_resid": np.inf, "n_treated": int(treated.sum()), "treated_per_event": counts,
               "reform_year": "cohort's first treated period", "reference_event_time": None},
    )  # fmt: skip
    if pretrends:
        _add_pretrend_test(result, data[~treated], outcome, entity, time, cohort,
                           anticipation, cluster, int(pretrends))  # fmt: skip
    return result


def _add_pretrend_test(result: EstimationResult, untreated: pd.DataFrame, outcome: str,
                       entity: str, time: str, cohort: str, anticipation: int,
                       cluster: str | None, k: int) -> None:  # fmt: skip
    """BJS Test 1: lead dummies in a two-way regression on the untreated observations."""
    from analysis.designs.twfe import twfe  # twfe imports the estimation core, not us

    g, t = untreated[cohort].to_numpy(), untreated[time].to_numpy(float)
    before = np.where(g > 0, g - anticipation - t, 0)  # periods before g - anticipation
    leads = {f"lead_{j}": (before == j).astype(float) for j in range(1, k + 1)}
    empty = [j for j, col in enumerate(leads.values(), start=1) if not col.any()]
    if empty:
        raise ValueError(
            f"imputation_did: pretrends={k}, but no untreated observation lies {empty} "
            "period(s) before treatment: use a smaller pretrends"
        )
    data = untreated.assign(**leads)
    try:
        fit = twfe(data, outcome, list(leads), entity=entity, time=time,
                   cluster=cluster or "entity")  # fmt: skip
    except ValueError as err:  # e.g. leads covering every untreated year of a cohort
        raise ValueError(f"imputation_did: pretrends={k}: the pre-trend regression on the "
                         f"untreated observations cannot be estimated: {err}") from err  # fmt: skip
    table = fit.table.copy()
    table["term"] = [f"event:-{j}" for j in range(1, k + 1)]
    table["event_time"] = [-j for j in range(1, k + 1)]
    test = fit.wald_test(list(leads))
    test["terms"] = table["term"].tolist()
    result.extra["pretrends"] = table
    result.extra["pretrend_test"] = test
    result.notes += [f"pre-trend test (untreated observations only): {n}" for n in fit.notes]
