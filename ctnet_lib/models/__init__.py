"""Video ResNets with swappable temporal modules, presets and ``build_model``."""

from ctnet_lib.models.presets import PRESETS, build_model, list_presets, parse_options
from ctnet_lib.models.pretrained import LoadReport, load_imagenet_weights
from ctnet_lib.models.resnet import BACKBONES, VideoResNet

__all__ = [
    "BACKBONES",
    "PRESETS",
    "LoadReport",
    "VideoResNet",
    "build_model",
    "list_presets",
    "load_imagenet_weights",
    "parse_options",
]
