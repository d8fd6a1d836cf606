import itertools

import numpy as np
import pytest
import torch

from ctnet_lib.analysis.fields.field_table import growth_table, interaction_table, paper_claims
from ctnet_lib.analysis.fields.interaction_field import (
    build_module_stack,
    interaction_fields,
    minkowski_sum,
    probe_interaction_fields,
)
from ctnet_lib.ops import C3DModule, TemporalModuleConfig
from ctnet_lib.ops.channel_groups import channel_order
from ctnet_lib.ops.ct_module import tsconv_support

CENTRE_9 = (4, 4, 4)


def _offsets(*ranges):
    """Set of (dt, dh, dw) offsets from the cartesian product of three ranges."""
    return set(itertools.product(*ranges))


def _field_offsets(field):
    return {tuple(int(v) for v in row) for row in field.offsets}


def _cross():
    return _offsets([0], range(-1, 2), range(-1, 2)) | _offsets(range(-1, 2), [0], [0])


def _cube(r):
    return _offsets(range(-r, r + 1), range(-r, r + 1), range(-r, r + 1))


def test_c3d_one_layer_reaches_all_channels_over_a_full_cube():
    (field,) = interaction_fields(TemporalModuleConfig(kind="c3d"), channels=8, input_size=(7, 7, 7))
    assert field.num_channels == 8
    assert _field_offsets(field) == _cube(1)
    assert (field.extent, field.volume, field.interacting_dims) == ((3, 3, 3), 27, "STC")
    assert field.channel_matrix.all()


def test_ct_k2_parallel_first_step_is_one_fibre_and_a_cross_then_all_channels_and_45_voxels():
    config = TemporalModuleConfig(kind="ct", num_sub_dims=2, last_sub_dim=4, kernels=(3,))
    first, second = interaction_fields(config, channels=24, input_size=(9, 9, 9), probe=(5, *CENTRE_9))
    c2 = 4  # sizes (6, 4): channel c = 4 * i1 + i2, a fibre along sub-dimension 1 fixes i2
    assert np.flatnonzero(first.channels).tolist() == [j for j in range(24) if j % c2 == 5 % c2]
    assert first.num_channels == 6 and first.local_channels == 6
    assert _field_offsets(first) == _cross() and first.volume == 11 and first.extent == (3, 3, 3)
    # two crosses: plane+plane is a 5x5 plane, plane+line a 3x3x3 cube, line+line a 5-line
    two_crosses = (_offsets([0], range(-2, 3), range(-2, 3)) | _cube(1) | _offsets(range(-2, 3), [0], [0]))
    assert len(two_crosses) == 25 + 2 * 9 + 2 == 45
    assert second.num_channels == 24 and second.local_channels == 4
    assert _field_offsets(second) == two_crosses and second.extent == (5, 5, 5)


def test_channel_matrix_is_fibre_block_structure_after_first_step_and_dense_after_k():
    config = TemporalModuleConfig(kind="ct", num_sub_dims=2, last_sub_dim=4)
    first, second = interaction_fields(config, channels=24, input_size=(3, 3, 3))
    out_idx, in_idx = np.meshgrid(np.arange(24), np.arange(24), indexing="ij")
    assert np.array_equal(first.channel_matrix, out_idx % 4 == in_idx % 4)
    assert second.channel_matrix.all()


def test_fibre_order_makes_the_first_sub_operation_block_diagonal():
    config = TemporalModuleConfig(kind="ct", num_sub_dims=2, last_sub_dim=4)
    first, _ = interaction_fields(config, channels=24, input_size=(1, 1, 1))
    order = channel_order((6, 4), 0)
    assert sorted(order.tolist()) == list(range(24))
    blocks = np.kron(np.eye(4, dtype=bool), np.ones((6, 6), dtype=bool))
    assert np.array_equal(first.channel_matrix[np.ix_(order, order)], blocks)


def test_ct_k3_channels_grow_c1_then_c1c2_then_c_and_voxels_follow_the_cross_sums():
    config = TemporalModuleConfig(kind="ct", num_sub_dims=3, kernels=(3,))
    fields = interaction_fields(config, channels=64)
    assert [f.num_channels for f in fields] == [4, 16, 64]
    # three crosses by |dt|: 7x7 plane, 5x5 at |dt|=1, 3x3 at |dt|=2, single voxels at |dt|=3
    assert [f.volume for f in fields] == [11, 45, 49 + 2 * 25 + 2 * 9 + 2]
    assert [f.extent for f in fields] == [(3, 3, 3), (5, 5, 5), (7, 7, 7)]


def test_csn_pointwise_then_depthwise():
    csn = TemporalModuleConfig(kind="csn")
    pointwise, depthwise = interaction_fields(csn, channels=8, input_size=(5, 5, 5))
    assert pointwise.num_channels == 8 and pointwise.volume == 1 and pointwise.interacting_dims == "C"
    assert depthwise.num_channels == 8 and _field_offsets(depthwise) == _cube(1)
    assert depthwise.local_channels == 1 and depthwise.interacting_dims == "ST"


def test_r2plus1d_spatial_then_temporal_with_all_channels():
    r2plus1d = TemporalModuleConfig(kind="r2plus1d")
    spatial, temporal = interaction_fields(r2plus1d, channels=8, input_size=(5, 5, 5))
    assert spatial.num_channels == 8 and _field_offsets(spatial) == _offsets([0], range(-1, 2), range(-1, 2))
    assert temporal.num_channels == 8 and _field_offsets(temporal) == _cube(1)
    assert (spatial.interacting_dims, temporal.interacting_dims) == ("SC", "TC")


@pytest.mark.parametrize("connection", ["serial", "coupled"])
def test_serial_and_coupled_steps_cover_full_cubes(connection):
    config = TemporalModuleConfig(kind="ct", num_sub_dims=2, connection=connection)
    first, second = interaction_fields(config, channels=16)
    assert (first.num_channels, first.volume, second.num_channels, second.volume) == (4, 27, 16, 125)


def test_pwconv_step_mixes_all_channels_without_moving_in_space():
    config = TemporalModuleConfig(kind="ct", num_sub_dims=2, pwconv=True)
    first, pw, last = interaction_fields(config, channels=16)
    assert pw.name == "PWConv 1" and pw.interacting_dims == "C"
    assert pw.num_channels == 16 and np.array_equal(pw.positions, first.positions)
    assert last.volume == 45


def test_stacked_modules_keep_growing():
    c3d = interaction_fields(TemporalModuleConfig(kind="c3d"), channels=4, num_modules=2)
    assert [f.volume for f in c3d] == [27, 125] and c3d[1].name.startswith("module 2")
    ct = interaction_fields(TemporalModuleConfig(kind="ct"), channels=16, num_modules=2)
    assert [f.volume for f in ct] == [11, 45, 119, 249]
    assert [f.num_channels for f in ct] == [4, 16, 16, 16]


def test_field_is_clipped_at_the_border():
    (field,) = interaction_fields(TemporalModuleConfig(kind="c3d"), channels=4, input_size=(5, 5, 5),
                                  probe=(0, 0, 0, 4))
    assert field.volume == 8 and field.extent == (2, 2, 2)


def test_gated_steps_reach_whole_axes():
    config = TemporalModuleConfig(kind="ct", num_sub_dims=2, excitation="te")
    first, _ = interaction_fields(config, channels=16, input_size=(7, 7, 7))
    assert first.num_channels == 4 and first.extent == (7, 7, 7)


@pytest.mark.parametrize("seed", range(6))
def test_structural_propagation_equals_gradient_probing_on_random_configurations(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, 4))
    kind = str(rng.choice(["ct", "ct", "ct", "c3d", "r2plus1d", "csn"]))
    config = TemporalModuleConfig(
        kind=kind, num_sub_dims=k, kernels=tuple(int(v) for v in rng.choice([1, 3, 5], k)),
        connection=str(rng.choice(["parallel", "serial", "coupled"])), pwconv=bool(rng.integers(2)),
    )
    size = tuple(int(v) for v in rng.integers(3, 10, 3))
    probe = (int(rng.integers(24)), *(int(rng.integers(s)) for s in size))
    num_modules = int(rng.integers(1, 3))
    probed = interaction_fields(config, 24, num_modules, size, probe, method="probe", seed=seed)
    derived = interaction_fields(config, 24, num_modules, size, probe, method="structural")
    assert len(probed) == len(derived)
    for a, b in zip(probed, derived, strict=True):
        assert a.name == b.name
        assert np.array_equal(a.per_channel, b.per_channel)
        assert np.array_equal(a.channel_matrix, b.channel_matrix)
        assert (a.local_channels, a.local_extent) == (b.local_channels, b.local_extent)


def test_minkowski_sum_of_two_crosses_has_45_voxels():
    cross = tsconv_support(3, "parallel")
    assert cross.sum() == 11 and minkowski_sum(cross, cross).sum() == 45


def test_probing_leaves_the_module_unchanged():
    module = build_module_stack(TemporalModuleConfig(kind="ct"), 16)
    before = {k: v.clone() for k, v in module.state_dict().items()}
    probe_interaction_fields(module, (3, 3, 3))
    assert all(torch.equal(before[k], v) for k, v in module.state_dict().items())
    assert next(module.parameters()).dtype == torch.float32


def test_bad_inputs_raise_clear_errors():
    config = TemporalModuleConfig(kind="c3d")
    with pytest.raises(ValueError, match="probe"):
        interaction_fields(config, channels=4, input_size=(3, 3, 3), probe=(0, 3, 0, 0))
    with pytest.raises(ValueError, match="method"):
        interaction_fields(config, channels=4, method="guess")
    with pytest.raises(ValueError, match="excitation"):
        interaction_fields(TemporalModuleConfig(excitation="se"), channels=16, method="structural")
    with pytest.raises(TypeError, match="sub-operations"):
        probe_interaction_fields(torch.nn.Conv3d(4, 4, 3, padding=1))
    with pytest.raises(ValueError, match="stride"):
        probe_interaction_fields(C3DModule(4, stride=2), (3, 4, 4))


def test_table_1_recomputed_matches_the_paper_except_the_exact_ct_voxel_counts():
    table = interaction_table(channels=16, ct_sub_dims=(2,))
    assert table["module"].tolist() == ["C3D", "R(2+1)D", "R(2+1)D", "CSN", "CSN", "CT (K=2)", "CT (K=2)"]
    assert table["interacts"].tolist() == ["STC", "SC", "TC", "C", "ST", "STC", "STC"]
    assert table["matches_paper"].tolist() == [True] * 5 + [False, False]
    ct = table[table["module"] == "CT (K=2)"]
    assert ct["channels"].tolist() == ct["paper_channels"].tolist() == [4, 16]
    assert ct["field_box"].tolist() == ct["paper_field"].tolist() == ["3x3x3", "5x5x5"]
    assert ct["voxels"].tolist() == [11, 45] and ct["box_voxels"].tolist() == [27, 125]
    assert "45 of the 125 voxels" in ct["note"].iloc[1]


def test_paper_claims_generalise_the_cube_rule_to_other_kernels():
    claims = paper_claims(TemporalModuleConfig(kind="ct", num_sub_dims=2, kernels=(1, 5)), 64)
    assert [(c.channels, c.extent) for c in claims] == [(8, (1, 1, 1)), (64, (5, 5, 5))]


def test_growth_table_is_monotone_for_every_module():
    growth = growth_table(channels=8, max_steps=4, ct_sub_dims=(2,))
    assert set(growth["module"]) == {"C3D", "R(2+1)D", "CSN", "CT (K=2)"}
    for _, rows in growth.groupby("module"):
        assert len(rows) == 4 and rows["voxels"].is_monotonic_increasing
    assert (growth["voxels"] <= growth["box_voxels"]).all()
