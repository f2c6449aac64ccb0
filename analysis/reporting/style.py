"""One figure style for every notebook and the report.

Colour-blind-safe palette (seaborn's ``colorblind``, after Wong 2011), labelled axes with
units, and a caption that says "synthetic data" whenever the panel is synthetic.

Axis rules every figure follows (the helpers below apply them):

* **years and event times are integers**, horizontal, at most :data:`MAX_YEAR_LABELS`
  labels per panel (:func:`year_axis`), so labels never run into each other;
* **ranges do not exaggerate** (:func:`honest_range`): an index axis always shows its
  reference (100) and spans at least :data:`MIN_INDEX_SPAN` points; a gap axis always
  shows 0 and spans at least the ``min_span`` given (a change of 4 index points is not
  drawn across the full height of a panel);
* **panel titles wrap** to the panel's width (:func:`panel_title`) instead of running
  into the neighbouring panel's title.
"""

from __future__ import annotations

import textwrap

import matplotlib as mpl
import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

PALETTE = "colorblind"
SIZE_CLASS_COLOURS = dict(
    zip(["<20k", "20-50k", "50-100k", ">=100k"], sns.color_palette(PALETTE, 4), strict=True)
)
FIGSIZE = (7.0, 4.0)
MAX_YEAR_LABELS = 5  # year labels per panel: 2015-2023 in a 3.4-inch panel would collide
MIN_INDEX_SPAN = 20.0  # an index axis (reference 100) spans at least 20 points
TITLE_WIDTH = 30  # characters per line of a panel title in a row of small panels


def use_style() -> None:
    """Apply the project style (call once at the top of a notebook).

    Also prints warnings without file paths, so stored outputs are machine-independent.
    """
    sns.set_theme(style="whitegrid", palette=PALETTE, context="notebook")
    mpl.rcParams.update(
        {
            "figure.figsize": FIGSIZE,
            "figure.dpi": 100,
            "savefig.dpi": 100,
            "axes.titlesize": "medium",
            "axes.titleweight": "bold",
            "legend.frameon": False,
            # Fixed metadata so saved figures do not change with the date or version.
            "svg.hashsalt": "decentralisation",
        }
    )
    plain_warnings()


def data_label(panel: pd.DataFrame) -> str:
    """ "SYNTHETIC DATA ..." for the default, "Bron: CBS" for real data."""
    if panel.attrs.get("synthetic", False):
        return "SYNTHETIC DATA - not CBS figures"
    return panel.attrs.get("label", "Bron: CBS StatLine")


def finish(fig: plt.Figure, panel: pd.DataFrame, title: str) -> plt.Figure:
    """Title the figure and put the data label beneath it, so no copy loses it."""
    fig.suptitle(f"{title}\n({data_label(panel)})", fontsize="medium")
    fig.tight_layout()
    return fig


def _plain_warning(message, category, filename, lineno, line=None) -> str:
    # No file paths or line numbers: stored notebook outputs must not depend on the machine.
    return f"{category.__name__}: {message}\n"


def plain_warnings() -> None:
    """Print warnings as ``Category: message`` (called by :func:`use_style`)."""
    import warnings

    warnings.formatwarning = _plain_warning


def show(fig: plt.Figure) -> None:
    """Display a figure once in a notebook and close it.

    Closing keeps the inline backend from drawing the same figure again at the end of
    the cell (under some kernels it would, and nbval would see two outputs).
    """
    from IPython.display import display

    display(fig)
    plt.close(fig)


def year_axis(ax: plt.Axes, max_labels: int = MAX_YEAR_LABELS) -> None:
    """Integer, horizontal year (or event-time) labels, at most ``max_labels`` of them.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> _ = ax.plot(range(2015, 2024), range(9))
    >>> year_axis(ax); fig.canvas.draw()
    >>> [t.get_text() for t in ax.get_xticklabels() if 2015 <= t.get_position()[0] <= 2023]
    ['2016', '2018', '2020', '2022']
    >>> plt.close(fig)
    """
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(nbins=max_labels, integer=True, min_n_ticks=2))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{int(round(value))}"))
    ax.tick_params(axis="x", labelrotation=0)


def honest_range(
    ax: plt.Axes, reference: float | None = None, min_span: float | None = None
) -> tuple[float, float]:
    """Widen the y-axis so it shows ``reference`` and spans at least ``min_span``.

    ``reference`` is 100 for an index, 0 for a gap; ``min_span`` defaults to
    :data:`MIN_INDEX_SPAN` when the reference is 100 and to nothing otherwise. The
    data range is never cut, only widened (centred on the data where there is room).

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> _ = ax.plot([2015, 2016, 2017], [100, 104.8, 104.3])
    >>> low, high = honest_range(ax, reference=100)
    >>> low <= 100 and high - low >= 20
    True
    >>> plt.close(fig)
    """
    low, high = (float(v) for v in ax.get_ylim())
    if reference is not None:
        low, high = min(low, reference), max(high, reference)
    span = MIN_INDEX_SPAN if (min_span is None and reference == 100) else (min_span or 0.0)
    if high - low < span:
        extra = span - (high - low)
        low, high = low - extra / 2, high + extra / 2
        if reference is not None and reference < low:  # keep the reference in view
            low, high = reference, reference + span
        if reference is not None and reference > high:
            low, high = reference - span, reference
    ax.set_ylim(low, high)
    return low, high


def panel_title(ax: plt.Axes, text: str, width: int = TITLE_WIDTH) -> None:
    """A panel title wrapped to ``width`` characters, so neighbours' titles never overlap."""
    ax.set_title(textwrap.fill(text, width), fontsize="small")
