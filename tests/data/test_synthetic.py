"""The synthetic default: deterministic, CBS-shaped, calibrated, labelled, with known truth."""

from __future__ import annotations

import json

import numpy as np
import pytest

from analysis.data import schema
from analysis.data.cbs.api.v4files import read_codes
from analysis.data.sources import read_v4_directory
from analysis.data.synthetic.generator import (
    DEFAULT_OUTCOMES,
    DEFAULT_SEED,
    LABEL,
    SyntheticParams,
    simulate_panel,
)
from analysis.data.synthetic.geography import OFFICIAL_COUNTS, build_geography
from analysis.data.synthetic.raw import write_synthetic_raw


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("syn") / "synthetic"
    manifest = write_synthetic_raw(out, seed=DEFAULT_SEED)
    return out, manifest


def test_generator_is_byte_for_byte_deterministic(written, tmp_path):
    out, manifest = written
    again = write_synthetic_raw(tmp_path / "again", seed=DEFAULT_SEED)
    assert again == manifest
    for name in manifest["files"]:
        assert (tmp_path / "again" / name).read_bytes() == (out / name).read_bytes(), name


def test_a_different_seed_gives_different_outcomes_but_the_same_geography(tmp_path):
    a = simulate_panel(seed=1).panel
    b = simulate_panel(seed=2).panel
    assert (a["municipality"] == b["municipality"]).all()
    assert (a["population"] == b["population"]).all()
    assert not np.allclose(a["wmo_per_1000"], b["wmo_per_1000"])


def test_manifest_hashes_match_the_files(written):
    import hashlib

    out, manifest = written
    for name, entry in manifest["files"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == entry["sha256"], name
    assert manifest["synthetic"] is True and manifest["seed"] == DEFAULT_SEED
    assert manifest["generator_version"]


def test_municipalities_per_year_follow_the_official_counts(written):
    out, manifest = written
    panel = read_v4_directory(out, manifest["measures"])
    assert panel.groupby("year").size().to_dict() == OFFICIAL_COUNTS


def test_national_totals_of_the_files_equal_the_in_memory_panel(written):
    out, manifest = written
    raw = read_v4_directory(out, manifest["measures"])
    sim = simulate_panel(DEFAULT_SEED).panel
    columns = [c for c in (*schema.COUNTS, *schema.DENOMINATORS) if c in sim]  # synthetic's own
    assert len(columns) == 7
    for column in columns:
        by_year_raw = raw.groupby("year")[column].sum()
        by_year_sim = sim.groupby("year")[column].sum()
        assert (by_year_raw == by_year_sim).all(), column


def test_impossible_cells_are_missing_never_zero(written):
    out, _ = written
    page = json.loads((out / "observations-page-1.json").read_text())
    impossible = [r for r in page["value"] if r["ValueAttribute"] == "Impossible"]
    assert impossible and all(r["Value"] is None for r in impossible)


def test_population_is_calibrated_to_real_2019_municipalities():
    geo = build_geography(DEFAULT_SEED)
    pops = np.array([geo.entities[k].population for k in geo.existing(2019)])
    # real 2019 (CBS 03759ned): median 30,194; total 17,282,163; classes 81/189/54/31
    assert abs(np.median(pops) / 30_194 - 1) < 0.05
    assert abs(pops.sum() / 17_282_163 - 1) < 0.05
    classes = np.bincount(np.searchsorted(schema.SIZE_CLASS_EDGES, pops, side="right"))
    assert np.abs(classes - np.array([81, 189, 54, 31])).max() <= 5


def test_synthetic_codes_and_names_cannot_be_mistaken_for_real_ones(written):
    out, _ = written
    regions = read_codes(out / "codes-RegioS.json")
    gm = regions[regions["Identifier"].str.startswith("GM")]
    assert (gm["Identifier"].str[2:].astype(int) >= 7000).all()  # CBS codes stop below 2000
    assert gm["Title"].str.startswith("Syn-").all()
    properties = json.loads((out / "properties.json").read_text())
    assert "SYNTHETIC" in properties["Title"]


def test_synthetic_codes_do_not_collide_with_any_real_code(shared_cbs):
    real = read_codes(shared_cbs / "v4" / "03759ned" / "codes-RegioS.json")
    synthetic = {e.code for e in build_geography(DEFAULT_SEED).entities.values()}
    assert not synthetic & set(real["Identifier"])


def test_history_has_a_merger_a_split_and_a_boundary_correction(written):
    out, _ = written
    text = "\n".join(read_codes(out / "codes-RegioS.json")["Description"])
    assert "Ontstaan per" in text and "Opgeheven per" in text
    assert "Gemeentelijke herindeling per 01-01-2018, ontvangen van" in text
    assert "Grenswijziging per 01-01-2020" in text


def test_in_memory_panel_carries_the_truth_and_the_label():
    sim = simulate_panel(seed=3)
    panel = sim.panel
    assert panel.attrs["synthetic"] and panel.attrs["label"] == LABEL
    assert panel.groupby("year").size().eq(342).all()
    pre = panel[panel.year < schema.REFORM_YEAR]
    assert (pre.filter(like="true_effect__") == 0).all().all()
    # the true effect follows the stated formula for a post-reform year
    post = panel[panel.year == 2018]
    truth = sim.truth["outcomes"]["wmo_per_1000"]
    delta = post["size_class"].map(truth["effect_by_size_class"]).astype(float)
    d = post[schema.INTENSITY] - sim.truth["intensity_mean"]
    expected = delta + truth["intensity_slope"] * d
    np.testing.assert_allclose(post["true_effect__wmo_per_1000"], expected, atol=1e-5)


def test_rates_are_recomputed_from_whole_counts():
    panel = simulate_panel(seed=4).panel
    for outcome in (schema.OUTCOMES[name] for name in DEFAULT_OUTCOMES):
        counts = panel[outcome.numerator]
        assert (counts == counts.round()).all()
        expected = counts / panel[outcome.denominator] * outcome.per
        np.testing.assert_allclose(panel[outcome.name], expected)


def test_size_classes_are_fixed_at_the_baseline_year():
    panel = simulate_panel(seed=5).panel
    per_unit = panel.groupby("municipality")["size_class"].nunique()
    assert (per_unit == 1).all()
    base = panel[panel.year == schema.BASELINE_YEAR]
    expected = schema.size_class(base["population"])
    assert (base["size_class"].astype(str).to_numpy() == np.asarray(expected.astype(str))).all()


def test_pretrend_knob_changes_only_pre_reform_years_of_large_units():
    base = simulate_panel(seed=6).panel
    bent = simulate_panel(seed=6, params=SyntheticParams(pretrend=0.5)).panel
    changed = ~np.isclose(base["wmo_per_1000"], bent["wmo_per_1000"], atol=2e-3)
    mask = bent["large"] & (bent["year"] < schema.BASELINE_YEAR)
    assert not changed[~mask].any()
    assert changed[mask].mean() > 0.9
