"""Video data: decoding (decord, PyAV fallback, JPEG folders), list files, sampling, transforms, data sets
and the synthetic temporal data set.

Layouts: decoders return uint8 RGB clips ``(T, H, W, 3)``; transforms keep that layout until
``Normalize`` gives float32 ``(3, T, H, W)``, the models' input.
"""

from ctnet_lib.data.datasets import VideoClipDataset, read_sampled_frames
from ctnet_lib.data.decoding import (
    DecordReader,
    FrameFolderReader,
    PyAVReader,
    VideoDecodeError,
    VideoReader,
    open_video,
)
from ctnet_lib.data.list_files import ClassList, ListFileError, VideoRecord, read_class_list, read_list_file
from ctnet_lib.data.sampling import (
    ClipSampler,
    DenseSampler,
    SparseSampler,
    dense_test_indices,
    dense_train_indices,
    sparse_test_indices,
    sparse_train_indices,
    sparse_twice_indices,
)
from ctnet_lib.data.synthetic import (
    SYNTHETIC_CLASS_PAIRS,
    SyntheticDatasetFiles,
    SyntheticSettings,
    generate_synthetic_dataset,
    load_object_mask,
    mask_path,
    render_synthetic_video,
    synthetic_class_list,
)
from ctnet_lib.data.transforms import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    TSN_SCALES,
    CenterCrop,
    ClipTransform,
    Compose,
    MultiScaleCrop,
    Normalize,
    RandomHorizontalFlip,
    Resize,
    ThreeCrop,
    eval_transform,
    resize_clip,
    train_transform,
)

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "SYNTHETIC_CLASS_PAIRS",
    "TSN_SCALES",
    "CenterCrop",
    "ClassList",
    "ClipSampler",
    "ClipTransform",
    "Compose",
    "DecordReader",
    "DenseSampler",
    "FrameFolderReader",
    "ListFileError",
    "MultiScaleCrop",
    "Normalize",
    "PyAVReader",
    "RandomHorizontalFlip",
    "Resize",
    "SparseSampler",
    "SyntheticDatasetFiles",
    "SyntheticSettings",
    "ThreeCrop",
    "VideoClipDataset",
    "VideoDecodeError",
    "VideoReader",
    "VideoRecord",
    "dense_test_indices",
    "dense_train_indices",
    "eval_transform",
    "generate_synthetic_dataset",
    "load_object_mask",
    "mask_path",
    "open_video",
    "read_class_list",
    "read_list_file",
    "read_sampled_frames",
    "render_synthetic_video",
    "resize_clip",
    "sparse_test_indices",
    "sparse_train_indices",
    "sparse_twice_indices",
    "synthetic_class_list",
    "train_transform",
]
