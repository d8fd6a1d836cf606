"""Reading frames from video files (decord first, PyAV as fallback) and from JPEG frame folders.

Every reader has the same small interface (:class:`VideoReader`): ``num_frames`` and
``get_frames(indices) -> uint8 (T, H, W, 3)`` RGB tensor. Indices outside ``[0, num_frames)`` are
clamped, and so are indices past the frames that really decode: containers often announce more frames
than a (truncated) file holds, so a reader lowers ``num_frames`` to what it could decode and repeats
the last decodable frame for later indices.

Readers hold an open file; create one per item (for example inside ``Dataset.__getitem__``, which keeps
them safe in DataLoader worker processes) and ``close()`` it when done.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Literal, Protocol

import av
import numpy as np
import torch
from PIL import Image

__all__ = [
    "AUTO_FRAME_TEMPLATE",
    "FIRST_FRAME_INDEX",
    "FRAME_TEMPLATE",
    "DecordReader",
    "FrameFolderReader",
    "PyAVReader",
    "VideoDecodeError",
    "VideoReader",
    "check_frame_template",
    "count_decodable_frames",
    "detect_frame_files",
    "open_video",
    "probe_video",
]

Backend = Literal["auto", "decord", "pyav"]
# frame files of the Something-Something and TSN releases: 00001.jpg, 00002.jpg, ...
FRAME_TEMPLATE = "{:05d}.jpg"
FIRST_FRAME_INDEX = 1
# as a template: find each folder's file names and first index (00001.jpg, img_00001.jpg, frame_0.png...)
AUTO_FRAME_TEMPLATE = "auto"
_NUMBERED_IMAGE = re.compile(r"(?P<prefix>.*?)(?P<number>[0-9]+)(?P<suffix>\.(?:jpe?g|png))", re.IGNORECASE)
_VIDEO_FIX = (
    "the file is truncated, corrupt or not a video: re-download or re-encode it "
    "(e.g. `ffmpeg -i IN -c:v libx264 -pix_fmt yuv420p OUT.mp4`) or remove it from the list file"
)


class VideoDecodeError(ValueError):
    """A video or frame folder that cannot be read; the message names the file and the fix."""


class VideoReader(Protocol):
    """Random access to the frames of one video."""

    path: Path

    @property
    def num_frames(self) -> int:
        """Number of frames that can be read."""
        ...

    def get_frames(self, indices: Sequence[int] | np.ndarray) -> torch.Tensor:
        """Frames at ``indices`` (0-based, clamped), as a uint8 RGB tensor ``(T, H, W, 3)``."""
        ...

    def close(self) -> None:
        """Release the file."""
        ...


def _clamp(indices: Sequence[int] | np.ndarray, num_frames: int) -> np.ndarray:
    return np.clip(np.asarray(indices, dtype=np.int64).reshape(-1), 0, num_frames - 1)


def _import_decord() -> ModuleType | None:
    try:
        return importlib.import_module("decord")
    except ImportError:
        return None


def _check_file(path: Path) -> None:
    """Raise FileNotFoundError for a missing file and VideoDecodeError for an empty one."""
    if not path.is_file():
        raise FileNotFoundError(f"video {path} does not exist: check the data root and list file")
    if path.stat().st_size == 0:
        raise VideoDecodeError(f"{path} is empty (0 bytes): {_VIDEO_FIX}")


def check_frame_template(template: str) -> None:
    """Raise ValueError unless ``template`` turns each frame number into its own file name (or is
    :data:`AUTO_FRAME_TEMPLATE`)."""
    if template == AUTO_FRAME_TEMPLATE:
        return
    fix = "use a format string with one integer field, such as '{:05d}.jpg' or 'img_{:05d}.jpg', or 'auto'"
    try:
        names = {template.format(index) for index in (0, 1)}
    except (ValueError, IndexError, KeyError) as error:
        raise ValueError(f"frame file-name template {template!r} cannot be formatted ({error}): "
                         f"{fix}") from None
    if len(names) < 2:
        raise ValueError(f"frame file-name template {template!r} has no field for the frame number: {fix}")


def _check_size(size: tuple[int, int] | None) -> None:
    if size is not None and (len(size) != 2 or min(size) < 1):
        raise ValueError(f"size must be (height, width) with positive values, got {size!r}")


def _count_packets(container: av.container.InputContainer) -> int:
    """The video packets of ``container`` that demux (read, not decoded)."""
    count = 0
    try:
        for packet in container.demux(video=0):
            if packet.size:
                count += 1
    except av.FFmpegError:
        pass  # a truncated file: the packets read so far are what can be decoded
    return count


def count_decodable_frames(path: str | Path) -> int:
    """How many frames of the video file ``path`` decode, one after the other from the first (a full
    decode: what a reader gets from a damaged file before decoding stops)."""
    count = 0
    try:
        with av.open(str(path)) as container:
            for _ in container.decode(video=0):
                count += 1
    except av.FFmpegError:
        pass  # decoding stopped: the frames so far are the decodable ones
    return count


def _tail_decodes(container: av.container.InputContainer, stream: av.video.stream.VideoStream,
                  promised: int) -> bool:
    """Whether the last of the ``promised`` frames decodes: seek to the last key frame (through the
    container's index, so only its last group of pictures is read and decoded) and decode to the end; the
    latest frame must start within about a frame of the stream's end."""
    if not stream.duration:
        return False
    end = (stream.start_time or 0) + stream.duration
    latest = None
    try:
        container.seek(end, stream=stream, backward=True)
        for frame in container.decode(stream):
            if frame.pts is not None:
                latest = frame.pts if latest is None else max(latest, frame.pts)
    except av.FFmpegError:
        return False
    return latest is not None and latest >= end - 1.5 * stream.duration / promised


class PyAVReader:
    """Decodes with PyAV (FFmpeg): sequential decoding from the start up to the last index asked for.

    ``size=(height, width)`` resizes while converting to RGB. ``num_frames`` counts the video packets
    that demux, then drops to the number that decode if decoding stops early.
    """

    def __init__(self, path: str | Path, size: tuple[int, int] | None = None) -> None:
        _check_size(size)
        self.path = Path(path)
        self.size = size
        _check_file(self.path)
        try:
            with av.open(str(self.path)) as container:
                if not container.streams.video:
                    raise VideoDecodeError(f"{self.path} has no video stream: {_VIDEO_FIX}")
                self._num_frames = _count_packets(container)
        except av.FFmpegError as error:
            raise VideoDecodeError(f"cannot open {self.path} with PyAV ({error}): {_VIDEO_FIX}") from error
        if self._num_frames == 0:
            raise VideoDecodeError(f"{self.path} holds no video frames: {_VIDEO_FIX}")

    @property
    def num_frames(self) -> int:
        return self._num_frames

    def get_frames(self, indices: Sequence[int] | np.ndarray) -> torch.Tensor:
        wanted = _clamp(indices, self._num_frames)
        unique = set(wanted.tolist())
        stop = max(unique)
        height, width = self.size if self.size is not None else (None, None)
        decoded: dict[int, np.ndarray] = {}
        last_index, last_frame = -1, None
        try:
            with av.open(str(self.path)) as container:
                for index, frame in enumerate(container.decode(video=0)):
                    last_index, last_frame = index, frame
                    if index in unique:
                        decoded[index] = frame.to_ndarray(format="rgb24", width=width, height=height)
                    if index >= stop:
                        break
        except av.FFmpegError:
            pass  # decoding stopped early: clamp to the frames decoded so far
        if last_frame is None:
            raise VideoDecodeError(f"no frame of {self.path} could be decoded: {_VIDEO_FIX}")
        if last_index < stop:
            self._num_frames = last_index + 1
            if last_index not in decoded:
                decoded[last_index] = last_frame.to_ndarray(format="rgb24", width=width, height=height)
        return torch.from_numpy(np.stack([decoded[min(i, last_index)] for i in wanted.tolist()]))

    def close(self) -> None:
        """Nothing stays open between calls."""


class DecordReader:
    """Decodes with decord (random access; ``size=(height, width)`` resizes while decoding).

    If decord fails on a frame, the reader switches to :class:`PyAVReader` for the same file.
    """

    def __init__(self, path: str | Path, size: tuple[int, int] | None = None, num_threads: int = 1) -> None:
        _check_size(size)
        decord = _import_decord()
        if decord is None:
            raise ImportError("decord is not installed: `pip install decord`, or use backend='pyav'")
        self.path = Path(path)
        self.size = size
        _check_file(self.path)
        height, width = size if size is not None else (-1, -1)
        try:
            self._reader = decord.VideoReader(
                str(self.path), width=width, height=height, num_threads=num_threads
            )
        except Exception as error:  # decord raises its own DECORDError or RuntimeError
            raise VideoDecodeError(f"cannot open {self.path} with decord ({error}): {_VIDEO_FIX}") from error
        self._num_frames = len(self._reader)
        self._fallback: PyAVReader | None = None
        if self._num_frames == 0:
            raise VideoDecodeError(f"{self.path} holds no video frames: {_VIDEO_FIX}")

    @property
    def num_frames(self) -> int:
        return self._fallback.num_frames if self._fallback is not None else self._num_frames

    def get_frames(self, indices: Sequence[int] | np.ndarray) -> torch.Tensor:
        if self._fallback is None:
            wanted = _clamp(indices, self._num_frames)
            unique, inverse = np.unique(wanted, return_inverse=True)
            try:
                batch = self._reader.get_batch(unique.tolist()).asnumpy()
                return torch.from_numpy(batch[inverse])
            except Exception:  # decord failed on a frame: let PyAV decode what it can
                self._fallback = PyAVReader(self.path, self.size)
        return self._fallback.get_frames(indices)

    def close(self) -> None:
        self._reader = None


def detect_frame_files(folder: Path, names: set[str]) -> tuple[str, int]:
    """The file-name template and first index of the numbered images ``names`` in ``folder``: of the
    namings found (prefix, zero-padded width, extension), the one most files share. Raises
    VideoDecodeError when no file is a numbered image."""
    groups: dict[tuple[str, str], list[str]] = {}
    for name in names:
        if match := _NUMBERED_IMAGE.fullmatch(name):
            groups.setdefault((match["prefix"], match["suffix"]), []).append(match["number"])
    if not groups:
        raise VideoDecodeError(f"frame folder {folder} holds no numbered images (such as 00001.jpg or "
                               "img_00001.jpg): check the path")
    (prefix, suffix), numbers = max(groups.items(), key=lambda item: (len(item[1]), item[0]))
    padded = [len(number) for number in numbers if number.startswith("0") and len(number) > 1]
    field = f"{{:0{min(padded)}d}}" if padded else "{:d}"
    return prefix.replace("{", "{{").replace("}", "}}") + field + suffix, min(int(n) for n in numbers)


class FrameFolderReader:
    """Reads a folder of JPEG frames named by ``template`` (``{:05d}.jpg``: 00001.jpg, 00002.jpg, ...).

    ``first_index`` is the number of the first file (1 in the Something-Something and TSN releases).
    ``template='auto'`` finds both from the folder's files (:func:`detect_frame_files`).
    ``num_frames`` (from a list file) is an upper bound: the reader counts the consecutive files that
    exist and keeps the smaller number. ``size=(height, width)`` resizes each frame (bilinear).
    """

    def __init__(
        self,
        folder: str | Path,
        template: str = FRAME_TEMPLATE,
        first_index: int = FIRST_FRAME_INDEX,
        num_frames: int | None = None,
        size: tuple[int, int] | None = None,
    ) -> None:
        _check_size(size)
        check_frame_template(template)
        self.path = Path(folder)
        self.template = template
        self.first_index = first_index
        self.size = size
        if not self.path.is_dir():
            raise FileNotFoundError(
                f"frame folder {self.path} does not exist: check the data root and list file"
            )
        names = set(os.listdir(self.path))
        if template == AUTO_FRAME_TEMPLATE:
            template, first_index = detect_frame_files(self.path, names)
            self.template, self.first_index = template, first_index
        count = 0
        while (num_frames is None or count < num_frames) and template.format(first_index + count) in names:
            count += 1
        if count == 0:
            raise VideoDecodeError(
                f"frame folder {self.path} has no file named {template.format(first_index)!r}: set the "
                "frame file-name template (e.g. '{:05d}.jpg', 'img_{:05d}.jpg') and the first index (0 or "
                "1); ctnet train: --frame-template, --first-frame-index"
            )
        self._num_frames = count

    @property
    def num_frames(self) -> int:
        return self._num_frames

    def _read(self, index: int) -> np.ndarray:
        file = self.path / self.template.format(self.first_index + index)
        try:
            with Image.open(file) as image:
                image = image.convert("RGB")
                if self.size is not None:
                    image = image.resize((self.size[1], self.size[0]), Image.Resampling.BILINEAR)
                return np.asarray(image)
        except OSError as error:
            raise VideoDecodeError(
                f"cannot read frame {file} ({error}): re-extract the frames of this video"
            ) from error

    def get_frames(self, indices: Sequence[int] | np.ndarray) -> torch.Tensor:
        wanted = _clamp(indices, self._num_frames)
        unique, inverse = np.unique(wanted, return_inverse=True)
        frames = np.stack([self._read(int(i)) for i in unique])
        return torch.from_numpy(frames[inverse])

    def close(self) -> None:
        """Frames are opened one at a time; nothing stays open."""


def open_video(
    path: str | Path,
    *,
    size: tuple[int, int] | None = None,
    backend: Backend = "auto",
    frame_template: str = FRAME_TEMPLATE,
    first_frame_index: int = FIRST_FRAME_INDEX,
    num_frames: int | None = None,
) -> VideoReader:
    """Open a video file or a JPEG frame folder (chosen by whether ``path`` is a folder).

    ``backend`` for files: ``"decord"``, ``"pyav"``, or ``"auto"`` (decord, or PyAV when decord is not
    installed or cannot open the file). ``size=(height, width)`` resizes while decoding.
    ``frame_template``, ``first_frame_index`` and ``num_frames`` apply to frame folders only.
    """
    path = Path(path)
    if path.is_dir():
        return FrameFolderReader(path, frame_template, first_frame_index, num_frames, size)
    if backend == "pyav":
        return PyAVReader(path, size)
    if backend == "decord":
        return DecordReader(path, size)
    if backend != "auto":
        raise ValueError(f"backend must be 'auto', 'decord' or 'pyav', got {backend!r}")
    if _import_decord() is not None and path.is_file() and path.stat().st_size:
        try:
            return DecordReader(path, size)
        except VideoDecodeError:
            pass  # PyAV below either reads the file or raises an error that names it
    return PyAVReader(path, size)


def probe_video(
    path: str | Path, *, frame_template: str = FRAME_TEMPLATE, first_frame_index: int = FIRST_FRAME_INDEX,
    num_frames: int | None = None,
) -> int:
    """Check quickly that ``path`` can be read and return its number of frames.

    A frame folder must hold its first frame, and that image must open. A video file's header must open
    (PyAV), its first frame must decode, and so must its last: a file cut short keeps a header that
    promises more frames than it holds. Seeking to the last key frame through the index and decoding that
    last group of pictures costs about as much as reading the first frame, whatever the video's length;
    only a file whose end fails is decoded in full, to count the frames it really holds. (decord's frame
    count comes from the same index, and decord cannot even open such files; a file whose container
    announces no frame count, as some WebM files, is counted by reading its packets.)

    Raises FileNotFoundError or :class:`VideoDecodeError` naming the file and the fix (a frame in the
    middle can still be broken)."""
    path = Path(path)
    if path.is_dir():
        reader = FrameFolderReader(path, frame_template, first_frame_index, num_frames)
        reader.get_frames([0])
        return reader.num_frames
    _check_file(path)
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoDecodeError(f"{path} has no video stream: {_VIDEO_FIX}")
            stream = container.streams.video[0]
            if next(container.decode(stream), None) is None:
                raise VideoDecodeError(f"{path} holds no video frames: {_VIDEO_FIX}")
            promised = stream.frames
            if promised and _tail_decodes(container, stream, promised):
                return promised
        if not promised:
            with av.open(str(path)) as container:
                return _count_packets(container)
    except av.FFmpegError as error:
        raise VideoDecodeError(f"cannot open {path} with PyAV ({error}): {_VIDEO_FIX}") from error
    found = count_decodable_frames(path)
    if found < promised:
        raise VideoDecodeError(f"{path} decodes only {found} of the {promised} frames its header promises "
                               f"(the file is cut short or damaged): {_VIDEO_FIX}")
    return promised
