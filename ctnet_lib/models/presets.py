"""Preset registry and ``build_model``: one name per (temporal module family, backbone)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from ctnet_lib.models.pretrained import load_imagenet_weights
from ctnet_lib.models.resnet import BACKBONES, VideoResNet
from ctnet_lib.ops.temporal_modules import TemporalModuleConfig
from ctnet_lib.options import parse_bool, parse_kernels, parse_last_sub_dim

FAMILIES: dict[str, dict[str, Any]] = {
    "tsn": {"kind": "none"},
    "c3d": {"kind": "c3d"},
    "r2plus1d": {"kind": "r2plus1d"},
    "csn": {"kind": "csn"},
    "ctmodule": {"kind": "ct", "pwconv": False, "excitation": "none"},
    "ctnet": {"kind": "ct", "pwconv": True, "excitation": "te"},
}


@dataclass(frozen=True)
class Preset:
    name: str
    backbone: str
    temporal: Mapping[str, Any] = field(default_factory=dict)


PRESETS: dict[str, Preset] = {
    f"{family}_{backbone}": Preset(f"{family}_{backbone}", backbone, temporal)
    for family, temporal in FAMILIES.items()
    for backbone in BACKBONES
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
}
MODEL_OPTIONS: dict[str, Callable[[Any], Any]] = {"replace": str, "dropout": float, "pretrained": str}
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


def build_model(name: str, num_classes: int = 174, num_frames: int = 8, **options: Any) -> nn.Module:
    """A video model x: (N, 3, T, H, W) -> logits (N, num_classes) from preset ``name``.

    ``options`` (see SPEC section 5): kind (a registered temporal-module kind, overriding the
    preset's), num_sub_dims, last_sub_dim (int or 'balanced'), kernels
    ('3,3'), connection, pwconv, excitation, replace, dropout, pretrained (path of a torchvision
    ResNet checkpoint). ``num_frames`` is the default clip length recorded on the model; the network
    itself accepts any T.
    """
    if name not in PRESETS:
        raise ValueError(f"unknown model preset {name!r}; valid presets: {', '.join(list_presets())}")
    preset = PRESETS[name]
    parsed = parse_options(options)
    temporal_options = {k: v for k, v in parsed.items() if k in TEMPORAL_OPTIONS}
    temporal = TemporalModuleConfig(**{**preset.temporal, **temporal_options})
    model = VideoResNet(
        BACKBONES[preset.backbone],
        num_classes,
        temporal,
        replace=parsed.get("replace", "every_other"),
        dropout=parsed.get("dropout", 0.5),
    )
    model.preset_name = name
    model.num_frames = num_frames
    if parsed.get("pretrained"):
        model.pretrained_report = load_imagenet_weights(model, parsed["pretrained"])
    return model
