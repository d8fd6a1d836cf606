"""The authors' released checkpoints (Andy1621/CT-Net), recognised by their content and renamed to ctnet-lab.

The release's ``main.py`` saves ``{'epoch', 'arch', 'state_dict', 'optimizer', 'best_prec1'}`` from a
``DataParallel`` model: keys ``module.base_model.<torchvision ResNet name>`` for the backbone and
``module.new_fc.*`` for the classifier (``base_model.fc.*`` when trained without dropout). A CT-Net
block keeps its 1x1 convs and BNs as ``conv1.0/conv1.1`` and ``conv3.0/conv3.1`` and its CT-Module under
``conv2.<name>`` (the names below); its TSN baseline is the plain ResNet. The weights need the model
option ``variant='release'`` (see ``ops.variants``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from torch import Tensor

from ctnet_lib.models.block_selection import DEFAULT_REPLACE, LAYER_NAMES, select_blocks
from ctnet_lib.models.resnet import BACKBONES

__all__ = [
    "RELEASE_DOWNLOAD",
    "RELEASE_WEIGHTS",
    "ReleaseModel",
    "is_release_checkpoint",
    "release_state_dict",
    "rename_release_weights",
]

RELEASE_WEIGHTS = "ct_net_8f_r50.pth.tar"
RELEASE_DOWNLOAD = ("https://github.com/Andy1621/CT-Net (model/download.md links the weights "
                    f"{RELEASE_WEIGHTS}: CT-Net-R50, 8 frames, Something-Something V1)")
ACCEPTED = ("the release's CT-Net (model CT_Net) or TSN checkpoint on ResNet-50 or ResNet-101, as main.py "
            "saves it, or its state dict alone (with or without 'module.')")

# the CT-Module's parts: release name inside a block's conv2 -> ctnet-lab name inside conv2.module
CT_PARTS = {
    "conv1_x": "sub_ops.0.spatial", "conv1_z": "sub_ops.0.temporal",
    "sx_attention": "sub_ops.0.spatial_gate", "tx_attention": "sub_ops.0.temporal_gate",
    "cx_attention": "sub_ops.0.channel_gate",
    "fusion": "pwconvs.0",
    "conv2_y": "sub_ops.1.spatial", "conv2_z": "sub_ops.1.temporal",
    "sy_attention": "sub_ops.1.spatial_gate", "ty_attention": "sub_ops.1.temporal_gate",
    "cy_attention": "sub_ops.1.channel_gate",
}
# inside a conv -> BN -> ReLU Sequential, and inside an attention gate
CONV_BN_PARTS = {"0": "conv", "1": "bn"}
GATE_PARTS = {"fc1.0": "reduce.conv", "fc1.1": "reduce.bn", "fc2.0": "expand"}
# a CT block's own 1x1 convs and BNs
BLOCK_PARTS = {"conv1.0": "conv1", "conv1.1": "bn1", "conv3.0": "conv3", "conv3.1": "bn3"}
CLASSIFIERS = ("new_fc.", "base_model.fc.")
# what other models of the release code leave in their keys
FOREIGN_MARKS = {".net.": "a TSM checkpoint (temporal shift, keys '...conv1.net.weight')",
                 ".nl.": "a checkpoint with non-local blocks (keys '....nl....')"}

_BLOCK_KEY = re.compile(r"(layer[1-4])\.(\d+)\.(.+)")
_BACKBONE_ARCHS = {"resnet50": "r50", "resnet101": "r101"}


@dataclass(frozen=True)
class ReleaseModel:
    """A release checkpoint as ctnet-lab sees it: ``build_model(preset, num_classes, **options)`` takes
    ``state`` (ctnet-lab key names) exactly."""

    preset: str
    options: Mapping[str, Any]
    num_classes: int
    state: dict[str, Tensor]
    epoch: int = 0
    extra: Mapping[str, Any] = field(default_factory=dict)  # best_prec1, arch


def release_state_dict(state: Any) -> dict[str, Tensor] | None:
    """The tensors of ``state`` without ``module.`` when it looks like a release checkpoint (a dict with
    'state_dict', or a state dict alone, whose keys start with ``base_model.`` or ``new_fc.``), else None."""
    tensors = state.get("state_dict") if isinstance(state, Mapping) and "state_dict" in state else state
    if not isinstance(tensors, Mapping) or not tensors:
        return None
    renamed = {str(key).removeprefix("module."): value for key, value in tensors.items()}
    if not any(key.startswith(("base_model.", "new_fc.")) for key in renamed):
        return None
    return renamed


def is_release_checkpoint(state: Any) -> bool:
    """True when ``state`` (the object a checkpoint file holds) has the release's key layout."""
    return release_state_dict(state) is not None


def _block_counts(keys: list[str]) -> tuple[int, ...]:
    counts = []
    for layer in LAYER_NAMES:
        matches = [_BLOCK_KEY.fullmatch(key) for key in keys]
        indices = {int(m.group(2)) for m in matches if m and m.group(1) == layer}
        counts.append(max(indices) + 1 if indices else 0)
    return tuple(counts)


def _backbone(keys: list[str], arch: Any, source: str) -> str:
    if arch is not None and str(arch) not in _BACKBONE_ARCHS:
        raise ValueError(f"{source} is a release checkpoint of backbone {arch!r}; accepted: {ACCEPTED}")
    counts = _block_counts(keys)
    for name, spec in BACKBONES.items():
        if name in _BACKBONE_ARCHS.values() and counts == spec.blocks_per_layer:
            return name
    raise ValueError(f"{source} holds a backbone with {counts} blocks per stage (keys such as {keys[0]!r}), "
                     f"not ResNet-50 (3, 4, 6, 3) or ResNet-101 (3, 4, 23, 3); accepted: {ACCEPTED}")


def _replace_spec(ct_blocks: dict[str, set[int]], backbone: str) -> str:
    chosen = {layer: tuple(sorted(indices)) for layer, indices in ct_blocks.items()}
    default = {k: v for k, v in select_blocks(DEFAULT_REPLACE, BACKBONES[backbone].blocks_per_layer).items()
               if v}
    if chosen == default:
        return DEFAULT_REPLACE
    parts = [f"{layer}:{','.join(map(str, chosen[layer]))}" for layer in LAYER_NAMES if layer in chosen]
    return "+".join(parts)


def _rename_ct(rest: str) -> str | None:
    """``conv2.<release part>...`` of a CT block -> ``conv2.module.<ctnet-lab part>...`` (None: unknown)."""
    part, _, inner = rest.removeprefix("conv2.").partition(".")
    if part not in CT_PARTS:
        return None
    parts = GATE_PARTS if part.endswith("attention") else CONV_BN_PARTS
    for old, new in parts.items():
        if inner.startswith(old + "."):
            return f"conv2.module.{CT_PARTS[part]}.{new}.{inner[len(old) + 1:]}"
    return None


def _rename(key: str, ct_blocks: dict[str, set[int]]) -> str | None:
    if key.startswith(CLASSIFIERS):
        return "fc." + key.rsplit(".", 1)[1]
    name = key.removeprefix("base_model.")
    match = _BLOCK_KEY.fullmatch(name)
    if match is None or int(match.group(2)) not in ct_blocks.get(match.group(1), ()):
        return name
    layer, index, rest = match.groups()
    if rest.startswith("conv2."):
        renamed = _rename_ct(rest)
        return None if renamed is None else f"{layer}.{index}.{renamed}"
    for old, new in BLOCK_PARTS.items():
        if rest.startswith(old + "."):
            return f"{layer}.{index}.{new}.{rest[len(old) + 1:]}"
    return f"{layer}.{index}.{rest}"


def rename_release_weights(state: Any, source: str) -> ReleaseModel:
    """The ctnet-lab model of a release checkpoint object ``state`` (see :func:`release_state_dict`).

    Raises ValueError, on one line naming ``source``, what was found and what is accepted, for a TSM or
    non-local checkpoint, another backbone, a missing classifier or a key of no known part.
    """
    tensors = release_state_dict(state)
    if tensors is None:
        raise ValueError(f"{source} is not a release checkpoint; accepted: {ACCEPTED}")
    keys = sorted(tensors)
    for mark, what in FOREIGN_MARKS.items():
        if any(mark in key for key in keys):
            raise ValueError(f"{source} is {what}; accepted: {ACCEPTED}")
    arch = state.get("arch") if isinstance(state, Mapping) else None
    backbone = _backbone([key.removeprefix("base_model.") for key in keys], arch, source)
    classifier = [key for key in keys if key.startswith(CLASSIFIERS) and key.endswith(".weight")]
    if len(classifier) != 1:
        raise ValueError(f"{source} has {len(classifier)} classifiers ({', '.join(classifier) or 'none'}); "
                         f"expected new_fc.weight or base_model.fc.weight; accepted: {ACCEPTED}")
    ct_blocks: dict[str, set[int]] = {}
    for key in keys:
        match = _BLOCK_KEY.fullmatch(key.removeprefix("base_model."))
        if match and match.group(3).startswith("conv2.conv1_x."):
            ct_blocks.setdefault(match.group(1), set()).add(int(match.group(2)))
    renamed: dict[str, Tensor] = {}
    for key in keys:
        new = _rename(key, ct_blocks)
        if new is None:
            raise ValueError(f"{source}: key {key!r} is no part of the release's CT-Net; accepted: "
                             f"{ACCEPTED}")
        renamed[new] = tensors[key]
    extra = {k: state[k] for k in ("arch", "best_prec1") if isinstance(state, Mapping) and k in state}
    epoch = int(state.get("epoch", 0)) if isinstance(state, Mapping) and "state_dict" in state else 0
    if ct_blocks:
        options = {"variant": "release", "replace": _replace_spec(ct_blocks, backbone)}
        return ReleaseModel(f"ctnet_{backbone}", options, int(tensors[classifier[0]].shape[0]), renamed,
                            epoch, extra)
    return ReleaseModel(f"tsn_{backbone}", {}, int(tensors[classifier[0]].shape[0]), renamed, epoch, extra)
