"""Interactive saliency explorer: pick a held-out clip, a model, a method and a target; see the tube on
one frame, in 3D with the object's mask, and its localisation scores.

Tubes are cached per (clip, model, method, target, normalisation), so moving the frame or threshold
sliders redraws without recomputing. ``state`` is computed without a browser: tests set the controls'
``.value`` and read it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import ipywidgets as widgets
import pandas as pd
import torch
from IPython.display import display
from torch import nn

from ctnet_lib.explain.clips import ClipView
from ctnet_lib.explain.methods import METHODS, Tube, explain_tube
from ctnet_lib.explain.scores import mask_scores
from ctnet_lib.explain.study import SCORE_COLUMNS
from ctnet_lib.explain.volumes import NORMALISATIONS
from ctnet_lib.viz.saliency_figures import frame_detail_figure, tube_3d_figure
from ctnet_lib.viz.widgets.live_view import STYLE, LiveView

__all__ = ["SaliencyExplorer", "SaliencyState"]


@dataclass(frozen=True)
class SaliencyState:
    """The shown tube, its clip and frame, and its scores against the clip's mask (empty without one)."""

    tube: Tube | None
    view: ClipView
    frame: int
    threshold: float
    scores: dict[str, float] = field(default_factory=dict)
    error: str = ""


class SaliencyExplorer(LiveView):
    """Widgets: clip, model, method, target ('label', 'predicted' or a class), normalisation, frame and
    the threshold of the 3D surface."""

    tab_titles = ("frame", "3D tube", "scores")

    def __init__(self, models: Mapping[str, nn.Module], views: Sequence[ClipView], class_names: Sequence[str],
                 method: str = "cam", live: bool = True) -> None:
        if not views:
            raise ValueError("the explorer needs at least one clip")
        self.models, self.views_list, self.class_names = dict(models), list(views), list(class_names)
        dropdown = lambda description, options, value: widgets.Dropdown(
            options=options, value=value, description=description, style=STYLE)
        clip_options = [(f"{i}: {self._clip_name(view)}", i) for i, view in enumerate(self.views_list)]
        self.clip = dropdown("clip", clip_options, 0)
        self.model = dropdown("model", list(self.models), list(self.models)[-1])
        self.method = dropdown("method", [(m.label, name) for name, m in METHODS.items()], method)
        targets = [("true class", "label"), ("predicted class", "predicted"),
                   *[(f"class {i}: {name}", i) for i, name in enumerate(self.class_names)]]
        self.target = dropdown("target", targets, "label")
        self.normalise = dropdown("normalise over", list(NORMALISATIONS), "clip")
        frames = self.views_list[0].clip.shape[1]
        self.frame = widgets.IntSlider(value=frames // 2, min=0, max=frames - 1, description="frame",
                                       style=STYLE)
        self.threshold = widgets.FloatSlider(value=0.5, min=0.05, max=0.95, step=0.05, style=STYLE,
                                             description="3D threshold", continuous_update=False)
        self.views = {name: widgets.Output() for name in ("frame", "3d", "scores")}
        self.live = live
        self._tubes: dict[tuple, Tube] = {}
        self.state = SaliencyState(None, self.views_list[0], 0, 0.5)
        self.connect()

    def _clip_name(self, view: ClipView) -> str:
        return self.class_names[view.label] if view.label is not None else view.path.name

    @property
    def controls(self) -> list[widgets.Widget]:
        return [self.clip, self.model, self.method, self.target, self.normalise, self.frame, self.threshold]

    def _tube(self, view: ClipView) -> Tube:
        key = (self.clip.value, self.model.value, self.method.value, self.target.value, self.normalise.value)
        if key not in self._tubes:
            model = self.models[self.model.value]
            device = next(model.parameters()).device
            self._tubes[key] = explain_tube(model, view.clip.to(device), self.target.value, self.method.value,
                                            self.normalise.value, label=view.label)
        return self._tubes[key]

    def compute(self) -> SaliencyState:
        view = self.views_list[self.clip.value]
        self.frame.max = view.clip.shape[1] - 1
        try:
            tube = self._tube(view)
        except ValueError as error:
            return SaliencyState(None, view, self.frame.value, self.threshold.value, error=str(error))
        scores = {}
        if view.mask is not None:
            measured = mask_scores(tube.volume.cpu(), view.mask, view.distractors)
            scores = {SCORE_COLUMNS[name][0]: value for name, value in measured.items()}
        return SaliencyState(tube, view, self.frame.value, self.threshold.value, scores)

    def status_html(self) -> str:
        state = self.state
        if state.tube is None:
            return f"<b style='color:#b00'>cannot explain:</b> {state.error}"
        probabilities = torch.softmax(state.tube.logits.float(), dim=-1)
        truth = "" if state.view.label is None else f"true <b>{self.class_names[state.view.label]}</b>, "
        return (f"{truth}predicted <b>{self.class_names[state.tube.predicted]}</b> "
                f"({probabilities[state.tube.predicted]:.2f}); explaining "
                f"<b>{self.class_names[state.tube.target]}</b>")

    def render(self) -> None:
        state = self.state
        if state.tube is None:
            return
        volume = state.tube.volume.cpu().numpy()
        with self.views["frame"]:
            title = f"{self.model.value}, frame {state.frame}"
            display(frame_detail_figure(state.view.frames, volume, state.view.mask, state.frame,
                                        state.threshold, title))
        with self.views["3d"]:
            display(tube_3d_figure(volume, state.view.mask, state.threshold, f"{self.model.value}: the tube"))
        with self.views["scores"]:
            display(pd.Series(state.scores, name=self.model.value, dtype=float).round(3).to_frame())
