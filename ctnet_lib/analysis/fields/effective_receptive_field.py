"""Effective receptive field (ERF, Luo et al., 2016) of whole video networks.

The ERF of a feature map is the mean over random inputs of |d unit / d input| for its central unit
(all channels of the centre frame at the centre position), summed over the colour channels: a
(T, H, W) map over the input clip, normalised to sum 1. It can be taken at initialisation or for a
trained checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ctnet_lib.checkpoint_io import read_state_dict
from ctnet_lib.devices import resolve_device
from ctnet_lib.models import build_model
from ctnet_lib.models.pretrained import load_matching_weights
from ctnet_lib.models.variants import DEFAULT_NUM_CLASSES

AXES = ("t", "h", "w")


@dataclass(frozen=True, eq=False)
class EffectiveReceptiveField:
    """ERF of one unit: ``map`` (T, H, W) float summing to 1; ``centre``: input (t, h, w) under the unit."""

    map: np.ndarray
    centre: tuple[int, int, int]
    stage: str
    feature_size: tuple[int, int, int]  # (T, h, w) of the probed feature map
    num_samples: int

    def marginal(self, axis: str) -> np.ndarray:
        """Mass per frame ('t'), row ('h') or column ('w'), summing to 1."""
        index = _axis_index(axis)
        return self.map.sum(axis=tuple(i for i in range(3) if i != index))

    def radius(self, axis: str, mass: float = 0.5) -> int:
        """Smallest r (frames or pixels) such that |i - centre| <= r holds ``mass`` of the marginal."""
        if not 0 < mass <= 1:
            raise ValueError(f"mass={mass} must be in (0, 1]")
        profile = self.marginal(axis)
        distance = np.abs(np.arange(profile.size) - self.centre[_axis_index(axis)])
        for r in range(int(distance.max()) + 1):
            if profile[distance <= r].sum() >= mass - 1e-9:
                return r
        return int(distance.max())

    def rms_distance(self, axis: str) -> float:
        """Root-mean-square distance (frames or pixels) of the marginal's mass from the centre."""
        profile = self.marginal(axis)
        distance = np.arange(profile.size) - self.centre[_axis_index(axis)]
        return float(np.sqrt((profile * distance**2).sum()))

    @property
    def centre_of_mass(self) -> tuple[float, float, float]:
        return tuple(float((self.marginal(a) * np.arange(n)).sum())  # type: ignore[return-value]
                     for a, n in zip(AXES, self.map.shape, strict=True))

    def summary(self) -> dict[str, float]:
        """Per axis t, h, w: radii and extents (2r + 1) holding 50 % / 90 % of the mass, rms distance
        from the centre, centre of mass; and the share of the mass outside the centre frame."""
        out: dict[str, float] = {}
        for axis, com in zip(AXES, self.centre_of_mass, strict=True):
            for mass in (0.5, 0.9):
                r = self.radius(axis, mass)
                out[f"radius{round(mass * 100)}_{axis}"] = r
                out[f"extent{round(mass * 100)}_{axis}"] = 2 * r + 1
            out[f"rms_{axis}"] = self.rms_distance(axis)
            out[f"centre_of_mass_{axis}"] = com
        out["mass_off_centre_frame"] = float(1.0 - self.marginal("t")[self.centre[0]])
        return out


def _axis_index(axis: str) -> int:
    if axis not in AXES:
        raise ValueError(f"axis {axis!r} is not one of {AXES}")
    return AXES.index(axis)


def _stage_output(model: nn.Module, stage: str, clip: Tensor) -> Tensor:
    """Feature maps (N*T, C, h, w) after ``stage`` for clip (N, 3, T, H, W)."""
    captured: list[Tensor] = []
    handle = getattr(model, stage).register_forward_hook(lambda _m, _i, out: captured.append(out))
    try:
        model.frame_features(clip)
    finally:
        handle.remove()
    return captured[0]


def effective_receptive_field(
    model: nn.Module,
    input_size: tuple[int, int, int] = (9, 64, 64),
    num_samples: int = 8,
    stage: str | None = None,
    checkpoint: str | Path | None = None,
    batch_size: int = 4,
    seed: int = 0,
) -> EffectiveReceptiveField:
    """ERF of the central unit of ``stage``'s feature maps on clips of ``input_size`` = (T, H, W).

    ``model``: a video model of ``build_model`` (``VideoResNet`` or a converted ``VideoNet``); ``stage``:
    one of its ``stage_names`` (None: the last, layer4 of a ResNet, Mixed_7c of InceptionV3).

    The model runs in eval mode (each sample independent), on the device of its parameters, on
    ``num_samples`` standard-normal clips;
    ``checkpoint`` is an optional state-dict path loaded first (``torch.load(weights_only=True)``); one of
    another architecture raises ValueError naming the keys that do not fit.
    The unit is frame T // 2 at map position (h // 2, w // 2); ``centre`` is the input position
    under it, (T // 2, (h // 2) * H / h, (w // 2) * W / w): the clip centre when H and W are multiples
    of 64 (an even map; a 1x1 map's unit sits over pixel (0, 0)). An odd T centres it in time.
    """
    stages = getattr(model, "stage_names", ())
    if not stages or not hasattr(model, "frame_features"):
        raise TypeError(f"{type(model).__name__} is not a video model with stages; build one with "
                        "ctnet_lib.build_model")
    stage = stages[-1] if stage is None else stage
    if stage not in stages:
        raise ValueError(f"stage {stage!r} is not one of {stages}")
    if checkpoint:
        load_matching_weights(model, read_state_dict(checkpoint), str(checkpoint))
    was_training = model.training
    model.eval()
    frames, height, width = input_size
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    total = torch.zeros(input_size, dtype=torch.float64)
    feature_size = (frames, 0, 0)
    try:
        for start in range(0, num_samples, batch_size):
            n = min(batch_size, num_samples - start)
            clip = torch.randn((n, 3, *input_size), generator=generator).to(device).requires_grad_(True)
            features = _stage_output(model, stage, clip)
            _, channels, h, w = features.shape
            feature_size = (frames, h, w)
            unit = features.view(n, frames, channels, h, w)[:, frames // 2, :, h // 2, w // 2].sum()
            (grad,) = torch.autograd.grad(unit, clip)
            total += grad.abs().sum(dim=(0, 1)).double().cpu()
    finally:
        model.train(was_training)
    if total.sum() == 0:
        raise ValueError(f"the central unit of {stage} has a zero gradient everywhere; is the model dead?")
    _, h, w = feature_size
    centre = (frames // 2, (h // 2) * height // h, (w // 2) * width // w)
    return EffectiveReceptiveField((total / total.sum()).numpy(), centre, stage, feature_size, num_samples)


def preset_effective_receptive_field(
    preset: str,
    input_size: tuple[int, int, int] = (9, 64, 64),
    checkpoint: str | Path | None = None,
    num_samples: int = 8,
    stage: str | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
    **options: Any,
) -> EffectiveReceptiveField:
    """ERF of a model built from ``preset`` (and ``options``) on ``device`` (``'auto'``, ``'cpu'``,
    ``'cuda'`` or ``'cuda:N'``), at initialisation or from
    ``checkpoint``. The number of classes is read from the checkpoint's classifier, so any trained head
    loads; a checkpoint of another architecture raises ValueError naming the keys that do not fit.
    """
    torch.manual_seed(seed)
    state = read_state_dict(checkpoint) if checkpoint else None
    if state is not None and "fc.weight" not in state:
        raise ValueError(f"checkpoint {checkpoint} has no 'fc.weight'; is it a VideoResNet state dict?")
    num_classes = DEFAULT_NUM_CLASSES if state is None else state["fc.weight"].shape[0]
    model = build_model(preset, num_classes=num_classes, num_frames=input_size[0], **options)
    if state is not None:
        load_matching_weights(model, state, str(checkpoint))
    model.to(resolve_device(device))
    return effective_receptive_field(model, input_size, num_samples, stage, seed=seed)
