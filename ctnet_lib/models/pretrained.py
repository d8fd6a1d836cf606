"""Loading weights: ImageNet initialisation from a local torchvision-format checkpoint (nothing is
downloaded), and a trained state dict into a model of the same architecture."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ctnet_lib.checkpoint_io import read_state_dict


@dataclass(frozen=True)
class LoadReport:
    """What a checkpoint load did: keys copied, checkpoint keys left unused, model keys left new."""

    loaded: tuple[str, ...]
    unused: tuple[str, ...]  # the replaced 3x3 convs, a classifier of other size, an auxiliary head
    new: tuple[str, ...]  # temporal-module parameters (kept at their initialisation)


def load_imagenet_weights(model: nn.Module, path: str | Path) -> LoadReport:
    """Copy every backbone tensor of a torchvision checkpoint at ``path`` into video ``model``.

    The classifier is copied only when its shape matches; the weights of the convs that temporal modules
    replaced (``model.replaced_layers``) and tensors the model has no place for (InceptionV3's auxiliary
    classifier) are reported unused. Raises ValueError when a backbone tensor of the model is missing from
    the checkpoint or has another shape (a checkpoint of another depth or architecture).
    """
    source = read_state_dict(path, "pretrained weights")
    target = model.state_dict()
    loaded, unused = [], []
    for key, tensor in source.items():
        if key in target and target[key].shape == tensor.shape:
            target[key] = tensor.to(target[key].dtype)
            loaded.append(key)
        elif key in target and not key.startswith("fc."):
            raise ValueError(
                f"{path}: {key} has shape {tuple(tensor.shape)}, the model needs {tuple(target[key].shape)}; "
                "is it a checkpoint of another ResNet depth or of another architecture?"
            )
        else:
            unused.append(key)
    new = [k for k in target if k not in loaded]
    missing_2d = [k for k in new if ".module." not in k and not k.startswith("fc.")]
    if missing_2d:
        raise ValueError(f"{path} lacks backbone tensors {missing_2d[:5]}...; is it a torchvision checkpoint "
                         f"of this backbone ({type(model).__name__})?")
    model.load_state_dict(target)
    return LoadReport(tuple(loaded), tuple(unused), tuple(new))


def load_matching_weights(model: nn.Module, state: Mapping[str, torch.Tensor], source: str) -> None:
    """``model.load_state_dict(state)``, all keys and shapes exactly; a state dict of another architecture
    raises ValueError naming ``source`` and the first keys that are missing, unexpected or of another
    shape (instead of torch's RuntimeError)."""
    target = model.state_dict()
    missing = [key for key in target if key not in state]
    unexpected = [key for key in state if key not in target]
    reshaped = [f"{key} {tuple(state[key].shape)} vs {tuple(target[key].shape)}" for key in target
                if key in state and state[key].shape != target[key].shape]
    problems = [f"{len(keys)} {what} ({', '.join(keys[:3])}{', ...' if len(keys) > 3 else ''})"
                for what, keys in (("missing", missing), ("unexpected", unexpected),
                                   ("of another shape", reshaped)) if keys]
    if problems:
        raise ValueError(f"{source} holds weights of another architecture than {type(model).__name__}: keys "
                         f"{'; '.join(problems)}: pass a checkpoint of this model, or build the model it "
                         "holds")
    model.load_state_dict(state)
