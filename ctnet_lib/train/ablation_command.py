"""``ctnet ablate``: train the Table 2 ablation cells (configuration x seed) and write one JSON each.

One cell per call, for a scheduler's array job::

    ctnet ablate --only ctnet --seed 0
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ctnet_lib.models.ablations import ABLATION_CONFIGS
from ctnet_lib.options import CliError
from ctnet_lib.train.ablation import STUDY, cell_status, cells, run_cell

__all__ = ["register"]

# (flag, study field, type, help) of a smaller study for a quick check (write it elsewhere with --out)
STUDY_FLAGS = (
    ("--epochs", "epochs", int, f"training epochs (default {STUDY.recipe['epochs']})"),
    ("--train-per-class", "train_per_class", int,
     f"training videos per class (default {STUDY.train_per_class})"),
    ("--val-per-class", "val_per_class", int, f"held-out videos per class (default {STUDY.val_per_class})"),
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``ablate`` sub-command."""
    parser = subparsers.add_parser(
        "ablate",
        help="train the Table 2 ablations (configurations x seeds) on the hard synthetic level",
        description=(
            "Train every (configuration, seed) cell of the ablation study with one recipe, in seed rounds, "
            "each writing OUT/<name>-seed<S>.json. Resumable: a cell with a JSON is skipped, a killed cell "
            "continues from WORK_DIR/<name>-seed<S>/last.pt. See benchmarks/ablation/README.md."
        ),
        epilog="Example (one cell, as a Slurm array task would run it): ctnet ablate --only ctnet --seed 0",
    )
    parser.add_argument("--only", action="append", default=None, metavar="NAME",
                        help=f"configuration, repeatable (default all): {', '.join(ABLATION_CONFIGS)}")
    parser.add_argument("--seed", action="append", type=int, default=None, dest="seeds", metavar="S",
                        help=f"seed, repeatable (default {', '.join(map(str, STUDY.seeds))})")
    parser.add_argument("--list", action="store_true", help="print the cells and which are done, then stop")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/ablation"),
                        help="folder of the JSON results (default benchmarks/ablation)")
    parser.add_argument("--work-dir", type=Path, default=Path("runs/ablation"),
                        help="folder of the cells' checkpoints, for resuming (default runs/ablation)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="folder of the hard synthetic set (default: a cache folder; made when missing)")
    parser.add_argument("--device", default="cpu",
                        help="'cpu' (default, as the committed study), 'cuda' or 'cuda:N'")
    for flag, name, kind, text in STUDY_FLAGS:
        parser.add_argument(flag, dest=name, type=kind, default=argparse.SUPPRESS, help=text)
    parser.set_defaults(func=run_ablate)


def run_ablate(args: argparse.Namespace) -> int:
    changes = {name: getattr(args, name) for _, name, _, _ in STUDY_FLAGS if name in vars(args)}
    study = STUDY.replace(**changes) if changes else STUDY
    try:
        selected = cells(study, args.only, args.seeds)
    except ValueError as error:
        raise CliError(f"--only: {error}") from None
    if args.list:
        for cell in selected:
            print(f"{cell.name:<22} seed {cell.seed}  {cell_status(cell, study, args.out, args.work_dir)}")
        return 0
    for cell in selected:
        path, trained = run_cell(cell, study, args.out, args.work_dir, args.data_dir, device=args.device)
        print(f"{cell.stem}: {'written' if trained else 'done already'} {path}", flush=True)
    return 0
