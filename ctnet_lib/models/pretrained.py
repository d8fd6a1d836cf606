"""ImageNet initialisation from a local torchvision-format ResNet checkpoint (nothing is downloaded)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from torch import nn

from ctnet_lib.checkpoint_io import read_state_dict


@dataclass(frozen=True)
class LoadReport:
    """What a checkpoint load did: keys copied, checkpoint keys left unused, model keys left new."""

    loaded: tuple[str, ...]
    unused: tuple[str, ...]  # the 2D 3x3 convs that temporal modules replaced, a classifier of other size
    new: tuple[str, ...]  # temporal-module parameters (kept at their initialisation)


def load_imagenet_weights(model: nn.Module, path: str | Path) -> LoadReport:
    """Copy every backbone tensor of a torchvision ResNet checkpoint at ``path`` into ``model``.

    The classifier is copied only when its shape matches. Raises ValueError when a backbone tensor
    of the model is missing from the checkpoint or has another shape (a checkpoint of another depth).
    """
    source = read_state_dict(path, "pretrained weights")
    target = model.state_dict()
    loaded, unused = [], []
    for key, tensor in source.items():
        if key in target and target[key].shape == tensor.shape:
            target[key] = tensor.to(target[key].dtype)
            loaded.append(key)
        elif key.startswith("fc.") or key.endswith("conv2.weight"):
            unused.append(key)
        elif key in target:
            raise ValueError(
                f"{path}: {key} has shape {tuple(tensor.shape)}, the model needs {tuple(target[key].shape)}; "
                "is it a checkpoint of another ResNet depth?"
            )
    new = [k for k in target if k not in loaded]
    missing_2d = [k for k in new if ".module." not in k and not k.startswith("fc.")]
    if missing_2d:
        raise ValueError(f"{path} lacks backbone tensors {missing_2d[:5]}...; is it a torchvision ResNet?")
    model.load_state_dict(target)
    return LoadReport(tuple(loaded), tuple(unused), tuple(new))
