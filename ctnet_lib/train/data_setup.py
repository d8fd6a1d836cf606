"""Training and test data sets from a ``TrainConfig``: the synthetic temporal set (generated into a
cache folder when missing) or list files of a real data set."""

from __future__ import annotations

import os
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ctnet_lib.data import (
    ClipSampler,
    DenseSampler,
    SparseSampler,
    VideoClipDataset,
    eval_transform,
    generate_synthetic_dataset,
    open_video,
    read_class_list,
    read_list_file,
    train_transform,
)
from ctnet_lib.train.config import TrainConfig

__all__ = [
    "CachedVideoClipDataset",
    "DataSource",
    "default_cache_dir",
    "eval_dataset",
    "eval_sampler",
    "held_out_only",
    "list_source",
    "resolve_data",
    "train_dataset",
]

SYNTHETIC_SEED = 0  # the synthetic set is one fixed data set; the training seed does not change it


def default_cache_dir() -> Path:
    """``$CTNET_CACHE_DIR``, else ``~/.cache/ctnet-lab``."""
    return Path(os.environ.get("CTNET_CACHE_DIR", Path.home() / ".cache" / "ctnet-lab"))


@dataclass(frozen=True)
class DataSource:
    """Where the videos are: list files, their root, class names and horizontal-flip label map."""

    train_list: Path
    val_list: Path
    root: Path | None
    class_names: tuple[str, ...]
    flip_map: dict[int, int] | None  # {label: label after a flip}; None: no class file

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def _synthetic_source(config: TrainConfig) -> DataSource:
    folder = Path(config.synthetic_dir) if config.synthetic_dir else default_cache_dir() / (
        f"synthetic-c{config.synthetic_classes}-t{config.synthetic_frames}-s{config.synthetic_size}"
    )
    files = generate_synthetic_dataset(
        folder, config.synthetic_train_per_class, config.synthetic_val_per_class, config.synthetic_frames,
        config.synthetic_size, SYNTHETIC_SEED, num_classes=config.synthetic_classes,
    )
    return DataSource(files.train_list, files.val_list, files.root, files.classes.names,
                      files.classes.flip_label_map())


def _list_source(config: TrainConfig) -> DataSource:
    root = Path(config.root) if config.root else None
    if config.class_file:
        classes = read_class_list(config.class_file)
        names, flip_map = classes.names, classes.flip_label_map()
    else:
        lists = (config.train_list, config.val_list)
        labels = [record.label for path in lists for record in read_list_file(path, root)]
        count = config.num_classes or max(labels) + 1
        names, flip_map = tuple(str(i) for i in range(count)), None
    if config.num_classes and config.num_classes != len(names):
        raise ValueError(
            f"num_classes={config.num_classes} but the class file {config.class_file} names {len(names)}"
        )
    return DataSource(Path(config.train_list), Path(config.val_list), root, names, flip_map)


def resolve_data(config: TrainConfig) -> DataSource:
    """The data set of ``config``; the synthetic one is written first when its folder lacks it. A config
    with ``data='none'`` (a converted checkpoint) has none: ValueError says to pass a list file."""
    if config.data == "none":
        raise ValueError(f"the {config.model} checkpoint records no data set (it was converted from the "
                         "authors' release): pass a list file of videos (ctnet evaluate --list LIST "
                         "--root DIR)")
    return _synthetic_source(config) if config.data == "synthetic" else _list_source(config)


def held_out_only(config: TrainConfig, per_class: int | None = None) -> TrainConfig:
    """``config`` with one training video per class (and only the first ``per_class`` held-out videos of
    each class when given) when its data is the synthetic set: enough to (re)generate those held-out
    videos (each depends on its split, class and index only) without writing the whole set first."""
    if config.data != "synthetic":
        return config
    held_out = config.synthetic_val_per_class if per_class is None else min(per_class,
                                                                            config.synthetic_val_per_class)
    return config.replace(synthetic_train_per_class=1, synthetic_val_per_class=held_out)


def list_source(list_file: str | Path, root: str | Path | None, class_names: tuple[str, ...]) -> DataSource:
    """A test-only data source: the videos of ``list_file`` (under ``root``) labelled in ``class_names``."""
    return DataSource(Path(list_file), Path(list_file), Path(root) if root else None, class_names, None)


class CachedVideoClipDataset(VideoClipDataset):
    """A :class:`VideoClipDataset` that decodes each video once and keeps all its frames in memory
    (uint8), then samples and transforms clips from memory as usual.

    For small data sets such as the synthetic one. The cache lives in the process that reads the item:
    with DataLoader workers (re-created every epoch) it would be lost, so use it with ``workers=0``.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._videos: dict[int, torch.Tensor] = {}

    def all_frames(self, index: int) -> torch.Tensor:
        """Every frame of item ``index``: uint8 (F, H, W, 3), decoded on first use."""
        if index not in self._videos:
            record = self.records[index]
            reader = open_video(record.path, size=self.decode_size, backend=self.backend,
                                frame_template=self.frame_template, first_frame_index=self.first_frame_index,
                                num_frames=record.num_frames)
            with closing(reader):
                announced = reader.num_frames
                frames = reader.get_frames(np.arange(announced))
                self._videos[index] = frames[: reader.num_frames]
        return self._videos[index]

    def read_frames(self, index: int, generator: torch.Generator) -> torch.Tensor:
        frames = self.all_frames(index)
        indices = self.sampler(len(frames), generator)
        return frames[torch.from_numpy(indices.reshape(-1))].reshape(*indices.shape, *frames.shape[1:])


def _flip_setting(config: TrainConfig, source: DataSource) -> bool | dict[int, int]:
    if config.flip == "classes":
        if source.flip_map is None:
            raise ValueError("flip='classes' needs a class file with flip partners (class_file=...)")
        return source.flip_map
    return config.flip == "plain"


def _frame_files(config: TrainConfig) -> dict[str, str | int]:
    return {"frame_template": config.frame_template, "first_frame_index": config.first_frame_index}


def train_dataset(source: DataSource, config: TrainConfig) -> VideoClipDataset:
    """Training clips (3, T, H, W): random sparse segments or a random dense window, multi-scale crop,
    optional flip; random choices seeded by ``(config.seed, epoch, index)``."""
    sampler = SparseSampler(config.num_frames, train=True) if config.sampling == "sparse" else \
        DenseSampler(config.num_frames, config.dense_stride, train=True)
    transform = train_transform(config.crop_size, short_side=config.short_side, scales=config.crop_scales,
                                flip=_flip_setting(config, source))
    kind = CachedVideoClipDataset if config.cache_videos else VideoClipDataset
    return kind(source.train_list, source.root, sampler, transform, seed=config.seed,
                num_classes=source.num_classes, bad_items=config.bad_items, min_frames=config.min_frames,
                **_frame_files(config))


def eval_dataset(
    source: DataSource,
    config: TrainConfig,
    clips: int = 1,
    crops: int = 1,
    list_file: str | Path | None = None,
    root: str | Path | None = None,
) -> VideoClipDataset:
    """Test views of the validation list (or ``list_file``): ``clips`` evenly spread clips x ``crops``
    crops (1: centre, 3: three crops). One view gives (3, T, H, W) items, more give (V, 3, T, H, W).
    Unreadable videos always raise: a test set is not changed silently."""
    transform = eval_transform(config.crop_size, short_side=config.short_side, num_crops=crops)
    kind = CachedVideoClipDataset if config.cache_videos else VideoClipDataset
    return kind(list_file or source.val_list, root if list_file else source.root, eval_sampler(config, clips),
                transform, multi_view=clips * crops > 1, num_classes=source.num_classes,
                **_frame_files(config))


def eval_sampler(config: TrainConfig, clips: int = 1) -> ClipSampler:
    """The test-time frame sampler of ``config``: ``clips`` evenly spread sparse-segment or dense clips."""
    if config.sampling == "sparse":
        return SparseSampler(config.num_frames, test_clips=clips)
    return DenseSampler(config.num_frames, config.dense_stride, test_clips=clips)
