"""Multiply-accumulates (MACs) and parameters, counted by forward hooks on a real forward pass.

Conventions:
- ``paper`` (default): the 2021-era thop rules the CT-Net paper reports as "GFLOPs": conv MACs
  (plus one per output for a bias), linear MACs, and 2 operations per BatchNorm output element in
  eval mode; activations, sigmoid, element-wise products, pooling and reshapes count 0.
- ``conv_linear``: only the multiply-accumulates of conv and linear weights.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
import torch
from torch import Tensor, nn

CONVENTIONS = ("paper", "conv_linear")
_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


@dataclass(frozen=True)
class LayerCost:
    name: str
    type: str
    output_shape: tuple[int, ...]
    macs: int
    params: int


@dataclass(frozen=True)
class ComplexityReport:
    """Per-layer costs of one forward pass of ``input_shape`` (batch 1 = per clip)."""

    layers: tuple[LayerCost, ...]
    params: int
    input_shape: tuple[int, ...]
    convention: str

    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    @property
    def gmacs(self) -> float:
        return self.macs / 1e9

    @property
    def params_m(self) -> float:
        return self.params / 1e6

    @property
    def table(self) -> pd.DataFrame:
        """One row per executed leaf module: name, type, output_shape, macs, params, stage."""
        frame = pd.DataFrame([vars(layer) for layer in self.layers])
        frame["stage"] = frame["name"].str.split(".").str[0]
        return frame


def layer_macs(module: nn.Module, output: Tensor, convention: str = "paper") -> int:
    """MACs of one leaf module that produced ``output`` (the whole batch)."""
    if isinstance(module, _CONVS):
        per_output = module.in_channels // module.groups * math.prod(module.kernel_size)
        bias = 1 if (module.bias is not None and convention == "paper") else 0
        return output.numel() * (per_output + bias)
    if isinstance(module, nn.Linear):
        return output.numel() * module.in_features
    if isinstance(module, _NORMS) and convention == "paper":
        return 2 * output.numel()
    return 0


def count_complexity(
    model: nn.Module, input_shape: tuple[int, ...] = (1, 3, 8, 224, 224), convention: str = "paper"
) -> ComplexityReport:
    """Run ``model`` once (eval mode, no grad) on zeros of ``input_shape`` and count every leaf module."""
    if convention not in CONVENTIONS:
        raise ValueError(f"convention {convention!r} is not one of {CONVENTIONS}")
    names = {module: name for name, module in model.named_modules()}
    layers: list[LayerCost] = []

    def record(module: nn.Module, _inputs: tuple, output: Tensor) -> None:
        layers.append(
            LayerCost(
                name=names[module],
                type=type(module).__name__,
                output_shape=tuple(output.shape),
                macs=layer_macs(module, output, convention),
                params=sum(p.numel() for p in module.parameters(recurse=False)),
            )
        )

    leaves = [m for m in model.modules() if not list(m.children())]
    handles = [m.register_forward_hook(record) for m in leaves]
    was_training = model.training
    try:
        model.eval()
        device = next(model.parameters()).device
        with torch.no_grad():
            model(torch.zeros(input_shape, device=device))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    params = sum(p.numel() for p in model.parameters())
    return ComplexityReport(tuple(layers), params, tuple(input_shape), convention)
