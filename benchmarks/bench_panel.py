"""Time panel validation and boundary harmonisation at national size.

431 target municipalities x 14 years (2010-2023); earlier years have more codes
(mergers) and a few codes split between two targets. Prints seconds per call.

    python benchmarks/bench_panel.py
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd

from analysis.data.harmonise import harmonise_to_boundaries
from analysis.data.rates_and_sizes import MissingBaselineWarning
from analysis.data.schema import COUNTS, DENOMINATORS
from analysis.data.validation import validate_panel

TARGET, YEARS, N_TARGET = 2023, range(2010, 2024), 431


class SyntheticHistory:
    """Year Y has ``431 + 3 * (2023 - Y)`` codes; extras merge, every 50th splits."""

    def __init__(self) -> None:
        self.targets = [f"GM{i:04d}" for i in range(N_TARGET)]

    def codes(self, year: int) -> list[str]:
        n = N_TARGET + 3 * (TARGET - year)
        return self.targets if year == TARGET else [f"GM{5000 + i:04d}" for i in range(n)]

    def crosswalk(self, from_year: int, to_year: int) -> pd.DataFrame:
        rows = []
        for i, code in enumerate(self.codes(from_year)):
            target = self.targets[i % N_TARGET]
            if i % 50 == 0:
                other = self.targets[(i + 1) % N_TARGET]
                rows += [(code, target, 0.25), (code, other, 0.75)]
            else:
                rows.append((code, target, 1.0))
        return pd.DataFrame(rows, columns=["from_code", "to_code", "weight"])

    def municipalities_on(self, year: int) -> list[str]:
        return self.codes(year)

    def name(self, code: str, year: int | None = None) -> str:
        return code

    def province(self, code: str) -> str | None:
        return "PV20"


def synthetic_panel(history: SyntheticHistory) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frames = []
    for year in YEARS:
        codes = history.codes(year)
        values = rng.integers(0, 100_000, size=(len(codes), len(COUNTS) + len(DENOMINATORS)))
        frame = pd.DataFrame(values.astype(float), columns=[*COUNTS, *DENOMINATORS])
        frames.append(frame.assign(municipality=codes, year=year))
    return pd.concat(frames, ignore_index=True)


def seconds(call, repeat: int = 5) -> float:
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    history = SyntheticHistory()
    panel = synthetic_panel(history)
    warnings.simplefilter("ignore", MissingBaselineWarning)
    print(f"panel: {len(panel)} rows ({panel.municipality.nunique()} codes, {len(YEARS)} years)")
    print(f"validate_panel:          {seconds(lambda: validate_panel(panel)):.3f} s")
    run = lambda: harmonise_to_boundaries(panel, TARGET, history)  # noqa: E731
    print(f"harmonise_to_boundaries: {seconds(run):.3f} s")
    out = run()
    print(f"harmonised: {len(out)} rows on {out.municipality.nunique()} {TARGET} municipalities")


if __name__ == "__main__":
    main()
