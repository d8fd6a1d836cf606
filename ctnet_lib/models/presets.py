"""Model presets and ``build_model``: one name per (temporal module family, backbone).

Options are parsed once, at the edge, into a frozen ``ModelConfig`` (``model_config``); building a
model, ``ctnet train`` (before it touches data) and the analysis all use that one parse.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from ctnet_lib.devices import PerDeviceChoice
from ctnet_lib.models.imagenet_backbones import IMAGENET_BACKBONES, ImageNetBackbone
from ctnet_lib.models.pretrained import load_imagenet_weights
from ctnet_lib.models.resnet import BACKBONES, BackboneSpec, stage_strides
from ctnet_lib.models.variants import DEFAULT_NUM_CLASSES, DEFAULT_NUM_FRAMES, FAMILIES
from ctnet_lib.ops.conv_lowering import IMPLEMENTATION, set_conv_implementation
from ctnet_lib.ops.memory_format import MEMORY_FORMAT
from ctnet_lib.ops.recompute import parse_checkpointing
from ctnet_lib.ops.temporal_modules import TemporalModuleConfig
from ctnet_lib.options import parse_bool, parse_kernels, parse_last_sub_dim
from ctnet_lib.validation import check_at_least


@dataclass(frozen=True)
class ModelPreset:
    """A named model: its backbone and the temporal-module fields its family fixes."""

    name: str
    backbone: str
    temporal: Mapping[str, Any] = field(default_factory=dict)


# every backbone a preset can name: our video ResNets and the converted torchvision CNNs
ALL_BACKBONES: dict[str, BackboneSpec | ImageNetBackbone] = {**BACKBONES, **IMAGENET_BACKBONES}
PRESETS: dict[str, ModelPreset] = {
    family.preset(backbone): ModelPreset(family.preset(backbone), backbone, family.temporal)
    for family in FAMILIES.values()
    for backbone in ALL_BACKBONES
}


def list_presets() -> list[str]:
    """Names accepted by ``build_model``."""
    return sorted(PRESETS)


TEMPORAL_OPTIONS: dict[str, Callable[[Any], Any]] = {
    "kind": str,
    "num_sub_dims": int,
    "last_sub_dim": parse_last_sub_dim,
    "kernels": parse_kernels,
    "connection": str,
    "pwconv": parse_bool,
    "excitation": str,
    "te_reduction": int,
    "se_reduction": int,
    "variant": str,
}
# options that change how a model runs, not what it computes; 'auto' picks per device
RUNNING_CHOICES: dict[str, PerDeviceChoice] = {
    "implementation": IMPLEMENTATION,
    "memory_format": MEMORY_FORMAT,
}
MODEL_OPTIONS: dict[str, Callable[[Any], Any]] = {
    "replace": str,
    "dropout": float,
    "pretrained": str,
    **{name: choice.check for name, choice in RUNNING_CHOICES.items()},
    "checkpointing": parse_checkpointing,
    "output_stride": int,
}
OPTIONS = {**TEMPORAL_OPTIONS, **MODEL_OPTIONS}


def parse_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """Convert option values (strings from the CLI or notebooks, or typed values) to their types."""
    parsed = {}
    for key, value in options.items():
        if key not in OPTIONS:
            raise ValueError(f"unknown model option {key!r}; valid options: {', '.join(sorted(OPTIONS))}")
        try:
            parsed[key] = OPTIONS[key](value)
        except (TypeError, ValueError) as error:
            raise ValueError(f"model option {key}={value!r}: {error}") from None
    return parsed


def _check_preset(name: str) -> None:
    if name not in PRESETS:
        raise ValueError(f"unknown model preset {name!r}; valid presets: {', '.join(list_presets())}")


@dataclass(frozen=True)
class ModelConfig:
    """A video model, parsed and validated: preset, temporal module, replaced blocks, head dropout, the
    optional torchvision checkpoint path (make one with ``model_config``), and three ways of running it
    that leave its parameters and outputs unchanged: ``implementation`` of the 3D convolutions ('auto'
    chooses per device, see ``ops.conv_lowering``), ``memory_format`` of the frames ('auto' chooses per
    device, see ``ops.memory_format``) and ``checkpointing`` ('none', 'activations' or 'modules': how much
    of the temporal modules is recomputed in the backward pass instead of kept, see ``ops.recompute``).
    ``output_stride`` (32, 16 or 8; our ResNets only) sets the last feature map's resolution (see
    ``resnet.stage_strides``): 16 or 8 gives finer Saliency Tubes at more cost."""

    preset: str
    temporal: TemporalModuleConfig
    replace: str | None = None  # None: the backbone's default rule (``replace_rule``)
    dropout: float = 0.5
    pretrained: str | None = None
    implementation: str = "auto"
    memory_format: str = "auto"
    checkpointing: str = "none"
    output_stride: int = 32

    def __post_init__(self) -> None:
        _check_preset(self.preset)
        stage_strides(self.output_stride)
        if self.output_stride != 32 and not isinstance(self.backbone, BackboneSpec):
            raise ValueError(f"output_stride={self.output_stride} needs one of our ResNets "
                             f"({', '.join(BACKBONES)}); {self.preset}'s torchvision backbone keeps its own "
                             "strides: drop the option")
        if self.temporal.has_module:
            self.backbone.conv_names(self.replace_rule)

    @property
    def backbone(self) -> BackboneSpec | ImageNetBackbone:
        """The preset's backbone: our ResNet's depth and width, or a torchvision CNN."""
        return ALL_BACKBONES[PRESETS[self.preset].backbone]

    @property
    def replace_rule(self) -> str:
        """``replace``, or the backbone's default rule when it is None."""
        return self.backbone.default_replace if self.replace is None else self.replace

    @property
    def input_size(self) -> int:
        """Height and width of the backbone's clips in the paper's tables (256, InceptionV3 299)."""
        return self.backbone.input_size


def model_config(name: str, **options: Any) -> ModelConfig:
    """Preset ``name`` with ``options`` (strings from the CLI or notebooks, or typed values), validated.

    Raises ValueError naming an unknown preset or option, or a value that does not fit (for example
    ``kernels`` with more sizes than ``num_sub_dims``, or a ``replace`` naming a missing block).
    """
    _check_preset(name)
    parsed = parse_options(options)
    temporal_options = {k: v for k, v in parsed.items() if k in TEMPORAL_OPTIONS}
    temporal = TemporalModuleConfig(**{**PRESETS[name].temporal, **temporal_options})
    return ModelConfig(name, temporal, **{k: v for k, v in parsed.items() if k in MODEL_OPTIONS})


def build_model(name: str, num_classes: int = DEFAULT_NUM_CLASSES, num_frames: int = DEFAULT_NUM_FRAMES,
                **options: Any) -> nn.Module:
    """A video model x: (N, 3, T, H, W) -> logits (N, num_classes) from preset ``name``.

    ``options`` (the table ``OPTIONS``; README "The library in one screen"): kind (a registered
    temporal-module kind, overriding the preset's), num_sub_dims, last_sub_dim (int or 'balanced'),
    kernels ('3,3'), connection, pwconv, excitation, variant ('paper' or 'release', see ``ops.variants``),
    replace (a rule of ``conv_selection``; default the backbone's), dropout, output_stride (32, 16, 8),
    pretrained (path of a torchvision checkpoint of the backbone), implementation ('auto', 'native',
    'lowered'), memory_format ('auto', 'contiguous', 'channels_last'), checkpointing. ``num_frames`` is
    the default clip length recorded on the model; the network itself accepts any T.
    """
    check_at_least("num_classes", num_classes, 1)
    check_at_least("num_frames", num_frames, 1)
    config = model_config(name, **options)
    strides = {} if config.output_stride == 32 else {"output_stride": config.output_stride}
    model = config.backbone.video_model(num_classes, config.temporal, config.replace_rule, config.dropout,
                                        config.checkpointing, config.memory_format, **strides)
    set_conv_implementation(model, config.implementation)
    model.preset_name = name
    model.num_frames = num_frames
    model.min_input_size = config.backbone.min_input_size
    if config.pretrained:
        model.pretrained_report = load_imagenet_weights(model, config.pretrained)
    return model
