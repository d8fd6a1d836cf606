"""The paper's Figure 3, regenerated from the zoo: rows R(2+1)D, CSN and CT-Net, columns the clip's 8 frames,
the object outlined, on held-out clips chosen by a stated rule; beside it the localisation study of every
zoo model, its intervals and the three claims in words (``ctnet figure3``); with ``training_seeds``, the
same study for Figure 3's models trained again with other seeds (``explain.seed_study``).

Clip rule (:func:`choose_clips`): the held-out clip that all three models classify correctly on which
their energy on the object differs most (largest max - min), then one clip drawn at random (``seed``)
from the rest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from torch import nn

from ctnet_lib.explain.claims import claim_sentences, intervals_table
from ctnet_lib.explain.clips import ClipView, held_out_views
from ctnet_lib.explain.methods import METHODS, explain_tube
from ctnet_lib.explain.seed_study import claims_by_seed, seed_studies, seed_table, train_seeds
from ctnet_lib.explain.study import LocalisationStudy, localisation_study, summary_sentences
from ctnet_lib.io_utils import atomic_write_text
from ctnet_lib.train.zoo import ZOO_MODELS, load_models, read_manifest, zoo_recipe
from ctnet_lib.viz.saliency_export import save_figure_png
from ctnet_lib.viz.saliency_figures import draw_frame_grid

__all__ = ["FIGURE3_ROWS", "Figure3Result", "choose_clips", "figure3", "markdown_intervals", "markdown_table",
           "regenerate_figure3"]

FIGURE3_ROWS = {"r2plus1d_small": "R(2+1)D", "csn_small": "CSN", "ctnet_small": "CT-Net"}


def choose_clips(study: LocalisationStudy, rows: Sequence[str], seed: int = 0) -> list[tuple[int, str]]:
    """(video, reason) pairs: the clip where ``rows``' energy on the object differs most among those all
    of them classify correctly (all clips when none is), then a random other clip."""
    frame = study.per_video[study.per_video["row"].isin(rows)]
    energy = frame.pivot_table(index="video", columns="row", values="energy")
    correct = frame.pivot_table(index="video", columns="row", values="correct").all(axis=1)
    spread = (energy.max(axis=1) - energy.min(axis=1))[correct if correct.any() else slice(None)]
    widest = int(spread.idxmax())
    others = [video for video in energy.index if video != widest]
    drawn = int(np.random.default_rng(seed).choice(others))
    return [(widest, f"energy on the object differs most ({spread.max():.2f})"),
            (drawn, f"random (seed {seed})")]


def figure3(models: Mapping[str, nn.Module], views: Sequence[ClipView], chosen: Sequence[tuple[int, str]],
            class_names: Sequence[str], method: str = "cam") -> Figure:
    """One block per chosen clip: the clip with the object outlined, then each model's tube (the true
    class, normalised per clip) with the outline, 8 frames per row."""
    figure = Figure(figsize=(14, 5.6 * len(chosen)), layout="constrained")
    blocks = figure.subfigures(len(chosen), 1, squeeze=False)[:, 0]
    for block, (video, reason) in zip(blocks, chosen, strict=True):
        view = views[video]
        tubes = {FIGURE3_ROWS.get(name, name): explain_tube(model, view.clip, "label", method,
                                                            label=view.label)
                 for name, model in models.items()}
        predicted = ", ".join(f"{row}: {class_names[t.predicted]}" for row, t in tubes.items())
        title = (f"held-out clip {video} ({class_names[view.label]}), {reason}; {METHODS[method].label} of "
                 f"the true class; predicted {predicted}")
        draw_frame_grid(block, view.frames, {row: t.volume for row, t in tubes.items()}, view.mask, title,
                        [f"frame {i}" for i in view.indices], outline_tubes=True)
    return figure


def markdown_table(frame: pd.DataFrame) -> str:
    """``frame`` as a Markdown table, its index (one or more levels) first."""
    flat = frame.reset_index()
    lines = ["| " + " | ".join(map(str, flat.columns)) + " |", "|---" * len(flat.columns) + "|"]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in flat.itertuples(index=False)]
    return "\n".join(lines)


def markdown_intervals(intervals: pd.DataFrame) -> str:
    """:func:`intervals_table` as a Markdown table: one row per model, 'mean [low, high]' per score."""
    scores = list(dict.fromkeys(column for column, _ in intervals.columns))
    lines = ["| row | " + " | ".join(scores) + " |", "|---" * (len(scores) + 1) + "|"]
    for row, values in intervals.iterrows():
        cells = [f"{values[(s, 'mean')]:.3f} [{values[(s, 'low')]:.3f}, {values[(s, 'high')]:.3f}]"
                 if not np.isnan(values[(s, "mean")]) else "" for s in scores]
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


@dataclass(frozen=True)
class Figure3Result:
    """What :func:`regenerate_figure3` measured and wrote."""

    study: LocalisationStudy
    intervals: pd.DataFrame
    sentences: list[str]
    written: list[Path]


def regenerate_figure3(out: str | Path = "docs/figure3.png", study_dir: str | Path = "docs/figure3",
                       models: Sequence[str] = ZOO_MODELS, device: str = "cpu", seed: int = 0,
                       auc_per_class: int = 0, training_seeds: Sequence[int] = ()) -> Figure3Result:
    """Run the localisation study on every held-out clip with the zoo's ``models``; write Figure 3 to
    ``out`` (PNG) and into ``study_dir`` the per-clip scores (``per_video.csv``), the means with bootstrap
    95 % intervals (``intervals.csv``) and the claims in words (``claims.md``). Deletion and insertion
    curves (one forward pass per step) are measured on ``auc_per_class`` clips per class (0: none). With
    ``training_seeds``, Figure 3's models are trained with those seeds too (the zoo's recipe; long on a
    CPU, resumable) and ``seeds.csv`` and a section of ``claims.md`` give every seed's scores and whether
    each claim's verdict is the same for all of them (the zoo's models are seed 0)."""
    trained, _ = load_models("zoo", models, zoo_recipe(), device)
    first = trained[models[0]]
    views = held_out_views(first.config)
    study = localisation_study({name: t.model for name, t in trained.items()}, views, first.class_names,
                               auc_per_class=auc_per_class, seed=seed)
    intervals = intervals_table(study, seed)
    rows = [name for name in FIGURE3_ROWS if name in trained]
    sentences = summary_sentences(study)
    if len(rows) == len(FIGURE3_ROWS):
        sentences += claim_sentences(study, "ctnet_small", "r2plus1d_small", "csn_small")
    chosen = choose_clips(study, rows or list(trained), seed)
    figure = figure3({name: trained[name].model for name in rows or trained}, views, chosen,
                     first.class_names)
    folder = Path(study_dir)
    manifest = read_manifest()
    accuracy = ", ".join(f"{name} {manifest[name]['held_out_top1']:.1f} %" for name in models)
    text = (f"# Figure 3, measured\n\n{len(views)} held-out clips, models of the zoo (held-out top-1: "
            f"{accuracy}); clips of the figure: {'; '.join(f'{v} ({r})' for v, r in chosen)}.\n\n"
            + "\n\n".join(sentences) + "\n\n## Means and bootstrap 95 % intervals\n\n"
            + markdown_intervals(intervals) + "\n")
    seeds_csv = []
    if training_seeds and len(rows) == len(FIGURE3_ROWS):
        studies = {int(trained[rows[0]].config.seed): study, **seed_studies(
            train_seeds(rows, training_seeds), views, first.class_names, seed)}
        table = seed_table(studies).loc[rows]
        text += ("\n## Across training seeds\n\nThe zoo's recipe trained again with other seeds; the same "
                 f"{len(views)} clips. Per model and seed:\n\n{markdown_table(table.round(3))}\n\nThe "
                 "verdict of each claim per seed (robust: the same for every seed):\n\n"
                 f"{markdown_table(claims_by_seed(studies))}\n")
        seeds_csv = [atomic_write_text(folder / "seeds.csv", table.to_csv())]
    folder.mkdir(parents=True, exist_ok=True)
    written = [save_figure_png(out, figure, dpi=80),
               atomic_write_text(folder / "per_video.csv", study.per_video.to_csv(index=False)),
               atomic_write_text(folder / "intervals.csv", intervals.to_csv()),
               atomic_write_text(folder / "claims.md", text), *seeds_csv]
    return Figure3Result(study, intervals, sentences, [Path(path) for path in written])
