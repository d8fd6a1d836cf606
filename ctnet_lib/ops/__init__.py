"""Building blocks of the temporal modules: factorisation, tensor separable conv, excitation."""

from ctnet_lib.ops.excitation import (
    ChannelExcitation,
    SpatialExcitation,
    SqueezeExcitation,
    TemporalExcitation,
)
from ctnet_lib.ops.factorisation import FactorisationError, balanced_factorisation, factorise
from ctnet_lib.ops.temporal_modules import (
    TEMPORAL_MODULES,
    C3DModule,
    CSNModule,
    CTModule,
    R2Plus1DModule,
    TemporalModuleConfig,
    build_temporal_module,
)
from ctnet_lib.ops.tensor_separable_conv import TensorSeparableConv, permute_channel_layout

__all__ = [
    "TEMPORAL_MODULES",
    "C3DModule",
    "CSNModule",
    "CTModule",
    "ChannelExcitation",
    "FactorisationError",
    "R2Plus1DModule",
    "SpatialExcitation",
    "SqueezeExcitation",
    "TemporalExcitation",
    "TemporalModuleConfig",
    "TensorSeparableConv",
    "balanced_factorisation",
    "build_temporal_module",
    "factorise",
    "permute_channel_layout",
]
