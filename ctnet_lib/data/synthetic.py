"""The synthetic temporal data set: short H.264 videos whose classes differ only in temporal order.

Classes come in pairs (moving left / right, up / down, approaching / receding, rotating clockwise /
anticlockwise, appearing / disappearing). Video ``i`` of the second class of a pair is video ``i`` of the
first class played backwards, so both classes hold exactly the same single frames and only their order
tells them apart: a model that averages per-frame predictions (TSN) stays at chance on each pair, while
temporal models separate them.

Each video: a textured random background, a few small distractor shapes on random walks, and one object
of random shape, colour, size, speed and start position that makes the class motion. Beside every video
the per-frame binary mask of that object is saved as ``<video>.mask.npz`` (see :func:`load_object_mask`).
Every frame is an intra frame coded at one constant quantiser, so a frame decodes to the same pixels
wherever it sits in the video: compression leaks nothing about order.

Everything is deterministic: each video pair has its own random stream derived from
``(seed, split, pair, index)``, so the same seed gives identical files, and adding videos keeps the old
ones. Outputs are written under a temporary name and renamed, so an interrupted run never leaves a
partial file at a final path; a re-run skips the files that exist.
"""

from __future__ import annotations

import colorsys
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import av
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ctnet_lib.data.list_files import ClassList
from ctnet_lib.io_utils import atomic_output
from ctnet_lib.validation import check_at_least, check_output_folder

__all__ = [
    "SYNTHETIC_CLASS_PAIRS",
    "SyntheticDatasetFiles",
    "SyntheticScene",
    "SyntheticSettings",
    "draw_synthetic_scene",
    "generate_synthetic_dataset",
    "load_object_mask",
    "mask_path",
    "render_synthetic_video",
    "synthetic_class_list",
]

# (first class, second class = first played backwards, motion); the class list takes pairs in order.
SYNTHETIC_CLASS_PAIRS = (
    ("moving left", "moving right", "horizontal"),
    ("moving up", "moving down", "vertical"),
    ("approaching", "receding", "scale"),
    ("rotating clockwise", "rotating anticlockwise", "rotation"),
    ("appearing", "disappearing", "fade"),
)
# A horizontal flip swaps these classes; every other synthetic class is unchanged by a flip.
_FLIP_PARTNERS = {
    "moving left": "moving right",
    "moving right": "moving left",
    "rotating clockwise": "rotating anticlockwise",
    "rotating anticlockwise": "rotating clockwise",
}
_SPLITS = {"train": 0, "val": 1}
_MASK_SUFFIX = ".mask.npz"
_FORMAT_VERSION = 1


def synthetic_class_list(num_classes: int = 8) -> ClassList:
    """The first ``num_classes / 2`` class pairs (``num_classes`` even, 2 to 10) with flip partners."""
    if num_classes % 2 or not 2 <= num_classes <= 2 * len(SYNTHETIC_CLASS_PAIRS):
        raise ValueError(
            f"num_classes must be even, from 2 to {2 * len(SYNTHETIC_CLASS_PAIRS)}; got {num_classes}"
        )
    names = tuple(name for pair in SYNTHETIC_CLASS_PAIRS[: num_classes // 2] for name in pair[:2])
    return ClassList(names=names, flipped=tuple(_FLIP_PARTNERS.get(name, name) for name in names))


@dataclass(frozen=True)
class SyntheticSettings:
    """What the videos look like; files generated with other settings are never mixed in one folder."""

    num_frames: int = 16
    size: int = 64
    seed: int = 0
    num_classes: int = 8
    max_distractors: int = 3
    fps: int = 12
    qp: int = 20

    def __post_init__(self) -> None:
        if self.num_frames < 2:
            raise ValueError(
                f"num_frames must be at least 2 (motion needs two frames), got {self.num_frames}"
            )
        if self.size < 16 or self.size % 2:
            raise ValueError(f"size must be an even number of pixels >= 16 (H.264 yuv420p), got {self.size}")
        if self.max_distractors < 0 or self.fps < 1 or not 0 <= self.qp <= 51:
            raise ValueError("max_distractors must be >= 0, fps >= 1 and qp (H.264 quantiser) in [0, 51]")
        synthetic_class_list(self.num_classes)


# The one home of the synthetic set's defaults: `ctnet data synth`, generate_synthetic_dataset and
# TrainConfig's synthetic_* fields read them. The video counts differ on purpose: the command writes a
# quick folder (these), a training run generates its own, larger set (TrainConfig).
DEFAULT_SETTINGS = SyntheticSettings()
DEFAULT_TRAIN_PER_CLASS = 32
DEFAULT_VAL_PER_CLASS = 8


@dataclass(frozen=True)
class SyntheticDatasetFiles:
    """Where :func:`generate_synthetic_dataset` put things; list paths are relative to ``root``."""

    root: Path
    classes: ClassList
    settings: SyntheticSettings
    train_list: Path
    val_list: Path
    train_frames_list: Path | None
    val_frames_list: Path | None
    num_written: int
    num_skipped: int


# ---------------------------------------------------------------------------------------------- drawing


def _hsv(hue: float, saturation: float, value: float) -> np.ndarray:
    return np.array(colorsys.hsv_to_rgb(hue, saturation, value), dtype=np.float32)


def _smooth_noise(rng: np.random.Generator, cells: int, size: int) -> np.ndarray:
    """Value noise ``(size, size, 3)`` in about [-0.5, 0.5]: random values on a grid, bicubic upsampled."""
    grid = torch.from_numpy(rng.random((1, 3, cells, cells), dtype=np.float32) - 0.5)
    return (
        F.interpolate(grid, size=(size, size), mode="bicubic", align_corners=False)[0]
        .permute(1, 2, 0)
        .numpy()
    )


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A muted, textured background ``(size, size, 3)`` in [0, 1]: blobs, grain and faint stripes."""
    base = _hsv(rng.random(), rng.uniform(0.0, 0.35), rng.uniform(0.3, 0.6))
    texture = 0.5 * _smooth_noise(rng, 4, size) + 0.2 * _smooth_noise(rng, max(size // 4, 2), size)
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) / size
    angle, frequency = rng.uniform(0, np.pi), rng.uniform(2, 6)
    stripes = 0.06 * np.sin(
        2 * np.pi * frequency * (xs * np.cos(angle) + ys * np.sin(angle)) + rng.uniform(0, 6.3)
    )
    return np.clip(base + 0.4 * texture + stripes[..., None], 0, 1).astype(np.float32)


def _polygon(outline: str, aspect: float, rng: np.random.Generator) -> np.ndarray | None:
    """Vertices (counter-clockwise, unit half-width) of a convex shape, or ``None`` for an ellipse."""
    if outline == "box":
        return np.array([[-1, -aspect], [1, -aspect], [1, aspect], [-1, aspect]])
    if outline == "triangle":
        return np.array([[-1, -aspect], [1, 0], [-1, aspect]])
    if outline == "kite":
        tail = rng.uniform(-0.6, -0.2)
        return np.array([[-1, 0], [tail, -aspect], [1, 0], [tail, aspect]])
    return None


@dataclass(frozen=True)
class _Shape:
    """A convex polygon (vertices and outward unit edge normals) or, without vertices, an ellipse."""

    vertices: np.ndarray | None  # (E, 2), counter-clockwise, in half-widths
    normals: np.ndarray | None  # (E, 2)
    aspect: float  # half-height / half-width
    colour: np.ndarray  # RGB in [0, 1]


def _random_shape(rng: np.random.Generator, kinds: tuple[str, ...], colour: np.ndarray) -> _Shape:
    aspect = float(rng.uniform(0.45, 0.7))
    vertices = _polygon(kinds[int(rng.integers(len(kinds)))], aspect, rng)
    if vertices is None:
        return _Shape(None, None, aspect, colour)
    edges = np.roll(vertices, -1, axis=0) - vertices
    normals = np.stack([edges[:, 1], -edges[:, 0]], axis=1) / np.linalg.norm(edges, axis=1, keepdims=True)
    return _Shape(vertices, normals, aspect, colour)


def _coverage(
    shape: _Shape,
    xs: np.ndarray,
    ys: np.ndarray,
    cx: np.ndarray,
    cy: np.ndarray,
    radius: np.ndarray,
    angle: np.ndarray,
) -> np.ndarray:
    """Fraction of each pixel covered by the shape in each frame (1-pixel edge ramp), ``(T, H, W)``.

    ``xs, ys``: pixel centres ``(H, W)``; per frame ``(T,)``: centre, half-width in pixels, and angle
    in radians, growing clockwise on screen (y points down).
    """
    cx, cy, radius, angle = (np.asarray(a, dtype=np.float32)[:, None, None] for a in (cx, cy, radius, angle))
    dx, dy = xs - cx, ys - cy
    u = (np.cos(angle) * dx + np.sin(angle) * dy) / radius
    v = (np.cos(angle) * dy - np.sin(angle) * dx) / radius
    if shape.vertices is None:
        distance = (np.sqrt(u**2 + (v / shape.aspect) ** 2) - 1) * shape.aspect
    else:
        reach = (shape.vertices * shape.normals).sum(axis=1)
        distance = np.full_like(u, -np.inf)
        for (normal_u, normal_v), edge_reach in zip(shape.normals, reach, strict=True):
            np.maximum(
                distance,
                u * np.float32(normal_u) + v * np.float32(normal_v) - np.float32(edge_reach),
                out=distance,
            )
    return np.clip(0.5 - distance * radius, 0, 1, out=distance)


def _object_track(
    rng: np.random.Generator, motion: str, size: int, num_frames: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-frame centre x, centre y, half-width (pixels), angle (radians) and opacity of the object.

    The motion is that of the FIRST class of its pair (moving left, moving up, approaching, rotating
    clockwise, appearing).
    """
    s = np.linspace(0.0, 1.0, num_frames)
    angle0 = rng.uniform(0, 2 * np.pi)
    angle = np.full(num_frames, angle0)
    opacity = np.ones(num_frames)
    if motion == "scale":
        start_radius = rng.uniform(0.08, 0.11) * size
        radius = start_radius * rng.uniform(1.8, 2.3) ** s
    else:
        radius = np.full(num_frames, rng.uniform(0.12, 0.2) * size)
    margin = radius.max() + 1
    cx = np.full(num_frames, rng.uniform(margin, size - margin))
    cy = np.full(num_frames, rng.uniform(margin, size - margin))
    if motion in ("horizontal", "vertical"):
        travel = min(rng.uniform(0.3, 0.6) * size, size - 2 * margin)
        start = rng.uniform(margin + travel, size - margin)
        track = start - travel * s  # decreasing: left or up
        if motion == "horizontal":
            cx = track
        else:
            cy = track
    elif motion == "rotation":
        angle = angle0 + np.deg2rad(rng.uniform(120, 240)) * s
    elif motion == "fade":
        opacity = s
    return cx, cy, radius, angle, opacity


@dataclass(frozen=True)
class SyntheticScene:
    """What one video's random stream draws, in the generator's order: the background (S, S, 3), the
    distractors (shape, path (T, 2) of centres, half-width, angle) and the object (shape and track: per
    frame centre, half-width, angle, opacity), in the video's drawing order (before a reversed class is
    played backwards)."""

    size: int
    background: np.ndarray
    distractors: list[tuple[_Shape, np.ndarray, float, float]]
    shape: _Shape
    track: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]

    def _pixel_centres(self) -> tuple[np.ndarray, np.ndarray]:
        ys, xs = np.mgrid[0 : self.size, 0 : self.size].astype(np.float32) + 0.5
        return xs, ys

    def distractor_covers(self) -> list[tuple[_Shape, np.ndarray]]:
        """Each distractor's shape and its pixel coverage (T, S, S), in drawing order."""
        xs, ys = self._pixel_centres()
        covers = []
        for shape, path, radius, angle in self.distractors:
            radii, angles = np.full(len(path), radius), np.full(len(path), angle)
            covers.append((shape, _coverage(shape, xs, ys, path[:, 0], path[:, 1], radii, angles)))
        return covers

    def object_cover(self) -> np.ndarray:
        """The object's pixel coverage (T, S, S), opacity not applied."""
        xs, ys = self._pixel_centres()
        cx, cy, radius, angle, _ = self.track
        return _coverage(self.shape, xs, ys, cx, cy, radius, angle)

    def object_mask(self, cover: np.ndarray) -> np.ndarray:
        """The object's mask bool (T, S, S) from its ``cover``: pixels at least half covered, with nonzero
        opacity."""
        return (cover >= 0.5) & (self.track[4][:, None, None] > 0)


def draw_synthetic_scene(settings: SyntheticSettings, split: str, label: int, index: int) -> SyntheticScene:
    """The random draws of the video ``(split, label, index)``: one stream per video, from
    ``(seed, split, class pair, index)``, so both classes of a pair draw the same scene."""
    if split not in _SPLITS:
        raise ValueError(f"split must be one of {sorted(_SPLITS)}, got {split!r}")
    classes = synthetic_class_list(settings.num_classes)
    if not 0 <= label < len(classes):
        raise ValueError(f"label must be in [0, {len(classes)}), got {label}")
    size, num_frames = settings.size, settings.num_frames
    rng = np.random.default_rng([settings.seed, _SPLITS[split], label // 2, index])
    motion = SYNTHETIC_CLASS_PAIRS[label // 2][2]

    background = _background(rng, size)
    distractors = []
    for _ in range(int(rng.integers(1, settings.max_distractors + 1)) if settings.max_distractors else 0):
        colour = _hsv(rng.random(), rng.uniform(0.2, 0.8), rng.uniform(0.3, 0.9))
        distractor = _random_shape(rng, ("ellipse", "box"), colour)
        steps = rng.normal(0, 0.025 * size, (num_frames, 2))  # a random walk
        path = np.clip(rng.uniform(0, size, 2) + np.cumsum(steps, axis=0), 0, size)
        distractors.append((distractor, path, rng.uniform(0.03, 0.06) * size, rng.uniform(0, 2 * np.pi)))
    shape = _random_shape(
        rng,
        ("ellipse", "box", "triangle", "kite"),
        _hsv(rng.random(), rng.uniform(0.6, 1), rng.uniform(0.75, 1)),
    )
    return SyntheticScene(size, background, distractors, shape, _object_track(rng, motion, size, num_frames))


def render_synthetic_video(
    settings: SyntheticSettings, split: str, label: int, index: int
) -> tuple[np.ndarray, np.ndarray]:
    """Draw one video: frames uint8 ``(T, S, S, 3)`` RGB and the object's mask bool ``(T, S, S)``.

    The mask marks pixels where the object covers at least half the pixel with nonzero opacity.
    """
    scene = draw_synthetic_scene(settings, split, label, index)
    image = np.broadcast_to(scene.background, (settings.num_frames, settings.size, settings.size, 3))
    for d_shape, d_cover in scene.distractor_covers():
        cover = d_cover[..., None]
        image = image * (1 - cover) + d_shape.colour * cover
    cover = scene.object_cover()
    alpha = (cover * scene.track[4].astype(np.float32)[:, None, None])[..., None]
    image = image * (1 - alpha) + scene.shape.colour * alpha
    frames = np.round(image * 255).astype(np.uint8)
    masks = scene.object_mask(cover)
    if label % 2:  # the second class of a pair is the first one played backwards
        return frames[::-1].copy(), masks[::-1].copy()
    return frames, masks


# ---------------------------------------------------------------------------------------------- writing


def _write_text(path: Path, text: str) -> None:
    with atomic_output(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


def _write_h264(path: Path, frames: np.ndarray, fps: int, qp: int) -> None:
    """Encode uint8 ``(T, H, W, 3)`` frames as intra-only, constant-QP H.264 (yuv420p) MP4, atomically."""
    with atomic_output(path) as temporary, av.open(str(temporary), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        stream.codec_context.thread_count = 1
        stream.options = {"qp": str(qp), "preset": "veryfast", "g": "1"}
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())


def _write_mask(path: Path, masks: np.ndarray) -> None:
    with atomic_output(path) as temporary, temporary.open("wb") as file:
        np.savez_compressed(file, mask=masks)


def _write_frames(folder: Path, frames: np.ndarray) -> None:
    """Save frames as ``00001.jpg, 00002.jpg, ...`` in ``folder``, created atomically as a whole."""
    with atomic_output(folder) as temporary:
        temporary.mkdir()
        for number, frame in enumerate(frames, start=1):
            Image.fromarray(frame).save(temporary / f"{number:05d}.jpg", quality=95)


def mask_path(path: str | Path) -> Path:
    """Where the object mask of a video file or frame folder lives: ``<path>.mask.npz``."""
    return Path(f"{path}{_MASK_SUFFIX}")


def load_object_mask(path: str | Path) -> np.ndarray:
    """The moving object's per-frame mask, bool ``(T, H, W)`` at the video's size, of a synthetic video.

    ``path`` is the video file or JPEG frame folder; the mask is read from ``<path>.mask.npz``.
    """
    file = mask_path(path)
    if not file.is_file():
        raise FileNotFoundError(
            f"no object mask for {path} (expected {file}): masks exist only for the synthetic data set; "
            "generate it with `ctnet data synth` or generate_synthetic_dataset()"
        )
    with np.load(file) as data:
        return data["mask"]


def _check_settings_file(path: Path, settings: SyntheticSettings) -> None:
    wanted = {"format_version": _FORMAT_VERSION, **asdict(settings)}
    if path.is_file():
        found = json.loads(path.read_text(encoding="utf-8"))
        if found != wanted:
            raise ValueError(
                f"{path.parent} holds a synthetic data set made with other settings ({found}, asked for "
                f"{wanted}): choose another output folder or delete this one"
            )
    else:
        _write_text(path, json.dumps(wanted, indent=2) + "\n")


def generate_synthetic_dataset(
    out_dir: str | Path,
    num_train_per_class: int = DEFAULT_TRAIN_PER_CLASS,
    num_val_per_class: int = DEFAULT_VAL_PER_CLASS,
    num_frames: int = DEFAULT_SETTINGS.num_frames,
    size: int = DEFAULT_SETTINGS.size,
    seed: int = DEFAULT_SETTINGS.seed,
    *,
    num_classes: int = DEFAULT_SETTINGS.num_classes,
    write_frames: bool = False,
    max_distractors: int = DEFAULT_SETTINGS.max_distractors,
    fps: int = DEFAULT_SETTINGS.fps,
    qp: int = DEFAULT_SETTINGS.qp,
) -> SyntheticDatasetFiles:
    """Write the synthetic data set into ``out_dir`` and return where everything is.

    Writes ``videos/<split>/<class>/<index>.mp4`` (H.264, ``size x size``, ``num_frames`` frames at
    ``fps``) each with ``.mp4.mask.npz``; ``train_videos.txt`` / ``val_videos.txt`` (``<video> <label>``);
    ``classes.json``; ``synthetic.json`` (the settings). With ``write_frames`` also JPEG folders
    ``frames/<split>/<class>/<index>/00001.jpg`` and ``train_frames.txt`` / ``val_frames.txt``
    (``<frame_dir> <num_frames> <label>``). Existing complete files are kept (skipped).
    """
    check_at_least("num_train_per_class", num_train_per_class, 1)
    check_at_least("num_val_per_class", num_val_per_class, 1)
    settings = SyntheticSettings(num_frames, size, seed, num_classes, max_distractors, fps, qp)
    root = check_output_folder(out_dir, "synthetic data folder")
    root.mkdir(parents=True, exist_ok=True)
    _check_settings_file(root / "synthetic.json", settings)
    classes = synthetic_class_list(num_classes)
    _write_text(root / "classes.json", json.dumps(classes.to_json(), indent=2) + "\n")

    written = skipped = 0
    lists: dict[str, Path | None] = {}
    for split, per_class in (("train", num_train_per_class), ("val", num_val_per_class)):
        video_lines, frame_lines = [], []
        for label, name in enumerate(classes.names):
            slug = name.replace(" ", "_")
            for index in range(per_class):
                video = Path("videos", split, slug, f"{index:04d}.mp4")
                folder = Path("frames", split, slug, f"{index:04d}")
                outputs = [root / video, mask_path(root / video)]
                if write_frames:
                    outputs += [root / folder, mask_path(root / folder)]
                video_lines.append(f"{video.as_posix()} {label}\n")
                frame_lines.append(f"{folder.as_posix()} {num_frames} {label}\n")
                if all(path.exists() for path in outputs):
                    skipped += 1
                    continue
                frames, masks = render_synthetic_video(settings, split, label, index)
                for path in outputs:
                    if path.exists():
                        continue
                    if path.name.endswith(_MASK_SUFFIX):
                        _write_mask(path, masks)
                    elif path.suffix == ".mp4":
                        _write_h264(path, frames, fps, qp)
                    else:
                        _write_frames(path, frames)
                written += 1
        lists[split] = root / f"{split}_videos.txt"
        _write_text(lists[split], "".join(video_lines))
        lists[f"{split}_frames"] = root / f"{split}_frames.txt" if write_frames else None
        if write_frames:
            _write_text(root / f"{split}_frames.txt", "".join(frame_lines))
    return SyntheticDatasetFiles(
        root=root,
        classes=classes,
        settings=settings,
        train_list=lists["train"],
        val_list=lists["val"],
        train_frames_list=lists["train_frames"],
        val_frames_list=lists["val_frames"],
        num_written=written,
        num_skipped=skipped,
    )
