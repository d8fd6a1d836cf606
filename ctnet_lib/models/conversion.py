"""CT-Net from any ImageNet CNN (the paper's appendix A.6): a 2D torchvision model becomes a video model.

``convert_to_video`` replaces the convs that a rule picks (``conv_selection``) with temporal modules of
any registered kind, each wrapped in ``FramesToClip`` at the conv's own name (so the other parameters keep
torchvision's key names and a torchvision weight file loads), runs the frames through the 2D layers as
(N*T, C, H, W) and averages the per-frame logits. The block's BN and ReLU follow the module, as they
followed the conv.
"""

from __future__ import annotations

from torch import Tensor, nn

from ctnet_lib.models.block_selection import DEFAULT_REPLACE, LAYER_NAMES
from ctnet_lib.models.conv_selection import EQUAL_3X3, is_residual, select_convs
from ctnet_lib.models.resnet import FramesToClip, init_classifier, init_new_layers
from ctnet_lib.ops.memory_format import MEMORY_FORMAT, frames_in_memory_format
from ctnet_lib.ops.temporal_modules import TemporalModuleConfig, build_temporal_module

HEAD = ("avgpool", "dropout", "fc")  # the children after the trunk: global pool, optional dropout, classifier


def default_rule(model: nn.Module) -> str:
    """The paper's ``every_other`` for residual networks, ``equal_3x3`` for the others."""
    return DEFAULT_REPLACE if is_residual(model) else EQUAL_3X3


def _check_frame_model(model: nn.Module) -> list[str]:
    """The names of the trunk's children; ValueError when the model is not a chain of children that ends
    with a global average pool, an optional dropout and a linear ``fc``."""
    children = dict(model.named_children())
    trunk = [name for name in children if name not in HEAD]
    head_ok = (isinstance(children.get("avgpool"), nn.AdaptiveAvgPool2d)
               and isinstance(children.get("fc"), nn.Linear)
               and list(children)[len(trunk):] in (["avgpool", "fc"], ["avgpool", "dropout", "fc"]))
    if not head_ok or (type(model).__name__ == "Inception3" and getattr(model, "aux_logits", False)):
        raise ValueError(
            f"convert_to_video needs a 2D CNN whose children run in order and end with 'avgpool' "
            f"(AdaptiveAvgPool2d), an optional 'dropout' and a linear 'fc': torchvision's ResNet, ResNeXt, "
            f"Wide ResNet and InceptionV3 (built with aux_logits=False); got {type(model).__name__} with "
            f"children {list(children)}"
        )
    return trunk


class VideoNet(nn.Module):
    """x: (N, 3, T, H, W) -> logits (N, num_classes), the mean of the 2D classifier over the T frames.

    The children are the 2D model's, under its names (``state_dict`` keys are torchvision's, plus
    ``<conv>.module.*`` for the temporal modules); ``replaced_layers`` names the replaced convs,
    ``stage_names`` the stages the analyses probe.
    """

    def __init__(self, frame_model: nn.Module, replaced: tuple[str, ...], stage_names: tuple[str, ...],
                 memory_format: str = "auto") -> None:
        super().__init__()
        trunk = _check_frame_model(frame_model)
        for name, child in frame_model.named_children():
            self.add_module(name, child)
        if not hasattr(self, "dropout"):
            self.dropout = nn.Dropout(0.0)
        self.transform_input = bool(getattr(frame_model, "transform_input", False))
        self._input_transform = type(frame_model)._transform_input if self.transform_input else None
        self._trunk = [getattr(self, name) for name in trunk]
        self._adapters = [m for m in self.modules() if isinstance(m, FramesToClip)]
        self.replaced_layers = replaced
        self.stage_names = stage_names
        self.memory_format = MEMORY_FORMAT.check(memory_format)

    def frame_features(self, x: Tensor) -> Tensor:
        """Last feature maps (N*T, C, h, w), before the pool, of x: (N, 3, T, H, W)."""
        n, c, t, h, w = x.shape
        for adapter in self._adapters:
            adapter.num_frames = t
        out = frames_in_memory_format(x.transpose(1, 2).reshape(n * t, c, h, w), self.memory_format)
        if self._input_transform is not None:
            out = self._input_transform(self, out)
        for module in self._trunk:
            out = module(out)
        return out

    def forward(self, x: Tensor) -> Tensor:
        n, t = x.shape[0], x.shape[2]
        features = self.avgpool(self.frame_features(x)).flatten(1)
        logits = self.fc(self.dropout(features))
        return logits.view(n, t, -1).mean(dim=1)


def convert_to_video(
    frame_model: nn.Module,
    temporal: TemporalModuleConfig,
    replace: str | None = None,
    num_classes: int | None = None,
    dropout: float | None = None,
    checkpointing: str = "none",
    memory_format: str = "auto",
    stage_names: tuple[str, ...] | None = None,
) -> VideoNet:
    """A video model from 2D ``frame_model`` (changed in place; its children become the video model's).

    ``temporal``: the module kind and its options (kind 'none' replaces nothing); ``replace``: the rule
    of ``conv_selection`` (None: ``default_rule``); ``num_classes``: a new classifier (N(0, 0.001)) of
    that size, None keeps the 2D one; ``dropout``: before the classifier (None keeps the model's, none for
    ResNets); ``stage_names``: None gives layer1..layer4 for residual networks. New modules get Kaiming
    normal (fan_out) convs. Raises ValueError naming every picked conv that cannot be replaced and why,
    or a temporal module that does not fit a conv's channels.
    """
    rule = default_rule(frame_model) if replace is None else replace
    replaced = select_convs(frame_model, rule) if temporal.has_module else ()
    for name in replaced:
        conv = frame_model.get_submodule(name)
        try:
            module = build_temporal_module(conv.out_channels, temporal, conv.stride[0])
        except ValueError as error:
            raise ValueError(f"{name} ({conv.out_channels} channels) cannot become a {temporal.kind} module: "
                             f"{error}") from None
        init_new_layers(module)
        frame_model.set_submodule(name, FramesToClip(module, checkpointing))
    if num_classes is not None and num_classes != frame_model.fc.out_features:
        frame_model.fc = nn.Linear(frame_model.fc.in_features, num_classes)
        init_classifier(frame_model.fc)
    if stage_names is None:
        stage_names = LAYER_NAMES if is_residual(frame_model) else ()
    model = VideoNet(frame_model, replaced, stage_names, memory_format)
    if dropout is not None:
        model.dropout.p = dropout
    model.temporal_config = temporal
    return model
