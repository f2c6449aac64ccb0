"""The specification-curve figure (Simonsohn, Simmons & Nelson 2020, figure 2).

Top: every estimated specification's estimate, sorted, with its interval; filled when
the interval excludes zero with the headline's sign, open otherwise; the headline is
marked. Beneath: one row per choice of every dimension, a mark where the
specification above made that choice.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.designs._spec_fit import excludes_zero


def plot_curve(curve, title: str | None = None):
    """Figure of a :class:`~analysis.designs.specification_curve.SpecificationCurve`."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    from analysis.reporting.style import PALETTE, finish

    colours = sns.color_palette(PALETTE, 4)

    rows = curve.estimated.sort_values("estimate", kind="stable").reset_index()
    head = curve.headline
    scale = (lambda v: 100 * np.expm1(v)) if curve.log else (lambda v: v)
    est, low, high = (scale(rows[c].to_numpy(float)) for c in ("estimate", "ci_low", "ci_high"))
    dims = [d for d in curve.dimensions if curve.table[d].nunique() > 1]
    labels = [(d, v) for d in dims for v in pd.unique(curve.table[d])]
    fig, (top, bottom) = plt.subplots(
        2, 1, sharex=True, figsize=(max(7.0, min(14.0, 0.04 * len(rows) + 6)),
                                    3.6 + 0.22 * len(labels)),
        gridspec_kw={"height_ratios": [3.0, max(1.0, 0.22 * len(labels))]})
    x = np.arange(len(rows))
    strong = (excludes_zero(rows) & (np.sign(rows["estimate"]) == np.sign(head["estimate"])))
    strong = strong.to_numpy()
    finite = np.isfinite(low) & np.isfinite(high)
    span = np.concatenate([est, low[finite], high[finite]])
    pad = 0.05 * (span.max() - span.min() + 1e-12)
    lo_clip, hi_clip = span.min() - pad, span.max() + pad
    for mask, face, label in ((strong, colours[0], "interval excludes 0, headline's sign"),
                              (~strong, "white", "other")):
        if not mask.any():
            continue
        top.vlines(x[mask], np.clip(low[mask], lo_clip, hi_clip),
                   np.clip(high[mask], lo_clip, hi_clip), color="0.6", linewidth=0.8)
        top.scatter(x[mask], est[mask], s=14, facecolor=face, edgecolor=colours[0],
                    zorder=3, label=label)
    at = int(np.flatnonzero(rows["index"].to_numpy() == head.name)[0])
    top.scatter([at], [scale(head["estimate"])], marker="D", s=40, color=colours[3],
                zorder=4, label=f"headline (widest interval: {head['cluster']})")
    if "truth" in rows and rows["truth"].notna().any():
        top.scatter(x, scale(rows["truth"].to_numpy(float)), marker="x", s=12, color="black",
                    zorder=2, label="truth of each specification (synthetic)")
    top.axhline(0, color="grey", linewidth=0.8, linestyle="--")
    top.set_ylim(lo_clip, hi_clip)
    unit = "large minus small, %" if curve.log else "large minus small (outcome's unit)"
    top.set_ylabel(f"{curve.design} gap\n({unit})", fontsize="small")
    top.legend(fontsize="x-small", loc="upper left")
    ypos = {lab: k for k, lab in enumerate(labels[::-1])}
    for d, v in labels:
        hit = (rows[d] == v).to_numpy()
        bottom.scatter(x[hit], np.full(hit.sum(), ypos[(d, v)]), marker="|", s=30,
                       color=colours[0] if dims.index(d) % 2 == 0 else colours[1])
    bottom.set_yticks(list(ypos.values()), [f"{d}: {v}" for d, v in ypos], fontsize="x-small")
    bottom.set_ylim(-0.7, len(labels) - 0.3)
    bottom.set_xlabel(f"specification, sorted by estimate ({len(rows)} estimated"
                      + (f", {len(curve.table) - len(rows)} not estimated: see the table"
                         if len(curve.table) > len(rows) else "")
                      + f"; bars: {curve.level:.0%} intervals)", fontsize="small")
    panel = pd.DataFrame()
    panel.attrs = dict(curve.panel_attrs)
    return finish(fig, panel, title or f"Specification curve: {curve.outcome}")
