"""One result type for every design: a tidy coefficient table plus summary, plot, export.

Every design in :mod:`analysis.designs` returns an :class:`EstimationResult`. Its
``table`` has one row per reported coefficient with the columns
``term, estimate, std_error, statistic, p_value, ci_low, ci_high, n_obs,
n_clusters, se_type, correction``. Several results can be laid side by side
with :func:`side_by_side` as Markdown, LaTeX or HTML.

Example
-------
>>> import numpy as np, pandas as pd
>>> from analysis import twfe
>>> rng = np.random.default_rng(0)
>>> df = pd.DataFrame({"unit": np.repeat(np.arange(50), 4), "year": np.tile(np.arange(4), 50)})
>>> df["x"] = rng.normal(size=200)
>>> df["y"] = 2 * df["x"] + rng.normal(size=200)
>>> res = twfe(df, outcome="y", regressors=["x"], entity="unit", time="year", cluster="unit")
>>> round(float(res.table.loc[0, "estimate"]), 1)
2.0
>>> print(res.to_markdown().splitlines()[0])
| term | estimate | std_error | ci_low | ci_high | p_value |
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from analysis.inference.wald import no_joint_test, wald_chi2

# Okabe-Ito: distinguishable with the common colour-vision deficiencies
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")
TABLE_COLUMNS = [
    "term",
    "estimate",
    "std_error",
    "statistic",
    "p_value",
    "ci_low",
    "ci_high",
    "n_obs",
    "n_clusters",
    "se_type",
    "correction",
]


@dataclass
class EstimationResult:
    """The result of one design on one outcome.

    Attributes
    ----------
    design : str
        Name of the design ("did_2x2", "twfe", "event_study", ...).
    outcome : str
        The outcome column.
    table : pandas.DataFrame
        Tidy coefficient table (see module docstring).
    vcov : pandas.DataFrame
        Covariance of all estimated slope coefficients (including covariates).
    notes : list of str
        What the reader must know: dropped rows, unbalanced panel, few clusters.
    extra : dict
        Design-specific output: ``pretrend_test``, ``dose_response``, ``panel`` ...
    fit : LinearFit or None
        The solved system, used by :func:`analysis.wild_cluster_bootstrap`.
    """

    design: str
    outcome: str
    table: pd.DataFrame
    vcov: pd.DataFrame
    n_obs: int
    n_clusters: int | None
    se_type: str
    correction: str
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    fit: Any = None

    # -- access -----------------------------------------------------------------
    def estimate(self, term: str) -> float:
        """Point estimate of one term."""
        return float(self._row(term)["estimate"])

    def std_error(self, term: str) -> float:
        return float(self._row(term)["std_error"])

    def _row(self, term: str) -> pd.Series:
        hit = self.table[self.table["term"] == term]
        if hit.empty:
            raise KeyError(f"term {term!r} not in result; terms: {list(self.table['term'])}")
        return hit.iloc[0]

    def wald_test(self, terms: Sequence[str]) -> dict[str, Any]:
        """Joint test that all ``terms`` are zero with this result's covariance.

        Returns F = b' V^-1 b / q with its p-value from F(q, df) (df as for the
        t-tests, e.g. G-1 for clustered errors) and the chi-square p-value. With
        ``vcov="CR2"`` it is clubSandwich's approximate Hotelling T-squared test (HTZ):
        F scaled by (nu-q+1)/nu on (q, nu-q+1) degrees of freedom (``test="HTZ"``).
        When V is singular up to rounding (e.g. more terms than clusters) the statistic
        and p-values are NaN and ``note`` names the dependent terms
        (:func:`analysis.inference.wald.wald_chi2`), instead of a p-value of 0 that
        rounding error produced.
        """
        terms = list(terms)
        missing = [t for t in terms if t not in self.vcov.index]
        if missing:
            raise KeyError(f"terms {missing} not estimated")
        estimates = dict(zip(self.table["term"], self.table["estimate"], strict=True))
        b = np.array([estimates[t] if t in estimates else self.estimate(t) for t in terms])
        V = self.vcov.loc[terms, terms].to_numpy()
        q = len(terms)
        chi2, singular = wald_chi2(b, V, terms)
        df = float(self.extra.get("df_resid", np.inf))
        if singular:
            return no_joint_test(terms, (q, df), singular)
        small_sample = getattr(getattr(self.fit, "cov", None), "small_sample", None)
        if small_sample is not None:
            names = list(self.vcov.index)
            C = np.eye(len(names))[[names.index(t) for t in terms]]
            htz = small_sample.htz(C, self.fit.coef, self.fit.vcov)
            return {"terms": terms, "test": "HTZ", **htz,
                    "p_value_chi2": float(stats.chi2.sf(htz["chi2"], q))}  # fmt: skip
        return {
            "terms": terms,
            "statistic": chi2 / q,
            "df": (q, df),
            "p_value": float(stats.f.sf(chi2 / q, q, df)),
            "chi2": chi2,
            "p_value_chi2": float(stats.chi2.sf(chi2, q)),
        }

    # -- display -----------------------------------------------------------------
    def summary(self) -> str:
        """A plain-text summary: design, outcome, sample, SE type and the table."""
        cols = ["term", "estimate", "std_error", "ci_low", "ci_high", "p_value"]
        lines = [
            f"{self.design}: {self.outcome}",
            f"observations: {self.n_obs}   clusters: {self.n_clusters}   SE: {self.se_type}",
            f"small-sample correction: {self.correction}",
            self.table[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"),
        ]
        if "pretrend_test" in self.extra:
            pt = self.extra["pretrend_test"]
            lines.append(
                f"pre-trend test (all leads = 0): F={pt['statistic']:.3f}, "
                f"df={pt['df'][0]},{pt['df'][1]:g}, p={pt['p_value']:.4f}"
            )
            if pt.get("note"):
                lines.append(f"pre-trend test: {pt['note']}")
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()

    def plot(self, ax=None, terms: Sequence[str] | None = None):
        """Coefficient plot with confidence intervals.

        Event studies are drawn against event time with the reference period
        marked; intensity designs draw the dose-response; other designs draw one
        horizontal interval per term. Returns the matplotlib Axes.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4))
        if "event_time" in self.table.columns and terms is None:
            return _plot_event(self, ax)
        if "dose_response" in self.extra and terms is None:
            return _plot_dose(self, ax)
        tab = self.table if terms is None else self.table[self.table["term"].isin(terms)]
        pos = np.arange(len(tab))[::-1]
        ax.errorbar(
            tab["estimate"],
            pos,
            xerr=[tab["estimate"] - tab["ci_low"], tab["ci_high"] - tab["estimate"]],
            fmt="o",
            color=PALETTE[0],
            capsize=3,
        )
        ax.axvline(0, color="grey", lw=0.8, ls="--")
        ax.set_yticks(pos, tab["term"])
        ax.set_xlabel(f"Estimate ({self.outcome}), 95% CI")
        ax.set_title(self.design)
        return ax

    # -- export ------------------------------------------------------------------
    def to_markdown(self, digits: int = 4) -> str:
        return _markdown(_display_frame(self.table, digits))

    def to_latex(self, digits: int = 4) -> str:
        return _latex(_display_frame(self.table, digits))

    def to_html(self, digits: int = 4) -> str:
        return _html(_display_frame(self.table, digits))


def _plot_event(res: EstimationResult, ax):
    tab = res.table.sort_values("event_time")
    ax.errorbar(
        tab["event_time"],
        tab["estimate"],
        yerr=[tab["estimate"] - tab["ci_low"], tab["ci_high"] - tab["estimate"]],
        fmt="o-",
        color=PALETTE[0],
        capsize=3,
        label="estimate, 95% CI",
    )
    ref = res.extra.get("reference_event_time")
    if ref is not None:
        ax.plot([ref], [0], marker="D", color=PALETTE[1], ls="none", label="reference (0)")
    ax.axhline(0, color="grey", lw=0.8, ls="--")
    ax.axvline(-0.5, color="grey", lw=0.8, ls=":")
    ax.set_xlabel(f"Years relative to reform ({res.extra.get('reform_year')})")
    ax.set_ylabel(f"Effect on {res.outcome}")
    pt = res.extra.get("pretrend_test")
    title = "Event study"
    if pt is not None:
        title += f" (pre-trend F-test p = {pt['p_value']:.3f})"
    ax.set_title(title)
    ax.legend(frameon=False)
    return ax


def _plot_dose(res: EstimationResult, ax):
    dr = res.extra["dose_response"]
    ax.errorbar(
        dr["dose_mean"],
        dr["estimate"],
        yerr=[dr["estimate"] - dr["ci_low"], dr["ci_high"] - dr["estimate"]],
        fmt="o",
        color=PALETTE[0],
        capsize=3,
        label="dose bin x post (vs lowest bin)",
    )
    slope = res.table.iloc[0]["estimate"]
    x = np.linspace(dr["dose_mean"].min(), dr["dose_mean"].max(), 50)
    x0 = dr["dose_mean"].iloc[0]
    ax.plot(x, slope * (x - x0), color=PALETTE[1], label="linear DiD slope")
    ax.axhline(0, color="grey", lw=0.8, ls="--")
    ax.set_xlabel(f"Dose: {res.extra.get('dose', 'intensity')} (bin mean)")
    ax.set_ylabel(f"Effect on {res.outcome}")
    ax.set_title("Dose-response")
    ax.legend(frameon=False)
    return ax


def _display_frame(table: pd.DataFrame, digits: int) -> pd.DataFrame:
    cols = ["term", "estimate", "std_error", "ci_low", "ci_high", "p_value"]
    out = table[cols].copy()
    for c in cols[1:]:
        out[c] = out[c].map(lambda v: f"{v:.{digits}g}")
    return out


def _markdown_cell(value: object) -> str:
    """A cell that cannot break the table: ``|`` escaped, no line break, no raw HTML."""
    text = " ".join(str(value).split())
    return html.escape(text, quote=False).replace("\\", "\\\\").replace("|", "\\|")


def _markdown(frame: pd.DataFrame) -> str:
    head = "| " + " | ".join(map(_markdown_cell, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = [
        "| " + " | ".join(map(_markdown_cell, row)) + " |"
        for row in frame.itertuples(index=False)
    ]
    return "\n".join([head, rule, *body])


_LATEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "_": r"\_", "#": r"\#",
          "$": r"\$", "^": r"\^{}", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}"}  # fmt: skip


def _latex_escape(s: str) -> str:
    """Every LaTeX special character escaped, in one pass (so no escape is escaped again)."""
    return "".join(_LATEX.get(ch, ch) for ch in " ".join(s.split()))


def _latex(frame: pd.DataFrame) -> str:
    cols = "l" + "r" * (frame.shape[1] - 1)
    lines = [rf"\begin{{tabular}}{{{cols}}}", r"\hline"]
    lines.append(" & ".join(_latex_escape(str(c)) for c in frame.columns) + r" \\")
    lines.append(r"\hline")
    for row in frame.itertuples(index=False):
        lines.append(" & ".join(_latex_escape(str(v)) for v in row) + r" \\")
    lines += [r"\hline", r"\end{tabular}"]
    return "\n".join(lines)


def _html(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>{rows}</tbody>\n</table>"


def side_by_side(
    results: Sequence[EstimationResult],
    fmt: str = "markdown",
    names: Sequence[str] | None = None,
    terms: Sequence[str] | None = None,
    digits: int = 4,
) -> str:
    """Several results as one table: a column per result, estimate over (std. error).

    Parameters
    ----------
    results : sequence of EstimationResult
    fmt : {"markdown", "latex", "html"}
    names : column headers; default ``design: outcome``
    terms : rows to show; default every term of every result, in order of appearance
    """
    names = list(names) if names is not None else [f"{r.design}: {r.outcome}" for r in results]
    if len(names) != len(results):
        raise ValueError(f"{len(names)} names for {len(results)} results")
    if terms is None:
        terms = list(dict.fromkeys(t for r in results for t in r.table["term"]))
    rows: list[list[str]] = []
    for t in terms:
        est, se = [t], [""]
        for r in results:
            hit = r.table[r.table["term"] == t]
            est.append(f"{hit['estimate'].iloc[0]:.{digits}g}" if len(hit) else "")
            se.append(f"({hit['std_error'].iloc[0]:.{digits}g})" if len(hit) else "")
        rows += [est, se]
    rows.append(["N", *[str(r.n_obs) for r in results]])
    rows.append(["clusters", *[str(r.n_clusters) for r in results]])
    rows.append(["SE", *[r.se_type for r in results]])
    frame = pd.DataFrame(rows, columns=["term", *names])
    writers = {"markdown": _markdown, "latex": _latex, "html": _html}
    if fmt not in writers:
        raise ValueError(f"fmt must be one of {sorted(writers)}, not {fmt!r}")
    return writers[fmt](frame)
