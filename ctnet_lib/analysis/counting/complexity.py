"""Multiply-accumulates (MACs) and parameters, counted by forward hooks on a real forward pass.

Conventions:
- ``paper`` (default): the 2021-era thop rules the CT-Net paper reports as "GFLOPs": conv MACs
  (plus one per output for a bias), linear MACs, and 2 operations per BatchNorm output element in
  eval mode; activations, sigmoid, element-wise products, pooling and reshapes count 0.
- ``conv_linear``: only the multiply-accumulates of conv and linear weights.

Modules the counter cannot count (a leaf layer of an unknown type, or a module that uses parameters of
its own besides its children) are named in the report's ``uncounted`` and in a warning, never silently
counted as 0; :func:`register_counter` teaches the counter a new layer type.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import torch
from torch import Tensor, nn

from ctnet_lib.validation import check_clip_size

__all__ = ["CONVENTIONS", "ComplexityReport", "LayerCost", "count_complexity", "layer_macs",
           "register_counter"]

CONVENTIONS = ("paper", "conv_linear")
_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
# leaf modules that cost 0 in both conventions: activations, pooling, dropout, reshapes, empty containers
ZERO_COST = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Mish, nn.Sigmoid, nn.Tanh,
    nn.Hardswish, nn.Hardsigmoid, nn.Softmax, nn.LogSoftmax, nn.modules.pooling._MaxPoolNd,
    nn.modules.pooling._AvgPoolNd, nn.modules.pooling._AdaptiveAvgPoolNd,
    nn.modules.pooling._AdaptiveMaxPoolNd, nn.modules.dropout._DropoutNd, nn.Identity, nn.Flatten,
    nn.Unflatten, nn.Sequential, nn.ModuleList, nn.ModuleDict,
)  # fmt: skip
# MACs of one leaf module from (module, output, convention); see register_counter
Counter = Callable[[nn.Module, Tensor, str], int]
_COUNTERS: dict[type[nn.Module], Counter] = {}


def register_counter(module_type: type[nn.Module], counter: Counter) -> None:
    """Count leaf modules of ``module_type`` (and its subclasses) with ``counter(module, output,
    convention) -> MACs`` (``output`` is the module's output for the whole batch)."""
    _COUNTERS[module_type] = counter


@dataclass(frozen=True)
class LayerCost:
    name: str
    type: str
    output_shape: tuple[int, ...]
    macs: int
    params: int
    counted: bool = True  # False: a module the counter does not know (its macs are 0 here, not measured)


class InUnits:
    """``gmacs`` and ``params_m`` of a cost that has ``macs`` and ``params`` (counts)."""

    macs: int
    params: int

    @property
    def gmacs(self) -> float:
        return self.macs / 1e9

    @property
    def params_m(self) -> float:
        return self.params / 1e6


@dataclass(frozen=True)
class ComplexityReport(InUnits):
    """Per-layer costs of one forward pass of ``input_shape`` (batch 1 = per clip); ``uncounted`` names
    the modules whose cost is unknown (``'name (Type)'``), so ``macs`` leaves them out."""

    layers: tuple[LayerCost, ...]
    params: int
    input_shape: tuple[int, ...]
    convention: str
    uncounted: tuple[str, ...] = ()

    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    @property
    def table(self) -> pd.DataFrame:
        """One row per executed leaf module: name, type, output_shape, macs, params, counted, stage."""
        frame = pd.DataFrame([vars(layer) for layer in self.layers])
        frame["stage"] = frame["name"].str.split(".").str[0]
        return frame


def layer_macs(module: nn.Module, output: Tensor, convention: str = "paper") -> int | None:
    """MACs of one leaf module that produced ``output`` (the whole batch); None for a type the counter
    does not know (see :func:`register_counter`)."""
    for module_type, counter in _COUNTERS.items():
        if isinstance(module, module_type):
            return int(counter(module, output, convention))
    if isinstance(module, _CONVS):
        per_output = module.in_channels // module.groups * math.prod(module.kernel_size)
        bias = 1 if (module.bias is not None and convention == "paper") else 0
        return output.numel() * (per_output + bias)
    if isinstance(module, nn.Linear):
        return output.numel() * module.in_features
    if isinstance(module, _NORMS):
        return 2 * output.numel() if convention == "paper" else 0
    return 0 if isinstance(module, ZERO_COST) else None


def count_complexity(
    model: nn.Module, input_shape: tuple[int, ...] = (1, 3, 8, 224, 224), convention: str = "paper"
) -> ComplexityReport:
    """Run ``model`` once (eval mode, no grad) on zeros of ``input_shape`` and count every leaf module.

    Modules it cannot count are listed in the report's ``uncounted`` and named in a warning: leaf
    modules of unknown types, and modules that hold parameters of their own besides child modules
    (their forward uses those parameters outside any counted layer).
    """
    if convention not in CONVENTIONS:
        raise ValueError(f"convention {convention!r} is not one of {CONVENTIONS}")
    if min(input_shape) < 1:
        raise ValueError(f"input_shape {tuple(input_shape)} has a size below 1: every size must be 1 or more")
    if len(input_shape) == 5:
        check_clip_size(input_shape[2], min(input_shape[3:]), getattr(model, "min_input_size", 1))
    names = {module: name for name, module in model.named_modules()}
    layers: list[LayerCost] = []

    def record(module: nn.Module, _inputs: tuple, output: Tensor) -> None:
        macs = layer_macs(module, output, convention)
        layers.append(
            LayerCost(
                name=names[module],
                type=type(module).__name__,
                output_shape=tuple(output.shape) if isinstance(output, Tensor) else (),
                macs=macs or 0,
                params=sum(p.numel() for p in module.parameters(recurse=False)),
                counted=macs is not None,
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
    unknown = [f"{layer.name} ({layer.type})" for layer in layers if not layer.counted]
    unknown += [f"{names[m] or 'the model'} ({type(m).__name__}, own parameters)" for m in model.modules()
                if list(m.children()) and any(True for _ in m.parameters(recurse=False))]
    uncounted = tuple(dict.fromkeys(unknown))
    if uncounted:
        warnings.warn(
            f"count_complexity cannot count {len(uncounted)} module(s), left out of the MACs: "
            f"{', '.join(uncounted[:5])}{', ...' if len(uncounted) > 5 else ''}; teach it their cost with "
            "ctnet_lib.analysis.counting.complexity.register_counter(type, counter)",
            stacklevel=2,
        )
    return ComplexityReport(tuple(layers), params, tuple(input_shape), convention, uncounted)
