import math

from ctnet_lib.analysis.counting.formulas import temporal_module_cost
from ctnet_lib.ops import TemporalModuleConfig
from ctnet_lib.viz.widgets.cost_sweep import CostSweep, cost_sweep
from ctnet_lib.viz.widgets.module_explorer import ModuleExplorer


def test_explorer_recomputes_terms_mixing_and_table_when_controls_change():
    explorer = ModuleExplorer(channels=64, frames=4, size=8, live=False)
    state = explorer.state
    assert state.cost.sizes == (8, 8) and state.error == ""
    assert state.cost.macs == temporal_module_cost(64, TemporalModuleConfig(), 4, 8, 8).macs
    assert [int(p[0].sum()) for p in state.mixing] == [8, 64]
    assert state.comparison["module"].tolist()[0] == "this module"

    explorer.module.last_sub_dim.value = 4
    assert explorer.state.cost.sizes == (16, 4)
    assert explorer.state.cost.macs > state.cost.macs

    explorer.module.excitation.value = "te"
    assert "TE" in explorer.state.cost.by_term()
    explorer.module.pwconv.value = True
    assert "PWConv" in explorer.state.cost.by_term() and explorer.state.mixing[0].all()

    explorer.module.channels.value = 24
    assert explorer.module.last_sub_dim.value == 4 and explorer.state.cost.sizes == (6, 4)
    explorer.module.channels.value = 128
    assert explorer.module.last_sub_dim.value == 4
    explorer.module.channels.value = 12
    assert explorer.module.last_sub_dim.value == 4 and 8 not in explorer.module.last_sub_dim.options


def test_explorer_reports_invalid_settings_instead_of_raising():
    explorer = ModuleExplorer(channels=16, live=False)
    explorer.module.kernels.value = "3,x"
    assert explorer.state.cost is None and "kernels" in explorer.state.error
    assert "invalid" in explorer.status.value
    explorer.module.kernels.value = "3,3,3"
    assert "one size per sub-dimension" in explorer.state.error
    explorer.module.kernels.value = "1,5"
    assert explorer.state.cost is not None


def test_explorer_shows_baselines_as_their_ct_special_case():
    explorer = ModuleExplorer(channels=16, frames=2, size=4, live=False)
    explorer.module.kind.value = "csn"
    assert explorer.state.mixing_sizes == (16, 1)
    assert set(explorer.state.cost.by_term()) == {"point-wise conv", "BN", "depth-wise conv"}
    explorer.module.kind.value = "c3d"
    assert explorer.state.mixing_sizes == (16,) and explorer.state.mixing[0].all()


def test_explorer_renders_its_views(capsys):
    explorer = ModuleExplorer(channels=16, frames=2, size=4, live=True)
    shown = capsys.readouterr().out  # outside a kernel, display() prints what the views would show
    assert "spatial conv" in shown and "full 3D conv, eq. 1" in shown and "Figure" in shown
    assert explorer.ui.children


def test_sweep_finds_the_sqrt_c_minimum_and_follows_the_controls():
    sweep = CostSweep(stage="layer3", live=False)
    assert sweep.state.best == ["16"]
    sweep.stage.value = "layer2"
    assert sweep.state.best == ["8", "16"]
    sweep.sweep.value = "K"
    assert sweep.state.table["setting"].tolist() == ["1", "2", "3", "4"]
    assert sweep.state.table["macs"].is_monotonic_decreasing
    sweep.sweep.value = "kernels"
    assert len(sweep.state.table) == 9 and sweep.state.best == ["1,1"]
    sweep.num_sub_dims.value = 3
    assert len(sweep.state.table) == 27
    sweep.kernels.value = "1,3"
    assert sweep.state.error and "kernels" in sweep.state.error
    sweep.kernels.value = "3"
    sweep.sweep.value = "K"
    assert sweep.state.error == ""


def test_sweep_adds_whole_network_gmacs():
    table = cost_sweep("C2", "layer4", resolution=112, frames=2, include_network=True)
    valid = table.dropna(subset=["network_gmacs"])
    assert valid["setting"].astype(int).max() == 64  # larger C2 do not divide layer1's 64 channels
    at_16 = valid.loc[valid["setting"] == "16", "network_gmacs"].iloc[0]
    assert math.isclose(valid["network_gmacs"].min(), at_16)


def test_sweep_renders_figure_and_table(capsys):
    sweep = CostSweep(stage="layer1", resolution=112, frames=2, include_network=True, live=True)
    assert sweep.state.table["network_gmacs"].notna().all()
    shown = capsys.readouterr().out
    assert "Figure" in shown and "network_gmacs" in shown
