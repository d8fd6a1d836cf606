"""``ctnet report``: run the notebooks as papermill reports with a parameter preset."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ctnet_lib.reports.layout import (
    FALLBACK_KERNEL,
    NOTEBOOKS_DIR,
    OUTPUT_DIR,
    PREFERRED_KERNEL,
    PRESETS_DIR,
)
from ctnet_lib.reports.presets import parse_overrides
from ctnet_lib.validation import check_at_least, check_output_folder

if TYPE_CHECKING:
    from ctnet_lib.reports.runner import ReportResult
    from ctnet_lib.reports.suite import ReportPlan

DESCRIPTION = """Execute notebooks/*.ipynb with papermill and a parameter preset. Writes, in
OUTPUT_DIR/<preset>/: <name>.ipynb (executed), <name>.html (standalone, plotly.js embedded) and
index.html / index.json (every report with its parameters, duration and status).
A failing notebook does not stop the others. Exit status: 0 all ok, 1 some notebook failed,
2 usage error (unknown notebook, preset or parameter)."""

EPILOG = """examples:
  ctnet report                                   every notebook with the cpu preset -> reports/cpu/
  ctnet report --preset smoke                    seconds-long check that every notebook runs
  ctnet report 00_quickstart -p num_frames 16    one notebook, one parameter changed
  ctnet report --list --preset gpu               notebooks, their parameters and the gpu values
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``report`` sub-command to the ``ctnet`` parser."""
    parser = subparsers.add_parser(
        "report",
        help="run the notebooks as papermill reports (executed .ipynb + standalone HTML + index)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help="notebooks to run, by file stem (e.g. 00_quickstart); default: all")
    parser.add_argument("--preset", default="cpu",
                        help="parameter preset, a file <presets-dir>/<PRESET>.yaml: smoke (seconds, tiny "
                        "inputs), cpu (minutes on a laptop), gpu (ResNet-50 settings, CUDA); default cpu")
    parser.add_argument("-p", "--parameter", dest="overrides", nargs=2, action="append", default=[],
                        metavar=("KEY", "VALUE"),
                        help="override a parameter for every selected notebook that declares it; VALUE "
                        "is read as YAML (16, true, [1, 3], ctnet_r50); repeatable")
    parser.add_argument("--kernel", default=None,
                        help=f"Jupyter kernel to run with (default {PREFERRED_KERNEL} if installed, "
                        f"else {FALLBACK_KERNEL})")
    parser.add_argument("--hide-code", action="store_true",
                        help="export HTML without code cells and without In/Out prompts (teaching, demos)")
    parser.add_argument("--output-dir", type=Path, default=OUTPUT_DIR,
                        help=f"reports go to OUTPUT_DIR/<preset>/ (default {OUTPUT_DIR})")
    parser.add_argument("--notebooks-dir", type=Path, default=NOTEBOOKS_DIR,
                        help=f"folder of the source notebooks (default {NOTEBOOKS_DIR})")
    parser.add_argument("--presets-dir", type=Path, default=PRESETS_DIR,
                        help=f"folder of the preset YAML files (default {PRESETS_DIR})")
    parser.add_argument("--list", action="store_true",
                        help="list the notebooks, the parameters each declares and the values the preset "
                        "(and -p) give them; run nothing")
    parser.add_argument("--cell-timeout", type=float, default=None, metavar="SECONDS",
                        help="fail a notebook whose cell runs longer than this (default: no limit)")
    parser.add_argument("--no-progress", action="store_true",
                        help="no per-cell progress bar (the one line per notebook stays)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """``ctnet report``: plan (all usage errors surface here), then list or run; return the exit status."""
    from ctnet_lib.reports.runner import resolve_kernel  # papermill and nbconvert: imported when needed
    from ctnet_lib.reports.suite import plan_reports, run_suite

    plan = plan_reports(args.preset, args.names, parse_overrides(args.overrides), args.notebooks_dir,
                        args.presets_dir)
    if args.list:
        print(describe_plan(plan))
        return 0
    check_output_folder(args.output_dir / plan.preset.name, "--output-dir")
    check_at_least("--cell-timeout", args.cell_timeout, 0.0, optional=True)
    kernel = resolve_kernel(args.kernel)
    try:
        results = run_suite(plan, kernel, args.output_dir, args.hide_code, not args.no_progress,
                            args.cell_timeout)
    except KeyboardInterrupt:
        print("ctnet report: interrupted; finished reports are kept and indexed, the unfinished one was "
              "discarded", file=sys.stderr)
        return 130
    return report_failures(results)


def describe_plan(plan: ReportPlan) -> str:
    """Text for ``--list``: each notebook, its declared parameters (default, help) and the value it gets."""
    lines = [f"preset {plan.preset.name}: {plan.preset.description}"]
    for stem, declared in plan.declared.items():
        lines.append(f"{stem}  ({plan.notebooks[stem]})")
        for name, info in declared.items():
            given = plan.parameters[stem]
            value = json.dumps(given[name]) if name in given else "(default)"
            comment = f"  # {info['help']}" if info["help"] else ""
            lines.append(f"  {name} = {info['default']}  ->  {value}{comment}")
    return "\n".join(lines)


def report_failures(results: list[ReportResult]) -> int:
    """Name the failed reports on stderr; exit status 1 if any failed, else 0."""
    failed = [result for result in results if not result.ok]
    if failed:
        names = "; ".join(f"{result.name} ({result.error})" for result in failed)
        print(f"ctnet report: {len(failed)} of {len(results)} notebooks failed: {names}", file=sys.stderr)
    return 1 if failed else 0
