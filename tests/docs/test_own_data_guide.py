"""The "Bring your own data" guide, walked: its command on the shipped example, then its
Python, with the numbers the guide states."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys

import pytest
from conftest import ROOT

import analysis
from analysis.data.build import read_panel

GUIDE = ROOT / "docs" / "guides" / "own_data.md"
OUTCOME = "youth_care_per_1000_0_22"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    text = GUIDE.read_text()
    (command,) = re.findall(r"```sh\n(.*?)\n```", text, flags=re.S)
    args = shlex.split(command)
    assert args[:2] == [".venv/bin/python", "-m"]
    out = tmp_path_factory.mktemp("guide")
    done = subprocess.run([sys.executable, *args[1:], "--out-dir", str(out)], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    return text, done.stdout + done.stderr, read_panel("csv", 2022, out_dir=out)


def test_the_build_step_gives_what_the_guide_says(built):
    text, log, panel = built
    assert "345 municipalities x 7 years (2016-2022) on 2022 boundaries" in log
    assert "from 390-345 codes per year; 29 units combine several codes" in log
    assert "**345\nmunicipalities x 7 years (2016-2022) on 2022 boundaries**" in text
    assert panel["municipality"].nunique() == 345 and panel.attrs["baseline_year"] == 2019
    assert OUTCOME in panel and panel["baseline_population"].notna().all()


def test_the_before_after_design_names_the_growth_design(built):
    _, _, panel = built
    with pytest.raises(ValueError, match=r"did_2x2: no year before 2015 \(the data start in "
                                         r"2016\).*analysis\.size_gap_table"):
        analysis.did_2x2(panel, OUTCOME)


def test_the_growth_design_gives_the_guides_numbers(built):
    text, _, panel = built
    row = analysis.size_gap_table(panel, [OUTCOME], draws=999).iloc[0]
    assert (row.base_year, row.last_year, row.municipalities, row.in_group) == (2016, 2022, 345, 87)
    shown = (f"| {row.base_year} | {row.last_year} | {row.municipalities} | {row.in_group} | "
             f"{row.estimate:.2f} | {row.ci_low:.2f} to {row.ci_high:.2f} | "
             f"{row.wild_ci_low:.2f} to {row.wild_ci_high:.2f} |")
    assert shown in text
    assert row.wild_ci_low < 0 < row.wild_ci_high  # "no detectable difference"
