"""``VideoClipDataset``: a list file + a data root + a sampler + a transform, as a torch Dataset."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from ctnet_lib.data.decoding import Backend, open_video
from ctnet_lib.data.list_files import ListFormat, VideoRecord, read_list_file
from ctnet_lib.data.sampling import ClipSampler
from ctnet_lib.data.transforms import ClipTransform, Normalize

__all__ = ["VideoClipDataset", "read_sampled_frames"]


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
    ``Normalize()`` alone). ``decode_size=(height, width)`` resizes while decoding.
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
        frame_template: str = "{:05d}.jpg",
        first_frame_index: int = 1,
        seed: int | None = None,
    ) -> None:
        self.records: list[VideoRecord] = read_list_file(list_file, root, list_format)
        self.sampler = sampler
        self.transform = Normalize() if transform is None else transform
        self.multi_view = multi_view
        self.decode_size = decode_size
        self.backend: Backend = backend
        self.frame_template = frame_template
        self.first_frame_index = first_frame_index
        self.seed = seed
        self.epoch = 0

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

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
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
