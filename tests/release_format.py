"""Release-format checkpoints written by the tests: the key names and shapes of the authors' CT-Net-R50 and
TSN-R50 (facts recorded in ``fixtures/release_ctnet_r50_keys.json``, 10 classes) filled with deterministic
numbers, saved the way the release's ``main.py`` saves them."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import torch

FIXTURES = Path(__file__).parent / "fixtures"
KEYS_FILE = FIXTURES / "release_ctnet_r50_keys.json"
EXPECTED_FILE = FIXTURES / "release_ctnet_r50_expected.json"
NUM_CLASSES, FRAMES, SIZE = 10, 8, 64
BLOCK_RENAMES = (("conv1.0.", "conv1."), ("conv1.1.", "bn1."), ("conv3.0.", "conv3."), ("conv3.1.", "bn3."))


def release_shapes(model: str = "CT_Net") -> dict[str, list[int]]:
    """Key names (without ``module.``) and shapes of the release's CT_Net or TSN (ResNet-50, 10 classes).
    TSN's are the plain ResNet-50 keys: those of CT_Net outside its CT blocks, with each CT block's
    ``conv1.0/conv1.1/conv3.0/conv3.1`` as torchvision's ``conv1/bn1/conv3/bn3``, plus a 3x3 conv2 and bn2."""
    shapes = json.loads(KEYS_FILE.read_text())
    if model == "CT_Net":
        return shapes
    plain: dict[str, list[int]] = {}
    for key, shape in shapes.items():
        if ".conv2." in key and not key.endswith(".conv2.weight"):  # a part of a CT-Module
            if key.endswith("conv2.conv1_x.0.weight"):
                block = key.removesuffix("conv2.conv1_x.0.weight")
                width = shape[0]
                plain[block + "conv2.weight"] = [width, width, 3, 3]
                for stat in ("weight", "bias", "running_mean", "running_var"):
                    plain[block + f"bn2.{stat}"] = [width]
                plain[block + "bn2.num_batches_tracked"] = []
            continue
        for old, new in BLOCK_RENAMES:
            key = key.replace(f".{old}", f".{new}")
        plain[key] = shape
    return plain


def _values(key: str, shape: list[int]) -> np.ndarray:
    """Numbers for one tensor from its own RandomState (seeded by the key name), scaled so that a forward
    pass with these (uncalibrated) BatchNorm statistics keeps activations of order one."""
    rng = np.random.RandomState(zlib.crc32(key.encode()))
    leaf = key.rsplit(".", 1)[1]
    if leaf == "num_batches_tracked":
        return np.array(100, dtype=np.int64)
    if leaf == "running_mean":
        return rng.normal(0.0, 0.1, shape)
    if leaf == "running_var":
        return rng.uniform(0.5, 1.5, shape)
    if len(shape) == 1 and leaf == "weight":  # BatchNorm scale
        return rng.uniform(0.2, 0.6, shape)
    if leaf == "bias":
        return rng.normal(0.0, 0.1, shape)
    fan_in = int(np.prod(shape[1:]))
    return rng.normal(0.0, 1.0 / np.sqrt(fan_in), shape)


def release_state_dict(model: str = "CT_Net", dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    """The deterministic release-format state dict of ``model`` ('CT_Net' or 'TSN'), without ``module.``."""
    state = {}
    for key, shape in sorted(release_shapes(model).items()):
        values = torch.from_numpy(_values(key, shape))
        state[key] = values if key.endswith("num_batches_tracked") else values.to(dtype)
    return state


def release_checkpoint(model: str = "CT_Net") -> dict:
    """What the release's main.py saves: epoch, arch, the DataParallel state dict, SGD state, best top-1."""
    state = {f"module.{key}": value for key, value in release_state_dict(model).items()}
    optimizer = {"state": {0: {"momentum_buffer": torch.zeros(3)}},
                 "param_groups": [{"lr": 0.02, "momentum": 0.9, "dampening": 0, "weight_decay": 5e-4,
                                   "nesterov": False, "lr_mult": 1, "decay_mult": 1, "name": "normal_weight",
                                   "params": [0]}]}
    return {"epoch": 45, "arch": "resnet50", "state_dict": state, "optimizer": optimizer, "best_prec1": 49.94}


def release_input(dtype: np.dtype = np.float64) -> np.ndarray:
    """The release model's input (1, T * 3, H, W): 8 frames of 64 x 64, standard normal numbers."""
    return np.random.RandomState(0).standard_normal((1, FRAMES * 3, SIZE, SIZE)).astype(dtype)
