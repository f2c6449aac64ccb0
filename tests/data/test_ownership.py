"""No command deletes or overwrites a file it did not create.

Every writing command is pointed at a folder holding a user's CSV and a notes file: it
must stop with one line naming the folder, exit 2, and leave both files byte-identical
(and add nothing). Folders the toolkit owns keep working, also on a fresh clone.
"""

from __future__ import annotations

import shutil

import pytest
from conftest import ROOT

from analysis.cli import main
from analysis.data.ownership import (
    MARKER,
    ForeignFolderError,
    check_writable,
    claim,
    marker_bytes,
)
from analysis.data.synthetic.raw import write_synthetic_raw

COMMITTED_RAW = ROOT / "data" / "raw" / "synthetic"
EXAMPLE = ROOT / "data" / "examples" / "own_data.csv"
USER_CSV = b"municipality,year,clients\nGM0363,2016,12\n"
NOTES = "notities: niet weggooien \u2013 \xe9\xe9n bestand\n".encode()


@pytest.fixture
def users_folder(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "clients.csv").write_bytes(USER_CSV)
    (folder / "notes.txt").write_bytes(NOTES)
    return folder


def _commands(folder):
    density = "bijstand_density=rate:bijstand_recipients/population_15plus*1000"
    own = ["--source", "csv", "--input", str(EXAMPLE), "--boundary-year", "2019"]
    return {
        "build --raw-dir": ["build", "--raw-dir", str(folder), "--out-dir", str(folder / "x")],
        "build --out-dir": ["build", "--raw-dir", str(COMMITTED_RAW), "--out-dir", str(folder)],
        "build csv": ["build", *own, "--role", density, "--out-dir", str(folder)],
        "run --out-dir": ["run", "--raw-dir", str(COMMITTED_RAW), "--out-dir", str(folder)],
        "run --raw-dir": ["run", "--no-report", "--raw-dir", str(folder)],
        "synthesize --out": ["synthesize", "--out", str(folder)],
        "fetch --raw-dir": ["fetch", "--raw-dir", str(folder), "--tables", "03759ned"],
        "report --report-dir": ["report", "--report-dir", str(folder)],
    }


@pytest.mark.parametrize("command", list(_commands(ROOT)))
def test_writing_command_leaves_a_users_folder_untouched(command, users_folder, capsys):
    before = sorted(p.name for p in users_folder.iterdir())
    status = main(_commands(users_folder)[command])
    err = capsys.readouterr().err
    assert status == 2
    errors = [line for line in err.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and str(users_folder) in errors[0], err
    assert "holds files this toolkit did not create (clients.csv, notes.txt)" in errors[0]
    assert "choose a new or empty folder" in errors[0]
    assert sorted(p.name for p in users_folder.iterdir()) == before  # nothing added
    assert (users_folder / "clients.csv").read_bytes() == USER_CSV
    assert (users_folder / "notes.txt").read_bytes() == NOTES


def test_a_users_file_inside_an_owned_replaced_folder_is_never_deleted(tmp_path, capsys):
    raw = tmp_path / "synthetic"
    shutil.copytree(COMMITTED_RAW, raw)
    (raw / "my-notes.txt").write_bytes(NOTES)
    assert main(["synthesize", "--out", str(raw)]) == 2
    assert "my-notes.txt" in capsys.readouterr().err
    assert (raw / "my-notes.txt").read_bytes() == NOTES


def test_owned_folders_keep_working_on_a_fresh_clone(tmp_path):
    # data/processed of a clone holds only .gitkeep; the synthetic default only its
    # manifest's files (its manifest says the toolkit wrote them)
    processed = tmp_path / "processed"
    processed.mkdir()
    (processed / ".gitkeep").write_bytes(b"")
    assert claim(processed) == processed
    assert (processed / MARKER).is_file()
    check_writable(processed)  # marked: fine again
    check_writable(COMMITTED_RAW, replaced=True)
    raw = tmp_path / "synthetic"
    shutil.copytree(COMMITTED_RAW, raw)
    write_synthetic_raw(raw)  # rewriting its own folder is allowed
    assert sorted(p.name for p in raw.iterdir()) == sorted(p.name for p in COMMITTED_RAW.iterdir())


def test_build_into_a_new_folder_marks_it_and_can_write_again(tmp_path, capsys):
    out = tmp_path / "new" / "processed"
    argv = ["build", "--raw-dir", str(COMMITTED_RAW), "--out-dir", str(out)]
    assert main(argv) == 0
    assert (out / MARKER).is_file() and (out / "panel_synthetic_2023.parquet").is_file()
    assert main(argv) == 0, capsys.readouterr().err


def test_report_folder_lists_its_files_and_refuses_a_stranger(tmp_path):
    report = tmp_path / "report"
    report.mkdir()
    (report / MARKER).write_text('{"files": ["index.html", "01_x.html"]}')
    (report / "index.html").write_text("old report")
    check_writable(report, replaced=True)
    (report / "my-analysis.ipynb").write_text("{}")
    with pytest.raises(ForeignFolderError, match="my-analysis.ipynb"):
        check_writable(report, replaced=True)


def test_a_file_in_place_of_the_folder_is_refused(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(USER_CSV)
    with pytest.raises(ForeignFolderError, match="is a file, not a folder"):
        claim(path)
    assert path.read_bytes() == USER_CSV


def _toolkit_like(folder):
    """A user's folder whose top-level names merely look like the toolkit's own."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "figures").mkdir()
    (folder / "report").mkdir()
    (folder / "figures" / "f.pdf").write_bytes(b"a")
    (folder / "report" / "c.tex").write_bytes(b"b")
    for name in ("index.html", "01_results.html", "draft.partial", "panel_csv_2019.json",
                 "summary_cbs.md", "12345NED"):
        (folder / name).write_bytes(NOTES)
    return folder


def _snapshot(folder):
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None
            for p in sorted(folder.rglob("*"))}


@pytest.mark.parametrize("command", list(_commands(ROOT)))
def test_toolkit_like_names_do_not_make_a_folder_the_toolkits(command, tmp_path, capsys):
    # issue 20: figures/, report/, index.html, NN_*.html, *.partial counted as owned and
    # the folder was replaced whole (synthesize --out, build --raw-dir, report --report-dir)
    folder = _toolkit_like(tmp_path / "mine")
    before = _snapshot(folder)
    status = main(_commands(folder)[command])
    err = capsys.readouterr().err
    assert status == 2, err
    errors = [line for line in err.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and str(folder) in errors[0], err
    assert "holds files this toolkit did not create" in errors[0]
    assert _snapshot(folder) == before


def test_only_the_marker_makes_a_folder_the_toolkits(tmp_path):
    processed = tmp_path / "processed"
    (processed / "report").mkdir(parents=True)
    for name in ("panel_synthetic_2023.parquet", "panel_synthetic_2023.json", "summary_cbs.md"):
        (processed / name).write_bytes(b"old")
    (processed / "report" / "index.html").write_bytes(b"old")
    with pytest.raises(ForeignFolderError, match="panel_synthetic_2023.json"):
        check_writable(processed)
    with pytest.raises(ForeignFolderError, match="index.html"):
        check_writable(processed / "report", replaced=True)
    (processed / MARKER).write_bytes(marker_bytes())
    check_writable(processed)  # marked: written into, not replaced
    (processed / "clients.csv").write_bytes(USER_CSV)
    check_writable(processed)  # a marked folder may hold more; it is never replaced
    assert (processed / "clients.csv").read_bytes() == USER_CSV


def test_replacing_a_folder_never_touches_a_sibling_named_like_its_backup(tmp_path):
    # replace_directory used to rmtree ".<name>.old" beside the target, whoever made it
    (tmp_path / ".synthetic.old").mkdir()
    (tmp_path / ".synthetic.old" / "keep.txt").write_bytes(NOTES)
    raw = tmp_path / "synthetic"
    shutil.copytree(COMMITTED_RAW, raw)
    write_synthetic_raw(raw)
    assert (tmp_path / ".synthetic.old" / "keep.txt").read_bytes() == NOTES
    assert sorted(p.name for p in tmp_path.iterdir()) == [".synthetic.old", "synthetic"]


def test_a_users_partial_folder_in_a_fetch_cache_is_never_removed(tmp_path):
    from analysis.data.cbs.api.staging import FetchStaging

    target = tmp_path / "T1" / "v4-abc"
    mine = target.with_name("v4-abc.partial")
    mine.mkdir(parents=True)
    (mine / "keep.txt").write_bytes(NOTES)
    with pytest.raises(ForeignFolderError, match="was not made by a fetch"):
        FetchStaging(target).__enter__()
    assert (mine / "keep.txt").read_bytes() == NOTES
