"""Class activation volumes (Saliency Tubes, Stergiou et al. 2019) and their normalisation.

The last convolutional features of a video ResNet, ``F``: (T', C, h, w) per clip (after ``layer4``,
before pooling), weighted by the classifier row ``W[k]`` of the target class and summed over channels,
bias excluded, give the raw volume ``A_k = sum_c W[k, c] F[:, c]``: (T', h, w). With global average
pooling, a linear head and the mean over frames, in eval mode, ``mean(A_k) + b_k`` is the class logit
(tested). Upsampled trilinearly to the clip's (T, H, W) and min-max normalised once over the whole clip
(or per frame), it is drawn over the frames.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "NORMALISATIONS",
    "class_activation_volume",
    "feature_layer",
    "last_features",
    "mask_at_cells",
    "normalise_volume",
    "upsample_volume",
]

NORMALISATIONS = ("clip", "frame")


def feature_layer(model: nn.Module) -> nn.Module:
    """The module whose output is the last feature map: ``model.layer4`` (a block's output, never the
    shared in-place ReLU, which confuses layer hooks)."""
    layer = getattr(model, "layer4", None)
    if layer is None or not hasattr(model, "fc"):
        raise ValueError(
            f"{type(model).__name__} has no 'layer4' and 'fc': saliency tubes need a video ResNet of "
            "ctnet_lib.build_model"
        )
    return layer


@contextmanager
def _capture_output(layer: nn.Module) -> Iterator[list[Tensor]]:
    """Collect ``layer``'s outputs while the block runs; the hook is removed on exit, even on error."""
    captured: list[Tensor] = []
    handle = layer.register_forward_hook(lambda _module, _inputs, output: captured.append(output))
    try:
        yield captured
    finally:
        handle.remove()


def last_features(model: nn.Module, clip: Tensor) -> tuple[Tensor, Tensor]:
    """Logits (N, K) and last feature maps (N, T', C, h, w) of ``clip``: (N, 3, T, H, W), one forward."""
    with _capture_output(feature_layer(model)) as captured:
        logits = model(clip)
    if len(captured) != 1:
        raise RuntimeError(f"the feature layer ran {len(captured)} times in one forward pass; expected once")
    features = captured[0]
    n = clip.shape[0]
    return logits, features.view(n, features.shape[0] // n, *features.shape[1:])


def class_activation_volume(features: Tensor, weight: Tensor) -> Tensor:
    """Raw volume (N, T', h, w) from features (N, T', C, h, w) and classifier rows ``weight``: (N, C)."""
    return torch.einsum("ntchw,nc->nthw", features, weight.to(features.dtype))


def upsample_volume(volume: Tensor, size: tuple[int, int, int]) -> Tensor:
    """Trilinear resize of (N, T', h, w) to (N, T, H, W) (``align_corners=False``)."""
    if tuple(volume.shape[-3:]) == tuple(size):
        return volume
    return F.interpolate(volume[:, None], size=size, mode="trilinear", align_corners=False)[:, 0]


def mask_at_cells(mask: Tensor, cells: tuple[int, int, int]) -> Tensor:
    """The object ``mask`` (T, H, W) averaged over each cell of a (T', h, w) grid and upsampled back as a
    tube is: the best map a tube drawn on that grid can be (its resolution ceiling), (T, H, W) in [0, 1]."""
    pooled = F.adaptive_avg_pool3d(mask.double()[None, None], cells)[0]
    return normalise_volume(upsample_volume(pooled, tuple(mask.shape))[0])


def normalise_volume(volume: Tensor, mode: str = "clip") -> Tensor:
    """Min-max to [0, 1] over the whole clip (``'clip'``: frames keep their relative strength) or per
    frame (``'frame'``), for volumes (..., T, H, W). A constant part becomes all ones (no preference)."""
    if mode not in NORMALISATIONS:
        raise ValueError(f"normalise={mode!r}: use one of {NORMALISATIONS}")
    dims = (-3, -2, -1) if mode == "clip" else (-2, -1)
    low = volume.amin(dim=dims, keepdim=True)
    span = volume.amax(dim=dims, keepdim=True) - low
    flat = span <= torch.finfo(volume.dtype).tiny
    return torch.where(flat, torch.ones_like(volume), (volume - low) / torch.where(flat, 1, span))
