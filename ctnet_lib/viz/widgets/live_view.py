"""Shared parts of the explorers: the temporal-module controls and the recompute-then-redraw loop.

An explorer subclasses ``LiveView``: its controls call ``update()`` on every change, which computes a
new ``state`` without any browser (tests set ``.value`` and read ``state``) and, when ``live``,
clears and redraws the output views.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

from ctnet_lib.analysis.counting.formulas import divisors
from ctnet_lib.ops.module_registry import module_kinds
from ctnet_lib.ops.temporal_modules import TemporalModuleConfig
from ctnet_lib.options import parse_kernels

STYLE = {"description_width": "9em"}
# the explorer layout: controls keep their width, the views take the rest (at least VIEW_MIN_WIDTH, so a
# 3D view gets 500 px) and wrap below the controls when the notebook is narrower than both
CONTROLS_WIDTH = "320px"
VIEW_MIN_WIDTH = "560px"
VIEW_HEIGHT = "580px"  # every tab the same height: switching tabs does not move the page


class ModuleControls:
    """Widgets describing one temporal module: kind, C, K, last sub-dimension size, kernels,
    connection, PWConv and (when ``excitation`` is given) the excitation."""

    def __init__(self, channels: int, channel_choices: tuple[int, ...], kind: str = "ct",
                 num_sub_dims: int = 2, last_sub_dim: str | int = "balanced", kernels: str = "3",
                 connection: str = "parallel", pwconv: bool = False, excitation: str | None = None) -> None:
        kinds = [(entry.label, entry.name) for entry in module_kinds()]
        self.kind = widgets.Dropdown(options=kinds, value=kind, description="module", style=STYLE)
        self.channels = widgets.Dropdown(options=sorted({*channel_choices, channels}), value=channels,
                                         description="channels C", style=STYLE)
        self.num_sub_dims = widgets.IntSlider(value=num_sub_dims, min=1, max=4, description="K", style=STYLE,
                                              continuous_update=False)
        last = last_sub_dim if last_sub_dim == "balanced" else int(last_sub_dim)
        self.last_sub_dim = widgets.Dropdown(options=["balanced", *divisors(channels)], value=last,
                                             description="last size CK", style=STYLE)
        self.kernels = widgets.Text(value=kernels, description="kernels (1st..Kth)", style=STYLE,
                                    continuous_update=False)
        self.connection = widgets.Dropdown(options=["parallel", "serial", "coupled"], value=connection,
                                           description="connection", style=STYLE)
        self.pwconv = widgets.Checkbox(value=pwconv, description="PWConv between sub-ops")
        self.excitation = None if excitation is None else widgets.Dropdown(
            options=["none", "se", "te"], value=excitation, description="excitation", style=STYLE)

    @property
    def controls(self) -> list[widgets.Widget]:
        shown = [self.kind, self.channels, self.num_sub_dims, self.last_sub_dim, self.kernels,
                 self.connection, self.pwconv]
        return shown if self.excitation is None else [*shown, self.excitation]

    def config(self) -> TemporalModuleConfig:
        """The configuration the controls describe (raises ValueError when it is invalid)."""
        last = self.last_sub_dim.value
        return TemporalModuleConfig(
            kind=self.kind.value, num_sub_dims=self.num_sub_dims.value,
            last_sub_dim=None if last == "balanced" else int(last), kernels=parse_kernels(self.kernels.value),
            connection=self.connection.value, pwconv=self.pwconv.value,
            excitation="none" if self.excitation is None else self.excitation.value,
        )

    def sync_last_sub_dim(self) -> None:
        """Offer exactly the divisors of the current C (keeping the chosen size when it still divides)."""
        options = ["balanced", *divisors(self.channels.value)]
        if list(self.last_sub_dim.options) != options:
            value = self.last_sub_dim.value
            self.last_sub_dim.options = options
            self.last_sub_dim.value = value if value in options else "balanced"


class LiveView:
    """Base of an explorer. Subclasses set ``views`` (name -> Output), ``tab_titles``, ``live`` and
    ``state``, list their ``controls``, and implement ``compute``, ``status_html`` and ``render``;
    then call ``connect()`` once at the end of ``__init__``."""

    tab_titles: tuple[str, ...] = ()
    views: dict[str, widgets.Output]
    live: bool
    state: Any

    @property
    def controls(self) -> list[widgets.Widget]:
        raise NotImplementedError

    def compute(self) -> Any:
        """The new state for the current control values (never raises for bad settings)."""
        raise NotImplementedError

    def status_html(self) -> str:
        raise NotImplementedError

    def render(self) -> None:
        """Draw the current state into ``views`` (already cleared)."""
        raise NotImplementedError

    def connect(self) -> None:
        self.status = widgets.HTML()
        self._updating = False
        for control in self.controls:
            control.observe(self.update, names="value")
        self.update()

    def update(self, _change: object = None) -> Any:
        """Recompute ``state`` from the controls (and redraw the views when ``live``)."""
        if self._updating:
            return self.state
        self._updating = True
        try:
            self.state = self.compute()
        finally:
            self._updating = False
        # the status wraps inside the controls column instead of running past it
        self.status.value = f"<div style='white-space: normal'>{self.status_html()}</div>"
        if self.live:
            for output in self.views.values():
                output.clear_output(wait=True)
            self.render()
        return self.state

    @property
    def ui(self) -> widgets.Widget:
        """Controls and status on the left, the views in tabs on the right (below when narrow)."""
        for output in self.views.values():
            output.layout = widgets.Layout(height=VIEW_HEIGHT, overflow="auto")
        tabs = widgets.Tab(children=list(self.views.values()),
                           layout=widgets.Layout(flex=f"1 1 {VIEW_MIN_WIDTH}", min_width=VIEW_MIN_WIDTH))
        for i, title in enumerate(self.tab_titles):
            tabs.set_title(i, title)
        controls = widgets.VBox([*self.controls, self.status],
                                layout=widgets.Layout(width=CONTROLS_WIDTH, flex="0 0 auto"))
        return widgets.HBox([controls, tabs], layout=widgets.Layout(flex_flow="row wrap", width="100%"))
