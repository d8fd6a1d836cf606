"""Which frames of a video make a clip: TSN sparse segments and dense strided windows.

Every function is pure and returns 0-based frame indices as ``int64`` numpy arrays. Randomness comes
only from the ``torch.Generator`` passed in, so a seeded generator gives the same indices every time.

Short videos: when a video has fewer frames than a clip needs, indices repeat instead of failing.
Sparse sampling then spreads the segments over the frames that exist (each frame is repeated about
``num_segments / num_frames`` times, in order); dense sampling starts at frame 0 and clamps indices past
the end to the last frame (the clip "freezes" on its last frame).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

__all__ = [
    "ClipSampler",
    "DenseSampler",
    "SparseSampler",
    "dense_test_indices",
    "dense_train_indices",
    "sparse_test_indices",
    "sparse_train_indices",
    "sparse_twice_indices",
]


def _check_positive(**values: int) -> None:
    for name, value in values.items():
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _segment_bounds(num_frames: int, num_segments: int) -> tuple[np.ndarray, np.ndarray]:
    """Start (inclusive) and end (exclusive) frame of each of ``num_segments`` equal segments."""
    k = np.arange(num_segments + 1, dtype=np.int64)
    edges = k * num_frames // num_segments
    starts = edges[:-1]
    ends = np.maximum(edges[1:], starts + 1)
    return starts, ends


def sparse_train_indices(num_frames: int, num_segments: int, generator: torch.Generator) -> np.ndarray:
    """TSN training sampling: one uniformly random frame inside each of ``num_segments`` segments.

    Segment ``k`` covers frames ``[k * n // S, (k + 1) * n // S)``. Returns shape ``(S,)``.
    """
    _check_positive(num_frames=num_frames, num_segments=num_segments)
    starts, ends = _segment_bounds(num_frames, num_segments)
    unit = torch.rand(num_segments, generator=generator, dtype=torch.float64).numpy()
    offsets = np.minimum((unit * (ends - starts)).astype(np.int64), ends - starts - 1)
    return starts + offsets


def sparse_test_indices(num_frames: int, num_segments: int, num_clips: int = 1) -> np.ndarray:
    """TSN test sampling: clip ``j`` takes the frame at fraction ``(j + 0.5) / num_clips`` of each segment.

    With one clip these are the segment centres ``floor((k + 0.5) * n / S)``. Returns ``(num_clips, S)``.
    """
    _check_positive(num_frames=num_frames, num_segments=num_segments, num_clips=num_clips)
    k = np.arange(num_segments, dtype=np.int64)[None, :]
    j = np.arange(num_clips, dtype=np.int64)[:, None]
    # floor((k + (2j + 1) / (2N)) * n / S), in exact integer arithmetic
    return ((2 * num_clips * k + 2 * j + 1) * num_frames) // (2 * num_clips * num_segments)


def sparse_twice_indices(num_frames: int, num_segments: int) -> np.ndarray:
    """TSM "twice" test sampling: the segment centres, then the centres shifted back by half a segment.

    Row 0 is ``floor((k + 0.5) * n / S)``, row 1 is ``floor(k * n / S)``. Returns ``(2, S)``.
    """
    _check_positive(num_frames=num_frames, num_segments=num_segments)
    k = np.arange(num_segments, dtype=np.int64)
    centres = ((2 * k + 1) * num_frames) // (2 * num_segments)
    starts = (k * num_frames) // num_segments
    return np.stack([centres, starts])


def _window(start: np.ndarray | int, clip_len: int, stride: int, num_frames: int) -> np.ndarray:
    indices = np.asarray(start, dtype=np.int64)[..., None] + stride * np.arange(clip_len, dtype=np.int64)
    return np.minimum(indices, num_frames - 1)


def dense_train_indices(
    num_frames: int, clip_len: int, stride: int, generator: torch.Generator
) -> np.ndarray:
    """Dense training sampling: ``clip_len`` frames ``stride`` apart from a uniformly random start.

    The window spans ``(clip_len - 1) * stride + 1`` frames; a shorter video starts at 0 and clamps.
    Returns shape ``(clip_len,)``.
    """
    _check_positive(num_frames=num_frames, clip_len=clip_len, stride=stride)
    span = (clip_len - 1) * stride + 1
    slack = max(num_frames - span, 0)
    start = int(torch.randint(slack + 1, (), generator=generator))
    return _window(start, clip_len, stride, num_frames)


def dense_test_indices(num_frames: int, clip_len: int, stride: int, num_clips: int = 1) -> np.ndarray:
    """Dense test sampling: ``num_clips`` evenly spaced windows; one clip is the centred window.

    Window ``j`` starts at ``floor((j + 0.5) * (n - span) / num_clips)`` with
    ``span = (clip_len - 1) * stride + 1`` (start 0 when the video is shorter). Returns
    ``(num_clips, clip_len)``.
    """
    _check_positive(num_frames=num_frames, clip_len=clip_len, stride=stride, num_clips=num_clips)
    span = (clip_len - 1) * stride + 1
    slack = max(num_frames - span, 0)
    j = np.arange(num_clips, dtype=np.int64)
    starts = ((2 * j + 1) * slack) // (2 * num_clips)
    return _window(starts, clip_len, stride, num_frames)


class ClipSampler(Protocol):
    """Chooses the clips of one video: ``sampler(num_frames, generator) -> (num_clips, clip_len)``."""

    @property
    def num_clips(self) -> int: ...

    @property
    def clip_len(self) -> int: ...

    def __call__(self, num_frames: int, generator: torch.Generator) -> np.ndarray: ...


@dataclass(frozen=True)
class SparseSampler:
    """TSN sparse segments (Something-Something): ``num_segments`` frames per clip.

    ``train=True``: one clip, a random frame per segment. Otherwise ``test_clips`` clips at evenly
    spread offsets inside the segments (one clip: the centres), or with ``twice=True`` the TSM pair
    (centres, then segment starts).
    """

    num_segments: int
    train: bool = False
    test_clips: int = 1
    twice: bool = False

    def __post_init__(self) -> None:
        _check_positive(num_segments=self.num_segments, test_clips=self.test_clips)
        if self.twice and (self.train or self.test_clips != 1):
            raise ValueError(
                "SparseSampler(twice=True) is a two-clip test sampling: use train=False and leave "
                "test_clips at 1"
            )

    @property
    def clip_len(self) -> int:
        return self.num_segments

    @property
    def num_clips(self) -> int:
        if self.train:
            return 1
        return 2 if self.twice else self.test_clips

    def __call__(self, num_frames: int, generator: torch.Generator) -> np.ndarray:
        """Frame indices ``(num_clips, num_segments)``; ``generator`` is used in training only."""
        if self.train:
            return sparse_train_indices(num_frames, self.num_segments, generator)[None]
        if self.twice:
            return sparse_twice_indices(num_frames, self.num_segments)
        return sparse_test_indices(num_frames, self.num_segments, self.test_clips)


@dataclass(frozen=True)
class DenseSampler:
    """Dense strided windows (Kinetics): ``clip_len`` frames ``stride`` apart.

    ``train=True``: one window at a random start. Otherwise ``test_clips`` evenly spread windows (one
    clip: the centred window).
    """

    clip_len: int
    stride: int = 1
    train: bool = False
    test_clips: int = 1

    def __post_init__(self) -> None:
        _check_positive(clip_len=self.clip_len, stride=self.stride, test_clips=self.test_clips)

    @property
    def num_clips(self) -> int:
        return 1 if self.train else self.test_clips

    def __call__(self, num_frames: int, generator: torch.Generator) -> np.ndarray:
        """Frame indices ``(num_clips, clip_len)``; ``generator`` is used in training only."""
        if self.train:
            return dense_train_indices(num_frames, self.clip_len, self.stride, generator)[None]
        return dense_test_indices(num_frames, self.clip_len, self.stride, self.test_clips)
