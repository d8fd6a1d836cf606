"""``ctnet complexity``: GMACs and parameters of a preset, and the modules the counter cannot count, as
text or JSON."""

from __future__ import annotations

import argparse
import json

import pandas as pd

from ctnet_lib.analysis.counting.complexity import CONVENTIONS, count_complexity
from ctnet_lib.analysis.counting.paper_tables import PAPER_TOLERANCE_PCT, reproduce_paper_table
from ctnet_lib.models import build_model, list_presets
from ctnet_lib.models.presets import OPTIONS, model_config
from ctnet_lib.models.variants import DEFAULT_NUM_CLASSES
from ctnet_lib.options import parse_set_options
from ctnet_lib.validation import check_at_least, check_clip_size


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "complexity",
        help="GMACs and parameters of a model preset (the paper's 'GFLOPs' convention by default)",
        description="Count multiply-accumulates and parameters of one clip with forward hooks.",
    )
    parser.add_argument("preset", nargs="?", help=f"model preset, one of: {', '.join(list_presets())}")
    parser.add_argument(
        "--paper-table", action="store_true",
        help="reproduce every complexity row of the paper (Tables 2, 3 and 8) beside the paper's numbers "
        "and print the table (Markdown, or JSON with --json); ignores the other options",
    )
    parser.add_argument("--frames", type=int, default=8, help="frames per clip T (default 8)")
    parser.add_argument("--size", type=int, default=None,
                        help="input height and width, pixels (default the backbone's: 256, InceptionV3 299)")
    parser.add_argument("--classes", type=int, default=DEFAULT_NUM_CLASSES,
                        help=f"number of classes (default {DEFAULT_NUM_CLASSES})")
    parser.add_argument(
        "--set", dest="options", action="append", default=[], metavar="KEY=VALUE",
        help=f"model option, repeatable: {', '.join(OPTIONS)}",
    )
    parser.add_argument(
        "--convention", choices=CONVENTIONS, default="paper",
        help="'paper': conv+linear MACs plus 2 ops per BN output (thop 2021, the paper's GFLOPs); "
        "'conv_linear': weight MACs only",
    )
    parser.add_argument("--layers", action="store_true", help="also print the per-layer table")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.set_defaults(func=run)


def paper_table_markdown(table: pd.DataFrame) -> str:
    """The reproduced paper table as a Markdown table (ours, paper, relative error)."""
    header = ("row", "preset", "options", "frames", "size", "GMACs", "paper GMACs", "error %", "params M",
              "paper params M")
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for r in table.itertuples():
        options = " ".join(f"{key}={value}" for key, value in (r.options or {}).items())
        paper_params = "" if pd.isna(r.paper_params_m) else f"{r.paper_params_m:.1f}"
        lines.append(f"| {r.row} | {r.preset} | {options} | {r.frames} | {r.size} | {r.gmacs:.2f} | "
                     f"{r.paper_gmacs:.1f} | {r.rel_error_pct:+.2f} | {r.params_m:.2f} | {paper_params} |")
    return "\n".join(lines)


def run_paper_table(as_json: bool) -> int:
    table = reproduce_paper_table()
    if as_json:
        print(table.to_json(orient="records"))
    else:
        print(paper_table_markdown(table))
        plain = table[table["note"] == ""]
        print(f"\n{len(table)} rows, largest relative error {plain['rel_error_pct'].abs().max():.2f} % "
              f"(tolerance {PAPER_TOLERANCE_PCT:g} %) among those without a note")
        for r in table[table["note"] != ""].itertuples():
            print(f"{r.row} ({r.rel_error_pct:+.2f} % GMACs, {r.params_m:.2f} M params against "
                  f"{r.paper_params_m:g}): {r.note}")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.paper_table:
        return run_paper_table(args.json)
    if args.preset is None:
        raise ValueError("give a model preset (for example ctnet_r50) or --paper-table")
    check_at_least("classes", args.classes, 1)
    options = parse_set_options(args.options)
    config = model_config(args.preset, **options)
    size = config.input_size if args.size is None else args.size
    check_clip_size(args.frames, size, config.backbone.min_input_size)
    model = build_model(args.preset, num_classes=args.classes, num_frames=args.frames, **options)
    report = count_complexity(model, (1, 3, args.frames, size, size), args.convention)
    result = {
        "preset": args.preset,
        "options": options,
        "frames": args.frames,
        "size": size,
        "classes": args.classes,
        "convention": args.convention,
        "gmacs": round(report.gmacs, 4),
        "params_m": round(report.params_m, 4),
        "uncounted": list(report.uncounted),  # modules left out of gmacs: the counter cannot count them
    }
    if args.json:
        if args.layers:
            result["layers"] = report.table.to_dict(orient="records")
        print(json.dumps(result))
        return 0
    if args.layers:
        print(report.table.to_string(index=False))
    print(f"{args.preset} ({args.frames}x{size}x{size}, {args.classes} classes, "
          f"{args.convention} convention): {report.gmacs:.2f} GMACs, {report.params_m:.2f} M params")
    if report.uncounted:
        print(f"left out of the GMACs, the counter cannot count them: {', '.join(report.uncounted)}")
    return 0
