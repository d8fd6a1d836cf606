"""``ctnet train`` and ``ctnet evaluate``.

Training settings come, lowest precedence first, from the recipe (``--recipe``), a YAML config file
(``--config``, keys = TrainConfig fields) and the flags. Run under ``torchrun`` for DDP::

    torchrun --nproc_per_node 4 -m ctnet_lib.cli train --model ctnet_r50 --train-list ... --val-list ...
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ctnet_lib.data.datasets import BAD_ITEMS
from ctnet_lib.devices import resolve_device
from ctnet_lib.io_utils import atomic_write_text
from ctnet_lib.models import list_presets
from ctnet_lib.models.presets import OPTIONS
from ctnet_lib.options import parse_set_options
from ctnet_lib.train.config import (
    DEFAULT_RECIPE,
    FLIPS,
    RECIPES,
    SAMPLINGS,
    VIEW_AVERAGES,
    load_config_file,
    make_config,
)
from ctnet_lib.train.distributed import distributed_session
from ctnet_lib.train.experiment import (
    check_evaluation_options,
    evaluate_run,
    final_test,
    load_trained_model,
    train,
)
from ctnet_lib.validation import check_output_folder

__all__ = ["register"]


def _optional_int(text: str) -> int | None:
    return None if text.lower() == "none" else int(text)


def _optional_float(text: str) -> float | None:
    return None if text.lower() == "none" else float(text)


# (flag, TrainConfig field, type, help); every flag defaults to "not given", so lower layers show through
TRAIN_FLAGS: tuple[tuple[str, str, Any, str], ...] = (
    ("--model", "model", str, "model preset: " + ", ".join(list_presets())),
    ("--pretrained", "pretrained", str, "torchvision ImageNet ResNet checkpoint (.pth) to initialise from"),
    ("--data", "data", str, "'synthetic' (default: generated into a cache folder when missing) or 'lists'; "
     "--train-list implies 'lists'"),
    ("--train-list", "train_list", str, "list file of training videos ('<video> <label>' or "
     "'<frame_dir> <num_frames> <label>')"),
    ("--val-list", "val_list", str, "list file of validation videos"),
    ("--root", "root", str, "folder the list-file paths are relative to (default: the list file's folder)"),
    ("--class-file", "class_file", str, "classes.json with class names and flip partners"),
    ("--frame-template", "frame_template", str, "file names in frame folders ("
     "e.g. 'img_{:05d}.jpg')"),
    ("--first-frame-index", "first_frame_index", int,
     "number of the first frame file"),
    ("--num-classes", "num_classes", int, "number of classes (default: from the class file or the labels)"),
    ("--synthetic-dir", "synthetic_dir", str, "folder of the synthetic set (default $CTNET_CACHE_DIR or "
     "~/.cache/ctnet-lab)"),
    ("--synthetic-classes", "synthetic_classes", int, "synthetic classes, even, 2-10"),
    ("--synthetic-train-per-class", "synthetic_train_per_class", int, "synthetic training videos per class"),
    ("--synthetic-val-per-class", "synthetic_val_per_class", int, "synthetic validation videos per class"),
    ("--synthetic-frames", "synthetic_frames", int, "frames per synthetic video"),
    ("--synthetic-size", "synthetic_size", int, "synthetic frame side in pixels"),
    ("--frames", "num_frames", int, "frames per clip T"),
    ("--sampling", "sampling", str, f"frame sampling, one of {SAMPLINGS} (TSN segments or strided window)"),
    ("--dense-stride", "dense_stride", int, "frame step of dense windows"),
    ("--crop-size", "crop_size", int, "crop side in pixels"),
    ("--short-side", "short_side", _optional_int, "resize the short side to this first ('none': as decoded)"),
    ("--flip", "flip", str, f"horizontal flip, one of {FLIPS}; 'classes' swaps labels by the class file"),
    ("--epochs", "epochs", int, "training epochs"),
    ("--batch-size", "batch_size", int, "global batch of one optimiser step (summed over processes and "
     "micro-batches)"),
    ("--accumulate", "accumulate", int, "micro-batches per optimiser step, their gradients added up: each "
     "holds batch-size / accumulate clips (less memory, the same update)"),
    ("--lr", "lr", float, "learning rate for --base-batch-size clips; the lr used is "
     "lr x batch_size / base_batch_size"),
    ("--base-batch-size", "base_batch_size", int, "batch size that --lr refers to"),
    ("--momentum", "momentum", float, "SGD momentum"),
    ("--weight-decay", "weight_decay", float, "weight decay (never on BatchNorm parameters and biases)"),
    ("--dropout", "dropout", float, "dropout before the classifier"),
    ("--warmup-epochs", "warmup_epochs", float, "linear warm-up epochs before the cosine decay"),
    ("--fc-lr-multiplier", "fc_lr_multiplier", float, "lr multiplier of the classifier fc"),
    ("--clip-grad-norm", "clip_grad_norm", _optional_float,
     "gradient-norm clip ('none' to disable)"),
    ("--label-smoothing", "label_smoothing", float, "label smoothing of the loss"),
    ("--test-clips", "test_clips", int, "clips per video in the final test"),
    ("--test-crops", "test_crops", int, "crops per clip in the final test, 1 or 3"),
    ("--view-average", "view_average", str, f"how test views are fused, one of {VIEW_AVERAGES}"),
    ("--device", "device", str, "'auto' (CUDA when available), 'cpu', 'cuda' or 'cuda:N'"),
    ("--workers", "workers", int, "data-loading worker processes per training process"),
    ("--threads", "threads", int, "CPU threads of torch per process (default: torch's choice)"),
    ("--seed", "seed", int, "random seed"),
    ("--bad-items", "bad_items", str, f"an unreadable training video, one of {BAD_ITEMS}: stop with its "
     "list-file line (default), or skip it with a warning and count it in metrics.csv"),
    ("--min-frames", "min_frames", int, "refuse list items with fewer frames than this (the data check "
     "counts them; default: train on them, warning once and counting them in metrics.csv)"),
    ("--run-dir", "run_dir", str, "folder for checkpoints and metrics"),
)
TRAIN_SWITCHES: tuple[tuple[str, str, bool, str], ...] = (
    ("--freeze-backbone", "freeze_backbone", True, "freeze the pretrained 2D layers (default: train all)"),
    ("--cache-videos", "cache_videos", True, "keep decoded videos in memory (small data sets, --workers 0)"),
    ("--no-amp", "amp", False, "fp32 on CUDA too (default: bf16/fp16 mixed precision on CUDA)"),
    ("--no-resume", "resume", False, "start afresh even when run-dir holds a run (its files are first moved "
     "to run-dir/replaced-N; nothing is deleted)"),
    ("--no-check-data", "check_data", False, "do not probe every list-file item before training (default: "
     "paths, labels and video headers are checked first)"),
    ("--no-progress", "progress", False, "no progress bars"),
)


class RecipeHelp(argparse.Action):
    """``-h``: the help, each flag's default read from the recipe in force (``--recipe R`` given before
    ``-h``, else the default recipe), so ``ctnet train --recipe synthetic -h`` shows that recipe's values."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="show this message (with the defaults of --recipe, when given first) and exit")

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        recipe = getattr(namespace, "recipe", None) or DEFAULT_RECIPE
        defaults = make_config(recipe).to_dict()
        for action in parser._actions:
            if action.dest in defaults and defaults[action.dest] is not None and action.help:
                shown = defaults[action.dest]
                if isinstance(action, argparse._StoreConstAction):
                    shown = "on" if shown != action.const else "off"
                action.help = f"{action.help} [{recipe}: {shown}]".replace("%", "%%")
        parser.print_help()
        parser.exit()


def _add_train_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train", add_help=False,
        help="train a model of the zoo with the paper's recipe (CPU or CUDA+AMP, DDP under torchrun)",
        description=(
            "Train with SGD (momentum 0.9), linear warm-up then per-iteration cosine lr, no weight decay on "
            "BatchNorm/bias, gradient clipping at norm 20 and a 5x lr for the classifier. Checkpoints "
            "(last.pt, best.pt) and metrics.csv/json go to --run-dir every epoch; an interrupted run resumes "
            "from last.pt. Precedence: --recipe < --config file < flags. Under torchrun every process "
            "joins DDP (nccl on CUDA, gloo on the CPU); rank 0 writes files."
        ),
        epilog="Example: ctnet train --model ctnet_small --epochs 20 --crop-size 64 --short-side 64",
    )
    parser.add_argument("-h", "--help", action=RecipeHelp)
    parser.add_argument("--recipe", choices=tuple(RECIPES), default=None,
                        help=f"starting recipe: something or kinetics (the paper's A.1), or synthetic (the "
                        f"training report's recipe for the built-in synthetic set); default {DEFAULT_RECIPE}."
                        " "
                        "Each flag below shows its value in the recipe as [recipe: value]; give --recipe "
                        "before -h to see another recipe's")
    parser.add_argument("--config", type=Path,
                        help="YAML file of TrainConfig fields (and optionally 'recipe')")
    parser.add_argument("--set", dest="model_options", action="append", default=[], metavar="KEY=VALUE",
                        help=f"model option, repeatable: {', '.join(k for k in OPTIONS if k != 'dropout')} "
                        "(dropout has its own flag); checkpointing=activations recomputes the CT-Modules' "
                        "BN, ReLU and gates in the backward pass, checkpointing=modules whole temporal "
                        "modules, for about TSN's activation memory")
    for flag, field_name, kind, text in TRAIN_FLAGS:
        parser.add_argument(flag, dest=field_name, type=kind, default=argparse.SUPPRESS, help=text)
    for flag, field_name, value, text in TRAIN_SWITCHES:
        parser.add_argument(flag, dest=field_name, action="store_const", const=value,
                            default=argparse.SUPPRESS, help=text)
    parser.add_argument("--print-config", action="store_true", help="print the resolved config and stop")
    parser.set_defaults(func=run_train)


def _add_evaluate_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="test a checkpoint: single or multi-clip x multi-crop, top-1/top-5, confusion matrix",
        description=(
            "Rebuild the model of a checkpoint (or of RUN_DIR/best.pt) and test it on its validation list "
            "or --list (a released checkpoint records no data set: pass --list). "
            "The views of a video (clips x crops) are fused by averaging softmax scores "
            "(--view-average logits: raw logits)."
        ),
    )
    parser.add_argument("checkpoint", type=Path, help="checkpoint file (.pt, or the authors' released "
                        ".pth.tar as it is) or run folder")
    parser.add_argument("--which", choices=("best", "last"), default="best",
                        help="with a run folder: best.pt (default) or last.pt")
    parser.add_argument("--list", dest="list_file", type=Path, help="list file to test (default: the run's "
                        "validation list)")
    parser.add_argument("--root", type=Path, help="folder the --list paths are relative to")
    parser.add_argument("--class-file", type=Path, help="classes.json, or one class name per line (the "
                        "release's category.txt), of the --list labels; names a checkpoint that records "
                        "none, else its names and their order must be those the checkpoint was trained with")
    parser.add_argument("--clips", type=int, default=1, help="clips per video (default 1)")
    parser.add_argument("--crops", type=int, choices=(1, 3), default=1, help="crops per clip (default 1)")
    parser.add_argument("--view-average", choices=VIEW_AVERAGES, default=None,
                        help="fuse views by averaging softmax scores or logits (default: the run's, softmax)")
    parser.add_argument("--batch-size", type=int, default=None, help="videos per batch")
    parser.add_argument("--workers", type=int, default=None, help="data-loading worker processes")
    parser.add_argument("--device", default="auto", help="'auto', 'cpu', 'cuda' or 'cuda:N'")
    parser.add_argument("--output", type=Path, help="folder to write predictions.csv, per_class.csv and "
                        "confusion.csv")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run_evaluate)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``train`` and ``evaluate`` sub-commands."""
    _add_train_parser(subparsers)
    _add_evaluate_parser(subparsers)


def config_from_args(args: argparse.Namespace):
    """Recipe < config file < flags -> TrainConfig."""
    values: dict[str, Any] = load_config_file(args.config) if args.config else {}
    recipe = args.recipe or values.pop("recipe", None) or DEFAULT_RECIPE
    values.pop("recipe", None)
    fields = {name for _, name, _, _ in TRAIN_FLAGS} | {name for _, name, _, _ in TRAIN_SWITCHES}
    values.update({name: value for name, value in vars(args).items() if name in fields})
    if values.get("train_list") and "data" not in vars(args):
        values["data"] = "lists"
    if args.model_options:
        values["model_options"] = {**values.get("model_options", {}), **parse_set_options(args.model_options)}
    return make_config(recipe, **values)


def run_train(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    if args.print_config:
        print(config)
        return 0
    with distributed_session(resolve_device(config.device).type) as context:
        if context.is_main:
            print(config)
        result = train(config)
        last = result.history.iloc[-1]
        if context.is_main:
            print(f"{result.run_dir}: epoch {result.epochs_done}/{result.epochs_total}, top-1 "
                  f"{last['top1']:.2f} %, top-5 {last['top5']:.2f} % (best top-1 {result.best_top1:.2f} %)")
        if config.test_clips * config.test_crops > 1:
            test = final_test(config, context)
            if context.is_main:
                print(f"{config.test_clips} clips x {config.test_crops} crops: top-1 {test.top1:.2f} %, "
                      f"top-5 {test.top5:.2f} %")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    check_evaluation_options(args.clips, args.crops, args.batch_size, args.workers)
    if args.output:
        check_output_folder(args.output, "--output")
    trained = load_trained_model(args.checkpoint, args.which, args.device, class_file=args.class_file)
    result = evaluate_run(trained, args.clips, args.crops, list_file=args.list_file, root=args.root,
                          class_file=args.class_file, view_average=args.view_average,
                          batch_size=args.batch_size, workers=args.workers,
                          progress=not args.json)
    if args.output:
        atomic_write_text(args.output / "predictions.csv", result.prediction_frame().to_csv(index=False))
        atomic_write_text(args.output / "per_class.csv", result.per_class().to_csv(index=False))
        atomic_write_text(args.output / "confusion.csv", result.confusion_frame().to_csv())
    summary = {"checkpoint": str(trained.checkpoint), "epoch": trained.epoch, "clips": args.clips,
               "crops": args.crops, **result.summary()}
    if args.json:
        print(json.dumps(summary))
    else:
        print(result.per_class().to_string(index=False))
        print(f"{trained.checkpoint} (epoch {trained.epoch}), {args.clips} clips x {args.crops} crops, "
              f"{summary['videos']} videos: top-1 {result.top1:.2f} %, top-5 {result.top5:.2f} %")
    return 0
