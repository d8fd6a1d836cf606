"""``ctnet zoo build`` (train the zoo's models with its one recipe and store them) and ``ctnet zoo verify``
(evaluate every stored model on its regenerated held-out set; exit 1 when a recorded top-1 is not
reproduced within ``VERIFY_TOLERANCE_CLIPS`` clips)."""

from __future__ import annotations

import argparse

from ctnet_lib.train.checkpoint_sources import ZOO_DIR
from ctnet_lib.train.zoo import VERIFY_TOLERANCE_CLIPS, ZOO_MODELS, build_zoo, verify_zoo

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("zoo", help="build or verify the committed model zoo (zoo/)")
    actions = parser.add_subparsers(title="actions", dest="action", metavar="ACTION")
    actions.required = True
    build = actions.add_parser("build", help="train the zoo's models with RECIPES['zoo'] and store them")
    build.add_argument("--models", nargs="+", default=list(ZOO_MODELS), help="presets to (re)build")
    build.add_argument("--run-dir", default="runs/zoo", help="training runs (complete ones are reused)")
    build.add_argument("--zoo-dir", default=str(ZOO_DIR), help="where the zoo files and manifest go")
    build.set_defaults(func=_build)
    verify = actions.add_parser(
        "verify", help=f"evaluate the stored models; exit 1 when one misses its recorded top-1 by more "
        f"than {VERIFY_TOLERANCE_CLIPS} clips")
    verify.add_argument("--models", nargs="+", default=None, help="presets to verify (default: all)")
    verify.add_argument("--zoo-dir", default=str(ZOO_DIR), help="the zoo's folder")
    verify.set_defaults(func=_verify)


def _build(args: argparse.Namespace) -> int:
    manifest = build_zoo(args.models, args.run_dir, args.zoo_dir)
    for name in args.models:
        record = manifest[name]
        print(f"{name}: held-out top-1 {record['held_out_top1']:.2f} % ({record['held_out_clips']} clips), "
              f"{record['file_bytes'] / 1e6:.1f} MB, trained in {record['training_time_s']:.0f} s")
    return 0


def _verify(args: argparse.Namespace) -> int:
    checks = verify_zoo(args.models, args.zoo_dir)
    print("\n".join(str(check) for check in checks))
    return 0 if all(check.passed for check in checks) else 1
