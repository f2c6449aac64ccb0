"""Command line: ``python -m analysis {build,run,synthesize,...}``.

Bad arguments and bad input give one clear error line and exit status 2, no traceback;
nothing half-written is left in ``data/processed`` (every write is atomic).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

from analysis.data import paths, schema
from analysis.data.owndata.cli import add_own_data_options, build_from_args


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line instead of usage + message
        if "invalid choice: 'csv'" in message:  # `run --source csv`: say where own data go
            message += "; own data are built with `build --source csv --input FILE`"
        raise SystemExit(_fail(f"{self.prog}: {message} (see --help)"))


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _step(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _add_panel_options(parser: argparse.ArgumentParser, every_source: bool = False) -> None:
    from analysis.data.build import SOURCES

    parser.add_argument(
        "--source",
        # `run` summarises and reports the toolkit's own outcomes: own data (csv) is
        # `build --source csv` only, so run neither offers it nor its options
        choices=(["all"] if every_source else []) + [*SOURCES] + ([] if every_source else ["csv"]),
        default=None if every_source else "synthetic",
        help="synthetic default (no internet needed), CBS data from `fetch`, the real "
        "CBS StatLine tables vendored in data/raw/statline"
        + (", or your own CSV (--input)" if not every_source else "")
        + ("; all (default): statline and synthetic, one report (with --raw-dir, which "
           "is one source's folder, the default is synthetic)" if every_source else ""),
    )
    parser.add_argument(
        "--boundary-year",
        type=int,
        default=2023,
        help="harmonise onto the municipalities of 1 January of this year",
    )
    parser.add_argument(
        "--baseline-year",
        type=int,
        default=None,
        help=f"year that fixes size classes and treatment intensity (default "
        f"{schema.BASELINE_YEAR}; 2015 for statline, its first year with population)",
    )
    parser.add_argument("--raw-dir", type=Path, default=None, help="raw data folder")
    parser.add_argument("--out-dir", type=Path, default=None, help="processed data folder")
    _add_choice_options(parser)
    add_screening_option(parser)
    if not every_source:
        add_own_data_options(parser)


def add_screening_option(parser: argparse.ArgumentParser) -> None:
    """``--screening on|off`` (build, run, report): screen raw cells before harmonising."""
    parser.add_argument(
        "--screening",
        choices=("on", "off"),
        default="on",
        help="on (default): implausible raw cells (unit errors, jumps, zeros, pre-merger "
        "years, regional booking) become missing with a screen: status, raw values kept "
        "in <column>_raw, every flag in the sidecar; off: keep every value",
    )


def screening_settings(args: argparse.Namespace):
    """The :class:`analysis.data.screening.ScreeningSettings` of ``--screening``."""
    from analysis.data.screening import ScreeningSettings

    return ScreeningSettings(enabled=getattr(args, "screening", "on") != "off")


def _add_choice_options(parser: argparse.ArgumentParser) -> None:
    """The researcher's choices (analysis.data.options.PanelOptions); defaults as always."""
    from analysis.data.options import DEFAULT_MAX_MISSING_SHARE, MISSING_PARTS
    from analysis.data.sizing import SIZE_RULES

    parser.add_argument(
        "--size-rule", choices=SIZE_RULES, default="sum",
        help="a merged unit's base-year size: the sum of its parts (default) or its "
        "largest predecessor's own population",
    )  # fmt: skip
    parser.add_argument(
        "--threshold", type=float, default=schema.LARGE_THRESHOLD,
        help="base-year inhabitants that make a unit large (default 50000)",
    )  # fmt: skip
    parser.add_argument(
        "--drop-merger-crossers", action="store_true",
        help="leave out units that reach the threshold only through a merger",
    )  # fmt: skip
    parser.add_argument(
        "--missing-parts", choices=MISSING_PARTS, default="missing",
        help="a unit with a part without a figure: missing (default), or scaled from its "
        "reporting parts when the missing parts hold less than --max-missing-share of "
        "its inhabitants (flagged in <column>_status)",
    )  # fmt: skip
    parser.add_argument(
        "--max-missing-share", type=float, default=DEFAULT_MAX_MISSING_SHARE,
        help="see --missing-parts (default 0.05)",
    )  # fmt: skip


def _options(args: argparse.Namespace):
    from analysis.data.options import PanelOptions

    return PanelOptions(
        size_rule=args.size_rule, threshold=args.threshold,
        drop_merger_crossers=args.drop_merger_crossers, missing_parts=args.missing_parts,
        max_missing_share=args.max_missing_share,
    )  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m analysis", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    build = sub.add_parser("build", help="raw data -> harmonised panel in data/processed")
    _add_panel_options(build)
    run = sub.add_parser("run", help="build the panels, save a first summary, write the report")
    _add_panel_options(run, every_source=True)
    synth = sub.add_parser("synthesize", help="(re)write the synthetic default in data/raw")
    synth.add_argument("--seed", type=int, default=None)
    synth.add_argument("--out", type=Path, default=None)
    for extension in _extensions():
        extension(sub)
    return parser


def _extensions():
    """Sub-commands contributed by other modules (CBS fetch, report), when present."""
    hooks = []
    try:
        from analysis.data.cbs.api.cli import add_fetch_parser

        hooks.append(add_fetch_parser)
    except ImportError:
        pass
    try:
        from analysis.reporting.report import add_report_parser

        hooks.append(add_report_parser)
    except ImportError:
        pass
    return hooks


def _build(args: argparse.Namespace):
    """The panel of the shared options (``--source``, years, folders)."""
    from analysis.data.build import build_panel
    from analysis.data.ownership import check_writable

    check_writable(args.out_dir or paths.PROCESSED)  # a user's folder: stop before any work
    raw = args.raw_dir
    if args.source == "synthetic" and raw and not (raw / "manifest.json").exists():
        check_writable(raw, replaced=True)  # the synthetic default would be written there
    _step(f"building the {args.source} panel on {args.boundary_year} boundaries")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if args.source == "csv":
            if _options(args).tag():
                raise ValueError(
                    "--size-rule, --threshold, --drop-merger-crossers and --missing-parts "
                    "apply to the toolkit's sources; for your own data use "
                    "analysis.panel_from_frame(..., options=PanelOptions(...)) in Python")
            result = build_from_args(args)
        else:
            result = build_panel(
                args.source,
                raw_dir=args.raw_dir,
                boundary_year=args.boundary_year,
                baseline_year=args.baseline_year,
                out_dir=args.out_dir,
                options=_options(args),
                screening=screening_settings(args),
            )
    for warning in caught:  # one plain line each, not a source-code excerpt
        print(f"warning: {warning.message}", file=sys.stderr)
    return result


def cmd_build(args: argparse.Namespace) -> int:
    result = _build(args)
    meta = result.metadata
    raw_counts = meta["municipalities_per_year_raw"]
    first, last = min(raw_counts), max(raw_counts)
    print(
        f"built {result.path}: {result.panel[schema.MUNICIPALITY].nunique()} municipalities x "
        f"{result.panel[schema.YEAR].nunique()} years ({first}-{last}) on {args.boundary_year} "
        f"boundaries from {raw_counts[first]}-{raw_counts[last]} codes per year; "
        f"{meta['units_combining_several_codes']} units combine several codes; "
        f"{meta['rows_incomplete']} incomplete rows. {meta['label']}"
    )
    if meta.get("size_note"):
        scaled = len(meta.get("scaled_cells", []))
        print(meta["size_note"] + (f"; {scaled} cells scaled from reporting parts "
                                   "(<column>_status 'scaled: ...')" if scaled else ""))
    screening = meta.get("screening", {})
    if screening.get("enabled"):
        counts = {c: sum(r.values()) for c, r in screening.get("counts", {}).items()}
        shown = ", ".join(f"{c} {n}" for c, n in counts.items()) or "none"
        print(f"screening: {screening['n_flags']} raw cell(s) set missing ({shown}); "
              f"reasons and raw values in {result.path.with_suffix('.json')}")
    else:
        print("screening: off (every raw value kept)")
    if "statline" in meta:  # what the real tables could not place, never guessed
        extra = meta["statline"]
        print(
            f"left out: {extra['n_regional_aggregates_left_out']} regional aggregates (not "
            f"municipalities) and {len(extra['figures_outside_lifetime_left_out'])} figure(s) "
            f"for a municipality outside its lifetime; see {result.path.with_suffix('.json')}"
        )
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from analysis.data.io import write_bytes_atomic
    from analysis.data.ownership import check_writable, claim
    from analysis.reporting.report import ALL_SOURCES
    from analysis.reporting.summary import render_summary

    started = getattr(args, "started", time.monotonic())
    if args.source is None:  # a raw folder belongs to one source: the synthetic default
        args.source = "all" if args.raw_dir is None else "synthetic"
    out_dir = args.out_dir or paths.PROCESSED
    check_writable(out_dir)
    if getattr(args, "after_run", None) is not None and not getattr(args, "no_report", False):
        report_dir = getattr(args, "report_dir", None) or paths.PROCESSED / "report"
        check_writable(report_dir, replaced=True)  # refuse before building, not after
    sources = ALL_SOURCES if args.source == "all" else (args.source,)
    built = []
    for source in sources:  # `run` builds every panel the report will read
        one = argparse.Namespace(**{**vars(args), "source": source})
        result = _stored_panel(one)
        reused = result is not None
        result = result or _build(one)
        text = render_summary(result.unharmonised, result.panel)
        target = write_bytes_atomic(claim(out_dir) / f"summary_{source}.md", text.encode())
        print(text)
        print(f"summary written to {target}")
        built.append((result, reused, target))
    report = getattr(args, "after_run", None)
    status = report(args) if report is not None else 0
    if status == 0:
        _run_summary(args, built, time.monotonic() - started)
    return status


def _stored_panel(args: argparse.Namespace):
    """The stored panel when it is up to date (a rebuild would write the same file)."""
    from analysis.data.build import read_current_panel

    if args.raw_dir is not None:
        return None  # the sidecar records the default raw folder's manifest only
    result = read_current_panel(
        args.source, args.boundary_year, args.baseline_year, args.out_dir, _options(args),
        screening=screening_settings(args),
    )  # fmt: skip
    if result is not None:
        _step(f"the {args.source} panel is up to date, not rebuilt: {result.path}")
    return result


def _run_summary(args: argparse.Namespace, built: list, seconds: float) -> None:
    """The last lines of ``run``: what was built, where it is, how long it took."""
    index = getattr(args, "report_index", None)
    report = "not written (--no-report)"
    if index is not None:
        report = f"{index}"
    lines = [f"\ndone in {seconds:.0f} s:"]
    for result, reused, summary in built:
        label = "SYNTHETIC data" if result.metadata.get("synthetic") else "REAL CBS data"
        state = "up to date, reused" if reused else "built"
        lines.append(f"  panel    {result.path} ({label}; {state})")
        lines.append(f"  summary  {summary}")
    lines.append(f"  report   {report}")
    print("\n".join(lines))


def cmd_synthesize(args: argparse.Namespace) -> int:
    from analysis.data.synthetic.generator import DEFAULT_SEED
    from analysis.data.synthetic.raw import write_synthetic_raw

    out = args.out or paths.SYNTHETIC_RAW
    manifest = write_synthetic_raw(out, seed=DEFAULT_SEED if args.seed is None else args.seed)
    print(f"wrote {len(manifest['files'])} files to {out} (seed {manifest['seed']}; SYNTHETIC)")
    return 0


COMMANDS = {"build": cmd_build, "run": cmd_run, "synthesize": cmd_synthesize}


def main(argv: Sequence[str] | None = None) -> int:
    started = time.monotonic()  # before the parser imports the sub-commands' modules
    args = build_parser().parse_args(argv)
    args.started = started
    handler = getattr(args, "handler", None) or COMMANDS[args.command]
    try:
        return handler(args)
    except (ValueError, FileNotFoundError, OSError) as exc:
        return _fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    except KeyboardInterrupt:
        return _fail("interrupted; nothing half-written was kept")


if __name__ == "__main__":
    raise SystemExit(main())
