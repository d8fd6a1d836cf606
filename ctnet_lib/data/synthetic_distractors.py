"""Masks of the distractor shapes of a synthetic video, computed without touching the generator or its files.

``render_synthetic_video`` draws a background, then 1 to ``max_distractors`` small shapes on random walks,
then the object, all from one random stream per video (``draw_synthetic_scene``). :func:`distractor_masks`
draws the same scene again and masks its distractors, so the videos and their files stay exactly as they are;
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
    scene = gen.draw_synthetic_scene(settings, split, label, index)
    cover = scene.object_cover()
    obj = scene.object_mask(cover)
    distractors = np.zeros(cover.shape, dtype=bool)
    for _, d_cover in scene.distractor_covers():
        distractors |= d_cover >= 0.5
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
