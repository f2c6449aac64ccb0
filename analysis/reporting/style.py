"""One figure style for every notebook and the report.

Colour-blind-safe palette (seaborn's ``colorblind``, after Wong 2011), labelled axes with
units, and a caption that says "synthetic data" whenever the panel is synthetic.
"""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

PALETTE = "colorblind"
SIZE_CLASS_COLOURS = dict(
    zip(["<20k", "20-50k", "50-100k", ">=100k"], sns.color_palette(PALETTE, 4), strict=True)
)
FIGSIZE = (7.0, 4.0)


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
