"""The registry of temporal-module kinds: what each kind is, in one entry per kind.

An entry (``ModuleKind``) holds, side by side, the module class and how to build it, its label, its
steps (what "after each sub-operation" means), its closed-form cost terms and its interaction-field
structure. ``build_model``, the complexity formulas, the field analysis, the figures and the widgets
ask this registry; adding a kind is one ``register_module_kind`` call next to its module class.

The kind ``none`` (keep the plain 2D 3x3 conv) is valid in a configuration but has no entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
from torch import Tensor, nn

if TYPE_CHECKING:
    from ctnet_lib.ops.temporal_modules import TemporalModuleConfig

NO_MODULE = "none"
Size3 = tuple[int, int, int]  # (T, H, W)


@dataclass(frozen=True)
class Step:
    """One step of a built module: the sub-module whose output ends the step, and how to read that
    output, (N, C, ...) in the sub-module's channel layout, in the original channel order."""

    name: str
    module: nn.Module
    to_channel_order: Callable[[Tensor], Tensor]


def unchanged(x: Tensor) -> Tensor:
    """The channel order of a step that keeps the original layout."""
    return x


@dataclass(frozen=True)
class StepStructure:
    """One step as structure: (C_out, C_in) bool channel mixing and a centred (kt, kh, kw) bool support."""

    name: str
    channel_matrix: np.ndarray
    support: np.ndarray


@dataclass(frozen=True)
class PaperClaim:
    """What the paper's Table 1 states for one sub-operation: dimensions mixed, channels, field."""

    interacts: str  # e.g. 'STC_1': spatial, temporal and the channels of sub-dimension 1
    channels: int
    extent: Size3  # the paper treats the field as this full (t, h, w) box


class CostBuilder(Protocol):
    """Collects a module's closed-form cost terms (implemented in ``analysis.counting.formulas``)."""

    def conv(self, step: str, name: str, part: str, outputs: int, per_output: int, out_channels: int,
             bias: bool, formulas: tuple[str, str]) -> None:
        """A conv: ``outputs`` output elements, ``per_output`` weight MACs each, ``out_channels`` filters."""

    def bn(self, step: str, name: str, part: str, outputs: int, channels: int,
           symbols: tuple[str, str]) -> None:
        """A BatchNorm over ``outputs`` elements of ``channels`` channels."""


@dataclass(frozen=True)
class ModuleKind:
    """Everything the library knows about one temporal-module kind.

    ``build(C, config, stride)`` maps x: (N, C, T, H, W) to (N, C, T, H / stride, W / stride).
    ``steps(module)`` lists the steps of a built ``module_type`` instance. ``cost_terms(builder, C,
    config, (T, H, W))`` adds the terms of a stride-1 module with output (C, T, H, W) and returns its
    sub-dimension sizes ((C,) without tensorisation). ``structure(config, C)`` gives each step's
    channel mixing and kernel support; ``radius(config)`` how far one module reaches in t, h or w.
    ``as_ct(config)`` is the same module written as a CT configuration (the paper's Discussion), None
    when there is none. ``baseline``: one of the 3D-conv modules the paper compares CT-Net against.
    """

    name: str
    label: str
    module_type: type[nn.Module]
    build: Callable[[int, TemporalModuleConfig, int], nn.Module]
    steps: Callable[[nn.Module], list[Step]]
    cost_terms: Callable[[CostBuilder, int, TemporalModuleConfig, Size3], tuple[int, ...]]
    structure: Callable[[TemporalModuleConfig, int], list[StepStructure]]
    paper_claims: Callable[[TemporalModuleConfig, int], list[PaperClaim | None]] | None = None
    radius: Callable[[TemporalModuleConfig], int] = lambda config: 1
    as_ct: Callable[[TemporalModuleConfig], TemporalModuleConfig] | None = None
    baseline: bool = False


MODULE_KINDS: dict[str, ModuleKind] = {}


def register_module_kind(kind: ModuleKind) -> ModuleKind:
    """Add ``kind`` to the registry (its name must be new) and return it."""
    if kind.name in MODULE_KINDS or kind.name == NO_MODULE:
        raise ValueError(f"temporal module kind {kind.name!r} is already registered; choose another name")
    MODULE_KINDS[kind.name] = kind
    return kind


def unregister_module_kind(name: str) -> None:
    """Remove the kind ``name`` (for kinds registered by a test or a notebook experiment)."""
    module_kind(name)
    del MODULE_KINDS[name]


def module_kind(name: str) -> ModuleKind:
    """The entry of kind ``name``; raises ValueError naming the registered kinds."""
    if name not in MODULE_KINDS:
        raise ValueError(
            f"kind {name!r} has no temporal module; use one of {', '.join(MODULE_KINDS)} "
            f"({NO_MODULE!r} keeps the 2D 3x3 conv)"
        )
    return MODULE_KINDS[name]


def module_kinds() -> tuple[ModuleKind, ...]:
    """Every registered kind, in registration order."""
    return tuple(MODULE_KINDS.values())


def baseline_kinds() -> tuple[ModuleKind, ...]:
    """The 3D-conv baselines the paper compares CT-Net against (C3D, R(2+1)D, CSN)."""
    return tuple(kind for kind in MODULE_KINDS.values() if kind.baseline)


def kind_of_module(module: nn.Module) -> ModuleKind | None:
    """The registered kind whose module class ``module`` is an instance of (None if no kind's)."""
    return next((kind for kind in MODULE_KINDS.values() if isinstance(module, kind.module_type)), None)


def box(t: int, h: int, w: int) -> np.ndarray:
    """A full (t, h, w) kernel support."""
    return np.ones((t, h, w), dtype=bool)


def dense_mixing(channels: int) -> np.ndarray:
    """(C, C) bool: a full conv lets every input channel reach every output channel."""
    return np.ones((channels, channels), dtype=bool)


def own_channel(channels: int) -> np.ndarray:
    """(C, C) bool: a depth-wise conv keeps each channel to itself."""
    return np.eye(channels, dtype=bool)


def ct_form(config: TemporalModuleConfig) -> TemporalModuleConfig | None:
    """``config``'s module written as a CT configuration (None when its kind has no CT form)."""
    kind = module_kind(config.kind)
    return kind.as_ct(config) if kind.as_ct else None
