import math

import numpy as np
import pytest
import torch

from ctnet_lib.analysis.fields.channel_mixing import mixing_matrices, mixing_summary
from ctnet_lib.ops import CTModule, TemporalModuleConfig, permute_channel_layout
from ctnet_lib.ops.channel_groups import channel_order, step_mixing_matrix


def _positive_eval(module: CTModule) -> CTModule:
    """Positive weights and BN (unit running stats) so no ReLU is silent and no gradient cancels."""
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(p.abs() + 0.01)
    return module.eval().double()


def _first_steps(module: CTModule, steps: int):
    """x (1, C, 1, 1, 1) -> output of the first ``steps`` sub-operations (and PWConvs) in original order."""
    identity = tuple(range(len(module.sizes)))

    def run(x):
        layout = identity
        for k in range(steps):
            x = permute_channel_layout(x, module.sizes, layout, module.layouts[k])
            layout = module.layouts[k]
            x = module.sub_ops[k](x)
            if k < len(module.pwconvs) and k < steps - 1:
                x = module.pwconvs[k](x)
        return permute_channel_layout(x, module.sizes, layout, identity)

    return run


def _autograd_pattern(module: CTModule, steps: int) -> np.ndarray:
    channels = math.prod(module.sizes)
    x = torch.rand(1, channels, 1, 1, 1, dtype=torch.float64) + 0.1
    jacobian = torch.autograd.functional.jacobian(_first_steps(module, steps), x)
    return (jacobian.view(channels, channels) != 0).numpy()


@pytest.mark.parametrize(
    "options",
    [
        {"num_sub_dims": 2, "last_sub_dim": 4},
        {"num_sub_dims": 2, "last_sub_dim": 2},
        {"num_sub_dims": 3},
        {"num_sub_dims": 3, "last_sub_dim": 3},
        {"num_sub_dims": 4},
        {"num_sub_dims": 2, "last_sub_dim": 1},
    ],
)
def test_cumulative_patterns_match_autograd_on_a_positive_module(options):
    module = _positive_eval(CTModule(24, TemporalModuleConfig(kernels=(1,), **options)))
    patterns = mixing_matrices(module.sizes)
    for steps in range(1, len(module.sizes) + 1):
        assert np.array_equal(patterns[steps - 1], _autograd_pattern(module, steps))
        assert (patterns[steps - 1].sum(axis=1) == math.prod(module.sizes[:steps])).all()
    assert patterns[-1].all()


def test_pwconv_makes_every_channel_interact_after_the_first_step():
    module = _positive_eval(CTModule(24, TemporalModuleConfig(kernels=(1,), num_sub_dims=3, pwconv=True)))
    patterns = mixing_matrices(module.sizes, pwconv=True)
    assert all(p.all() for p in patterns)
    assert _autograd_pattern(module, 2).all()
    assert not mixing_matrices(module.sizes)[0].all()


def test_single_step_mixes_one_fibre_and_group_order_makes_it_block_diagonal():
    sizes = (6, 4)
    step = step_mixing_matrix(sizes, 0)
    out_idx, in_idx = np.meshgrid(np.arange(24), np.arange(24), indexing="ij")
    assert np.array_equal(step, out_idx % 4 == in_idx % 4)
    order = channel_order(sizes, 0)
    blocks = np.kron(np.eye(4, dtype=bool), np.ones((6, 6), dtype=bool))
    assert np.array_equal(step[np.ix_(order, order)], blocks)
    assert np.array_equal(step_mixing_matrix(sizes, 1), out_idx // 4 == in_idx // 4)


def test_summary_counts_channels_per_output():
    summary = mixing_summary((4, 3, 2))
    assert [row["channels_per_output"] for row in summary] == [4, 12, 24]
    assert summary[-1]["density"] == 1.0


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError, match="k=2 does not exist"):
        step_mixing_matrix((4, 4), 2)
    with pytest.raises(ValueError, match="positive integers"):
        mixing_matrices((4, 0))
