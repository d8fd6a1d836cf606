import pytest
import torch

from ctnet_lib.ops import (
    C3DModule,
    CSNModule,
    CTModule,
    R2Plus1DModule,
    TemporalModuleConfig,
    permute_channel_layout,
)


def _positive_eval(module: torch.nn.Module) -> torch.nn.Module:
    """Positive weights and identity-like BN so no ReLU is dead and no gradient cancels."""
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(p.abs() + 0.01)
    return module.eval().double()


def test_permute_channel_layout_round_trip_and_meaning():
    sizes = (4, 3, 2)
    x = torch.arange(24.0).view(1, 24, 1, 1, 1)
    y = permute_channel_layout(x, sizes, (0, 1, 2), (1, 2, 0))
    # channel (i0, i1, i2) = 6*i0 + 2*i1 + i2 moves to position (i1, i2, i0) = 8*i1 + 4*i2 + i0
    assert y[0, 8 * 2 + 4 * 1 + 3, 0, 0, 0] == 6 * 3 + 2 * 2 + 1
    assert torch.equal(permute_channel_layout(y, sizes, (1, 2, 0), (0, 1, 2)), x)


def _first_step_pattern(module: CTModule) -> torch.Tensor:
    """(C_out, C_in) bool: which input channels reach each output channel after sub-operation 1."""
    channels = module.sub_ops[0].spatial.conv.out_channels
    identity = tuple(range(len(module.sizes)))

    def first_step(x):
        y = module.sub_ops[0](permute_channel_layout(x, module.sizes, identity, module.layouts[0]))
        return permute_channel_layout(y, module.sizes, module.layouts[0], identity)

    x = torch.rand(1, channels, 1, 1, 1, dtype=torch.float64) + 0.1
    jacobian = torch.autograd.functional.jacobian(first_step, x)
    return jacobian.view(channels, channels) != 0


def test_first_sub_operation_mixes_exactly_one_fibre_of_c1_channels():
    module = _positive_eval(CTModule(24, TemporalModuleConfig(kernels=(1,), num_sub_dims=2, last_sub_dim=4)))
    c1, c2 = module.sizes
    assert (c1, c2) == (6, 4)
    pattern = _first_step_pattern(module)
    out_idx, in_idx = torch.meshgrid(torch.arange(24), torch.arange(24), indexing="ij")
    assert torch.equal(pattern, (out_idx % c2) == (in_idx % c2))


def test_after_all_sub_operations_every_channel_interacts():
    module = _positive_eval(CTModule(24, TemporalModuleConfig(kernels=(1,), num_sub_dims=3)))
    x = torch.rand(1, 24, 1, 1, 1, dtype=torch.float64) + 0.1
    jacobian = torch.autograd.functional.jacobian(module, x).view(24, 24)
    assert bool((jacobian != 0).all())


def test_grouped_weights_are_not_shared_and_have_fibre_shape():
    module = CTModule(128, TemporalModuleConfig(kernels=(3, 5)))
    assert module.sizes == (16, 8)
    first, second = module.sub_ops
    assert first.spatial.conv.weight.shape == (128, 16, 1, 3, 3)
    assert first.temporal.conv.weight.shape == (128, 16, 3, 1, 1)
    assert second.spatial.conv.weight.shape == (128, 8, 1, 5, 5)
    w = first.spatial.conv.weight
    assert not torch.equal(w[:16], w[16:32])


@pytest.mark.parametrize(
    "module",
    [
        C3DModule(32, stride=2),
        R2Plus1DModule(32, stride=2),
        CSNModule(32, stride=2),
        CTModule(32, TemporalModuleConfig(), stride=2),
        CTModule(32, TemporalModuleConfig(connection="serial", excitation="te", pwconv=True), stride=2),
        CTModule(32, TemporalModuleConfig(connection="coupled", excitation="se", num_sub_dims=3), stride=2),
        CTModule(32, TemporalModuleConfig(kernels=(1, 5), last_sub_dim=1, excitation="te"), stride=2),
    ],
    ids=["c3d", "r2plus1d", "csn", "ct", "ct-serial-te-pw", "ct-coupled-se-k3", "ct-1x5-c2=1-te"],
)
def test_every_module_keeps_time_and_applies_spatial_stride(module):
    x = torch.randn(2, 32, 5, 8, 8, requires_grad=True)
    y = module(x)
    assert y.shape == (2, 32, 5, 4, 4)
    y.square().mean().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is not None for p in module.parameters())


def test_ct_module_parameter_count_matches_the_closed_form():
    module = CTModule(64, TemporalModuleConfig())
    conv = 64 * (8 + 8) * (9 + 3)
    batch_norms = 2 * 2 * (2 * 64)
    assert sum(p.numel() for p in module.parameters()) == conv + batch_norms


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"kind": "lstm"}, "kind"),
        ({"kernels": (3, 3, 3)}, "one size per sub-dimension"),
        ({"kernels": (4,)}, "odd"),
        ({"connection": "diagonal"}, "connection"),
        ({"excitation": "cbam"}, "excitation"),
        ({"num_sub_dims": 0}, "num_sub_dims"),
    ],
)
def test_config_rejects_bad_values_with_a_clear_message(options, fragment):
    with pytest.raises(ValueError, match=fragment):
        TemporalModuleConfig(**options)
