"""``VideoClipDataset``: a list file + a data root + a sampler + a transform, as a torch Dataset.

An unreadable item (a missing, empty, truncated or corrupt video, a broken frame) either ends the
reading with :class:`DataItemError` naming the list-file line (``bad_items="fail"``) or is replaced by
the next readable item with a logged warning (``bad_items="skip"``), so one broken video does not end
a long epoch. :meth:`VideoClipDataset.check` finds most such items in seconds, before training,
including videos that decode fewer frames than their header promises, and counts each item's frames:
items shorter than a clip are listed by :meth:`VideoClipDataset.short_items` (their clips repeat
frames), and ``min_frames`` refuses items shorter than that.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from ctnet_lib.data.decoding import (
    FIRST_FRAME_INDEX,
    FRAME_TEMPLATE,
    Backend,
    VideoDecodeError,
    check_frame_template,
    open_video,
    probe_video,
)
from ctnet_lib.data.list_files import ListFormat, VideoRecord, read_list_file
from ctnet_lib.data.sampling import ClipSampler
from ctnet_lib.data.transforms import ClipTransform, Normalize
from ctnet_lib.validation import check_at_least

__all__ = ["BAD_ITEMS", "DataItemError", "VideoClipDataset", "read_sampled_frames"]

BAD_ITEMS = ("fail", "skip")
# what an unreadable item raises (FileNotFoundError and PIL's errors are OSErrors); other errors, such as
# a crop larger than the frames, are wrong settings and always end the reading
READ_ERRORS = (VideoDecodeError, OSError)
_LOG = logging.getLogger(__name__)


class DataItemError(ValueError):
    """An item of a data set that cannot be read; the message names the list-file line, the file and the
    fix."""


def read_sampled_frames(
    path: str | Path, sampler: ClipSampler, generator: torch.Generator | None = None, **open_options: Any
) -> tuple[torch.Tensor, np.ndarray]:
    """Open ``path`` (``open_video`` options), choose frames with ``sampler`` and decode them.

    Returns uint8 frames ``(num_clips, T, H, W, 3)`` and their indices ``(num_clips, T)``. When fewer
    frames decode than the header announced, the clips are sampled again from the decodable ones.
    """
    reader = open_video(path, **open_options)
    with closing(reader):
        announced = reader.num_frames
        indices = sampler(announced, generator)
        frames = reader.get_frames(indices.reshape(-1))
        if reader.num_frames < announced:
            indices = sampler(reader.num_frames, generator)
            frames = reader.get_frames(indices.reshape(-1))
    return frames.reshape(*indices.shape, *frames.shape[1:]), indices


class VideoClipDataset(Dataset):
    """Clips of the videos named in a list file.

    ``dataset[i]`` is ``(clip, label)`` with ``clip`` float32 ``(3, T, H, W)``; with ``multi_view=True``
    it is ``(clips, label)`` with ``clips`` float32 ``(V, 3, T, H, W)``, ``V = sampler clips x transform
    crops`` (clip-major: all crops of clip 0 first).

    Each item opens its own reader inside ``__getitem__`` (safe in DataLoader worker processes).
    Randomness (training sampling, crops, flips) comes from a per-item ``torch.Generator``: seeded from
    ``(seed, epoch, index)`` when ``seed`` is given (call :meth:`set_epoch` each epoch), otherwise from
    torch's global generator, which the DataLoader seeds in each worker.

    ``transform`` takes uint8 ``(T, H, W, 3)`` clips and must end with :class:`Normalize` (the default is
    ``Normalize()`` alone). ``decode_size=(height, width)`` resizes while decoding. ``num_classes``: every
    label of the list file must be below it.

    ``bad_items="fail"``: an unreadable item raises :class:`DataItemError`. ``"skip"``: it is replaced by
    the next readable item (in index order, wrapping round) with a logged warning, and items are
    ``(clip, label, skipped)``, ``skipped`` being 1 when item ``index`` itself was unreadable (so the
    skipped items of an epoch add up from its batches) and 0 otherwise. Items that :meth:`check` found
    unreadable (such as a video that decodes only partly) count as unreadable when read.

    ``min_frames``: :meth:`check` raises :class:`DataItemError` naming the items with fewer frames.
    """

    def __init__(
        self,
        list_file: str | Path,
        root: str | Path | None,
        sampler: ClipSampler,
        transform: ClipTransform | None = None,
        *,
        list_format: ListFormat = "auto",
        multi_view: bool = False,
        decode_size: tuple[int, int] | None = None,
        backend: Backend = "auto",
        frame_template: str = FRAME_TEMPLATE,
        first_frame_index: int = FIRST_FRAME_INDEX,
        seed: int | None = None,
        num_classes: int | None = None,
        bad_items: str = "fail",
        min_frames: int | None = None,
    ) -> None:
        if bad_items not in BAD_ITEMS:
            raise ValueError(f"bad_items={bad_items!r} is not one of {BAD_ITEMS}")
        check_at_least("min_frames", min_frames, 1, optional=True)
        check_frame_template(frame_template)
        self.list_file = Path(list_file)
        self.records: list[VideoRecord] = read_list_file(list_file, root, list_format, num_classes)
        self.bad_items = bad_items
        self.sampler = sampler
        self.transform = Normalize() if transform is None else transform
        self.multi_view = multi_view
        self.decode_size = decode_size
        self.backend: Backend = backend
        self.frame_template = frame_template
        self.first_frame_index = first_frame_index
        self.seed = seed
        self.epoch = 0
        self.min_frames = min_frames
        self.frame_counts: dict[int, int] = {}  # item index -> its frames, as check() found them
        self.unreadable: dict[int, str] = {}  # item index -> why check() could not read it

    def __len__(self) -> int:
        return len(self.records)

    @property
    def labels(self) -> list[int]:
        """The label of every item, in order."""
        return [record.label for record in self.records]

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose random clips a seeded dataset returns."""
        self.epoch = epoch

    def generator(self, index: int) -> torch.Generator:
        """The random generator of item ``index`` for the current epoch."""
        if self.seed is None:
            item_seed = int(torch.randint(2**62, ()))
        else:
            item_seed = int(
                np.random.SeedSequence([self.seed, self.epoch, index]).generate_state(1, np.uint64)[0]
            )
        return torch.Generator().manual_seed(item_seed)

    def read_frames(self, index: int, generator: torch.Generator) -> torch.Tensor:
        """The sampled raw frames of item ``index``: uint8 ``(num_clips, T, H, W, 3)``."""
        record = self.records[index]
        frames, _ = read_sampled_frames(
            record.path, self.sampler, generator, size=self.decode_size, backend=self.backend,
            frame_template=self.frame_template, first_frame_index=self.first_frame_index,
            num_frames=record.num_frames,
        )
        return frames

    def _where(self, index: int) -> str:
        record = self.records[index]
        return f"{record.where or self.list_file}: {record.path}"

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int] | tuple[torch.Tensor, int, int]:
        if self.bad_items == "fail":
            try:
                return self.read_item(index)
            except READ_ERRORS as error:
                raise DataItemError(f"{self._where(index)}: {error}") from error
        for offset in range(len(self)):
            candidate = (index + offset) % len(self)
            try:
                return (*self.read_item(candidate), int(offset > 0))
            except READ_ERRORS as error:
                _LOG.warning("skipping an unreadable item (bad_items='skip'): %s: %s", self._where(candidate),
                             error)
        raise DataItemError(f"{self.list_file}: none of its {len(self)} items can be read: check the data "
                            "root and the files")

    def check(self, threads: int | None = None) -> list[str]:
        """Probe every item in ``threads`` threads (default: up to 8): its file or folder exists and
        opens, its first frame decodes and a video's last frame too (see ``probe_video``). Returns one
        message per unreadable item, in list order (``<list file>:<line>: <path>: <reason>``); with
        ``bad_items="fail"`` raises :class:`DataItemError` with the first few instead, with ``"skip"``
        logs them as warnings (they are skipped when read). Records each readable item's frames
        (:meth:`short_items`); items with fewer than ``min_frames`` raise :class:`DataItemError`."""

        def probe(index: int) -> int | str:
            record = self.records[index]
            try:
                return probe_video(record.path, frame_template=self.frame_template,
                                   first_frame_index=self.first_frame_index, num_frames=record.num_frames)
            except READ_ERRORS as error:
                return str(error)

        with ThreadPoolExecutor(threads or min(8, os.cpu_count() or 1)) as pool:
            found = list(pool.map(probe, range(len(self))))
        self.unreadable = {index: text for index, text in enumerate(found) if isinstance(text, str)}
        self.frame_counts = {index: count for index, count in enumerate(found) if isinstance(count, int)}
        problems = [f"{self._where(index)}: {text}" for index, text in self.unreadable.items()]
        if problems and self.bad_items == "fail":
            raise DataItemError(
                f"{len(problems)} of the {len(self)} items of {self.list_file} cannot be read (first: "
                f"{'; '.join(problems[:3])}): fix or remove them, or train with bad_items='skip'"
            )
        too_short = self._items_below(self.min_frames or 0)
        if too_short:
            raise DataItemError(
                f"{len(too_short)} of the {len(self)} items of {self.list_file} hold fewer than "
                f"min_frames={self.min_frames} frames (first: {'; '.join(too_short[:3])}): remove them from "
                "the list or re-extract them, or lower min_frames"
            )
        for text in problems:
            _LOG.warning("an unreadable item will be skipped: %s", text)
        return problems

    def _items_below(self, frames: int) -> list[str]:
        """``<list file>:<line>: <path> (<n> frames)`` of the checked items with fewer than ``frames``."""
        return [f"{self._where(index)} ({count} frames)" for index, count in sorted(self.frame_counts.items())
                if count < frames]

    def short_items(self) -> list[str]:
        """The items that :meth:`check` found shorter than a clip (``sampler.clip_len`` frames): their
        clips repeat frames. ``<list file>:<line>: <path> (<n> frames)`` each; empty before a check."""
        return self._items_below(self.sampler.clip_len)

    def read_item(self, index: int) -> tuple[torch.Tensor, int]:
        """Item ``index`` as ``(clip, label)`` whatever ``bad_items`` says; read errors propagate (an
        item that :meth:`check` found unreadable raises its error again)."""
        if index in self.unreadable:
            raise VideoDecodeError(self.unreadable[index])
        record = self.records[index]
        generator = self.generator(index)
        views, labels = [], set()
        for clip in self.read_frames(index, generator):
            view, label = self.transform(clip, record.label, generator)
            if view.dtype != torch.float32 or view.ndim not in (4, 5):
                raise ValueError(
                    f"the transform returned {tuple(view.shape)} {view.dtype}; it must end with Normalize "
                    "to give float32 (3, T, H, W) or (V, 3, T, H, W)"
                )
            views.append(view if view.ndim == 5 else view[None])
            labels.add(label)
        if len(labels) > 1:
            raise ValueError(
                "the transform changed the label of some clips of one video only: do not use a flip with a "
                "label map together with several test clips"
            )
        stacked = torch.cat(views)
        if self.multi_view:
            return stacked, labels.pop()
        if stacked.shape[0] != 1:
            raise ValueError(
                f"{record.path}: the sampler and transform give {stacked.shape[0]} views but the dataset is "
                "single-view: pass multi_view=True, or use one test clip and one crop"
            )
        return stacked[0], labels.pop()
