"""The localisation study: every model's saliency tubes on held-out videos with known object masks,
scored beside the model's accuracy, a uniform map (the floor), the mask itself (the ceiling) and the mask
drawn on the tube's own grid of cells (the ceiling at the model's resolution: what a perfect tube of
T' x h x w cells would score; 2 x 2 cells per 64 px frame at the paper's output stride 32)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from ctnet_lib.explain.clips import ClipView
from ctnet_lib.explain.methods import explain_tube
from ctnet_lib.explain.scores import deletion_insertion, energy_in_mask, mask_scores, temporal_profile
from ctnet_lib.explain.volumes import mask_at_cells
from ctnet_lib.models.resnet import OUTPUT_STRIDES

__all__ = ["BASELINES", "SCORE_COLUMNS", "LocalisationStudy", "localisation_study", "resolution_ceilings",
           "summary_sentences"]

UNIFORM, MASK, MASK_AT_CELLS = "uniform map", "object mask", "mask at the tube's cells"
BASELINES = (UNIFORM, MASK, MASK_AT_CELLS)
# column -> (label, True when higher is better; None: neither, 0 is best)
SCORE_COLUMNS: dict[str, tuple[str, bool | None]] = {
    "energy": ("energy in mask", True),
    "pointing": ("pointing hit rate", True),
    "profile_tv": ("temporal profile distance", False),
    "deletion_auc": ("deletion AUC", False),
    "insertion_auc": ("insertion AUC", True),
    "tracking": ("frames tracking the object", True),
    "coverage": ("object coverage", True),
    "entropy": ("spatial entropy", False),
    "regions": ("regions above threshold", False),
    "distractor_energy": ("energy on distractors", False),
    "motion_offset": ("offset along the motion (px)", None),
}


@dataclass(frozen=True)
class LocalisationStudy:
    """Scores per (row, video): ``rows`` are the models and the three baselines. ``per_video`` columns:
    row, model (the model that ran; baselines are scored once per model, the cells' one on that model's
    grid), video, label, class_name, correct, and :data:`SCORE_COLUMNS` (AUCs are NaN outside the AUC
    subset). ``profiles``: mean share of saliency per frame, one column per model and one for the mask."""

    per_video: pd.DataFrame
    profiles: pd.DataFrame
    method: str
    target: str

    @property
    def models(self) -> list[str]:
        """The explained models, in order."""
        return [row for row in self.per_video["row"].unique() if row not in BASELINES]

    def summary(self) -> pd.DataFrame:
        """One row per model, then the baselines: top-1 (%) and each score's mean and standard deviation."""
        grouped = self.per_video.groupby("row")
        scores = grouped[list(SCORE_COLUMNS)].agg(["mean", "std"])
        accuracy = grouped["correct"].mean() * 100
        scores.insert(0, ("top1", "%"), accuracy.where(~accuracy.index.isin(BASELINES)))
        return scores.reindex([*self.models, *BASELINES])

    def per_class(self) -> pd.DataFrame:
        """Each score's mean and standard deviation per row (models, then baselines) and class."""
        grouped = self.per_video.groupby(["row", "class_name"], sort=False)[list(SCORE_COLUMNS)]
        return grouped.agg(["mean", "std"]).reindex([*self.models, *BASELINES], level="row")

    def beside(self, row: str, model: str, column: str) -> float:
        """The mean of ``column`` of ``row`` as scored beside ``model``: for a baseline, what depends on
        the model (deletion and insertion run its forward passes; the mask at the tube's cells is drawn
        on its grid) stays that model's."""
        rows = self.per_video[(self.per_video["row"] == row) & (self.per_video["model"] == model)]
        return float(rows[column].mean())

    def ranking(self, column: str) -> list[str]:
        """The models (not the baselines) from best to worst by the mean of ``column`` (a column with no
        better direction, such as ``motion_offset``: by the mean's distance from 0)."""
        means = self.per_video[~self.per_video["row"].isin(BASELINES)].groupby("row")[column].mean()
        higher_better = SCORE_COLUMNS[column][1]
        if higher_better is None:
            return list(means.abs().sort_values().index)
        return list(means.sort_values(ascending=not higher_better).index)


def _auc_videos(views: Sequence[ClipView], per_class: int) -> set[int]:
    """Indices of the first ``per_class`` views of every label."""
    seen: dict[int | None, int] = {}
    chosen = set()
    for i, view in enumerate(views):
        if seen.get(view.label, 0) < per_class:
            chosen.add(i)
            seen[view.label] = seen.get(view.label, 0) + 1
    return chosen


def localisation_study(
    models: Mapping[str, nn.Module],
    views: Sequence[ClipView],
    class_names: Sequence[str],
    *,
    method: str = "cam",
    target: str = "label",
    normalise: str = "clip",
    auc_per_class: int = 2,
    auc_steps: int = 8,
    seed: int = 0,
) -> LocalisationStudy:
    """Explain every view (each must have a mask and a label) with every model and score the tubes.

    ``target``: ``'label'`` (the ground truth, default) or ``'predicted'``. Deletion and insertion
    (one forward pass per step) are measured on the first ``auc_per_class`` views of each class, for the
    tubes and for both baselines with every model.
    """
    if any(view.mask is None or view.label is None for view in views):
        raise ValueError("every view needs an object mask and a label: use held-out synthetic videos")
    auc_subset = _auc_videos(views, auc_per_class)
    rows, profiles = [], {}
    for name, model in models.items():
        device = next(model.parameters()).device
        model_profiles = []
        for i, view in enumerate(views):
            clip = view.clip.to(device)
            tube = explain_tube(model, clip, target, method, normalise, label=view.label)
            mask = torch.from_numpy(view.mask)
            model_profiles.append(temporal_profile(tube.volume.cpu()))
            common = {"model": name, "video": i, "label": view.label, "class_name": class_names[view.label]}
            candidates = {name: tube.volume.cpu(), UNIFORM: torch.ones(mask.shape, dtype=torch.float64),
                          MASK: mask.double(), MASK_AT_CELLS: mask_at_cells(mask, tuple(tube.raw.shape))}
            records = [{"row": row, **common, "correct": tube.predicted == view.label,
                        **mask_scores(volume, view.mask, view.distractors)}
                       for row, volume in candidates.items()]
            if i in auc_subset:
                curves = deletion_insertion(model, clip, list(candidates.values()), tube.target, auc_steps,
                                            seed=seed + i)
                for record, curve in zip(records, curves, strict=True):
                    record |= {"deletion_auc": curve.deletion_auc, "insertion_auc": curve.insertion_auc}
            rows += records
        profiles[name] = np.mean(model_profiles, axis=0)
    profiles[MASK] = np.mean([temporal_profile(view.mask) for view in views], axis=0)
    per_video = pd.DataFrame(rows).reindex(columns=["row", "model", "video", "label", "class_name", "correct",
                                                     *SCORE_COLUMNS])
    profile_frame = pd.DataFrame(profiles, index=pd.RangeIndex(len(profiles[MASK]), name="frame"))
    return LocalisationStudy(per_video, profile_frame, method, target)


def resolution_ceilings(views: Sequence[ClipView], strides: Sequence[int] = OUTPUT_STRIDES) -> pd.DataFrame:
    """What the output stride of the small backbones allows on ``views`` (each with a mask), before any
    model: per stride the cells of a tube per frame (the clip's frames kept, as the small backbones keep
    T) and the mean energy on the object of the mask drawn on those cells, alone and as a multiple of a
    uniform map's (the object's area)."""
    if any(view.mask is None for view in views):
        raise ValueError("every view needs an object mask: use held-out synthetic videos")
    masks = [torch.from_numpy(view.mask) for view in views]
    floor = float(np.mean([mask.double().mean() for mask in masks]))
    rows = []
    for stride in strides:
        cells = [(mask.shape[0], -(-mask.shape[1] // stride), -(-mask.shape[2] // stride)) for mask in masks]
        energy = float(np.mean([energy_in_mask(mask_at_cells(mask, grid), mask)
                                for mask, grid in zip(masks, cells, strict=True)]))
        rows.append({"output stride": stride, "cells per frame": f"{cells[0][1]} x {cells[0][2]}",
                     "best energy in mask": energy, "x uniform map": energy / floor})
    return pd.DataFrame(rows).set_index("output stride")


def _percent(value: float) -> str:
    return f"{100 * value:.1f} %"


def summary_sentences(study: LocalisationStudy) -> list[str]:
    """The study in words: one sentence per model with its accuracy and scores beside the baselines,
    then the rankings of the models by each score."""
    summary = study.summary()
    mean = lambda row, column: float(summary.loc[row, (column, "mean")])
    floor, ceiling = UNIFORM, MASK
    lines = []
    for name in study.models:
        energy, pointing, profile = (mean(name, c) for c in ("energy", "pointing", "profile_tv"))
        top1 = summary.loc[name, ("top1", "%")]
        cells = study.beside(MASK_AT_CELLS, name, "energy")
        text = (f"{name}: top-1 {top1:.1f} % on these clips; {_percent(energy)} of its saliency on the "
                f"moving object ({energy / mean(floor, 'energy'):.2f}x a uniform map, whose share is the "
                f"object's area, {_percent(mean(floor, 'energy'))}; a perfect tube on its grid of cells: "
                f"{cells / mean(floor, 'energy'):.2f}x); its peak falls on the object in "
                f"{_percent(pointing)} of frames (uniform {_percent(mean(floor, 'pointing'))}); "
                f"temporal profile distance {profile:.3f} (uniform {mean(floor, 'profile_tv'):.3f})")
        if not np.isnan(mean(name, "deletion_auc")):
            pairs = {row: f"{study.beside(row, name, 'deletion_auc'):.3f} / "
                          f"{study.beside(row, name, 'insertion_auc'):.3f}" for row in (name, floor, ceiling)}
            text += (f"; deletion / insertion AUC {pairs[name]} (uniform order {pairs[floor]}, object first "
                     f"{pairs[ceiling]})")
        lines.append(text + ".")
    for column, (label, higher_better) in SCORE_COLUMNS.items():
        if summary[(column, "mean")].loc[study.models].notna().all():
            order = " > ".join(study.ranking(column))
            better = {True: "higher", False: "lower", None: "closer to 0"}[higher_better]
            lines.append(f"Ranked by {label} ({better} is better): {order}.")
    return lines
