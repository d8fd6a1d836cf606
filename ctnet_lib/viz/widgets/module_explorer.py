"""Interactive CT-Module explorer: choose the module's knobs, see its cost formula term by term,
its channel-mixing matrices and a cost table beside C3D, R(2+1)D, CSN and the full 3D conv (eq. 1).

``ModuleExplorer`` holds the ipywidgets controls; every change calls ``update()``, which recomputes
``state`` (a ``ModuleExplorerState``) and, when ``live``, redraws the views. Tests set the controls'
``.value`` and read ``state``; no browser is needed.
"""

from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
import pandas as pd
from IPython.display import display

from ctnet_lib.analysis.counting.complexity import CONVENTIONS
from ctnet_lib.analysis.counting.formulas import ModuleCost, full_3d_conv_cost, temporal_module_cost
from ctnet_lib.analysis.fields.channel_mixing import mixing_matrices
from ctnet_lib.ops.channel_groups import channel_order
from ctnet_lib.ops.factorisation import FactorisationError
from ctnet_lib.ops.module_registry import baseline_kinds, ct_form
from ctnet_lib.ops.temporal_modules import TemporalModuleConfig
from ctnet_lib.viz.mixing_figures import mixing_figure_static
from ctnet_lib.viz.widgets.live_view import STYLE, LiveView, ModuleControls

CHANNEL_CHOICES = (8, 12, 16, 24, 32, 64, 128, 256, 512)


@dataclass(frozen=True)
class ModuleExplorerState:
    """What the explorer shows for the current controls (``error`` set and the rest empty if invalid)."""

    config: TemporalModuleConfig | None
    channels: int
    output_thw: tuple[int, int, int]
    cost: ModuleCost | None
    mixing_sizes: tuple[int, ...]
    mixing: tuple[np.ndarray, ...]
    comparison: pd.DataFrame
    error: str = ""


def cost_comparison(
    config: TemporalModuleConfig, channels: int, thw: tuple[int, int, int], convention: str = "paper"
) -> pd.DataFrame:
    """MACs and params of ``config``'s module beside C3D, R(2+1)D, CSN and eq. 1 at the same shape.

    Columns: module, macs, params, macs_vs_full3d (fraction of the full 3D conv's MACs).
    """
    baselines = {kind.label: TemporalModuleConfig(kind=kind.name) for kind in baseline_kinds()}
    rows = []
    for label, module_config in {"this module": config, **baselines}.items():
        cost = temporal_module_cost(channels, module_config, *thw, convention)
        rows.append({"module": label, "macs": cost.macs, "params": cost.params})
    full_macs, full_params = full_3d_conv_cost(channels, *thw)
    rows.append({"module": "full 3D conv, eq. 1", "macs": full_macs, "params": full_params})
    frame = pd.DataFrame(rows)
    frame["macs_vs_full3d"] = frame["macs"] / full_macs
    return frame


class ModuleExplorer(LiveView):
    """Widgets: module kind, C, K, last sub-dimension size, kernels, connection, PWConv, excitation,
    output T and H = W, and the counting convention."""

    tab_titles = ("formula terms", "cost table", "channel mixing")

    def __init__(self, channels: int = 64, frames: int = 8, size: int = 56, kind: str = "ct",
                 num_sub_dims: int = 2, last_sub_dim: str | int = "balanced", kernels: str = "3",
                 connection: str = "parallel", pwconv: bool = False, excitation: str = "none",
                 live: bool = True) -> None:
        self.module = ModuleControls(channels, CHANNEL_CHOICES, kind, num_sub_dims, last_sub_dim, kernels,
                                     connection, pwconv, excitation)
        self.frames = widgets.IntSlider(value=frames, min=1, max=32, description="frames T", style=STYLE)
        self.size = widgets.IntSlider(value=size, min=1, max=128, description="H = W", style=STYLE)
        self.convention = widgets.Dropdown(options=CONVENTIONS, value="paper", description="convention",
                                           style=STYLE)
        self.group_order = widgets.Checkbox(value=True, description="order by step-1 groups")
        self.views = {name: widgets.Output() for name in ("terms", "comparison", "mixing")}
        self.live = live
        self.state = ModuleExplorerState(None, channels, (frames, size, size), None, (), (), pd.DataFrame())
        self.connect()

    @property
    def controls(self) -> list[widgets.Widget]:
        return [*self.module.controls, self.frames, self.size, self.convention, self.group_order]

    def config(self) -> TemporalModuleConfig:
        """The configuration the controls describe (raises ValueError when invalid)."""
        return self.module.config()

    def compute(self) -> ModuleExplorerState:
        self.module.sync_last_sub_dim()
        return self._compute()

    def _compute(self) -> ModuleExplorerState:
        channels = self.module.channels.value
        thw = (self.frames.value, self.size.value, self.size.value)
        try:
            config = self.config()
            cost = temporal_module_cost(channels, config, *thw, self.convention.value)
            as_ct = ct_form(config)
            sizes = as_ct.sizes(channels) if as_ct else ()
            comparison = cost_comparison(config, channels, thw, self.convention.value)
            mixing = tuple(mixing_matrices(sizes, as_ct.pwconv)) if as_ct else ()
            return ModuleExplorerState(config, channels, thw, cost, sizes, mixing, comparison)
        except (ValueError, FactorisationError) as error:
            return ModuleExplorerState(None, channels, thw, None, (), (), pd.DataFrame(), str(error))

    def status_html(self) -> str:
        cost = self.state.cost
        if cost is None:
            return f"<b style='color:#b00'>invalid settings:</b> {self.state.error}"
        return (f"sizes <b>{' x '.join(map(str, cost.sizes))}</b>: <b>{cost.macs / 1e6:,.2f}</b> MMACs, "
                f"<b>{cost.params:,}</b> params ({cost.convention} convention)")

    def render(self) -> None:
        if self.state.cost is None:
            return
        with self.views["terms"]:
            display(self.state.cost.table)
            display(self.state.cost.summary())
        with self.views["comparison"]:
            display(self.state.comparison)
        order = channel_order(self.state.mixing_sizes, 0) if self.group_order.value else None
        with self.views["mixing"]:
            display(mixing_figure_static(self.state.mixing, order))
