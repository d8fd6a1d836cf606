"""Building blocks of the temporal modules: factorisation, tensor separable conv, excitation, and the
registry of temporal-module kinds (importing this package registers c3d, r2plus1d, csn and ct)."""

from ctnet_lib.ops.ct_module import CTModule
from ctnet_lib.ops.excitation import (
    ChannelExcitation,
    SpatialExcitation,
    SqueezeExcitation,
    TemporalExcitation,
)
from ctnet_lib.ops.factorisation import FactorisationError, balanced_factorisation, factorise
from ctnet_lib.ops.module_registry import ModuleKind, module_kind, module_kinds, register_module_kind
from ctnet_lib.ops.temporal_modules import (
    C3DModule,
    CSNModule,
    R2Plus1DModule,
    TemporalModuleConfig,
    build_temporal_module,
)
from ctnet_lib.ops.tensor_separable_conv import TensorSeparableConv, permute_channel_layout

__all__ = [
    "C3DModule",
    "CSNModule",
    "CTModule",
    "ChannelExcitation",
    "FactorisationError",
    "ModuleKind",
    "R2Plus1DModule",
    "SpatialExcitation",
    "SqueezeExcitation",
    "TemporalExcitation",
    "TemporalModuleConfig",
    "TensorSeparableConv",
    "balanced_factorisation",
    "build_temporal_module",
    "factorise",
    "module_kind",
    "module_kinds",
    "permute_channel_layout",
    "register_module_kind",
]
