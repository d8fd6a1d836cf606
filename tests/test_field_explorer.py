import matplotlib
import pytest

from ctnet_lib.viz.widgets.field_explorer import FieldExplorer

matplotlib.use("Agg")


@pytest.fixture
def explorer():
    return FieldExplorer(channels=16, size=9, live=False)


def test_raising_the_step_slider_grows_the_channels_from_c1_to_c(explorer):
    assert explorer.step.max == 2
    assert explorer.state.field.num_channels == 4
    explorer.step.value = 2
    assert explorer.state.field.num_channels == 16
    assert explorer.state.field.volume == 45


def test_module_controls_change_the_steps(explorer):
    explorer.module.num_sub_dims.value = 3
    assert explorer.step.max == 3
    assert [f.num_channels for f in explorer.state.fields] == [4, 8, 16]
    explorer.module.kind.value = "c3d"
    assert explorer.step.max == 1 and explorer.state.field.volume == 27
    explorer.num_modules.value = 2
    explorer.step.value = 2
    assert explorer.state.field.volume == 125
    explorer.module.kind.value = "ct"
    explorer.module.num_sub_dims.value = 2
    explorer.module.connection.value = "coupled"
    assert explorer.state.fields[0].volume == 27


def test_invalid_settings_show_an_error_and_recover(explorer):
    explorer.module.num_sub_dims.value = 3
    explorer.module.last_sub_dim.value = 8
    assert explorer.state.field is None and "prime factor" in explorer.state.error
    assert "invalid" in explorer.status.value
    explorer.module.last_sub_dim.value = 2
    assert explorer.state.error == "" and explorer.state.field.name.startswith("C1=")
    explorer.module.kernels.value = "3,x"
    assert "kernels '3,x'" in explorer.state.error
    explorer.module.kernels.value = "1,3,5"
    assert [f.extent for f in explorer.state.fields] == [(1, 1, 1), (3, 3, 3), (7, 7, 7)]


def test_probe_moves_the_field_and_a_new_size_recentres_it(explorer):
    explorer.probe_t.value = 0
    assert explorer.state.field.probe == (0, 0, 4, 4) and explorer.state.field.extent == (2, 3, 3)
    explorer.size.value = 5
    assert explorer.probe_t.max == 4 and explorer.state.field.probe == (0, 2, 2, 2)
    explorer.module.channels.value = 12
    assert list(explorer.module.last_sub_dim.options) == ["balanced", 1, 2, 3, 4, 6, 12]
    assert explorer.probe_channel.max == 11


def test_channel_order_groups_c1_fibres_for_ct_only(explorer):
    assert explorer.channel_order() == [0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15]
    explorer.fibre_order.value = False
    assert explorer.channel_order() is None
    explorer.fibre_order.value = True
    explorer.module.kind.value = "csn"
    assert explorer.channel_order() is None


def test_a_live_explorer_redraws_every_view_when_the_step_changes(capsys):
    live = FieldExplorer(channels=8, size=5, live=True)
    capsys.readouterr()
    live.step.value = 2  # outside a kernel the views' displays reach stdout
    printed = capsys.readouterr().out
    assert "step 2/2" in live.status.value and "<b>8</b> of 8 channels" in live.status.value
    assert "[2 rows x 8 columns]" in printed  # the table of both steps
    assert printed.count("Figure(") == 3  # channel matrix, slices, 3D voxels
    assert "step 2: C2=2" in printed and "45" in printed  # the 3D view of step 2's 45-voxel field
