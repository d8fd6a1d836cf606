"""Interactive cost sweep: C2, K or the kernel sizes of the CT-Module at one ResNet-50 stage.

``cost_sweep`` computes the table (closed-form module MACs and params at the stage's shape and,
optionally, whole-network GMACs of ResNet-50 with the module in the paper's 7 blocks). ``CostSweep``
holds the ipywidgets; each change calls ``update()``, which recomputes ``state`` (a ``SweepState``)
and, when ``live``, redraws. Tests set the controls' ``.value`` and read ``state``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import ipywidgets as widgets
import pandas as pd
from IPython.display import display
from matplotlib.figure import Figure

from ctnet_lib.analysis.counting.formulas import divisors, network_cost, temporal_module_cost
from ctnet_lib.analysis.timing.latency_tables import resnet50_stage_shapes
from ctnet_lib.models.block_selection import LAYER_NAMES
from ctnet_lib.ops.factorisation import FactorisationError, prime_factor_count
from ctnet_lib.ops.temporal_modules import TemporalModuleConfig
from ctnet_lib.options import parse_kernels
from ctnet_lib.viz.widgets.live_view import STYLE, LiveView

SWEEPS = ("C2", "K", "kernels")
STAGES = LAYER_NAMES
KERNEL_CHOICES = (1, 3, 5)


def sweep_settings(
    sweep: str, channels: int, base: TemporalModuleConfig
) -> list[tuple[str, TemporalModuleConfig]]:
    """(label, config) per setting: C2 over the divisors of C (K=2; ``base``'s kernels if it has K=2,
    else its first kernel for both), K over 1..4 (where C has enough prime factors for balanced sizes),
    or kernels over {1, 3, 5}^K."""
    if sweep == "C2":
        kernels = base.kernel_per_sub_dim if base.num_sub_dims == 2 else base.kernel_per_sub_dim[:1]
        base = base.with_options(num_sub_dims=2, kernels=kernels)
        return [(str(c2), base.with_options(last_sub_dim=c2)) for c2 in divisors(channels)]
    if sweep == "K":
        if len(set(base.kernel_per_sub_dim)) != 1:
            raise ValueError(f"the K sweep needs one kernel size for every sub-dimension, got {base.kernels}")
        kernel = base.kernel_per_sub_dim[0]
        return [(str(k), base.with_options(num_sub_dims=k, last_sub_dim=None, kernels=(kernel,)))
                for k in range(1, 5) if k == 1 or prime_factor_count(channels) >= k]
    if sweep == "kernels":
        return [(",".join(map(str, kernels)), base.with_options(kernels=kernels))
                for kernels in itertools.product(KERNEL_CHOICES, repeat=base.num_sub_dims)]
    raise ValueError(f"sweep {sweep!r} is not one of {SWEEPS}")


def cost_sweep(
    sweep: str,
    stage: str = "layer3",
    base: TemporalModuleConfig | None = None,
    resolution: int = 256,
    frames: int = 8,
    include_network: bool = False,
) -> pd.DataFrame:
    """One row per setting: setting, sizes, macs, params (module at ``stage``), network_gmacs (NaN when
    not asked or not valid for every stage), is_min (least module MACs)."""
    if stage not in STAGES:
        raise ValueError(f"stage {stage!r} is not one of {STAGES}")
    base = base or TemporalModuleConfig()
    shape = resnet50_stage_shapes(resolution, frames)[STAGES.index(stage)]
    rows = []
    for label, config in sweep_settings(sweep, shape.channels, base):
        cost = temporal_module_cost(shape.channels, config, frames, shape.height, shape.width)
        network = _network_gmacs(config, frames, resolution) if include_network else math.nan
        rows.append({"setting": label, "sizes": cost.sizes, "macs": cost.macs, "params": cost.params,
                     "network_gmacs": network})
    table = pd.DataFrame(rows)
    table["is_min"] = table["macs"] == table["macs"].min()
    return table


def _network_gmacs(config: TemporalModuleConfig, frames: int, resolution: int) -> float:
    try:
        return network_cost(config, frames, resolution).gmacs
    except FactorisationError:
        return math.nan


def sweep_figure_static(table: pd.DataFrame, sweep: str, stage: str) -> Figure:
    """Module MMACs per setting (bars, the minimum in red) and network GMACs (line) when present."""
    figure = Figure(figsize=(7, 3.4), layout="constrained")
    axes = figure.add_subplot()
    colours = ["crimson" if best else "tab:blue" for best in table["is_min"]]
    axes.bar(table["setting"], table["macs"] / 1e6, color=colours)
    axes.set(xlabel=sweep, ylabel=f"module MMACs at {stage}", title=f"Sweep of {sweep} at {stage}")
    axes.tick_params(axis="x", labelrotation=45 if len(table) > 8 else 0)
    if table["network_gmacs"].notna().any():
        twin = axes.twinx()
        twin.plot(table["setting"], table["network_gmacs"], "k.-")
        twin.set_ylabel("ResNet-50 GMACs")
    return figure


@dataclass(frozen=True)
class SweepState:
    """The current sweep: its table (empty with ``error`` set when the settings are invalid)."""

    sweep: str
    stage: str
    table: pd.DataFrame
    error: str = ""

    @property
    def best(self) -> list[str]:
        """Settings with the least module MACs."""
        return [] if self.table.empty else list(self.table.loc[self.table["is_min"], "setting"])


class CostSweep(LiveView):
    """Widgets: sweep (C2 / K / kernels), stage, input resolution and frames, the fixed knobs (K,
    kernels, connection, PWConv, excitation) and whether to add whole-network GMACs."""

    tab_titles = ("figure", "table")

    def __init__(self, sweep: str = "C2", stage: str = "layer3", resolution: int = 256,
                 frames: int = 8, include_network: bool = False, live: bool = True) -> None:
        self.sweep = widgets.ToggleButtons(options=SWEEPS, value=sweep, description="sweep",
                                           style={**STYLE, "button_width": "4.5em"})
        self.stage = widgets.Dropdown(options=STAGES, value=stage, description="ResNet stage", style=STYLE)
        self.resolution = widgets.Dropdown(options=sorted({112, 160, 224, 256, resolution}),
                                           value=resolution, description="input pixels", style=STYLE)
        self.frames = widgets.IntSlider(value=frames, min=1, max=32, description="frames T", style=STYLE)
        self.num_sub_dims = widgets.IntSlider(value=2, min=1, max=4, description="K (fixed)", style=STYLE)
        self.kernels = widgets.Text(value="3", description="kernels (fixed)", style=STYLE,
                                    continuous_update=False)
        self.connection = widgets.Dropdown(options=["parallel", "serial", "coupled"], value="parallel",
                                           description="connection", style=STYLE)
        self.pwconv = widgets.Checkbox(value=False, description="PWConv between sub-ops")
        self.excitation = widgets.Dropdown(options=["none", "se", "te"], value="none",
                                           description="excitation", style=STYLE)
        self.include_network = widgets.Checkbox(value=include_network, description="whole ResNet-50 GMACs")
        self.views = {name: widgets.Output() for name in ("figure", "table")}
        self.live = live
        self.state = SweepState(sweep, stage, pd.DataFrame())
        self.connect()

    @property
    def controls(self) -> list[widgets.Widget]:
        return [self.sweep, self.stage, self.resolution, self.frames, self.num_sub_dims, self.kernels,
                self.connection, self.pwconv, self.excitation, self.include_network]

    def base_config(self) -> TemporalModuleConfig:
        """The fixed knobs as a CT configuration (raises ValueError when invalid)."""
        return TemporalModuleConfig(
            kind="ct", num_sub_dims=self.num_sub_dims.value, kernels=parse_kernels(self.kernels.value),
            connection=self.connection.value, pwconv=self.pwconv.value, excitation=self.excitation.value,
        )

    def compute(self) -> SweepState:
        sweep, stage = self.sweep.value, self.stage.value
        try:
            table = cost_sweep(sweep, stage, self.base_config(), self.resolution.value, self.frames.value,
                               self.include_network.value)
            return SweepState(sweep, stage, table)
        except (ValueError, FactorisationError) as error:
            return SweepState(sweep, stage, pd.DataFrame(), str(error))

    def status_html(self) -> str:
        if self.state.error:
            return f"<b style='color:#b00'>invalid settings:</b> {self.state.error}"
        return f"least module MACs at: <b>{', '.join(self.state.best)}</b>"

    def render(self) -> None:
        if self.state.table.empty:
            return
        with self.views["figure"]:
            display(sweep_figure_static(self.state.table, self.state.sweep, self.state.stage))
        with self.views["table"]:
            display(self.state.table)
