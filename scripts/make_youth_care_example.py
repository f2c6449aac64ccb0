"""Write data/examples/youth_care_2016_2022.csv from the vendored real StatLine tables.

The example of the "bring your own data" guide: the shape of a researcher's own file
(one row per municipality and year, each year on its own boundaries, names as CBS
writes them) with no year before 2015. The figures are real CBS figures (Bron: CBS,
CC BY 4.0), taken byte-reproducibly from ``data/raw/statline/``:

* ``youth_care_users``: young people with youth care under the Jeugdwet in the year
  (``JZ Totaal jeugdzorg``, ``JongerenMetJeugdzorg_1``; 84134NED for 2016-2020,
  85099NED for 2021-2022);
* ``youth_population``: young people aged 0-22, ``JongerenMetJeugdzorg_1 /
  JongerenMetJeugdzorgRelatief_2 x 100`` rounded to a whole number (CBS rounds the count
  to 5 and the percentage to 0.1, so it is approximate, as in the real panel);
* ``population``: inhabitants on 1 January (03759ned M000352), known from 2019 only, so
  empty for 2016-2018 (a gap the guide shows how to handle).

Regional aggregates (``Nederland``, youth-care regions) and municipalities without a
figure that year are left out. Run: ``python scripts/make_youth_care_example.py``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.data.boundaries import load_boundary_history  # noqa: E402
from analysis.data.cbs.exports.names import match_municipalities  # noqa: E402

RAW = ROOT / "data" / "raw" / "statline"
OUT = ROOT / "data" / "examples" / "youth_care_2016_2022.csv"
YEARS = range(2016, 2023)


def youth_care() -> pd.DataFrame:
    parts = []
    for table in ("84134NED", "85099NED"):
        t = pd.read_csv(RAW / "csv" / f"{table}.csv", sep=";", dtype={"Perioden": str})
        t = t[(t["VormenVanJeugdzorg"] == "JZ Totaal jeugdzorg")
              & t["Perioden"].str.fullmatch(r"\d{4}")]
        parts.append(t)
    t = pd.concat(parts)
    t["year"] = t["Perioden"].astype(int)
    t = t[t["year"].isin(YEARS)].dropna(subset=["JongerenMetJeugdzorg_1",
                                                 "JongerenMetJeugdzorgRelatief_2"])
    t = t[t["JongerenMetJeugdzorgRelatief_2"] > 0]
    return pd.DataFrame({
        "municipality": t["RegioS"].str.strip(),
        "year": t["year"],
        "youth_care_users": t["JongerenMetJeugdzorg_1"].round().astype(int),
        "youth_population": (t["JongerenMetJeugdzorg_1"] / t["JongerenMetJeugdzorgRelatief_2"]
                             * 100).round().astype(int),
    })


def population() -> pd.DataFrame:
    obs = json.loads((RAW / "03759ned" / "observations-page-1.json").read_text())["value"]
    rows = [(o["RegioS"], int(o["Perioden"][:4]), o["Value"]) for o in obs
            if o["Measure"] == "M000352" and o["RegioS"].startswith("GM")]
    return pd.DataFrame(rows, columns=["code", "year", "population"])


def main() -> None:
    history = load_boundary_history(RAW / "03759ned" / "codes-RegioS.json")
    care = youth_care().reset_index(drop=True)
    matched = match_municipalities(care["municipality"], care["year"], history, errors="report")
    care["code"] = matched["code"].to_numpy()
    care = care[matched["how"].isin(["exact", "renamed", "qualifier", "folded"]).to_numpy()]
    out = care.merge(population(), on=["code", "year"], how="left")
    out["population"] = out["population"].astype("Int64")
    out = out.sort_values(["year", "municipality"])[
        ["municipality", "year", "youth_care_users", "youth_population", "population"]]
    OUT.write_text(out.to_csv(index=False, lineterminator="\n"), encoding="utf-8")
    print(f"{OUT.relative_to(ROOT)}: {len(out)} rows, years {out.year.min()}-{out.year.max()}, "
          f"{out.groupby('year').size().to_dict()}")


if __name__ == "__main__":
    main()
