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

from ctnet_lib.analysis.channel_mixing import channel_order, mixing_matrices
from ctnet_lib.analysis.complexity import CONVENTIONS
from ctnet_lib.analysis.equivalence import EQUIVALENT_CT_CONFIGS
from ctnet_lib.analysis.formulas import ModuleCost, divisors, full_3d_conv_cost, temporal_module_cost
from ctnet_lib.ops.factorisation import FactorisationError, factorise
from ctnet_lib.ops.temporal_modules import TemporalModuleConfig
from ctnet_lib.viz.mixing_figures import mixing_figure_static

KINDS = (("CT-Module", "ct"), ("C3D", "c3d"), ("R(2+1)D", "r2plus1d"), ("CSN", "csn"))
CHANNEL_CHOICES = (8, 12, 16, 24, 32, 64, 128, 256, 512)
BASELINE_LABELS = {"c3d": "C3D", "r2plus1d": "R(2+1)D", "csn": "CSN"}


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


def parse_kernels(text: str) -> tuple[int, ...]:
    """'3,5' -> (3, 5); raises ValueError naming the text when it holds a non-integer."""
    try:
        return tuple(int(k) for k in text.replace(" ", "").split(",") if k)
    except ValueError:
        raise ValueError(f"kernels {text!r} must be comma-separated odd integers such as 3 or 1,3") from None


def cost_comparison(
    config: TemporalModuleConfig, channels: int, thw: tuple[int, int, int], convention: str = "paper"
) -> pd.DataFrame:
    """MACs and params of ``config``'s module beside C3D, R(2+1)D, CSN and eq. 1 at the same shape.

    Columns: module, macs, params, macs_vs_full3d (fraction of the full 3D conv's MACs).
    """
    baselines = {label: TemporalModuleConfig(kind=kind) for kind, label in BASELINE_LABELS.items()}
    rows = []
    for label, module_config in {"this module": config, **baselines}.items():
        cost = temporal_module_cost(channels, module_config, *thw, convention)
        rows.append({"module": label, "macs": cost.macs, "params": cost.params})
    full_macs, full_params = full_3d_conv_cost(channels, *thw)
    rows.append({"module": "full 3D conv, eq. 1", "macs": full_macs, "params": full_params})
    frame = pd.DataFrame(rows)
    frame["macs_vs_full3d"] = frame["macs"] / full_macs
    return frame


class ModuleExplorer:
    """Widgets: module kind, C, K, last sub-dimension size, kernels, connection, PWConv, excitation,
    output T and H = W, and the counting convention."""

    def __init__(self, channels: int = 64, frames: int = 8, size: int = 56, kind: str = "ct",
                 num_sub_dims: int = 2, last_sub_dim: str | int = "balanced", kernels: str = "3",
                 connection: str = "parallel", pwconv: bool = False, excitation: str = "none",
                 live: bool = True) -> None:
        style = {"description_width": "9em"}
        self.kind = widgets.Dropdown(options=KINDS, value=kind, description="module", style=style)
        self.channels = widgets.Dropdown(options=sorted({*CHANNEL_CHOICES, channels}), value=channels,
                                         description="channels C", style=style)
        self.num_sub_dims = widgets.IntSlider(value=num_sub_dims, min=1, max=4, description="K", style=style)
        last = last_sub_dim if last_sub_dim == "balanced" else int(last_sub_dim)
        self.last_sub_dim = widgets.Dropdown(options=["balanced", *divisors(channels)], value=last,
                                             description="last size CK", style=style)
        self.kernels = widgets.Text(value=kernels, description="kernels (1st..Kth)", style=style,
                                    continuous_update=False)
        self.connection = widgets.Dropdown(options=["parallel", "serial", "coupled"], value=connection,
                                           description="connection", style=style)
        self.pwconv = widgets.Checkbox(value=pwconv, description="PWConv between sub-ops")
        self.excitation = widgets.Dropdown(options=["none", "se", "te"], value=excitation,
                                           description="excitation", style=style)
        self.frames = widgets.IntSlider(value=frames, min=1, max=32, description="frames T", style=style)
        self.size = widgets.IntSlider(value=size, min=1, max=128, description="H = W", style=style)
        self.convention = widgets.Dropdown(options=CONVENTIONS, value="paper", description="convention",
                                           style=style)
        self.group_order = widgets.Checkbox(value=True, description="order channels by step-1 groups")
        self.status = widgets.HTML()
        self.views = {name: widgets.Output() for name in ("terms", "comparison", "mixing")}
        self.live = live
        self.state = ModuleExplorerState(None, channels, (frames, size, size), None, (), (), pd.DataFrame())
        self._updating = False
        for control in self.controls:
            control.observe(self.update, names="value")
        self.update()

    @property
    def controls(self) -> list[widgets.Widget]:
        return [self.kind, self.channels, self.num_sub_dims, self.last_sub_dim, self.kernels, self.connection,
                self.pwconv, self.excitation, self.frames, self.size, self.convention, self.group_order]

    @property
    def ui(self) -> widgets.Widget:
        """Controls on the left, the views in tabs on the right."""
        tabs = widgets.Tab(children=list(self.views.values()))
        for i, title in enumerate(("formula terms", "cost table", "channel mixing")):
            tabs.set_title(i, title)
        return widgets.HBox([widgets.VBox([*self.controls, self.status]), tabs])

    def config(self) -> TemporalModuleConfig:
        """The configuration the controls describe (raises ValueError when invalid)."""
        last = self.last_sub_dim.value
        return TemporalModuleConfig(
            kind=self.kind.value, num_sub_dims=self.num_sub_dims.value,
            last_sub_dim=None if last == "balanced" else int(last), kernels=parse_kernels(self.kernels.value),
            connection=self.connection.value, pwconv=self.pwconv.value, excitation=self.excitation.value,
        )

    def _sync_last_sub_dim(self) -> None:
        options = ["balanced", *divisors(self.channels.value)]
        if list(self.last_sub_dim.options) != options:
            value = self.last_sub_dim.value
            self.last_sub_dim.options = options
            self.last_sub_dim.value = value if value in options else "balanced"

    def _compute(self) -> ModuleExplorerState:
        channels = self.channels.value
        thw = (self.frames.value, self.size.value, self.size.value)
        try:
            config = self.config()
            cost = temporal_module_cost(channels, config, *thw, self.convention.value)
            mixing_config = config if config.kind == "ct" else EQUIVALENT_CT_CONFIGS[config.kind]
            sizes = factorise(channels, mixing_config.num_sub_dims, mixing_config.last_sub_dim)
            comparison = cost_comparison(config, channels, thw, self.convention.value)
            mixing = tuple(mixing_matrices(sizes, config.pwconv and config.kind == "ct"))
            return ModuleExplorerState(config, channels, thw, cost, sizes, mixing, comparison)
        except (ValueError, FactorisationError) as error:
            return ModuleExplorerState(None, channels, thw, None, (), (), pd.DataFrame(), str(error))

    def update(self, _change: object = None) -> ModuleExplorerState:
        """Recompute ``state`` from the controls (and redraw the views when ``live``)."""
        if self._updating:
            return self.state
        self._updating = True
        try:
            self._sync_last_sub_dim()
            self.state = self._compute()
        finally:
            self._updating = False
        self.status.value = self._status_html()
        if self.live:
            self.render()
        return self.state

    def _status_html(self) -> str:
        cost = self.state.cost
        if cost is None:
            return f"<b style='color:#b00'>invalid settings:</b> {self.state.error}"
        return (f"sizes <b>{' x '.join(map(str, cost.sizes))}</b>: <b>{cost.macs / 1e6:,.2f}</b> MMACs, "
                f"<b>{cost.params:,}</b> params ({cost.convention} convention)")

    def render(self) -> None:
        """Redraw every view for the current state."""
        for output in self.views.values():
            output.clear_output(wait=True)
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
