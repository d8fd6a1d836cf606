"""Masks of the distractor shapes of a synthetic video, computed without touching the generator or its files.

``render_synthetic_video`` draws a background, then 1 to ``max_distractors`` small shapes on random walks,
then the object, all from one random stream per video. :func:`distractor_masks` replays that stream's draws
up to the object (with the generator's own helpers), so the videos and their files stay exactly as they are;
the replay is checked by drawing the object's mask too and comparing it with the stored one (a video whose
generator draws otherwise, such as a later level, gets no distractor mask rather than a wrong one).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ctnet_lib.data import synthetic as gen
from ctnet_lib.data.list_files import ClassList

__all__ = ["distractor_masks", "replay_masks"]


def replay_masks(settings: gen.SyntheticSettings, split: str, label: int, index: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The object's mask and the visible distractors' mask, bool (T, S, S) each, of the video
    ``(split, label, index)`` drawn with ``settings`` (a distractor pixel is one at least half covered by a
    distractor and not by the object)."""
    size, num_frames = settings.size, settings.num_frames
    rng = np.random.default_rng([settings.seed, gen._SPLITS[split], label // 2, index])
    motion = gen.SYNTHETIC_CLASS_PAIRS[label // 2][2]
    gen._background(rng, size)
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    distractors = np.zeros((num_frames, size, size), dtype=bool)
    for _ in range(int(rng.integers(1, settings.max_distractors + 1)) if settings.max_distractors else 0):
        colour = gen._hsv(rng.random(), rng.uniform(0.2, 0.8), rng.uniform(0.3, 0.9))
        shape = gen._random_shape(rng, ("ellipse", "box"), colour)
        steps = rng.normal(0, 0.025 * size, (num_frames, 2))
        path = np.clip(rng.uniform(0, size, 2) + np.cumsum(steps, axis=0), 0, size)
        radius, angle = rng.uniform(0.03, 0.06) * size, rng.uniform(0, 2 * np.pi)
        cover = gen._coverage(shape, xs, ys, path[:, 0], path[:, 1], np.full(num_frames, radius),
                              np.full(num_frames, angle))
        distractors |= cover >= 0.5
    shape = gen._random_shape(rng, ("ellipse", "box", "triangle", "kite"),
                              gen._hsv(rng.random(), rng.uniform(0.6, 1), rng.uniform(0.75, 1)))
    cx, cy, radius, angle, opacity = gen._object_track(rng, motion, size, num_frames)
    cover = gen._coverage(shape, xs, ys, cx, cy, radius, angle)
    obj = (cover >= 0.5) & (opacity[:, None, None] > 0)
    distractors &= ~(cover >= 0.5)
    if label % 2:  # the second class of a pair is the first one played backwards
        return obj[::-1].copy(), distractors[::-1].copy()
    return obj, distractors


def distractor_masks(path: str | Path) -> np.ndarray | None:
    """The visible distractors' mask, bool (F, S, S), of the synthetic video file ``path``
    (``<root>/videos/<split>/<class>/<index>.mp4`` beside ``<root>/synthetic.json``), or None when
    ``path`` is not one or the replay does not reproduce its stored object mask."""
    path = Path(path)
    if len(path.parts) < 4 or path.parts[-4] != "videos" or not gen.mask_path(path).is_file():
        return None
    root = path.parents[3]
    try:
        recorded = json.loads((root / "synthetic.json").read_text(encoding="utf-8"))
        names = json.loads((root / "classes.json").read_text(encoding="utf-8"))
        settings = gen.SyntheticSettings(**{k: v for k, v in recorded.items() if k != "format_version"})
        slugs = [name.replace(" ", "_") for name in ClassList.from_json(names).names]
        label, index = slugs.index(path.parts[-2]), int(path.stem.split(".")[0])
    except (OSError, ValueError, TypeError, KeyError):
        return None
    obj, distractors = replay_masks(settings, path.parts[-3], label, index)
    return distractors if np.array_equal(obj, gen.load_object_mask(path)) else None
