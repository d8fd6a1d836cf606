"""Interactive explorer of interaction fields: pick a temporal module, see what reaches one unit.

``FieldExplorer`` holds the ipywidgets controls; every change calls ``update()``, which recomputes
``state`` (an ``ExplorerState``) and, when ``live``, redraws the views (channel matrix, 2D slices,
3D voxels, a per-step table). The state is computed without a browser, so tests drive the widgets by
setting their ``.value`` and read ``state``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import ipywidgets as widgets
from IPython.display import display

from ctnet_lib.analysis.fields.channel_mixing import fibre_order
from ctnet_lib.analysis.fields.field_table import field_summary
from ctnet_lib.analysis.fields.interaction_field import InteractionField, interaction_fields
from ctnet_lib.ops.factorisation import FactorisationError
from ctnet_lib.ops.temporal_modules import TemporalModuleConfig
from ctnet_lib.viz.field_figures import channel_matrix_figure, field_slices_figure, field_voxels_figure
from ctnet_lib.viz.widgets.live_view import STYLE, LiveView, ModuleControls

CHANNEL_CHOICES = (4, 8, 12, 16, 24, 32, 64)


@dataclass(frozen=True)
class ExplorerState:
    """What the explorer shows: all steps' fields of the chosen stack and the selected step (1-based)."""

    config: TemporalModuleConfig | None
    channels: int
    fields: tuple[InteractionField, ...]
    step: int
    error: str = ""

    @property
    def field(self) -> InteractionField | None:
        """The field after the selected step (None when the settings are invalid)."""
        return self.fields[self.step - 1] if self.fields else None


class FieldExplorer(LiveView):
    """Widgets: module type, channels C, K, last sub-dimension size, kernels, connection, PWConv,
    stacked modules, the step slider, input size and the probe unit (c, t, h, w)."""

    tab_titles = ("steps", "channel matrix", "2D slices", "3D")

    def __init__(self, channels: int = 16, size: int = 11, kind: str = "ct", num_sub_dims: int = 2,
                 last_sub_dim: str | int = "balanced", kernels: str = "3", connection: str = "parallel",
                 pwconv: bool = False, num_modules: int = 1, live: bool = True) -> None:
        slider = partial(widgets.IntSlider, style=STYLE, continuous_update=False)
        self.module = ModuleControls(channels, CHANNEL_CHOICES, kind, num_sub_dims, last_sub_dim, kernels,
                                     connection, pwconv)
        self.num_modules = slider(value=num_modules, min=1, max=4, description="stacked modules")
        self.step = slider(value=1, min=1, max=1, description="after step")
        self.size = slider(value=size, min=1, max=21, step=2, description="input T=H=W")
        self.probe_channel = slider(value=0, min=0, max=channels - 1, description="probe c")
        self.probe_t, self.probe_h, self.probe_w = (
            slider(value=size // 2, min=0, max=size - 1, description=f"probe {axis}") for axis in "thw"
        )
        self.fibre_order = widgets.Checkbox(value=True, description="CT: order channels by C1 fibres")
        self.views = {name: widgets.Output() for name in ("table", "channels", "slices", "3d")}
        self.live = live
        self.state = ExplorerState(None, channels, (), 1)
        self._cache_key: tuple | None = None
        self._cached: tuple[InteractionField, ...] = ()
        self.connect()

    @property
    def controls(self) -> list[widgets.Widget]:
        return [*self.module.controls, self.num_modules, self.step, self.size, self.probe_channel,
                self.probe_t, self.probe_h, self.probe_w, self.fibre_order]

    def config(self) -> TemporalModuleConfig:
        """The module configuration the controls describe (raises ValueError when it is invalid)."""
        return self.module.config()

    def channel_order(self) -> list[int] | None:
        """Channel order of the matrix view: fibres of C1 contiguous when asked, for a module that is its
        own CT form (a CT-Module; the baselines keep the original order)."""
        config = self.state.config
        if config is None or not self.fibre_order.value:
            return None
        return fibre_order(config, self.state.channels)

    def _sync_ranges(self) -> None:
        """Keep option lists and slider ranges consistent with C and the input size (a new size
        moves the probe to the centre)."""
        channels, size = self.module.channels.value, self.size.value
        self.module.sync_last_sub_dim()
        self.probe_channel.max = channels - 1
        for slider in (self.probe_t, self.probe_h, self.probe_w):
            if slider.max != size - 1:
                slider.max = size - 1
                slider.value = size // 2

    def _compute_fields(self, channels: int, size: int) -> tuple[TemporalModuleConfig | None, tuple, str]:
        try:
            config = self.config()
            probe = (self.probe_channel.value, self.probe_t.value, self.probe_h.value, self.probe_w.value)
            key = (config, channels, self.num_modules.value, size, probe)
            if key != self._cache_key:
                fields = interaction_fields(config, channels, self.num_modules.value, (size,) * 3, probe)
                self._cache_key, self._cached = key, tuple(fields)
            return config, self._cached, ""
        except (ValueError, FactorisationError) as error:
            self._cache_key = None
            return None, (), str(error)

    def compute(self) -> ExplorerState:
        self._sync_ranges()
        channels, size = self.module.channels.value, self.size.value
        config, fields, error = self._compute_fields(channels, size)
        self.step.max = max(len(fields), 1)
        return ExplorerState(config, channels, fields, min(self.step.value, self.step.max), error)

    def status_html(self) -> str:
        field = self.state.field
        if field is None:
            return f"<b style='color:#b00'>invalid settings:</b> {self.state.error}"
        return (f"step {field.step}/{len(self.state.fields)} <i>{field.name}</i>: "
                f"<b>{field.num_channels}</b> of {self.state.channels} channels, field "
                f"<b>{field.volume}</b> voxels in a {'x'.join(map(str, field.extent))} box; "
                f"this step mixes {field.interacting_dims}")

    def render(self) -> None:
        field = self.state.field
        if field is None:
            return
        shown = self.state.fields[: self.state.step]
        with self.views["table"]:
            display(field_summary(shown))
        figures = {
            "channels": channel_matrix_figure(field, self.channel_order()),
            "slices": field_slices_figure(field),
        }
        for name, figure in figures.items():
            with self.views[name]:
                display(figure)
        with self.views["3d"]:
            display(field_voxels_figure(shown))
