"""Parameter groups and the SGD optimiser of the recipe: no weight decay on BatchNorm parameters and
biases, a higher learning rate for the classifier, and optional freezing of the pretrained backbone."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

__all__ = ["build_optimizer", "freeze_backbone", "parameter_groups"]

GROUP_NAMES = ("backbone", "backbone_no_decay", "fc", "fc_no_decay")
NORM_TYPES = (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm)


def _no_decay_names(model: nn.Module) -> set[str]:
    """Names of biases and normalisation-layer parameters."""
    names = set()
    for module_name, module in model.named_modules():
        for param_name, _ in module.named_parameters(recurse=False):
            full = f"{module_name}.{param_name}" if module_name else param_name
            if isinstance(module, NORM_TYPES) or param_name == "bias":
                names.add(full)
    return names


def parameter_groups(
    model: nn.Module, lr: float, weight_decay: float, fc_lr_multiplier: float = 5.0, fc_name: str = "fc"
) -> list[dict[str, Any]]:
    """Four SGD param groups, named ``backbone``, ``backbone_no_decay``, ``fc``, ``fc_no_decay``.

    Biases and BatchNorm/GroupNorm/LayerNorm parameters get weight decay 0; parameters under module
    ``fc_name`` get ``lr * fc_lr_multiplier``. Frozen parameters (``requires_grad=False``) are left out;
    empty groups are dropped. Each group keeps its ``base_lr`` for the schedule.
    """
    no_decay = _no_decay_names(model)
    buckets: dict[str, list[nn.Parameter]] = {name: [] for name in GROUP_NAMES}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        part = "fc" if name.startswith(f"{fc_name}.") else "backbone"
        buckets[part + ("_no_decay" if name in no_decay else "")].append(param)
    groups = []
    for name, params in buckets.items():
        if params:
            group_lr = lr * (fc_lr_multiplier if name.startswith("fc") else 1.0)
            decay = 0.0 if name.endswith("no_decay") else weight_decay
            groups.append({"name": name, "params": params, "lr": group_lr, "base_lr": group_lr,
                           "weight_decay": decay})
    return groups


def build_optimizer(
    model: nn.Module, lr: float, momentum: float, weight_decay: float, fc_lr_multiplier: float
) -> torch.optim.SGD:
    """SGD with momentum over :func:`parameter_groups`."""
    groups = parameter_groups(model, lr, weight_decay, fc_lr_multiplier)
    if not groups:
        raise ValueError("the model has no trainable parameters: is everything frozen?")
    return torch.optim.SGD(groups, lr=lr, momentum=momentum, weight_decay=weight_decay)


def freeze_backbone(model: nn.Module, fc_name: str = "fc", temporal_marker: str = ".module.") -> int:
    """Stop gradients of the pretrained 2D layers; the classifier and the new temporal modules
    (parameters whose name contains ``temporal_marker``, see ``FramesToClip``) keep training.

    Returns the number of parameter tensors frozen.
    """
    frozen = 0
    for name, param in model.named_parameters():
        if not name.startswith(f"{fc_name}.") and temporal_marker not in name:
            param.requires_grad_(False)
            frozen += 1
    return frozen
