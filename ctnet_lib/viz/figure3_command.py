"""``ctnet figure3``: the paper's Figure 3 regenerated from the zoo, with the localisation study behind it."""

from __future__ import annotations

import argparse
from pathlib import Path

from ctnet_lib.train.zoo import ZOO_MODELS
from ctnet_lib.viz.figure3 import regenerate_figure3

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "figure3", help="Figure 3 from the zoo (PNG) and the study of the paper's three claims",
        description="Explain every held-out synthetic clip with the zoo's models, score the tubes (with "
        "bootstrap intervals and the three claims in words) and draw Figure 3: rows R(2+1)D, CSN, CT-Net, "
        "8 frames, the object outlined, on the clip where their scores differ most and a random one.")
    parser.add_argument("--out", type=Path, default=Path("docs/figure3.png"), help="the PNG to write")
    parser.add_argument("--study-dir", type=Path, default=Path("docs/figure3"),
                        help="folder of per_video.csv, intervals.csv and claims.md")
    parser.add_argument("--models", nargs="+", default=list(ZOO_MODELS), help="zoo models of the study")
    parser.add_argument("--device", default="cpu", help="'auto', 'cpu', 'cuda' or 'cuda:N' (default cpu)")
    parser.add_argument("--seed", type=int, default=0, help="the random clip and the bootstrap (default 0)")
    parser.add_argument("--training-seeds", type=int, nargs="+", default=[], metavar="SEED",
                        help="also train R(2+1)D, CSN and CT-Net with these seeds (zoo recipe, "
                        "runs/zoo-seeds; about 13 minutes per seed on a 2-core CPU) and say which claims "
                        "hold for every seed")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    result = regenerate_figure3(args.out, args.study_dir, args.models, args.device, args.seed,
                                training_seeds=args.training_seeds)
    print("\n".join(result.sentences))
    print("written: " + ", ".join(str(path) for path in result.written))
    return 0
