"""``ctnet explain``: the saliency tube of one video under a trained checkpoint, as files.

Writes the files of :func:`ctnet_lib.viz.saliency_export.export_tubes` (frame grid PNG, overlaid clip as
MP4 and GIF, normalised and raw volumes as .npy) and ``<video>.<model>.explain.json`` (target,
prediction, class probabilities, frame indices, settings).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from ctnet_lib.explain.clips import load_clip
from ctnet_lib.explain.methods import METHODS, TARGET_POLICIES, explain_tube
from ctnet_lib.explain.volumes import NORMALISATIONS
from ctnet_lib.io_utils import atomic_write_text
from ctnet_lib.models import list_presets
from ctnet_lib.train import load_trained_model
from ctnet_lib.validation import check_at_least, check_output_folder
from ctnet_lib.viz.saliency_export import export_tubes

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``explain`` sub-command."""
    parser = subparsers.add_parser(
        "explain",
        help="saliency tube of a video under a trained checkpoint (PNG grid, MP4, GIF, .npy)",
        description=(
            "Sample and crop the video as at test time (the checkpoint's frames, sampling and crop), run the "
            "model and write where it looks: the class activation volume (Saliency Tubes; 'cam'), captum's "
            "Grad-CAM ('gradcam') or supervoxel ablation ('ablation'), normalised over the clip or per frame."
        ),
        epilog="Example: ctnet explain --model ctnet_small --checkpoint runs/04_training/cpu/ctnet_small "
               "--video clip.mp4 --out explained/",
    )
    parser.add_argument("--model", default=None,
                        help="model preset the checkpoint must hold (default: the one it holds): " +
                        ", ".join(list_presets()))
    parser.add_argument("--checkpoint", required=True, type=Path,
                        help="checkpoint (.pt, or the authors' released .pth.tar as it is) or run folder "
                        "(best.pt)")
    parser.add_argument("--class-file", type=Path, default=None,
                        help="class names for a checkpoint that records none (the release's category.txt, "
                        "one name per line); without one such classes are numbered")
    parser.add_argument("--video", required=True, type=Path,
                        help="video file or JPEG frame folder (00001.jpg, img_00001.jpg, ...; the first "
                        "number is found from the files)")
    parser.add_argument("--target", default="predicted",
                        help="class to explain: an index, or one of " + ", ".join(TARGET_POLICIES) +
                        " ('label' needs --label; default predicted)")
    parser.add_argument("--label", type=int, default=None, help="the video's true class index, if known")
    parser.add_argument("--method", choices=tuple(METHODS), default="cam",
                        help="saliency method (default cam)")
    parser.add_argument("--normalise", choices=NORMALISATIONS, default="clip",
                        help="min-max over the whole clip (default) or per frame")
    parser.add_argument("--device", default="cpu", help="'auto', 'cpu', 'cuda' or 'cuda:N' (default cpu)")
    parser.add_argument("--fps", type=int, default=4, help="frames per second of the MP4 and GIF (default 4)")
    parser.add_argument("--out", required=True, type=Path, help="output folder (created if missing)")
    parser.set_defaults(func=run_explain)


def _target(text: str) -> int | str:
    return int(text) if text.lstrip("-").isdigit() else text


def run_explain(args: argparse.Namespace) -> int:
    check_output_folder(args.out, "--out")
    check_at_least("--fps", args.fps, 1)
    check_at_least("--label", args.label, 0, optional=True)
    trained = load_trained_model(args.checkpoint, device=args.device, class_file=args.class_file,
                                 model=args.model)
    model, config, class_names = trained.model, trained.config, trained.class_names
    name = config.model
    if args.label is not None and args.label >= len(class_names):
        raise ValueError(f"--label {args.label} is outside the {len(class_names)} classes of "
                         f"{args.checkpoint} (0 to {len(class_names) - 1}): pass the video's class index")
    view = load_clip(args.video, config, args.label)
    device = next(model.parameters()).device
    tube = explain_tube(model, view.clip.to(device), _target(args.target), args.method, args.normalise,
                        label=args.label)
    title = (f"{name}, {METHODS[args.method].label}: target {class_names[tube.target]}, "
             f"predicted {class_names[tube.predicted]}")
    written = export_tubes(args.out, view, {name: tube}, title, args.fps)
    summary = {
        "video": str(args.video), "model": name, "checkpoint": str(args.checkpoint),
        "checkpoint_source": trained.source,
        "method": args.method, "normalise": args.normalise,
        "target": tube.target, "target_name": str(class_names[tube.target]),
        "predicted": tube.predicted, "predicted_name": str(class_names[tube.predicted]),
        "probabilities": torch.softmax(tube.logits.float(), dim=-1).tolist(),
        "frame_indices": view.indices.tolist(), "volume_shape": list(tube.volume.shape),
    }
    json_path = args.out / f"{args.video.name}.{name}.explain.json"
    written.append(atomic_write_text(json_path, json.dumps(summary, indent=2)))
    print(f"{args.video}: target {summary['target_name']}, predicted {summary['predicted_name']} "
          f"({max(summary['probabilities']):.2f})")
    print("wrote " + ", ".join(str(path) for path in written))
    return 0
