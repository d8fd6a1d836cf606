"""Clips to explain: any video the data pipeline reads, sampled and cropped exactly as at test time,
with the object mask of a synthetic video carried through the same frame choice and crop."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ctnet_lib.data import (
    Compose,
    Normalize,
    eval_transform,
    load_object_mask,
    mask_path,
    read_list_file,
    read_sampled_frames,
)
from ctnet_lib.data.decoding import AUTO_FRAME_TEMPLATE
from ctnet_lib.data.synthetic_distractors import distractor_masks
from ctnet_lib.train.config import TrainConfig
from ctnet_lib.train.data_setup import eval_sampler, held_out_only, resolve_data

__all__ = ["ClipView", "held_out_views", "load_clip"]


@dataclass(frozen=True)
class ClipView:
    """One test view of a video: ``clip`` float32 (3, T, H, W) (the model's input), ``frames`` uint8
    (T, H, W, 3) (the same pixels before normalisation), the video frame ``indices`` (T,), the label
    when known, the object ``mask`` bool (T, H, W) when the video has one (synthetic videos) and the
    visible ``distractors``' mask bool (T, H, W) where it can be replayed (``synthetic_distractors``)."""

    path: Path
    clip: Tensor
    frames: Tensor
    indices: np.ndarray
    label: int | None
    mask: np.ndarray | None
    distractors: np.ndarray | None = None


def load_clip(path: str | Path, config: TrainConfig, label: int | None = None) -> ClipView:
    """The centre test view of the video file or frame folder ``path`` (its file names and first index
    found from its files, see ``detect_frame_files``) under the evaluation settings of
    ``config`` (frames per clip, sampling, short side, crop size), with its object mask when
    ``<path>.mask.npz`` exists. Raises FileNotFoundError / VideoDecodeError naming a bad ``path``."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"video {path} does not exist: check the path")
    steps = eval_transform(config.crop_size, short_side=config.short_side).transforms
    spatial, normalise = Compose(steps[:-1]), steps[-1]
    if not isinstance(normalise, Normalize):
        raise TypeError(f"the evaluation transform must end with Normalize, got {normalise!r}")
    raw, indices = read_sampled_frames(path, eval_sampler(config), frame_template=AUTO_FRAME_TEMPLATE)
    frames, _ = spatial(raw[0], -1)
    clip, _ = normalise(frames, -1)
    mask = distractors = None
    if mask_path(path).is_file():
        mask = _transform_mask(load_object_mask(path), indices[0], spatial)
        replayed = distractor_masks(path)
        distractors = None if replayed is None else _transform_mask(replayed, indices[0], spatial)
    return ClipView(path, clip, frames, indices[0], label, mask, distractors)


def _transform_mask(mask: np.ndarray, indices: np.ndarray, spatial: Compose) -> np.ndarray:
    """The mask (F, H0, W0) at the sampled frames, resized and cropped like the frames: bool (T, H, W)."""
    chosen = np.clip(indices, 0, len(mask) - 1)
    as_image = torch.from_numpy(mask[chosen].astype(np.uint8) * 255)[..., None].expand(-1, -1, -1, 3)
    resized, _ = spatial(as_image.contiguous(), -1)
    return resized[..., 0].numpy() >= 128


def held_out_views(config: TrainConfig, per_class: int | None = None) -> list[ClipView]:
    """The centre test view of every video of ``config``'s validation list (the first ``per_class``
    of each label when given), in list order, with labels and (synthetic set) masks. Of the synthetic
    set only those held-out videos (and one training video per class) are written when missing."""
    source = resolve_data(held_out_only(config, per_class))
    counts: dict[int, int] = {}
    views = []
    for record in read_list_file(source.val_list, source.root):
        if per_class is None or counts.get(record.label, 0) < per_class:
            counts[record.label] = counts.get(record.label, 0) + 1
            views.append(load_clip(record.path, config, record.label))
    return views
