"""Clip transforms: multi-scale crop, flip (with label swap), resize, crops and normalisation.

Layout: every transform takes the decoder's layout, a uint8 RGB clip ``(T, H, W, 3)`` (or a stack of
views ``(V, T, H, W, 3)`` after :class:`ThreeCrop`), and keeps it until :class:`Normalize`, the last step,
turns it into float32 ``(3, T, H, W)`` (or ``(V, 3, T, H, W)``) for the models.

A transform is called as ``transform(clip, label, generator) -> (clip, label)``: a horizontal flip can
change the label (``moving left`` becomes ``moving right``). Random parameters are drawn once per clip
from ``generator`` (a ``torch.Generator``; ``None`` uses torch's global generator), so every frame of a
clip gets the same crop and flip, and a seeded generator gives the same result every time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import torch
import torch.nn.functional as F

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "TSN_SCALES",
    "CenterCrop",
    "ClipTransform",
    "Compose",
    "MultiScaleCrop",
    "Normalize",
    "RandomHorizontalFlip",
    "Resize",
    "ThreeCrop",
    "eval_transform",
    "resize_clip",
    "train_transform",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
TSN_SCALES = (1.0, 0.875, 0.75, 0.66)

# TSN's 13 fixed crop positions, in quarters of the free space (x, y): corners, centre, edge middles
# and the four inner quarter points.
_FIXED_OFFSETS = (
    (0, 0), (4, 0), (0, 4), (4, 4), (2, 2),
    (0, 2), (4, 2), (2, 4), (2, 0),
    (1, 1), (3, 1), (1, 3), (3, 3),
)  # fmt: skip


class ClipTransform(Protocol):
    """``(clip, label, generator) -> (clip, label)`` on uint8 clips ``(..., T, H, W, 3)``."""

    def __call__(
        self, clip: torch.Tensor, label: int, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, int]: ...


def _pair(size: int | Sequence[int]) -> tuple[int, int]:
    height, width = (size, size) if isinstance(size, int) else tuple(size)
    if height < 1 or width < 1:
        raise ValueError(f"size must be positive (an int or (height, width)), got {size!r}")
    return int(height), int(width)


def _randint(high: int, generator: torch.Generator | None) -> int:
    return int(torch.randint(high, (), generator=generator))


def _check_clip(clip: torch.Tensor) -> None:
    if clip.dtype != torch.uint8 or clip.ndim < 4 or clip.shape[-1] != 3:
        raise ValueError(
            f"expected a uint8 clip (T, H, W, 3) as decoded, got {tuple(clip.shape)} {clip.dtype}; "
            "put Normalize last"
        )


def resize_clip(clip: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear (antialiased) resize of a uint8 clip ``(..., H, W, 3)`` to ``size=(height, width)``."""
    if tuple(clip.shape[-3:-1]) == size:
        return clip
    lead, (height, width) = clip.shape[:-3], clip.shape[-3:-1]
    images = clip.reshape(-1, height, width, 3).permute(0, 3, 1, 2).float()
    images = F.interpolate(images, size=size, mode="bilinear", align_corners=False, antialias=True)
    images = images.round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1)
    return images.reshape(*lead, *size, 3)


def _crop(clip: torch.Tensor, top: int, left: int, height: int, width: int) -> torch.Tensor:
    return clip[..., top : top + height, left : left + width, :]


class Compose:
    """Applies transforms in order, threading the label through."""

    def __init__(self, transforms: Sequence[ClipTransform]) -> None:
        self.transforms = list(transforms)

    def __call__(
        self, clip: torch.Tensor, label: int, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, int]:
        for transform in self.transforms:
            clip, label = transform(clip, label, generator)
        return clip, label

    def __repr__(self) -> str:
        return f"Compose({self.transforms!r})"


class Resize:
    """Resize every frame: an int sets the short side (the long side scaled and truncated to an integer,
    torchvision's rule, which the TSN, TSM and CT-Net releases test with), a pair sets (H, W)."""

    def __init__(self, size: int | Sequence[int]) -> None:
        self.size: int | tuple[int, int]
        if isinstance(size, int):
            if size < 1:
                raise ValueError(f"the short side must be a positive int, got {size}")
            self.size = size
        else:
            self.size = _pair(size)

    def __call__(
        self, clip: torch.Tensor, label: int, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, int]:
        _check_clip(clip)
        if isinstance(self.size, tuple):
            return resize_clip(clip, self.size), label
        height, width = clip.shape[-3:-1]
        short = min(height, width)
        return resize_clip(clip, (self.size * height // short, self.size * width // short)), label

    def __repr__(self) -> str:
        return f"Resize({self.size!r})"


class CenterCrop:
    """Crop the centre ``size`` (int or (H, W)) of every frame; the clip must be at least that large."""

    def __init__(self, size: int | Sequence[int]) -> None:
        self.size = _pair(size)

    def __call__(
        self, clip: torch.Tensor, label: int, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, int]:
        _check_clip(clip)
        (height, width), (crop_h, crop_w) = clip.shape[-3:-1], self.size
        if crop_h > height or crop_w > width:
            raise ValueError(f"cannot crop {self.size} from frames of {(height, width)}: resize first")
        return _crop(clip, (height - crop_h) // 2, (width - crop_w) // 2, crop_h, crop_w), label

    def __repr__(self) -> str:
        return f"CenterCrop({self.size!r})"


class MultiScaleCrop:
    """TSN multi-scale crop: a random crop of a random scale and aspect, resized to ``size``.

    Crop sides are ``int(min(H, W) * s)`` for ``s`` in ``scales``; width and height take scales at most
    ``max_distort`` steps apart. With ``fixed_offsets`` the crop sits at one of TSN's 13 fixed
    positions (corners, centre, ...), otherwise anywhere.
    """

    def __init__(
        self,
        size: int | Sequence[int],
        scales: Sequence[float] = TSN_SCALES,
        max_distort: int = 1,
        fixed_offsets: bool = True,
    ) -> None:
        if not scales or not all(0 < s <= 1 for s in scales):
            raise ValueError(f"scales must be fractions in (0, 1], got {scales!r}")
        self.size = _pair(size)
        self.scales = tuple(scales)
        self.max_distort = max_distort
        self.fixed_offsets = fixed_offsets

    def crop_box(
        self, height: int, width: int, generator: torch.Generator | None = None
    ) -> tuple[int, int, int, int]:
        """Draw ``(top, left, crop_height, crop_width)`` for frames of ``height x width`` pixels."""
        sides = [max(int(min(height, width) * s), 1) for s in self.scales]
        pairs = [
            (sides[i], sides[j])
            for i in range(len(sides))
            for j in range(len(sides))
            if abs(i - j) <= self.max_distort
        ]
        crop_h, crop_w = pairs[_randint(len(pairs), generator)]
        if self.fixed_offsets:
            x, y = _FIXED_OFFSETS[_randint(len(_FIXED_OFFSETS), generator)]
            return y * ((height - crop_h) // 4), x * ((width - crop_w) // 4), crop_h, crop_w
        top = _randint(height - crop_h + 1, generator)
        left = _randint(width - crop_w + 1, generator)
        return top, left, crop_h, crop_w

    def __call__(
        self, clip: torch.Tensor, label: int, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, int]:
        _check_clip(clip)
        box = self.crop_box(clip.shape[-3], clip.shape[-2], generator)
        return resize_clip(_crop(clip, *box), self.size), label

    def __repr__(self) -> str:
        return f"MultiScaleCrop({self.size!r}, scales={self.scales!r}, max_distort={self.max_distort})"


class RandomHorizontalFlip:
    """Mirror the clip left-right with probability ``p``.

    ``label_map=None`` flips any clip and keeps its label (for data where direction does not matter).
    With a ``label_map`` ``{label: label_after_flip}`` only labels in the map are flipped, and the label
    is replaced (``moving left`` -> ``moving right``); clips of other labels are never flipped. Leave
    this transform out for direction-sensitive data without such a map (Something-Something).
    """

    def __init__(self, p: float = 0.5, label_map: Mapping[int, int] | None = None) -> None:
        if not 0 <= p <= 1:
            raise ValueError(f"p must be a probability in [0, 1], got {p}")
        self.p = p
        self.label_map = None if label_map is None else dict(label_map)

    def __call__(
        self, clip: torch.Tensor, label: int, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, int]:
        _check_clip(clip)
        flip = float(torch.rand((), generator=generator)) < self.p
        if not flip or (self.label_map is not None and label not in self.label_map):
            return clip, label
        new_label = label if self.label_map is None else self.label_map[label]
        return clip.flip(-2), new_label

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p}, label_map={self.label_map!r})"


class ThreeCrop:
    """Three ``size x size`` crops along the long side (left/centre/right or top/centre/bottom).

    ``(T, H, W, 3) -> (3, T, size, size, 3)``; the short side must be at least ``size`` (resize first).
    """

    def __init__(self, size: int) -> None:
        self.size = _pair(size)[0]

    def __call__(
        self, clip: torch.Tensor, label: int, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, int]:
        _check_clip(clip)
        if clip.ndim != 4:
            raise ValueError(f"ThreeCrop takes one clip (T, H, W, 3), got {tuple(clip.shape)}")
        height, width, size = clip.shape[1], clip.shape[2], self.size
        if size > min(height, width):
            raise ValueError(f"cannot crop {size}x{size} from frames of {(height, width)}: resize first")
        long, short = max(height, width), min(height, width)
        starts = (0, (long - size) // 2, long - size)
        middle = (short - size) // 2
        boxes = [(middle, s) if width >= height else (s, middle) for s in starts]
        return torch.stack([_crop(clip, top, left, size, size) for top, left in boxes]), label

    def __repr__(self) -> str:
        return f"ThreeCrop({self.size})"


class Normalize:
    """uint8 ``(..., T, H, W, 3)`` -> float32 ``(..., 3, T, H, W)``, ``(x / 255 - mean) / std``."""

    def __init__(self, mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD) -> None:
        self.mean = torch.tensor(mean, dtype=torch.float32)
        self.std = torch.tensor(std, dtype=torch.float32)

    def __call__(
        self, clip: torch.Tensor, label: int, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, int]:
        _check_clip(clip)
        scaled = (clip.float() / 255 - self.mean) / self.std
        return scaled.movedim(-1, -4).contiguous(), label

    def invert(self, clip: torch.Tensor) -> torch.Tensor:
        """float ``(..., 3, T, H, W)`` -> uint8 ``(..., T, H, W, 3)``, for showing a model's input."""
        pixels = clip.detach().float().movedim(-4, -1).cpu() * self.std + self.mean
        return (pixels * 255).round_().clamp_(0, 255).to(torch.uint8)

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


def train_transform(
    crop_size: int,
    *,
    short_side: int | None = None,
    scales: Sequence[float] = TSN_SCALES,
    flip: bool | Mapping[int, int] = False,
) -> Compose:
    """The training recipe: [resize short side] -> multi-scale crop to ``crop_size`` -> [flip] -> normalise.

    ``flip``: ``False`` (default; right for direction-sensitive data), ``True`` (flip, keep labels) or a
    label map ``{label: label_after_flip}`` such as ``ClassList.flip_label_map()``.
    """
    steps: list[ClipTransform] = [] if short_side is None else [Resize(short_side)]
    steps.append(MultiScaleCrop(crop_size, scales))
    if flip is not False:
        steps.append(RandomHorizontalFlip(0.5, None if flip is True else flip))
    steps.append(Normalize())
    return Compose(steps)


def eval_transform(crop_size: int, *, short_side: int | None = None, num_crops: int = 1) -> Compose:
    """Validation/test recipe: resize short side -> centre crop or three crops (3 views) -> normalise.

    ``short_side`` defaults to ``crop_size * 256 // 224`` for one crop and ``crop_size`` for three crops
    (the TSN/TSM conventions).
    """
    if num_crops not in (1, 3):
        raise ValueError(f"num_crops must be 1 (centre crop) or 3 (three crops), got {num_crops}")
    if short_side is None:
        short_side = crop_size * 256 // 224 if num_crops == 1 else crop_size
    crop: ClipTransform = CenterCrop(crop_size) if num_crops == 1 else ThreeCrop(crop_size)
    return Compose([Resize(short_side), crop, Normalize()])
