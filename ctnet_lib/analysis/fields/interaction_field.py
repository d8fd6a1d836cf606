"""Exact fields of feature interaction of temporal modules (paper Table 1, Figure 1, section 3.1).

The interaction field of one output unit out[c, t, h, w] after a sub-operation is the set of input
channels and input (t, h, w) positions that influence it. ``probe_interaction_fields`` measures it on
the real modules: a float64 copy whose conv weights are all positive, whose BatchNorms are identities
(eval mode) and whose input is positive, so every ReLU passes, no two paths cancel, and the support of
d out[c, t, h, w] / d input is exactly the field. ``structural_interaction_fields`` derives the same
fields from a ``TemporalModuleConfig`` alone (channel fibres and Minkowski sums of kernel supports),
as an independent check of the probing.

Steps, i.e. what "after each sub-operation" means, and each step's structure, come from the kind's
entry in ``ops.module_registry`` (e.g. R(2+1)D: full 1x3x3 conv, then full 3x1x1 conv; CT: one step
per sub-dimension, plus one per PWConv); an nn.Sequential stack has the steps of each module in turn.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from copy import deepcopy
from dataclasses import dataclass
from functools import partial

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.conv import _ConvNd

from ctnet_lib.ops.module_registry import Size3, Step, StepStructure, box, kind_of_module, module_kind
from ctnet_lib.ops.temporal_modules import TemporalModuleConfig, build_temporal_module

Probe = tuple[int, int, int, int]  # (c, t, h, w) of the probed output unit
METHODS = ("probe", "structural")


@dataclass(frozen=True, eq=False)
class InteractionField:
    """What reaches output unit ``probe`` = (c, t, h, w) after ``step`` sub-operations.

    ``per_channel``: (C_in, T, H, W) bool, the input positions of each input channel that influence
    the unit; ``channel_matrix``: (C_out, C_in) bool, which input channels reach each output channel.
    ``local_channels`` / ``local_extent`` describe the step on its own: how many channels of the
    previous step's output, and over what (t, h, w) extent, reach the unit through this step alone.
    """

    step: int
    name: str
    probe: Probe
    per_channel: np.ndarray
    channel_matrix: np.ndarray
    local_channels: int
    local_extent: Size3

    @property
    def channels(self) -> np.ndarray:
        """(C_in,) bool: the input channels that influence the probed unit."""
        return self.per_channel.any(axis=(1, 2, 3))

    @property
    def positions(self) -> np.ndarray:
        """(T, H, W) bool: input positions that influence the probed unit, any channel."""
        return self.per_channel.any(axis=0)

    @property
    def num_channels(self) -> int:
        return int(self.channels.sum())

    @property
    def extent(self) -> Size3:
        """(t, h, w) size of the bounding box of ``positions`` (what the paper calls e.g. 5x5x5)."""
        return bounding_extent(self.positions)

    @property
    def volume(self) -> int:
        """Exact number of input positions in the field."""
        return int(self.positions.sum())

    @property
    def box_volume(self) -> int:
        return math.prod(self.extent)

    @property
    def offsets(self) -> np.ndarray:
        """(V, 3) int: (dt, dh, dw) of every field position relative to the probe position."""
        return np.argwhere(self.positions) - np.array(self.probe[1:])

    @property
    def interacting_dims(self) -> str:
        """Dimensions the step itself mixes: S (h or w extent > 1), T (t extent > 1), C (> 1 channel)."""
        t, h, w = self.local_extent
        return (("S" if max(h, w) > 1 else "") + ("T" if t > 1 else "")
                + ("C" if self.local_channels > 1 else "")) or "-"


def bounding_extent(mask: np.ndarray) -> Size3:
    """(t, h, w) size of the bounding box of the True entries of a (T, H, W) mask; zeros if empty."""
    if not mask.any():
        return (0, 0, 0)
    where = np.argwhere(mask)
    return tuple(int(v) for v in where.max(axis=0) - where.min(axis=0) + 1)  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------------------
# Sub-operations of the real modules


def sub_operations(module: nn.Module) -> list[Step]:
    """The steps of ``module`` (a registered kind's module, or an nn.Sequential of them), first to last."""
    if isinstance(module, nn.Sequential):
        return [
            Step(f"module {i + 1} / {step.name}", step.module, step.to_channel_order)
            for i, child in enumerate(module)
            for step in sub_operations(child)
        ]
    kind = kind_of_module(module)
    if kind is None:
        raise TypeError(
            f"{type(module).__name__} has no known sub-operations; pass a module of a registered kind "
            "(C3DModule, R2Plus1DModule, CSNModule, CTModule...) or an nn.Sequential of them"
        )
    return kind.steps(module)


# ---------------------------------------------------------------------------------------------------
# Gradient probing


def positive_probe_copy(module: nn.Module, seed: int = 0) -> nn.Module:
    """A float64 eval-mode copy of ``module`` in which no path can be silent or cancel another.

    Conv weights are drawn from (0.5, 1.5) / fan_in, conv biases are 0 and every BatchNorm is an
    identity (running mean 0, variance 1, weight 1, bias 0).
    """
    copy = deepcopy(module).double().eval()
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in copy.modules():
            if isinstance(m, _ConvNd):
                fan_in = m.weight[0].numel()
                m.weight.copy_((0.5 + torch.rand(m.weight.shape, generator=generator, dtype=torch.float64))
                               / fan_in)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, _BatchNorm):
                m.reset_running_stats()
                if m.affine:
                    m.weight.fill_(1.0)
                    m.bias.zero_()
    return copy


def _run_capturing(module: nn.Module, steps: Sequence[Step], x: Tensor) -> list[Tensor]:
    """Forward x through ``module`` and return every step's output (in the step module's layout)."""
    captured: dict[int, Tensor] = {}

    def store(index: int, _module: nn.Module, _inputs: tuple, output: Tensor) -> None:
        captured[index] = output

    handles = [step.module.register_forward_hook(partial(store, i)) for i, step in enumerate(steps)]
    try:
        module(x)
    finally:
        for handle in handles:
            handle.remove()
    return [captured[i] for i in range(len(steps))]


def input_channels(module: nn.Module) -> int:
    """C of the input (N, C, T, H, W) a temporal module expects (that of its first conv)."""
    for m in module.modules():
        if isinstance(m, _ConvNd):
            return m.in_channels
    raise ValueError(f"{type(module).__name__} has no conv layer, so its input channels are unknown")


def _check_probe(probe: Sequence[int] | None, channels: int, size: Size3) -> Probe:
    if probe is None:
        return (0, size[0] // 2, size[1] // 2, size[2] // 2)
    probe = tuple(int(v) for v in probe)
    limits = (channels, *size)
    if len(probe) != 4 or any(not 0 <= v < n for v, n in zip(probe, limits, strict=True)):
        raise ValueError(
            f"probe {probe} is not a unit (c, t, h, w) of an output of shape (C, T, H, W) = {limits}; "
            "choose 0 <= c < C, 0 <= t < T, 0 <= h < H, 0 <= w < W"
        )
    return probe  # type: ignore[return-value]


def _channel_matrices(module: nn.Module, steps: Sequence[Step], channels: int, seed: int) -> list:
    """(C_out, C_in) bool per step, probed on a batch of C positive 1x1x1 inputs.

    Every tap of every conv is non-zero, so channel connectivity is the same at every position; a
    1x1x1 input keeps only the centre taps and gives it for all C output channels in one backward each.
    """
    generator = torch.Generator().manual_seed(seed + 1)
    x = 0.5 + torch.rand((channels, channels, 1, 1, 1), generator=generator, dtype=torch.float64)
    x.requires_grad_(True)
    outputs = _run_capturing(module, steps, x)
    diagonal = torch.arange(channels)
    matrices = []
    for step, out in zip(steps, outputs, strict=True):
        selected = step.to_channel_order(out)[diagonal, diagonal].sum()
        (grad,) = torch.autograd.grad(selected, x, retain_graph=True)
        matrices.append((grad.reshape(channels, channels) != 0).numpy())
    return matrices


def probe_interaction_fields(
    module: nn.Module,
    input_size: Size3 = (9, 9, 9),
    probe: Sequence[int] | None = None,
    seed: int = 0,
) -> list[InteractionField]:
    """Exact interaction field of output unit ``probe`` = (c, t, h, w) after each step of ``module``.

    ``module`` maps (N, C, T, H, W) -> (N, C, T, H, W) (built with stride 1); it is not changed (a
    positive float64 copy is probed). ``input_size`` = (T, H, W); ``probe`` defaults to channel 0 at
    the centre. A field is clipped where it meets the border (zero padding), as in the real network.
    """
    channels = input_channels(module)
    size: Size3 = tuple(int(v) for v in input_size)  # type: ignore[assignment]
    unit = _check_probe(probe, channels, size)
    copy = positive_probe_copy(module, seed)
    steps = sub_operations(copy)
    if len({id(step.module) for step in steps}) != len(steps):
        raise ValueError("the same module instance appears twice in the stack; stack distinct instances")
    generator = torch.Generator().manual_seed(seed)
    x = 0.5 + torch.rand((1, channels, *size), generator=generator, dtype=torch.float64)
    x.requires_grad_(True)
    outputs = _run_capturing(copy, steps, x)
    matrices = _channel_matrices(copy, steps, channels, seed)
    fields = []
    for s, (step, out) in enumerate(zip(steps, outputs, strict=True)):
        if tuple(out.shape[1:]) != (channels, *size):
            raise ValueError(
                f"step {step.name!r} maps (C, T, H, W) = {(channels, *size)} to {tuple(out.shape[1:])}; "
                "probing needs modules that keep the shape (build them with stride=1)"
            )
        value = step.to_channel_order(out)[(0, *unit)]
        sources = (x,) if s == 0 else (x, outputs[s - 1])
        grads = torch.autograd.grad(value, sources, retain_graph=True)
        local = grads[-1] if s == 0 else steps[s - 1].to_channel_order(grads[-1])
        local_mask = (local[0] != 0).numpy()
        fields.append(
            InteractionField(
                step=s + 1,
                name=step.name,
                probe=unit,
                per_channel=(grads[0][0] != 0).numpy(),
                channel_matrix=matrices[s],
                local_channels=int(local_mask.any(axis=(1, 2, 3)).sum()),
                local_extent=bounding_extent(local_mask.any(axis=0)),
            )
        )
    return fields


# ---------------------------------------------------------------------------------------------------
# Structural propagation from a configuration


def minkowski_sum(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Centred support of {p + q : p in a, q in b} for centred odd-shaped supports a and b."""
    out = np.zeros(tuple(x + y - 1 for x, y in zip(a.shape, b.shape, strict=True)), dtype=bool)
    for dt, dh, dw in np.argwhere(b):
        out[dt:dt + a.shape[0], dh:dh + a.shape[1], dw:dw + a.shape[2]] |= a
    return out


def module_structure(config: TemporalModuleConfig, channels: int) -> list[StepStructure]:
    """The steps of the module ``config`` builds for ``channels``, as channel mixing and kernel support."""
    if config.excitation != "none":
        raise ValueError(
            f"excitation={config.excitation!r}: the gates pool over whole axes, which the structural model "
            "does not describe; use method='probe' (gradient probing) for gated modules"
        )
    return module_kind(config.kind).structure(config, channels)


def _place(support: np.ndarray, centre: Sequence[int], size: Size3) -> np.ndarray:
    """A (T, H, W) mask with the centred ``support`` put at ``centre`` and clipped to the grid."""
    mask = np.zeros(size, dtype=bool)
    grid, src = [], []
    for c, s, n in zip(centre, support.shape, size, strict=True):
        lo, hi = c - s // 2, c + s // 2 + 1
        grid.append(slice(max(lo, 0), min(hi, n)))
        src.append(slice(max(lo, 0) - lo, s - (hi - min(hi, n))))
    mask[tuple(grid)] = support[tuple(src)]
    return mask


def structural_interaction_fields(
    config: TemporalModuleConfig,
    channels: int,
    num_modules: int = 1,
    input_size: Size3 = (9, 9, 9),
    probe: Sequence[int] | None = None,
) -> list[InteractionField]:
    """The fields ``probe_interaction_fields`` measures, derived from ``config`` alone.

    A step's channel matrix composes by boolean matrix product, its support by Minkowski sum; fields
    are clipped at the border like the probed ones. For modules without gates (excitation='none').
    """
    size: Size3 = tuple(int(v) for v in input_size)  # type: ignore[assignment]
    unit = _check_probe(probe, channels, size)
    structure = module_structure(config, channels)
    steps = [(f"module {m + 1} / {s.name}" if num_modules > 1 else s.name, s)
             for m in range(num_modules) for s in structure]
    reach, support = np.eye(channels, dtype=bool), box(1, 1, 1)
    fields = []
    for index, (name, step) in enumerate(steps):
        reach = (step.channel_matrix.astype(np.int64) @ reach.astype(np.int64)) > 0
        support = minkowski_sum(support, step.support)
        placed, local_placed = _place(support, unit[1:], size), _place(step.support, unit[1:], size)
        fields.append(
            InteractionField(
                step=index + 1,
                name=name,
                probe=unit,
                per_channel=reach[unit[0]][:, None, None, None] & placed[None],
                channel_matrix=reach,
                local_channels=int(step.channel_matrix[unit[0]].sum()),
                local_extent=bounding_extent(local_placed),
            )
        )
    return fields


# ---------------------------------------------------------------------------------------------------
# One entry point for a configuration


def module_radius(config: TemporalModuleConfig) -> int:
    """How far (in t, h or w) one module of ``config`` can reach from a position: the sum of kernel radii."""
    return module_kind(config.kind).radius(config)


def unclipped_input_size(config: TemporalModuleConfig, num_modules: int = 1) -> Size3:
    """Smallest cubic (T, H, W) whose centre unit's field is not clipped by the border."""
    side = 1 + 2 * num_modules * module_radius(config)
    return (side, side, side)


def build_module_stack(config: TemporalModuleConfig, channels: int, num_modules: int = 1) -> nn.Module:
    """``num_modules`` independent stride-1 modules of ``config`` in sequence (the bare module for 1)."""
    if num_modules < 1:
        raise ValueError(f"num_modules={num_modules} must be >= 1")
    modules = [build_temporal_module(channels, config) for _ in range(num_modules)]
    return modules[0] if num_modules == 1 else nn.Sequential(*modules)


def interaction_fields(
    config: TemporalModuleConfig,
    channels: int = 16,
    num_modules: int = 1,
    input_size: Size3 | None = None,
    probe: Sequence[int] | None = None,
    method: str = "probe",
    seed: int = 0,
) -> list[InteractionField]:
    """Per-step fields of a stack of ``num_modules`` modules of ``config`` over ``channels`` channels.

    ``input_size`` (T, H, W) defaults to the smallest one that does not clip the centre unit's field;
    ``probe`` = (c, t, h, w) defaults to channel 0 at the centre. ``method``: 'probe' measures the real
    modules by gradient, 'structural' derives the fields from the configuration.
    """
    if method not in METHODS:
        raise ValueError(f"method={method!r} is not one of {METHODS}")
    size = unclipped_input_size(config, num_modules) if input_size is None else input_size
    if method == "structural":
        return structural_interaction_fields(config, channels, num_modules, size, probe)
    return probe_interaction_fields(build_module_stack(config, channels, num_modules), size, probe, seed)
