"""Time the CBS path: fetch from a local server into the cache, then cache -> panel.

1. The real 03759ned slice in ``../shared/cbs`` (13,568 rows), when present.
2. A 03759ned-shaped table at the size of the default fetch per year: 400 municipal
   codes x 66 age codes (total, 0..64) = 26,400 rows a year, for 3 years.

Prints rows, seconds and rows per second for each step, and the raw cache size.

    python benchmarks/bench_cbs.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from cbs_server import CBSServer, stored_v4_table, v4_table  # noqa: E402

from analysis.data.cbs.api.fetch import fetch_table  # noqa: E402
from analysis.data.cbs.api.http import RetryPolicy  # noqa: E402
from analysis.data.cbs.api.panel import build_cbs_panel  # noqa: E402
from analysis.data.cbs.catalogue import CATALOGUE  # noqa: E402

POLICY = RetryPolicy(attempts=2, backoff=0.01)
SHARED = ROOT.parent / "shared" / "cbs" / "v4" / "03759ned"


def _age_code(age: int) -> str:
    return "10010" if age == 0 else str(10000 + 100 * age)


def _regions(n: int) -> list[dict]:
    return [
        {"Identifier": f"GM{i:04d}", "Title": f"Gemeente {i}",
         "Description": "Begindatum voor 1830", "DimensionGroupId": "GMPV99"}
        for i in range(1, n + 1)
    ]  # fmt: skip


def _serve_large(server: CBSServer, n_codes: int, years: range) -> int:
    ages = ["10000", *(_age_code(a) for a in range(65))]
    rows = [
        {"Id": k, "Measure": "M000352", "ValueAttribute": "None", "Value": 100,
         "StringValue": None, "BurgerlijkeStaat": "T001019", "Geslacht": "T001038",
         "Leeftijd": age, "RegioS": region["Identifier"], "Perioden": f"{year}JJ00"}
        for k, (year, region, age) in enumerate(
            (y, r, a) for y in years for r in _regions(n_codes) for a in ages
        )
    ]  # fmt: skip
    codes = {
        "Geslacht": [{"Identifier": "T001038", "Title": "Totaal mannen en vrouwen"}],
        "BurgerlijkeStaat": [{"Identifier": "T001019", "Title": "Totaal burgerlijke staat"}],
        "Leeftijd": [{"Identifier": a, "Title": a} for a in ages],
        "RegioS": _regions(n_codes),
        "Perioden": [{"Identifier": f"{y}JJ00", "Title": str(y)} for y in years],
    }
    measures = [{"Identifier": "M000352", "Title": "Bevolking op 1 januari"}]
    v4_table(server, "03759ned", rows, codes, measures, page_size=10_000)
    return len(rows)


def _run(label: str, serve, first_year: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, CBSServer() as server:
        rows = serve(server)
        start = time.perf_counter()
        result = fetch_table(CATALOGUE["03759ned"].query(first_year), tmp, base=server.url,
                             policy=POLICY)  # fmt: skip
        fetched = time.perf_counter() - start
        start = time.perf_counter()
        panel, _, _ = build_cbs_panel(tmp)
        built = time.perf_counter() - start
        size = sum(f.bytes for f in result.manifest.files) / 1e6
    print(f"{label}: {rows:,} rows, {size:.1f} MB cached")
    print(f"  fetch (local server): {fetched:6.2f} s  ({rows / fetched:,.0f} rows/s)")
    print(f"  cache -> panel:       {built:6.2f} s  ({len(panel):,} municipality-years)")


def main() -> None:
    if SHARED.is_dir():
        _run("real 03759ned slice", lambda s: stored_v4_table(s, "03759ned", SHARED), 2019)
    else:
        print(f"real slice skipped: {SHARED} is absent")
    _run("03759ned-shaped, 400 codes x 66 ages x 3 years",
         lambda s: _serve_large(s, 400, range(2014, 2017)), 2014)  # fmt: skip


if __name__ == "__main__":
    main()
