"""The torchvision ImageNet CNNs that presets convert to video models (the paper's appendix A.6), one
entry per backbone: torchvision's builder and options, the input size and the default replacement rule.

Depths, widths and groups are torchvision's: read from the built model, never repeated here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import torch
from torch import nn

from ctnet_lib.models.block_selection import DEFAULT_REPLACE, LAYER_NAMES
from ctnet_lib.models.conv_selection import EQUAL_3X3, select_convs
from ctnet_lib.models.conversion import VideoNet, convert_to_video
from ctnet_lib.models.torchvision_import import torchvision_models
from ctnet_lib.ops.temporal_modules import TemporalModuleConfig


@dataclass(frozen=True)
class ImageNetBackbone:
    """A torchvision 2D CNN: ``torchvision.models.<builder>(**options)``, the input size of its clips
    (``input_size`` x ``input_size``), the rule that picks its replaced convs and its probed stages."""

    builder: str
    label: str
    input_size: int = 256
    options: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))
    default_replace: str = DEFAULT_REPLACE
    stage_names: tuple[str, ...] = LAYER_NAMES
    min_input_size: int = 32  # the smallest clip side the network runs on

    def frame_model(self, num_classes: int = 1000) -> nn.Module:
        """The 2D model, built by torchvision with its own initialisation (no weights are downloaded)."""
        return getattr(torchvision_models(), self.builder)(weights=None, num_classes=num_classes,
                                                           **self.options)

    def conv_names(self, replace: str) -> tuple[str, ...]:
        """The convs that rule ``replace`` (see ``conv_selection``) gives temporal modules, read from the
        model built on the meta device; raises ValueError when a picked conv cannot be replaced."""
        with torch.device("meta"):
            model = self.frame_model()
        return select_convs(model, replace)

    def video_model(self, num_classes: int, temporal: TemporalModuleConfig, replace: str, dropout: float,
                    checkpointing: str = "none", memory_format: str = "auto") -> VideoNet:
        """The 2D model (torchvision's 1000-class head replaced by ``num_classes``) converted to video."""
        return convert_to_video(self.frame_model(), temporal, replace, num_classes, dropout, checkpointing,
                                memory_format, self.stage_names)


IMAGENET_BACKBONES: dict[str, ImageNetBackbone] = {
    "r152": ImageNetBackbone("resnet152", "ResNet-152"),
    "resnext50": ImageNetBackbone("resnext50_32x4d", "ResNeXt-50 (32x4d)"),
    "wide_resnet50": ImageNetBackbone("wide_resnet50_2", "Wide ResNet-50-2"),
    # 299 x 299 as the release (and torchvision) feed InceptionV3; no auxiliary classifier, as in video
    # networks; transform_input as torchvision sets it for its ImageNet weights
    "inception_v3": ImageNetBackbone(
        "inception_v3", "InceptionV3", 299,
        MappingProxyType({"aux_logits": False, "transform_input": True, "init_weights": True}),
        EQUAL_3X3, ("Mixed_5d", "Mixed_6e", "Mixed_7c"), min_input_size=75,
    ),
}
