"""``ctnet convert``: the authors' released checkpoint (or any accepted one) as a ctnet-lab run folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from ctnet_lib.train.convert import convert_checkpoint

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``convert`` sub-command."""
    parser = subparsers.add_parser(
        "convert",
        help="write a ctnet-lab checkpoint (run folder) from the authors' released one",
        description=(
            "Read a checkpoint as it is (the release's ct_net_8f_r50.pth.tar as main.py saved it, its state "
            "dict alone, with or without 'module.'; or a ctnet-lab checkpoint) and write RUN_DIR/best.pt and "
            "config.yaml: the model preset and options (variant=release), the release's test-time input "
            "(8 frames, short side 256, centre crop 256), class names and weights."
        ),
        epilog="Example: ctnet convert ct_net_8f_r50.pth.tar --class-file category.txt --out runs/release",
    )
    parser.add_argument("checkpoint", type=Path, help="checkpoint file to convert")
    parser.add_argument("--out", required=True, type=Path, help="run folder to write (must not hold best.pt)")
    parser.add_argument("--class-file", type=Path, default=None,
                        help="class names (classes.json, or one per line: the release's category.txt); "
                        "default: numbered")
    parser.set_defaults(func=run_convert)


def run_convert(args: argparse.Namespace) -> int:
    written = convert_checkpoint(args.checkpoint, args.out, args.class_file)
    print(f"wrote {written} and {written.parent / 'config.yaml'}")
    return 0
