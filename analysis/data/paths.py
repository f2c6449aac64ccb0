"""Where the project keeps its data. ``DECENTRALISATION_DATA`` moves the data folder."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("DECENTRALISATION_DATA", ROOT / "data"))
RAW = DATA / "raw"
PROCESSED = DATA / "processed"
SYNTHETIC_RAW = RAW / "synthetic"
CBS_RAW = RAW / "cbs"
STATLINE_RAW = RAW / "statline"
