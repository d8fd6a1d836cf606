"""``ctnet data synth``: write the synthetic temporal data set (videos, masks, list files)."""

from __future__ import annotations

import argparse
import time

from ctnet_lib.data.synthetic import (
    DEFAULT_SETTINGS,
    DEFAULT_TRAIN_PER_CLASS,
    DEFAULT_VAL_PER_CLASS,
    generate_synthetic_dataset,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "data",
        help="data set tools (synth: generate the synthetic temporal data set)",
        description="Data set tools.",
    )
    actions = parser.add_subparsers(title="data commands", dest="data_command", metavar="ACTION")
    actions.required = True
    synth = actions.add_parser(
        "synth",
        help="write the synthetic temporal data set (H.264 videos, object masks, list files)",
        description=(
            "Write short H.264 videos whose classes differ only in temporal order (moving left/right, "
            "up/down, approaching/receding, rotating clockwise/anticlockwise, appearing/disappearing), "
            "each with its moving object's per-frame mask, plus train/val list files and classes.json. "
            "Deterministic by seed; files that already exist are kept, so an interrupted run can resume."
        ),
    )
    synth.add_argument("--out", required=True, help="output folder (created if missing)")
    synth.add_argument(
        "--train-per-class", type=int, default=DEFAULT_TRAIN_PER_CLASS, metavar="N",
        help=f"training videos per class (default {DEFAULT_TRAIN_PER_CLASS})"
    )
    synth.add_argument(
        "--val-per-class", type=int, default=DEFAULT_VAL_PER_CLASS, metavar="N",
        help=f"validation videos per class (default {DEFAULT_VAL_PER_CLASS})"
    )
    synth.add_argument("--frames", type=int, default=DEFAULT_SETTINGS.num_frames, metavar="T",
                       help=f"frames per video (default {DEFAULT_SETTINGS.num_frames})")
    synth.add_argument(
        "--size",
        type=int,
        default=DEFAULT_SETTINGS.size,
        metavar="S",
        help=f"frame height and width in pixels, even (default {DEFAULT_SETTINGS.size})",
    )
    synth.add_argument("--seed", type=int, default=DEFAULT_SETTINGS.seed,
                       help="random seed; the same seed gives the same videos")
    synth.add_argument(
        "--classes",
        type=int,
        default=DEFAULT_SETTINGS.num_classes,
        choices=(2, 4, 6, 8, 10),
        help="number of classes, taken in pairs (10 adds appearing/disappearing; "
        f"default {DEFAULT_SETTINGS.num_classes})",
    )
    synth.add_argument(
        "--max-distractors",
        type=int,
        default=DEFAULT_SETTINGS.max_distractors,
        metavar="N",
        help="at most this many small randomly moving distractor shapes per video, 0 for none "
        f"(default {DEFAULT_SETTINGS.max_distractors})",
    )
    synth.add_argument(
        "--frames-dirs",
        action="store_true",
        help="also write JPEG frame folders and their '<frame_dir> <num_frames> <label>' lists "
        "(train_frames.txt, val_frames.txt)",
    )
    synth.set_defaults(func=run_synth)


def run_synth(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    files = generate_synthetic_dataset(
        args.out,
        args.train_per_class,
        args.val_per_class,
        args.frames,
        args.size,
        args.seed,
        num_classes=args.classes,
        write_frames=args.frames_dirs,
        max_distractors=args.max_distractors,
    )
    seconds = time.perf_counter() - started
    print(
        f"{files.root}: {files.num_written} videos written, {files.num_skipped} already there "
        f"({seconds:.1f} s); {len(files.classes)} classes: {', '.join(files.classes.names)}"
    )
    lists = [files.train_list, files.val_list, files.train_frames_list, files.val_frames_list]
    print("list files: " + ", ".join(str(path) for path in lists if path is not None))
    return 0
