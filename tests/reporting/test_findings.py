"""The README's "What the real data say" is what the real panel's results give now."""

from __future__ import annotations

import pytest
from conftest import ROOT

from analysis.reporting import findings


def test_the_readme_section_equals_what_the_results_give_now():
    # on a mismatch: `make readme-findings` (the data or the code moved a number)
    assert findings.current_section(ROOT / "README.md") == findings.readme_section()


def test_update_writes_between_the_markers_only(tmp_path, monkeypatch):
    monkeypatch.setattr(findings, "readme_section", lambda: "new text")
    readme = tmp_path / "README.md"
    readme.write_text(f"# T\n\n{findings.BEGIN}\nold\n{findings.END}\n\nrest\n")
    assert findings.update_readme(readme) is True
    assert readme.read_text() == f"# T\n\n{findings.BEGIN}\nnew text\n{findings.END}\n\nrest\n"
    assert findings.update_readme(readme) is False
    readme.write_text("no markers")
    with pytest.raises(ValueError, match="markers"):
        findings.update_readme(readme)
