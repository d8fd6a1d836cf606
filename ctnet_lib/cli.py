"""The ``ctnet`` command: one sub-command per module that registers itself here."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Each module named here defines ``register(subparsers)``, which adds its sub-command and sets
# ``func`` (called with the parsed arguments, returning an exit code) as the parser default.
COMMAND_MODULES = (
    "ctnet_lib.reports.command",
    "ctnet_lib.analysis.counting.command",
    "ctnet_lib.analysis.timing.command",
    "ctnet_lib.data.command",
    "ctnet_lib.train.command",
    "ctnet_lib.train.convert_command",
    "ctnet_lib.train.ablation_command",
    "ctnet_lib.train.zoo_command",
    "ctnet_lib.explain.command",
    "ctnet_lib.viz.figure3_command",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ctnet",
        description="ctnet-lab: take apart, measure, train and explain CT-Net.",
    )
    subparsers = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError) as error:  # CliError is a ValueError
        print(f"ctnet {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
