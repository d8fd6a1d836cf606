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
    "ctnet_lib.analysis.command",
    "ctnet_lib.data.command",
    "ctnet_lib.train.command",
    "ctnet_lib.explain.command",
)


class CliError(Exception):
    """A user error that the command reports on one line, without a traceback."""


def parse_set_options(pairs: list[str]) -> dict[str, str]:
    """``['kernels=1,3', 'pwconv=true']`` -> ``{'kernels': '1,3', 'pwconv': 'true'}``."""
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set {pair!r} is not key=value (for example --set kernels=3,3)")
        options[key.strip()] = value.strip()
    return options


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
    except (CliError, ValueError, FileNotFoundError) as error:
        print(f"ctnet {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
