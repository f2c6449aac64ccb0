"""The synthetic default: a deterministic panel with known effects, always labelled synthetic.

* ``generator``: the data-generating process (:func:`simulate_panel`, the ground truth);
* ``raw``: the same panel written in CBS's OData v4 format (:func:`write_synthetic_raw`);
* ``geography``: the synthetic municipalities, provinces and merger history;
* ``descriptions``: that history in CBS's Dutch wording (``codes-RegioS``).
"""

from analysis.data.synthetic.generator import (
    DEFAULT_SEED,
    LABEL,
    SyntheticPanel,
    SyntheticParams,
    simulate_panel,
)
from analysis.data.synthetic.raw import write_synthetic_raw

__all__ = [
    "DEFAULT_SEED",
    "LABEL",
    "SyntheticPanel",
    "SyntheticParams",
    "simulate_panel",
    "write_synthetic_raw",
]
