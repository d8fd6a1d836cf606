"""``explain``: one interface over the saliency methods, each a registry entry.

- ``cam``: the Saliency Tube (class activation volume at the last features; no gradients).
- ``gradcam``: captum's ``LayerGradCam`` at the same layer (the block output ``layer4``); on these
  models it equals ``ReLU(cam) / (T' h w)`` (tested).
- ``ablation``: captum's ``FeatureAblation`` over supervoxels (one frame x a square patch), replaced by
  the data set's mean colour (0 after normalisation): the drop of the target logit. Model-agnostic, one
  forward pass per supervoxel, so a check on a few clips rather than a data-set score.

Every method returns a raw volume at its own resolution; ``explain`` upsamples it to the clip's
(T, H, W) and normalises it. Hooks are removed before ``explain`` returns, and the model's
training/eval mode is restored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from captum.attr import FeatureAblation, LayerGradCam
from torch import Tensor, nn

from ctnet_lib.explain.volumes import (
    class_activation_volume,
    feature_layer,
    last_features,
    normalise_volume,
    upsample_volume,
)

__all__ = [
    "METHODS",
    "TARGET_POLICIES",
    "SaliencyMethod",
    "Tube",
    "explain",
    "explain_tube",
    "resolve_target",
    "supervoxel_mask",
]

TARGET_POLICIES = ("predicted", "label")
ABLATION_GRID = 8  # patches per frame side of the ablation supervoxels
ABLATION_BATCH = 32  # perturbed clips per forward pass


@dataclass(frozen=True)
class SaliencyMethod:
    """A saliency method: ``compute(model, clip (1, 3, T, H, W), target, features (1, T', C, h, w))``
    -> raw volume (1, T'', h'', w'') (any resolution; larger is more salient)."""

    name: str
    label: str
    compute: Callable[[nn.Module, Tensor, int, Tensor], Tensor]
    uses_gradients: bool


def _cam(model: nn.Module, clip: Tensor, target: int, features: Tensor) -> Tensor:
    return class_activation_volume(features, model.fc.weight[target][None])


def _gradcam(model: nn.Module, clip: Tensor, target: int, features: Tensor) -> Tensor:
    maps = LayerGradCam(model, feature_layer(model)).attribute(clip, target=target, relu_attributions=True)
    return maps.view(1, -1, *maps.shape[-2:])


def supervoxel_mask(shape: tuple[int, int, int], grid: int = ABLATION_GRID) -> Tensor:
    """Group ids (T, H, W): one group per frame and square patch, ``grid`` patches per side."""
    t, h, w = shape
    rows = torch.arange(h) * min(grid, h) // h
    cols = torch.arange(w) * min(grid, w) // w
    per_frame = rows[:, None] * min(grid, w) + cols[None, :]
    return torch.arange(t)[:, None, None] * (min(grid, h) * min(grid, w)) + per_frame


def _ablation(model: nn.Module, clip: Tensor, target: int, features: Tensor) -> Tensor:
    mask = supervoxel_mask(tuple(clip.shape[-3:]))[None, None].expand_as(clip).to(clip.device)
    attributions = FeatureAblation(model).attribute(
        clip, baselines=0.0, target=target, feature_mask=mask, perturbations_per_eval=ABLATION_BATCH
    )
    return attributions[:, 0]


METHODS: dict[str, SaliencyMethod] = {
    method.name: method
    for method in (
        SaliencyMethod("cam", "Saliency Tube (CAM)", _cam, uses_gradients=False),
        SaliencyMethod("gradcam", "Grad-CAM (captum)", _gradcam, uses_gradients=True),
        SaliencyMethod("ablation", "supervoxel ablation (captum)", _ablation, uses_gradients=False),
    )
}


def resolve_target(target: int | str | None, logits: Tensor, label: int | None = None) -> int:
    """The class to explain: an index, ``'predicted'`` (also None) or ``'label'`` (needs ``label``)."""
    num_classes = logits.shape[-1]
    if target is None or target == "predicted":
        return int(logits.argmax())
    if target == "label":
        if label is None:
            raise ValueError("target='label' needs the clip's label: pass label=..., or use 'predicted'")
        target = label
    if isinstance(target, str) or not 0 <= int(target) < num_classes:
        raise ValueError(
            f"target={target!r}: use a class index in [0, {num_classes}), 'predicted' or 'label'"
        )
    return int(target)


@dataclass(frozen=True)
class Tube:
    """A saliency tube: ``volume`` (T, H, W) in [0, 1] over the clip, ``raw`` (T'', h'', w'') as the
    method gave it (unnormalised), the explained ``target`` and the clip's ``logits`` (K,)."""

    volume: Tensor
    raw: Tensor
    target: int
    logits: Tensor
    method: str

    @property
    def predicted(self) -> int:
        return int(self.logits.argmax())


def explain_tube(
    model: nn.Module,
    clip: Tensor,
    target: int | str | None = None,
    method: str = "cam",
    normalise: str = "clip",
    label: int | None = None,
) -> Tube:
    """Explain ``clip``: (3, T, H, W) or (1, 3, T, H, W) with ``method`` (see :data:`METHODS`) for
    ``target`` (index, ``'predicted'``/None, or ``'label'`` with ``label``); normalised per ``'clip'``
    (one min-max over the volume) or per ``'frame'``. The model runs in eval mode."""
    if method not in METHODS:
        raise ValueError(f"method={method!r}: use one of {', '.join(METHODS)}")
    batch = clip[None] if clip.ndim == 4 else clip
    if batch.ndim != 5 or batch.shape[0] != 1 or batch.shape[1] != 3:
        raise ValueError(f"clip has shape {tuple(clip.shape)}; expected (3, T, H, W) or (1, 3, T, H, W)")
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            logits, features = last_features(model, batch)
        chosen = resolve_target(target, logits[0], label)
        chosen_method = METHODS[method]
        with torch.set_grad_enabled(chosen_method.uses_gradients):
            raw = chosen_method.compute(model, batch, chosen, features).detach()
    finally:
        model.train(was_training)
    precise = raw.to(torch.promote_types(raw.dtype, torch.float32))
    volume = normalise_volume(upsample_volume(precise, tuple(batch.shape[-3:])), normalise)
    return Tube(volume[0], raw[0], chosen, logits[0].detach(), method)


def explain(
    model: nn.Module,
    clip: Tensor,
    target: int | str | None = None,
    method: str = "cam",
    normalise: str = "clip",
    label: int | None = None,
) -> Tensor:
    """The normalised saliency volume (T, H, W) in [0, 1] of ``clip`` (see :func:`explain_tube`)."""
    return explain_tube(model, clip, target, method, normalise, label).volume
