"""The hard level of the synthetic set: 12 classes that only temporal structure tells apart.

Designed (and committed) before any temporal module was compared on it, for the Table 2 ablation study
(``benchmarks/ablation/README.md``). Six class pairs, each a kind of temporal structure:

| pair | first class / second class | structure |
| --- | --- | --- |
| slide-spin | slide then spin / spin then slide | the order of two sub-motions |
| slide-grow | slide then grow / shrink then slide | the order of two sub-motions |
| small-mover | small approaches big / small leaves big | two objects: which one moves, and where to |
| big-mover | big approaches small / big leaves small | two objects, roles swapped |
| meet | crossing / turning back | two objects meet: they pass, or bounce back |
| speed | speeding up / slowing down | a speed change |

Guarantees (as for the plain level, ``synthetic.py``):
- appearance alone cannot solve it: in every pair but ``meet``, video ``i`` of the second class is video
  ``i`` of the first played backwards (the same frames, in the other order). ``crossing`` and ``turning
  back`` share their first half (the same objects meet at the clip's middle); with the start side random,
  both classes show single frames from one distribution. Directions, positions, spin senses, colours and
  shapes are random in every class, so a single frame says little beyond which pair it comes from
  (the two-object pairs show two objects, ``slide-grow`` a size change);
- distractors look like the objects (the same shapes, colours and sizes) and move (straight, at random
  speeds, spinning a little), so a model must find the object by what it does;
- masks: ``<video>.mask.npz`` holds ``mask`` (every class-defining object, ``load_object_mask``) and
  ``distractor_mask`` (every distractor, ``load_distractor_mask``), bool ``(T, H, W)``, each where its
  shapes cover at least half a pixel (occlusion ignored);
- deterministic (each video's random stream derives from ``(seed, split, pair, index)``), intra-coded
  H.264 at one constant quantiser, atomic writes, an interrupted generation resumes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ctnet_lib.data.list_files import ClassList
from ctnet_lib.data.synthetic import (
    _background,
    _check_settings_file,
    _coverage,
    _hsv,
    _random_shape,
    _Shape,
    _write_h264,
    _write_text,
    mask_path,
)
from ctnet_lib.io_utils import atomic_output
from ctnet_lib.validation import check_at_least, check_output_folder

__all__ = [
    "HARD_CLASS_PAIRS",
    "HardSyntheticSettings",
    "generate_hard_synthetic_dataset",
    "hard_class_list",
    "load_distractor_mask",
    "render_hard_video",
]

_SPLITS = {"train": 0, "val": 1}
_SHAPES = ("ellipse", "box", "triangle", "kite")
_FORMAT_VERSION = 1


@dataclass(frozen=True)
class _Track:
    """One shape's path: per frame ``(T,)`` centre x, y, half-width (pixels) and angle (radians)."""

    shape: _Shape
    cx: np.ndarray
    cy: np.ndarray
    radius: np.ndarray
    angle: np.ndarray


@dataclass(frozen=True)
class HardClassPair:
    """Two classes; ``reversed_pair``: the second class is the first one played backwards."""

    first: str
    second: str
    structure: str
    reversed_pair: bool = True


# (the one home of the hard level's classes; labels follow this order, two per pair)
HARD_CLASS_PAIRS = (
    HardClassPair("slide then spin", "spin then slide", "slide-spin"),
    HardClassPair("slide then grow", "shrink then slide", "slide-grow"),
    HardClassPair("small approaches big", "small leaves big", "small-mover"),
    HardClassPair("big approaches small", "big leaves small", "big-mover"),
    HardClassPair("crossing", "turning back", "meet", reversed_pair=False),
    HardClassPair("speeding up", "slowing down", "speed"),
)


def hard_class_list() -> ClassList:
    """The 12 hard classes in label order; a horizontal flip keeps every class (directions are random)."""
    names = tuple(name for pair in HARD_CLASS_PAIRS for name in (pair.first, pair.second))
    return ClassList(names=names, flipped=names)


@dataclass(frozen=True)
class HardSyntheticSettings:
    """What the hard videos look like; files made with other settings are never mixed in one folder."""

    num_frames: int = 16
    size: int = 64
    seed: int = 0
    max_distractors: int = 2
    fps: int = 12
    qp: int = 20

    def __post_init__(self) -> None:
        if self.num_frames < 4 or self.num_frames % 2:
            raise ValueError(
                f"num_frames must be even and >= 4 (two halves of sub-motions), got {self.num_frames}"
            )
        if self.size < 16 or self.size % 2:
            raise ValueError(f"size must be an even number of pixels >= 16 (H.264 yuv420p), got {self.size}")
        if self.max_distractors < 0 or self.fps < 1 or not 0 <= self.qp <= 51:
            raise ValueError("max_distractors must be >= 0, fps >= 1 and qp (H.264 quantiser) in [0, 51]")


# ---------------------------------------------------------------------------------------------- motions


def _object(rng: np.random.Generator) -> _Shape:
    return _random_shape(rng, _SHAPES, _hsv(rng.random(), rng.uniform(0.6, 1), rng.uniform(0.75, 1)))


def _unit(rng: np.random.Generator) -> np.ndarray:
    angle = rng.uniform(0, 2 * np.pi)
    return np.array([np.cos(angle), np.sin(angle)])


def _halves(num_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Progress of the first and the second sub-motion per frame, each 0 -> 1 within its half."""
    s = np.linspace(0.0, 1.0, num_frames)
    return np.clip(2 * s, 0, 1), np.clip(2 * s - 1, 0, 1)


def _place(
    rng: np.random.Generator, size: int, tracks: list[_Track], reference: list[_Track]
) -> list[_Track]:
    """Shift every track by one random offset that keeps all shapes of ``reference`` (the pair's first
    class, drawn from the same random numbers) inside the frame where possible, so both classes of a
    pair are placed alike."""
    low = [min((t.cx - t.radius).min() for t in reference), min((t.cy - t.radius).min() for t in reference)]
    high = [max((t.cx + t.radius).max() for t in reference), max((t.cy + t.radius).max() for t in reference)]
    offset = [rng.uniform(-lo, size - hi) if size - hi > -lo else (size - hi - lo) / 2
              for lo, hi in zip(low, high, strict=True)]
    return [_Track(t.shape, t.cx + offset[0], t.cy + offset[1], t.radius, t.angle) for t in tracks]


def _path(points: np.ndarray, radius: np.ndarray, angle: np.ndarray, shape: _Shape) -> _Track:
    return _Track(shape, points[:, 0], points[:, 1], radius, angle)


def _slide_spin(rng: np.random.Generator, size: int, t: int) -> list[_Track]:
    first, second = _halves(t)
    shape, direction = _object(rng), _unit(rng)
    radius = np.full(t, rng.uniform(0.12, 0.16) * size)
    travel = rng.uniform(0.3, 0.45) * size
    spin = rng.choice((-1, 1)) * np.deg2rad(rng.uniform(150, 240))
    angle = rng.uniform(0, 2 * np.pi) + spin * second
    return [_path(travel * first[:, None] * direction, radius, angle, shape)]


def _slide_grow(rng: np.random.Generator, size: int, t: int) -> list[_Track]:
    first, second = _halves(t)
    shape, direction = _object(rng), _unit(rng)
    radius = rng.uniform(0.07, 0.09) * size * rng.uniform(1.9, 2.3) ** second
    travel = rng.uniform(0.3, 0.45) * size
    return [_path(travel * first[:, None] * direction, radius, np.full(t, rng.uniform(0, 2 * np.pi)), shape)]


def _approach(small_moves: bool) -> Callable[[np.random.Generator, int, int], list[_Track]]:
    """A mover (small or big) travels at constant speed until it touches a still partner."""

    def tracks(rng: np.random.Generator, size: int, t: int) -> list[_Track]:
        s = np.linspace(0.0, 1.0, t)
        small, big = rng.uniform(0.07, 0.09) * size, rng.uniform(0.15, 0.19) * size
        mover, partner = (small, big) if small_moves else (big, small)
        direction, travel = _unit(rng), rng.uniform(0.3, 0.45) * size
        contact = mover + partner + 1
        distance = contact + travel * (1 - s)
        shapes = _object(rng), _object(rng)
        angles = np.full(t, rng.uniform(0, 2 * np.pi)), np.full(t, rng.uniform(0, 2 * np.pi))
        return [_path(distance[:, None] * direction, np.full(t, mover), angles[0], shapes[0]),
                _path(np.zeros((t, 2)), np.full(t, partner), angles[1], shapes[1])]

    return tracks


def _meet(crossing: bool) -> Callable[[np.random.Generator, int, int], list[_Track]]:
    """Two objects move towards each other and meet at the clip's middle; then they pass (crossing) or
    each returns the way it came (turning back). Both classes draw the same objects and first half."""

    def tracks(rng: np.random.Generator, size: int, t: int) -> list[_Track]:
        s = np.linspace(0.0, 1.0, t)
        direction, half_gap = _unit(rng), rng.uniform(0.2, 0.3) * size
        offset = half_gap * ((1 - 2 * s) if crossing else np.abs(1 - 2 * s))
        result = []
        for side in (1, -1):
            shape, radius = _object(rng), np.full(t, rng.uniform(0.09, 0.13) * size)
            angle = np.full(t, rng.uniform(0, 2 * np.pi))
            result.append(_path(side * offset[:, None] * direction, radius, angle, shape))
        return result[:: rng.choice((-1, 1))]  # which object is drawn on top

    return tracks


def _speeding_up(rng: np.random.Generator, size: int, t: int) -> list[_Track]:
    s = np.linspace(0.0, 1.0, t)
    shape, direction = _object(rng), _unit(rng)
    travel = rng.uniform(0.45, 0.6) * size
    radius = np.full(t, rng.uniform(0.1, 0.14) * size)
    return [_path(travel * (s**2)[:, None] * direction, radius, np.full(t, rng.uniform(0, 2 * np.pi)), shape)]


# the first class of each pair (the second is its reversal), or each class of a non-reversed pair
_MOTIONS: dict[str, Callable[[np.random.Generator, int, int], list[_Track]]] = {
    "slide then spin": _slide_spin,
    "slide then grow": _slide_grow,
    "small approaches big": _approach(small_moves=True),
    "big approaches small": _approach(small_moves=False),
    "crossing": _meet(crossing=True),
    "turning back": _meet(crossing=False),
    "speeding up": _speeding_up,
}


def _distractors(rng: np.random.Generator, settings: HardSyntheticSettings) -> list[_Track]:
    """Object-like shapes moving straight through the frame at random speeds, spinning a little."""
    size, t = settings.size, settings.num_frames
    s = np.linspace(0.0, 1.0, t)
    tracks = []
    for _ in range(int(rng.integers(1, settings.max_distractors + 1)) if settings.max_distractors else 0):
        start = rng.uniform(0, size, 2)
        travel = rng.uniform(0.1, 0.5) * size * _unit(rng)
        angle = rng.uniform(0, 2 * np.pi) + rng.uniform(-0.6, 0.6) * s
        radius = np.full(t, rng.uniform(0.08, 0.15) * size)
        tracks.append(_path(start + s[:, None] * travel, radius, angle, _object(rng)))
    return tracks


def render_hard_video(
    settings: HardSyntheticSettings, split: str, label: int, index: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw one video: frames uint8 ``(T, S, S, 3)`` RGB, the objects' mask and the distractors' mask,
    bool ``(T, S, S)`` each."""
    if split not in _SPLITS:
        raise ValueError(f"split must be one of {sorted(_SPLITS)}, got {split!r}")
    classes = hard_class_list()
    if not 0 <= label < len(classes):
        raise ValueError(f"label must be in [0, {len(classes)}), got {label}")
    size, t = settings.size, settings.num_frames
    pair = HARD_CLASS_PAIRS[label // 2]
    rng = np.random.default_rng([settings.seed, _SPLITS[split], label // 2, index])
    background = _background(rng, size)
    distractors = _distractors(rng, settings)
    name = pair.second if label % 2 and not pair.reversed_pair else pair.first
    state = rng.bit_generator.state
    reference = _MOTIONS[pair.first](rng, size, t)
    rng.bit_generator.state = state
    objects = _place(rng, size, _MOTIONS[name](rng, size, t), reference)

    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    image = np.broadcast_to(background, (t, size, size, 3))
    masks = {"objects": np.zeros((t, size, size), bool), "distractors": np.zeros((t, size, size), bool)}
    for group, tracks in (("distractors", distractors), ("objects", objects)):
        for track in tracks:
            cover = _coverage(track.shape, xs, ys, track.cx, track.cy, track.radius, track.angle)
            image = image * (1 - cover[..., None]) + track.shape.colour * cover[..., None]
            masks[group] |= cover >= 0.5
    frames = np.round(image * 255).astype(np.uint8)
    if label % 2 and pair.reversed_pair:  # the second class of a reversed pair: the first played backwards
        return frames[::-1].copy(), masks["objects"][::-1].copy(), masks["distractors"][::-1].copy()
    return frames, masks["objects"], masks["distractors"]


# ---------------------------------------------------------------------------------------------- writing


def _write_masks(path: Path, objects: np.ndarray, distractors: np.ndarray) -> None:
    with atomic_output(path) as temporary, temporary.open("wb") as file:
        np.savez_compressed(file, mask=objects, distractor_mask=distractors)


def load_distractor_mask(path: str | Path) -> np.ndarray:
    """The distractors' per-frame mask, bool ``(T, H, W)``, of a hard synthetic video (file or folder)."""
    file = mask_path(path)
    if not file.is_file():
        raise FileNotFoundError(f"no mask file for {path} (expected {file}): generate the hard synthetic "
                                "set with generate_hard_synthetic_dataset()")
    with np.load(file) as data:
        if "distractor_mask" not in data:
            raise ValueError(f"{file} holds no distractor mask: it belongs to the plain synthetic level; "
                             "distractor masks exist for the hard level only")
        return data["distractor_mask"]


@dataclass(frozen=True)
class HardDatasetFiles:
    """Where :func:`generate_hard_synthetic_dataset` put things."""

    root: Path
    classes: ClassList
    settings: HardSyntheticSettings
    train_list: Path
    val_list: Path
    class_file: Path
    num_written: int
    num_skipped: int


def generate_hard_synthetic_dataset(
    out_dir: str | Path,
    num_train_per_class: int,
    num_val_per_class: int,
    settings: HardSyntheticSettings = HardSyntheticSettings(),
) -> HardDatasetFiles:
    """Write the hard level into ``out_dir``: ``videos/<split>/<class>/<index>.mp4`` with their
    ``.mp4.mask.npz``, ``train_videos.txt`` / ``val_videos.txt`` (``<video> <label>``), ``classes.json``
    and ``synthetic.json`` (the settings). Existing complete files are kept (skipped)."""
    check_at_least("num_train_per_class", num_train_per_class, 1)
    check_at_least("num_val_per_class", num_val_per_class, 1)
    root = check_output_folder(out_dir, "hard synthetic data folder")
    root.mkdir(parents=True, exist_ok=True)
    _check_settings_file(root / "synthetic.json", settings)
    classes = hard_class_list()
    class_file = root / "classes.json"
    _write_text(class_file, json.dumps(classes.to_json(), indent=2) + "\n")
    written = skipped = 0
    lists = {}
    for split, per_class in (("train", num_train_per_class), ("val", num_val_per_class)):
        lines = []
        for label, name in enumerate(classes.names):
            for index in range(per_class):
                video = Path("videos", split, name.replace(" ", "_"), f"{index:04d}.mp4")
                lines.append(f"{video.as_posix()} {label}\n")
                if (root / video).exists() and mask_path(root / video).exists():
                    skipped += 1
                    continue
                frames, objects, distractors = render_hard_video(settings, split, label, index)
                _write_masks(mask_path(root / video), objects, distractors)
                _write_h264(root / video, frames, settings.fps, settings.qp)
                written += 1
        lists[split] = root / f"{split}_videos.txt"
        _write_text(lists[split], "".join(lines))
    return HardDatasetFiles(root, classes, settings, lists["train"], lists["val"], class_file, written,
                            skipped)
