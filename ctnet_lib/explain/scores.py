"""Localisation scores of a saliency volume against the moving object's mask.

All take a saliency volume ``s`` (T, H, W), non-negative (a normalised tube), and a bool mask (T, H, W).

- ``energy_in_mask``: the share of saliency mass on the object, ``sum(s * m) / sum(s)`` (the
  energy-based pointing game of Score-CAM, with the mask in place of a box). A uniform map scores the
  mask's area fraction, the mask itself 1.
- ``pointing_hit_rate``: per frame with an object, is the map's maximum on the object, within a tolerance
  of ``tolerance`` pixels (15 px at 224 px in Zhang et al. 2016; scaled with the frame size by
  :func:`pointing_tolerance`)? Ties count fractionally (the share of maximal pixels that hit), so a
  uniform map scores the share of pixels within the tolerance of the object.
- ``deletion_insertion``: RISE (Petsiuk et al. 2018): the target class probability while the most
  salient voxels are removed (replaced by the mean colour) or inserted into a blurred clip, in ``steps``
  equal steps; the areas under the curves (x from 0 to 1). Low deletion and high insertion are better.
- ``temporal_profile``: the share of saliency mass per frame; ``profile_distance`` compares it to the
  object's share of mask area per frame (total variation distance, 0 to 1).

The three claims of the paper's Figure 3 (CT-Net localises the object better in space and time; R(2+1)D
covers one part of the object; CSN is scattered) get one score each, on a clip-normalised tube whose
"above threshold" part is ``s >= threshold`` (0.5, the threshold of the 3D tube figure):

- ``object_coverage``: the share of the object's pixels (over all frames) above the threshold (claim 2);
- ``spatial_entropy``: per frame, the entropy of the saliency as a distribution over pixels divided by
  its maximum ``log(H W)`` (1: uniform, 0: one pixel), mean over frames; ``region_count``: per frame,
  the number of separate (8-connected) regions above the threshold, mean over frames (claim 3; with
  ``energy_in_mask`` on the distractor shapes' masks);
- ``tracking``: the share of frames showing the object in which the frame's saliency puts more than a
  uniform map's share on the object (the object's area fraction in that frame): does the tube follow the
  object in time, frame by frame (claim 1, with ``energy_in_mask`` for space).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "THRESHOLD",
    "AreaCurves",
    "deletion_insertion",
    "energy_in_mask",
    "mask_scores",
    "motion_offset",
    "object_coverage",
    "pointing_hit_rate",
    "pointing_tolerance",
    "profile_distance",
    "region_count",
    "spatial_entropy",
    "temporal_profile",
    "tracking",
]

POINTING_TOLERANCE_AT_224 = 15  # pixels (Zhang et al. 2016)
THRESHOLD = 0.5  # "above threshold" part of a clip-normalised tube (the 3D tube figure's threshold)


def _check_pair(saliency: Tensor, mask: Tensor) -> None:
    if saliency.shape != mask.shape or saliency.ndim != 3:
        raise ValueError(
            f"saliency {tuple(saliency.shape)} and mask {tuple(mask.shape)} must both be (T, H, W)"
        )


def _as_tensors(saliency: Tensor | np.ndarray, mask: Tensor | np.ndarray) -> tuple[Tensor, Tensor]:
    s = torch.as_tensor(saliency).double()
    m = torch.as_tensor(mask).bool()
    _check_pair(s, m)
    if bool((s < 0).any()):
        raise ValueError("saliency must be non-negative (normalise it first, e.g. with normalise_volume)")
    return s, m


def energy_in_mask(saliency: Tensor | np.ndarray, mask: Tensor | np.ndarray) -> float:
    """Share of the saliency mass inside the mask, over the whole clip (NaN without saliency)."""
    s, m = _as_tensors(saliency, mask)
    total = s.sum()
    return float((s * m).sum() / total) if total > 0 else math.nan


def pointing_tolerance(height: int, width: int) -> int:
    """The pointing-game tolerance in pixels for frames of ``height`` x ``width`` (15 px at 224)."""
    return round(POINTING_TOLERANCE_AT_224 * min(height, width) / 224)


def _dilate(mask: Tensor, radius: int) -> Tensor:
    """Pixels within Euclidean distance ``radius`` of the mask, per frame: bool (T, H, W)."""
    if radius <= 0:
        return mask
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float64)
    disc = ((offsets[:, None] ** 2 + offsets[None, :] ** 2) <= radius**2).double()
    spread = F.conv2d(mask.double()[:, None], disc[None, None], padding=radius)
    return spread[:, 0] > 0


def pointing_hit_rate(saliency: Tensor | np.ndarray, mask: Tensor | np.ndarray, tolerance: int) -> float:
    """Mean over frames with an object of the hit (1) or miss (0) of each frame's maximum (NaN when no
    frame shows the object)."""
    s, m = _as_tensors(saliency, mask)
    near = _dilate(m, tolerance)
    peaks = s == s.amax(dim=(1, 2), keepdim=True)
    hits = (peaks & near).sum(dim=(1, 2)).double() / peaks.sum(dim=(1, 2))
    shown = m.any(dim=(1, 2))
    return float(hits[shown].mean()) if bool(shown.any()) else math.nan


def temporal_profile(saliency: Tensor | np.ndarray) -> np.ndarray:
    """Share of the saliency (or mask) mass in each frame: (T,), summing to 1 (uniform when empty)."""
    mass = torch.as_tensor(saliency).double().flatten(1).sum(dim=1)
    total = mass.sum()
    share = mass / total if total > 0 else torch.full_like(mass, 1 / len(mass))
    return share.numpy()


def profile_distance(saliency: Tensor | np.ndarray, mask: Tensor | np.ndarray) -> float:
    """Total variation distance (0 to 1) between the saliency's and the mask's temporal profiles."""
    return float(0.5 * np.abs(temporal_profile(saliency) - temporal_profile(mask)).sum())


def object_coverage(saliency: Tensor | np.ndarray, mask: Tensor | np.ndarray, threshold: float = THRESHOLD
                    ) -> float:
    """Share of the object's pixels (all frames) whose saliency is at least ``threshold`` (NaN without
    object)."""
    s, m = _as_tensors(saliency, mask)
    shown = int(m.sum())
    return float((s >= threshold)[m].sum() / shown) if shown else math.nan


def spatial_entropy(saliency: Tensor | np.ndarray) -> float:
    """Mean over frames with saliency of the entropy of the frame's saliency over its pixels, divided by
    ``log(H W)``: 1 for a uniform frame, 0 for a single pixel (NaN when no frame has saliency)."""
    s = torch.as_tensor(saliency).double().flatten(1)
    if bool((s < 0).any()):
        raise ValueError("saliency must be non-negative (normalise it first, e.g. with normalise_volume)")
    mass = s.sum(dim=1, keepdim=True)
    alive = mass[:, 0] > 0
    if not bool(alive.any()) or s.shape[1] < 2:
        return math.nan
    p = s[alive] / mass[alive]
    entropy = -(p * torch.log(torch.where(p > 0, p, 1.0))).sum(dim=1)
    return float(entropy.mean() / math.log(s.shape[1]))


def _component_labels(above: Tensor) -> Tensor:
    """8-connected component labels of each frame of bool (T, H, W): every component gets the largest
    pixel number it holds, 0 outside (label propagation by 3 x 3 maximum until nothing changes)."""
    numbers = torch.arange(1, above[0].numel() + 1, dtype=torch.float64).view(above.shape[1:])
    labels = torch.where(above, numbers, 0.0)[:, None]
    while True:
        spread = F.max_pool2d(labels, 3, stride=1, padding=1) * above[:, None]
        if torch.equal(spread, labels):
            return labels[:, 0]
        labels = spread


def region_count(saliency: Tensor | np.ndarray, threshold: float = THRESHOLD) -> float:
    """Mean over frames of the number of separate (8-connected) regions at or above ``threshold``."""
    above = torch.as_tensor(saliency).double() >= threshold
    if above.ndim != 3:
        raise ValueError(f"saliency {tuple(above.shape)} must be (T, H, W)")
    labels = _component_labels(above)
    return float(np.mean([len(torch.unique(frame[frame > 0])) for frame in labels]))


def tracking(saliency: Tensor | np.ndarray, mask: Tensor | np.ndarray) -> float:
    """Share of the frames showing the object whose saliency puts more than the object's area fraction
    (a uniform map's share) on it (NaN when no frame shows the object)."""
    s, m = _as_tensors(saliency, mask)
    shown = m.any(dim=(1, 2))
    if not bool(shown.any()):
        return math.nan
    mass = s.sum(dim=(1, 2))
    on_object = (s * m).sum(dim=(1, 2)) / torch.where(mass > 0, mass, 1.0)
    area = m.double().mean(dim=(1, 2))
    return float(((on_object > area) & (mass > 0))[shown].double().mean())


def _centroids(weights: Tensor) -> tuple[Tensor, Tensor]:
    """Per frame of (T, H, W) non-negative ``weights``: the (y, x) centroid in pixels (T, 2) and the mass."""
    mass = weights.sum(dim=(1, 2))
    ys = torch.arange(weights.shape[1], dtype=weights.dtype)[:, None]
    xs = torch.arange(weights.shape[2], dtype=weights.dtype)[None, :]
    safe = torch.where(mass > 0, mass, 1.0)
    centroids = torch.stack([(weights * ys).sum(dim=(1, 2)), (weights * xs).sum(dim=(1, 2))], dim=1)
    return centroids / safe[:, None], mass


def motion_offset(saliency: Tensor | np.ndarray, mask: Tensor | np.ndarray, min_speed: float = 0.5) -> float:
    """Mean distance (pixels) from the object's centroid to the saliency's, measured along the object's
    motion: negative when the saliency trails behind the object (where it was), positive when it leads.
    Over the frames where the object's centroid moves at least ``min_speed`` pixels per frame (central
    differences between neighbouring frames); NaN when it never does (a spinning or growing object)."""
    s, m = _as_tensors(saliency, mask)
    objects, area = _centroids(m.double())
    tubes, mass = _centroids(s.double())
    if len(objects) < 2:
        return math.nan
    velocity = torch.gradient(objects, dim=0)[0]
    speed = velocity.norm(dim=1)
    moving = (speed >= min_speed) & (area > 0) & (mass > 0)
    if not bool(moving.any()):
        return math.nan
    along = ((tubes - objects) * velocity).sum(dim=1) / torch.where(speed > 0, speed, 1.0)
    return float(along[moving].mean())


def mask_scores(saliency: Tensor | np.ndarray, mask: Tensor | np.ndarray,
                distractors: Tensor | np.ndarray | None = None) -> dict[str, float]:
    """The model-free scores of one tube: ``energy``, ``pointing`` (tolerance scaled to the frame size),
    ``profile_tv`` (temporal profile distance), ``tracking``, ``coverage``, ``entropy``, ``regions``,
    ``motion_offset`` and, with the distractor shapes' mask (T, H, W), ``distractor_energy`` (else NaN)."""
    height, width = np.shape(mask)[-2:]
    return {"energy": energy_in_mask(saliency, mask),
            "pointing": pointing_hit_rate(saliency, mask, pointing_tolerance(height, width)),
            "profile_tv": profile_distance(saliency, mask),
            "tracking": tracking(saliency, mask),
            "coverage": object_coverage(saliency, mask),
            "entropy": spatial_entropy(saliency),
            "regions": region_count(saliency),
            "motion_offset": motion_offset(saliency, mask),
            "distractor_energy": math.nan if distractors is None else energy_in_mask(saliency, distractors)}


@dataclass(frozen=True)
class AreaCurves:
    """RISE curves: target probability (steps + 1,) after removing / inserting each fraction of voxels."""

    deletion: np.ndarray
    insertion: np.ndarray

    @staticmethod
    def area(curve: np.ndarray) -> float:
        """Trapezoidal area under ``curve`` over x in [0, 1]."""
        return float(((curve[1:] + curve[:-1]) / 2).mean())

    @property
    def deletion_auc(self) -> float:
        return self.area(self.deletion)

    @property
    def insertion_auc(self) -> float:
        return self.area(self.insertion)


def _blur(clip: Tensor, sigma: float) -> Tensor:
    """Gaussian blur of every frame of (3, T, H, W) (separable, reflect padding)."""
    radius = max(1, int(3 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=clip.dtype, device=clip.device)
    kernel = torch.exp(-(x**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    frames = clip.transpose(0, 1)  # (T, 3, H, W)
    horizontal = kernel.view(1, 1, 1, -1).expand(3, 1, 1, -1)
    vertical = kernel.view(1, 1, -1, 1).expand(3, 1, -1, 1)
    frames = F.conv2d(F.pad(frames, (radius, radius, 0, 0), mode="reflect"), horizontal, groups=3)
    frames = F.conv2d(F.pad(frames, (0, 0, radius, radius), mode="reflect"), vertical, groups=3)
    return frames.transpose(0, 1)


def _ranked_voxels(saliency: Tensor, seed: int) -> Tensor:
    """Voxel indices from most to least salient; ties in a random order fixed by ``seed``."""
    flat = saliency.flatten()
    shuffle = torch.randperm(flat.numel(), generator=torch.Generator().manual_seed(seed))
    order = torch.argsort(flat[shuffle], descending=True, stable=True)
    return shuffle[order]


@torch.no_grad()
def deletion_insertion(
    model: nn.Module,
    clip: Tensor,
    saliencies: Sequence[Tensor | np.ndarray],
    target: int,
    steps: int = 16,
    batch_size: int = 32,
    seed: int = 0,
) -> list[AreaCurves]:
    """RISE deletion and insertion curves of ``clip`` (3, T, H, W) for ``target``, one pair per volume of
    ``saliencies`` (each (T, H, W)), removing or inserting voxels (all three colour channels of a pixel)
    from the most to the least salient. All perturbed clips go through the model in shared batches.

    Deleted voxels take the value 0 (the data set's mean colour after normalisation); insertion starts
    from the clip blurred with a Gaussian of sigma 5 % of the frame side. The model runs in eval mode.
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    shape = tuple(clip.shape[1:])
    volumes = [torch.as_tensor(s).double().cpu() for s in saliencies]
    if any(tuple(v.shape) != shape for v in volumes):
        raise ValueError(f"saliency volumes {[tuple(v.shape) for v in volumes]} must match the clip's "
                         f"(T, H, W) {shape}")
    counts = [round(i * clip[0].numel() / steps) for i in range(steps + 1)]
    blurred = _blur(clip, max(1.0, 0.05 * min(clip.shape[-2:])))
    perturbed = []  # (start, fill, chosen voxels) per point: every deletion, then every insertion curve
    for volume in volumes:
        order = _ranked_voxels(volume, seed).to(clip.device)
        for start, fill in ((clip, torch.zeros_like(clip)), (blurred, clip)):
            for count in counts:
                chosen = torch.zeros(order.numel(), dtype=torch.bool, device=clip.device)
                chosen[order[:count]] = True
                perturbed.append((start, fill, chosen.view(1, *shape)))
    was_training = model.training
    model.eval()
    try:
        probabilities = []
        for first in range(0, len(perturbed), batch_size):
            batch = torch.stack([torch.where(chosen, fill, start)
                                 for start, fill, chosen in perturbed[first : first + batch_size]])
            probabilities.append(model(batch).float().softmax(dim=-1)[:, target].cpu())
    finally:
        model.train(was_training)
    curves = torch.cat(probabilities).numpy().reshape(len(volumes), 2, steps + 1)
    return [AreaCurves(deletion=pair[0], insertion=pair[1]) for pair in curves]
