"""Video ResNet: a 2D ResNet (v1.5) over frames whose chosen bottlenecks carry a temporal module.

Frames are processed as (N*T, C, H, W) by the 2D layers; a temporal module sees (N, C, T, H, W).
Module and parameter names follow torchvision's ResNet, so an ImageNet checkpoint in torchvision
format loads directly (see ``pretrained.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ctnet_lib.models.block_selection import DEFAULT_REPLACE, LAYER_NAMES, select_blocks
from ctnet_lib.ops.memory_format import MEMORY_FORMAT, frames_in_memory_format
from ctnet_lib.ops.recompute import parse_checkpointing, recompute_activations, recompute_in_backward
from ctnet_lib.ops.temporal_modules import TemporalModuleConfig, build_temporal_module


@dataclass(frozen=True)
class BackboneSpec:
    """Depth and width of a bottleneck ResNet, and the input size of the paper's tables."""

    blocks_per_layer: tuple[int, int, int, int]
    base_width: int = 64  # inner width of layer1; doubles per stage; outputs are 4x wider
    input_size: int = 256
    default_replace: str = DEFAULT_REPLACE
    # the smallest clip side the network runs on: its total stride, conv1 (2) x max pool (2) x the strided
    # first blocks of layer2-4 (2 x 2 x 2), leaves a 1 x 1 last feature map
    min_input_size: int = 32

    @property
    def widths(self) -> tuple[int, ...]:
        """Inner width of each stage's bottlenecks: ``base_width`` doubled per stage (outputs 4x wider)."""
        return tuple(self.base_width * 2**stage for stage in range(len(self.blocks_per_layer)))

    def conv_names(self, replace: str) -> tuple[str, ...]:
        """The 3x3 convs that rule ``replace`` (see ``select_blocks``) gives temporal modules; raises
        ValueError when it does not fit this ResNet."""
        blocks = select_blocks(replace, self.blocks_per_layer)
        return tuple(f"{layer}.{index}.conv2" for layer, indices in blocks.items() for index in indices)

    def video_model(self, num_classes: int, temporal: TemporalModuleConfig, replace: str, dropout: float,
                    checkpointing: str = "none", memory_format: str = "auto", output_stride: int = 32
                    ) -> VideoResNet:
        """The video ResNet of this spec (see ``VideoResNet``)."""
        return VideoResNet(self, num_classes, temporal, replace, dropout, checkpointing, memory_format,
                           output_stride)


# Output strides of the last feature map: 32 (the paper's ResNets), or 16 / 8 where the last one / two
# stages keep their input's resolution (their first block has stride 1, no dilation: see ``stage_strides``).
OUTPUT_STRIDES = (32, 16, 8)
STEM_STRIDE = 4  # conv1 (2) x max pool (2)


def stage_strides(output_stride: int) -> tuple[int, int, int, int]:
    """Stride of the first block of layer1-4 for a last feature map at ``output_stride`` (32: 1, 2, 2, 2;
    16: 1, 2, 2, 1; 8: 1, 2, 1, 1). The stages that no longer halve the resolution keep 3x3 kernels
    without dilation (unlike DeepLab's): these models train from scratch, so there is no pretrained
    receptive field to preserve, and the temporal modules take a stride but no dilation."""
    if output_stride not in OUTPUT_STRIDES:
        raise ValueError(f"output_stride={output_stride!r}: use one of {OUTPUT_STRIDES} (32 is the paper's)")
    strides, total = [1], STEM_STRIDE
    for _ in range(3):
        stride = 2 if total < output_stride else 1
        strides.append(stride)
        total *= stride
    return (strides[0], strides[1], strides[2], strides[3])


BACKBONES = {
    "r50": BackboneSpec((3, 4, 6, 3)),
    "r101": BackboneSpec((3, 4, 23, 3)),
    "small": BackboneSpec((2, 2, 2, 2), base_width=16),
}


def init_new_layers(module: nn.Module) -> None:
    """Kaiming normal (fan_out) weights and zero biases for every conv in ``module``, unit BatchNorms."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Conv3d)):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm3d)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def init_classifier(fc: nn.Linear) -> None:
    """A new classifier: weights drawn from N(0, 0.001), zero bias."""
    nn.init.normal_(fc.weight, std=0.001)
    nn.init.zeros_(fc.bias)


def replaced_layers(model: nn.Module) -> tuple[str, ...]:
    """Names of the convs of ``model`` that temporal modules took the place of."""
    return tuple(name for name, m in model.named_modules() if isinstance(m, FramesToClip))


class FramesToClip(nn.Module):
    """Wraps a temporal module so it runs inside the 2D network: (N*T, C, H, W) -> (N*T, C, H', W').

    ``checkpointing`` (one of ``ops.recompute.CHECKPOINTING``): with 'modules' only the input is kept for
    the backward pass, which runs the module's forward again to get its gradients; with 'activations' the
    module recomputes the parts after its convolutions.
    """

    def __init__(self, module: nn.Module, checkpointing: str = "none") -> None:
        super().__init__()
        self.module = module
        self.num_frames = 1
        self.checkpointing = parse_checkpointing(checkpointing)
        if self.checkpointing == "activations":
            recompute_activations(module)

    def forward(self, x: Tensor) -> Tensor:
        if self.checkpointing == "modules":
            return recompute_in_backward(self._run, x, owner=self.module)
        return self._run(x)

    def _run(self, x: Tensor) -> Tensor:
        nt, c, h, w = x.shape
        t = self.num_frames
        clip = x.view(nt // t, t, c, h, w).transpose(1, 2)
        out = self.module(clip)
        return out.transpose(1, 2).reshape(nt, out.shape[1], out.shape[3], out.shape[4])


class Bottleneck(nn.Module):
    """torchvision's ResNet v1.5 bottleneck (stride on the 3x3); ``conv2`` may be a temporal module,
    followed by ``bn2`` and ReLU unless its variant omits them (the release's CT-Net, ``ops.variants``)."""

    expansion = 4

    def __init__(
        self,
        in_channels: int,
        width: int,
        stride: int,
        temporal: TemporalModuleConfig | None,
        checkpointing: str = "none",
    ) -> None:
        super().__init__()
        out_channels = width * self.expansion
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        if temporal is None:
            self.conv2: nn.Module = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        else:
            self.conv2 = FramesToClip(build_temporal_module(width, temporal, stride), checkpointing)
        self.norm_after_conv2 = temporal is None or temporal.variant_spec.norm_after_module
        if self.norm_after_conv2:
            self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample: nn.Module | None = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.conv2(out)
        if self.norm_after_conv2:
            out = self.relu(self.bn2(out))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class VideoResNet(nn.Module):
    """x: (N, 3, T, H, W) -> logits (N, num_classes), averaged over the T per-frame predictions.

    ``stage_names``: the stages whose outputs the analyses probe; ``replaced_layers``: the convs that
    temporal modules replace.

    ``checkpointing``: what the temporal modules recompute in the backward pass, 'none', 'activations' or
    'modules' (see ``ops.recompute``);
    ``memory_format``: of the frames, 'auto' (per device), 'contiguous' or 'channels_last' (see
    ``ops.memory_format``);
    ``output_stride``: of the last feature map, 32, 16 or 8 (see ``stage_strides``).
    """

    def __init__(
        self,
        backbone: BackboneSpec,
        num_classes: int,
        temporal: TemporalModuleConfig,
        replace: str = DEFAULT_REPLACE,
        dropout: float = 0.5,
        checkpointing: str = "none",
        memory_format: str = "auto",
        output_stride: int = 32,
    ) -> None:
        super().__init__()
        strides = stage_strides(output_stride)
        self.output_stride = output_stride
        self.stage_names = LAYER_NAMES
        self.temporal_config = temporal
        self.memory_format = MEMORY_FORMAT.check(memory_format)
        chosen = select_blocks(replace, backbone.blocks_per_layer) if temporal.has_module else {}
        self.replaced_blocks = {name: idx for name, idx in chosen.items() if idx}
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        in_channels = 64
        for stage, (name, blocks) in enumerate(zip(LAYER_NAMES, backbone.blocks_per_layer, strict=True)):
            width = backbone.widths[stage]
            layer = []
            for i in range(blocks):
                stride = strides[stage] if i == 0 else 1
                module = temporal if i in chosen.get(name, ()) else None
                layer.append(Bottleneck(in_channels, width, stride, module, checkpointing))
                in_channels = width * Bottleneck.expansion
            setattr(self, name, nn.Sequential(*layer))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(in_channels, num_classes)
        self._adapters = [m for m in self.modules() if isinstance(m, FramesToClip)]
        self.replaced_layers = replaced_layers(self)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Kaiming normal (fan_out) convs, unit BN, and the classifier drawn from N(0, 0.001)."""
        init_new_layers(self)
        init_classifier(self.fc)

    def frame_features(self, x: Tensor) -> Tensor:
        """Last-stage feature maps (N*T, C, H/s, W/s) of x: (N, 3, T, H, W), s the output stride."""
        n, c, t, h, w = x.shape
        for adapter in self._adapters:
            adapter.num_frames = t
        frames = frames_in_memory_format(x.transpose(1, 2).reshape(n * t, c, h, w), self.memory_format)
        out = self.maxpool(self.relu(self.bn1(self.conv1(frames))))
        return self.layer4(self.layer3(self.layer2(self.layer1(out))))

    def forward(self, x: Tensor) -> Tensor:
        n, t = x.shape[0], x.shape[2]
        features = torch.flatten(self.avgpool(self.frame_features(x)), 1)
        logits = self.fc(self.dropout(features))
        return logits.view(n, t, -1).mean(dim=1)
